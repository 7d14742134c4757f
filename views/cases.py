"""Every message about a detractor case, in one place: the alert staff get (and its "take the
case" button), the staff card with its history and buttons, the /cases list, the reminder and the
escalation (each with "open the case", and "take" while nobody has it), the person's "was it
resolved?" question and the reopened notice.

One decision: the card is cut to fit Telegram by trying fewer events and shorter quotes in turn
(CARD_FITS) rather than by cutting the rendered HTML, which could split a tag."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.cases import ACTIONS, CLIENT_ACTIONS
from domain.parsing import format_phone
from domain.settings import Settings
from storage.cases import CaseCard, CaseDetail, CaseEvent, CasePage
from views.callbacks import CaseAct, CaseConfirm, CaseList, CaseOpen, CaseReason, CaseTake
from views.common import button, cut, day, local_datetime, payload
from views.texts import Raw, plain, t

CARD_LIMIT = 3800  # Telegram allows 4096 characters; leave room for the markup
# (events shown, characters per quoted text), tried in order until the card fits CARD_LIMIT.
CARD_FITS = ((15, 300), (10, 200), (8, 120), (5, 80), (3, 60), (1, 40))
NAME_LIMIT = 40
# A reason is stored whole (up to Telegram's 4096 characters): the alert quotes the start of it,
# the card opens the rest ("📄").
ALERT_REASON_CUT = 1000


def _take_button(lang: str, case_id: int) -> InlineKeyboardButton:
    """ "Take the case": one button on the alert, the reminder and the escalation."""
    return button(plain(lang, "alert.btn_take"), CaseTake(case_id=case_id).pack())


def _open_button(lang: str, case_id: int) -> InlineKeyboardButton:
    return button(plain(lang, "cases.btn_open_case"), CaseOpen(case_id=case_id).pack())


def take_case(lang: str, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_take_button(lang, case_id)]])


def deadline_buttons(case_id: int, status: str, lang: str) -> InlineKeyboardMarkup:
    """The reminder's and the escalation's buttons: "take" while nobody has the case (the
    alert's own button, so the same handler takes it), and "open the case" (its card)."""
    rows = []
    if status == "open":
        rows.append([_take_button(lang, case_id)])
    rows.append([_open_button(lang, case_id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def without_take(markup: InlineKeyboardMarkup | None, case_id: int) -> InlineKeyboardMarkup | None:
    """A reminder's or an escalation's buttons once the case is taken: "open" stays, "take"
    goes. None when nothing would remain (an alert: refresh_case_alerts re-renders those) or
    there was no "take" to drop."""
    if markup is None:
        return None
    take = CaseTake(case_id=case_id).pack()
    rows = [[b for b in row if b.callback_data != take] for row in markup.inline_keyboard]
    rows = [row for row in rows if row]
    if not rows or rows == markup.inline_keyboard:
        return None
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _score(score: int | None) -> int | str:
    return "—" if score is None else score  # 0 is a score, not a missing one


def case_remind_payload(
    case_id: int, name: str | None, score: int | None, hours: int, lang: str
) -> dict[str, Any]:
    """Only an open case is reminded of (storage.followup.queue_case_messages re-checks it)."""
    text = t(
        lang, "case.remind", case_id=case_id, name=name or "—", score=_score(score), hours=hours
    )
    return payload(text, deadline_buttons(case_id, "open", lang))


def case_escalate_payload(
    case_id: int,
    name: str | None,
    score: int | None,
    days: int,
    owner: str | None,
    status: str,
    lang: str,
) -> dict[str, Any]:
    text = t(
        lang,
        "case.escalate",
        case_id=case_id,
        name=name or "—",
        score=_score(score),
        days=days,
        owner=owner or t(lang, "case.nobody"),
    )
    return payload(text, deadline_buttons(case_id, status, lang))


def case_alert(
    card: CaseCard, lang: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    contact = contact_line(card, lang)
    deal = deal_line(card, lang)
    text = t(
        lang,
        "alert.case",
        score=card.score if card.score is not None else "—",
        name=card.contact_name or "—",
        org=f", {card.organization}" if card.organization else "",
        kind=t(lang, f"kind.{card.kind}").lower(),
        deal=deal,
        manager=card.manager_name or "—",
        reason=f"«{cut(card.reason, ALERT_REASON_CUT)}»"
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


LATE_REASON_WIDTH = 300  # the late message is a nudge to look; the card has the whole text


def case_late_payload(
    card: CaseCard, reason: str | None, phone: str | None, lang: str
) -> dict[str, Any]:
    """What the person said after the alert went out, as a short new message (an edit of the
    alert notifies nobody), with the button that opens the case."""
    facts = []
    if reason:
        facts.append(t(lang, "case.late_reason", reason=cut(reason, LATE_REASON_WIDTH)))
    if phone:
        facts.append(t(lang, "case.late_phone", phone=format_phone(phone)))
    text = t(
        lang,
        "case.late",
        case_id=card.case_id,
        name=card.contact_name or "—",
        facts=Raw("; ".join(facts)),
    )
    markup = InlineKeyboardMarkup(inline_keyboard=[[_open_button(lang, card.case_id)]])
    return payload(text, markup)


def age(opened_at: datetime, now: datetime, lang: str) -> str:
    """How long a case has been open: hours under a day, then days and hours."""
    hours = max(0, int((now - opened_at).total_seconds() // 3600))
    if hours < 24:
        return plain(lang, "cases.age_hours", hours=hours)
    return plain(lang, "cases.age_days", days=hours // 24, hours=hours % 24)


def _name(name: str | None, organization: str | None) -> str:
    return name or organization or "—"


def list_view(
    page: CasePage, lang: str, now: datetime, own_scope: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The open and taken cases, oldest first, with one button per case and ◀ ▶ paging."""
    scope = "\n" + t(lang, "cases.scope_own") if own_scope else ""
    if not page.total:
        return t(lang, "cases.empty") + scope, None
    lines = [t(lang, "cases.title", count=page.total) + scope]
    if page.pages > 1:
        lines.append(t(lang, "cases.page", page=page.page + 1, pages=page.pages))
    lines.append("")
    rows = []
    for case in page.cases:
        name = cut(_name(case.contact_name, case.organization), NAME_LIMIT)
        score = (
            plain(lang, "cases.score", score=case.score)
            if case.score is not None
            else plain(lang, "cases.score_call")
        )
        lines.append(
            t(
                lang,
                "cases.line",
                case_id=case.case_id,
                name=name,
                score=score,
                age=age(case.opened_at, now, lang),
                owner=case.owner_name or plain(lang, "cases.nobody"),
            )
        )
        data = CaseOpen(case_id=case.case_id, page=page.page).pack()
        rows.append([button(plain(lang, "cases.btn_open", case_id=case.case_id, name=name), data)])
    nav = []
    if page.page > 0:
        nav.append(button(plain(lang, "cases.btn_prev"), CaseList(page=page.page - 1).pack()))
    if page.page < page.pages - 1:
        nav.append(button(plain(lang, "cases.btn_next"), CaseList(page=page.page + 1).pack()))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def contact_line(card: CaseCard, lang: str) -> str:
    """May the person be contacted, and how: the same words on the alert and on the card. Once
    the case is settled, "did not answer" is said only of a person who was asked."""
    if card.consent is None:
        if card.in_progress:
            return t(lang, "alert.pending")
        return t(lang, "alert.contact_unknown" if card.contact_asked else "alert.contact_not_asked")
    if not card.consent:
        return t(lang, "alert.contact_no")
    if card.phone:
        return t(lang, "alert.contact_phone", phone=format_phone(card.phone))
    return t(lang, "alert.contact_telegram")


def deal_line(card: CaseCard, lang: str, width: int | None = None) -> str:
    """The deal as one line, "description, date" (the description cut to `width`), or "—".
    Plain text: the card escapes it, the alert's template does."""
    if not card.deal_description:
        return plain(lang, "alert.deal_none")
    text = card.deal_description if width is None else cut(card.deal_description, width)
    when = day(card.deal_date) if card.deal_date else ""
    return f"{text}, {when}".strip(", ")


def _event_line(event: CaseEvent, detail: CaseDetail, lang: str, tz: Any, width: int) -> str:
    action = event.action
    if action == "opened":
        what = t(lang, "cases.ev_opened_call" if detail.source == "call" else "cases.ev_opened")
    elif action in ("note", "resolved"):
        what = t(lang, f"cases.ev_{action}", note=cut(event.note or "", width))
    elif action in ("taken", "reopened", *CLIENT_ACTIONS):
        what = t(lang, f"cases.ev_{action}")
    else:
        what = t(lang, "cases.ev_other", action=cut(action, 40))
    when = local_datetime(event.at, tz)
    if event.actor_name and action not in CLIENT_ACTIONS:
        actor = cut(event.actor_name, NAME_LIMIT)
        return t(lang, "cases.ev_actor", when=when, actor=actor, what=Raw(what))
    return t(lang, "cases.ev_plain", when=when, what=Raw(what))


def _card_text(
    detail: CaseDetail, lang: str, settings: Settings, now: datetime, events: int, width: int
) -> str:
    card, tz = detail.card, settings.timezone
    owner = cut(card.owner_name or "—", NAME_LIMIT)
    status = {
        "open": t(lang, "cases.status_open"),
        "taken": t(lang, "cases.status_taken", name=owner),
        "resolved": t(lang, "cases.status_resolved", name=owner),
    }.get(card.status, html.escape(card.status))
    lines = [
        t(lang, "cases.card_title", case_id=card.case_id, status=Raw(status)),
        t(
            lang,
            "cases.card_opened",
            when=local_datetime(detail.opened_at, tz),
            age=age(detail.opened_at, now, lang),
        ),
        "",
    ]
    if detail.source == "call" and card.score is None:
        lines.append(t(lang, "cases.card_call"))
    else:
        score = card.score if card.score is not None else "—"
        if card.reason:
            reason = t(lang, "cases.card_reason", reason=f"«{cut(card.reason, width * 3)}»")
        else:
            pending = card.in_progress and not card.reason_given
            reason = t(
                lang,
                "cases.card_reason",
                reason=Raw(t(lang, "alert.pending" if pending else "alert.reason_none")),
            )
        lines += [
            t(lang, "cases.card_score", score=score),
            reason,
            t(lang, "cases.card_contact", contact=Raw(contact_line(card, lang))),
        ]
    deal = html.escape(deal_line(card, lang, width))
    lines += [
        "",
        t(
            lang,
            "cases.card_who",
            name=cut(card.contact_name or "—", width),
            org=f", {cut(card.organization, width)}" if card.organization else "",
            kind=plain(lang, f"kind.{card.kind}").lower(),
        ),
        t(lang, "cases.card_deal", deal=Raw(deal)),
        t(lang, "cases.card_manager", manager=cut(card.manager_name or "—", NAME_LIMIT)),
    ]
    outcome = []
    if card.status == "resolved" and detail.resolution:
        when = local_datetime(detail.resolved_at, tz) if detail.resolved_at else ""
        outcome.append(
            t(lang, "cases.card_resolution", when=when, text=cut(detail.resolution, width * 2))
        )
    if detail.client_confirmed is not None:
        outcome.append(
            t(lang, "cases.client_yes" if detail.client_confirmed else "cases.client_no")
        )
    elif card.status == "resolved" and detail.question_asked:
        outcome.append(t(lang, "cases.client_waiting"))
    if detail.reopened_count:
        outcome.append(t(lang, "cases.card_reopened", count=detail.reopened_count))
    if outcome:
        lines += ["", *outcome]
    if detail.events:
        shown = detail.events[-events:]
        lines += ["", t(lang, "cases.history")]
        if len(detail.events) > len(shown):
            lines.append(t(lang, "cases.history_more", count=len(detail.events) - len(shown)))
        lines += [_event_line(e, detail, lang, tz, width) for e in shown]
    return "\n".join(lines)


def reason_is_cut(reason: str | None, width: int) -> bool:
    """The card quotes `reason` shorter than it is (the "📄" button then opens it whole)."""
    return bool(reason) and cut(reason or "", width) != " ".join((reason or "").split())


def card_view(
    detail: CaseDetail, lang: str, settings: Settings, now: datetime, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The case card (as much history as fits one message) and the buttons its state allows,
    with "📄 Whole answer" when the reason is quoted cut."""
    text, quoted = "", 0
    for events, width in CARD_FITS:
        text = _card_text(detail, lang, settings, now, events, width)
        quoted = width * 3  # what _card_text quotes of the reason
        if len(text) < CARD_LIMIT:
            break
    case_id, status = detail.card.case_id, detail.card.status

    def act(key: str, action: str) -> InlineKeyboardButton:
        return button(plain(lang, key), CaseAct(case_id=case_id, action=action, page=page).pack())

    buttons = [act(f"cases.btn_{action}", action) for action in ACTIONS.get(status, ())]
    # An open case shows "take" on a row of its own, above the note.
    rows = [[b] for b in buttons] if status == "open" else [buttons] if buttons else []
    if reason_is_cut(detail.card.reason, quoted):
        whole = button(plain(lang, "whole.btn_case"), CaseReason(case_id=case_id).pack())
        rows.append([whole])
    rows.append([button(plain(lang, "cases.btn_back"), CaseList(page=page).pack())])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def question_payload(case_id: int, lang: str, settings: Settings) -> dict[str, Any]:
    """ "Has your issue been resolved?" with Yes/No, in the person's language."""
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    plain(lang, "confirm.btn_yes"), CaseConfirm(case_id=case_id, yes=True).pack()
                ),
                button(
                    plain(lang, "confirm.btn_no"), CaseConfirm(case_id=case_id, yes=False).pack()
                ),
            ]
        ]
    )
    return payload(t(lang, "confirm.question", company=settings.company(lang)), markup)


def reopened_notice_payload(card: CaseCard, lang: str) -> dict[str, Any]:
    """To the case's owner: the person said the issue is not resolved."""
    text = t(
        lang,
        "cases.reopened_notice",
        case_id=card.case_id,
        name=cut(card.contact_name or "—", NAME_LIMIT),
        org=f", {cut(card.organization, NAME_LIMIT)}" if card.organization else "",
    )
    open_case = _open_button(lang, card.case_id)
    return payload(text, InlineKeyboardMarkup(inline_keyboard=[[open_case]]))
