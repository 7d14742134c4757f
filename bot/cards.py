"""Messages composed from data: the detractor alert card and the NPS summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from domain.parsing import format_phone
from domain.settings import Settings
from storage.cases import CaseCard
from views.cases import take_case
from views.common import local_datetime, payload
from views.texts import t


def case_alert(
    card: CaseCard, lang: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    if card.consent is None:
        contact = t(lang, "alert.pending" if card.in_progress else "alert.contact_unknown")
    elif not card.consent:
        contact = t(lang, "alert.contact_no")
    elif card.phone:
        contact = t(lang, "alert.contact_phone", phone=format_phone(card.phone))
    else:
        contact = t(lang, "alert.contact_telegram")
    deal = t(lang, "alert.deal_none")
    if card.deal_description:
        when = card.deal_date.strftime("%d.%m.%Y") if card.deal_date else ""
        deal = f"{card.deal_description}, {when}".strip(", ")
    text = t(
        lang,
        "alert.case",
        score=card.score if card.score is not None else "—",
        name=card.contact_name or "—",
        org=f", {card.organization}" if card.organization else "",
        kind=t(lang, f"kind.{card.kind}").lower(),
        deal=deal,
        manager=card.manager_name or "—",
        reason=f"«{card.reason}»"
        if card.reason
        else t(
            lang,
            "alert.pending" if card.in_progress and not card.reason_given else "alert.reason_none",
        ),
        contact=contact,
        case_id=card.case_id,
    )
    if card.status == "open":
        return text, take_case(lang, card.case_id)
    if card.status == "resolved":
        return text + "\n\n" + t(lang, "cases.alert_resolved", name=card.owner_name or "—"), None
    taken_at: datetime | None = card.taken_at
    when = local_datetime(taken_at, settings.timezone) if taken_at else ""
    return text + "\n\n" + t(lang, "alert.taken", name=card.owner_name or "—", when=when), None


def case_alert_payload(card: CaseCard, lang: str, settings: Settings) -> dict[str, Any]:
    return payload(*case_alert(card, lang, settings))
