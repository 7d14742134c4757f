"""Every message about a detractor case: the alert's "take the case" button, …"""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from views.callbacks import CaseTake
from views.common import button, payload
from views.texts import plain, t


def take_case(lang: str, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(plain(lang, "alert.btn_take"), CaseTake(case_id=case_id).pack())]]
    )


def case_remind_payload(
    case_id: int, name: str | None, score: int | None, hours: int, lang: str
) -> dict[str, Any]:
    take = InlineKeyboardButton(
        text=plain(lang, "alert.btn_take"), callback_data=CaseTake(case_id=case_id).pack()
    )
    text = t(
        lang, "case.remind", case_id=case_id, name=name or "—", score=score or "—", hours=hours
    )
    return payload(text, InlineKeyboardMarkup(inline_keyboard=[[take]]))


def case_escalate_payload(
    case_id: int, name: str | None, score: int | None, days: int, owner: str | None, lang: str
) -> dict[str, Any]:
    text = t(
        lang,
        "case.escalate",
        case_id=case_id,
        name=name or "—",
        score=score if score is not None else "—",
        days=days,
        owner=owner or t(lang, "case.nobody"),
    )
    return payload(text)
