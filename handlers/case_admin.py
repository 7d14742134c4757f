"""Closing the loop on a detractor's case (method section 7): /cases, the case card and its
buttons (take, note, resolved, reopen), and the person's answer to "Has your issue been resolved?".

The list message is navigated in place: a case opens as its card, "back" returns to the page it
came from. Buttons carry only ids; every press is re-checked in storage/case_admin.py against who
is pressing (owners: every case; managers: their deals' cases and the cases they own), and every
change is a conditional UPDATE, so a double tap or a forged id changes nothing. After each change
the alerts everybody got are re-rendered (scheduler.alerts.refresh_case_alerts).
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from domain.clock import Clock
from domain.daytime import respondent_moment
from domain.parsing import format_phone
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, append_note, forged, send_or_log, show
from handlers.states import CaseFlow
from scheduler.alerts import refresh_case_alerts
from scheduler.sender import Sender
from storage import Database
from storage.case_admin import (
    CLIENT_ACTIONS,
    NOTE_LIMIT,
    RESOLUTION_LIMIT,
    RESOLUTION_MIN,
    Answer,
    CaseDetail,
    CaseEvent,
    CasePage,
    Change,
    add_note,
    client_answer,
    get_case_detail,
    is_about,
    list_cases,
    reopen_case,
    resolve_case,
)
from storage.cases import CaseCard, Take, take_case
from storage.followup import Blocked
from storage.replays import source_key
from views.callbacks import CaseAct, CaseConfirm, CaseList, CaseOpen
from views.common import button, cut, local_datetime, payload
from views.texts import Raw, plain, t

log = logging.getLogger(__name__)

CARD_LIMIT = 3800  # Telegram allows 4096 characters; leave room for the markup
# (events shown, characters per quoted text), tried in order until the card fits CARD_LIMIT.
CARD_FITS = ((15, 300), (10, 200), (8, 120), (5, 80), (3, 60), (1, 40))
NAME_LIMIT = 40
not_command = ~F.text.startswith("/")


def router() -> Router:
    r = Router(name="case_admin")
    staff = HasRole(Role.OWNER, Role.MANAGER)
    r.message.register(cases_command, Command("cases"), staff)
    r.callback_query.register(on_list, CaseList.filter(), staff)
    r.callback_query.register(on_open, CaseOpen.filter(), staff)
    r.callback_query.register(on_act, CaseAct.filter(), staff)
    # The person the case is about is not staff: their answer is checked against the case.
    r.callback_query.register(on_confirm, CaseConfirm.filter())
    r.message.register(on_note_text, CaseFlow.note, F.text, not_command, staff)
    r.message.register(on_resolution_text, CaseFlow.resolution, F.text, not_command, staff)
    r.message.register(on_flow_other, StateFilter(CaseFlow), not_command, staff)
    return r


# --- rendering -------------------------------------------------------------------------------


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


def _contact(card: CaseCard, lang: str) -> str:
    if card.consent is None:
        return t(lang, "alert.pending" if card.in_progress else "alert.contact_unknown")
    if not card.consent:
        return t(lang, "alert.contact_no")
    if card.phone:
        return t(lang, "alert.contact_phone", phone=format_phone(card.phone))
    return t(lang, "alert.contact_telegram")


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
            t(lang, "cases.card_contact", contact=Raw(_contact(card, lang))),
        ]
    deal = t(lang, "alert.deal_none")
    if card.deal_description:
        when = card.deal_date.strftime("%d.%m.%Y") if card.deal_date else ""
        deal = html.escape(f"{cut(card.deal_description, width)}, {when}".strip(", "))
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


def card_view(
    detail: CaseDetail, lang: str, settings: Settings, now: datetime, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The case card (as much history as fits one message) and the buttons its state allows."""
    text = ""
    for events, width in CARD_FITS:
        text = _card_text(detail, lang, settings, now, events, width)
        if len(text) < CARD_LIMIT:
            break
    case_id, status = detail.card.case_id, detail.card.status

    def act(key: str, action: str) -> InlineKeyboardButton:
        return button(plain(lang, key), CaseAct(case_id=case_id, action=action, page=page).pack())

    rows = []
    if status == "open":
        rows = [[act("cases.btn_take", "take")], [act("cases.btn_note", "note")]]
    elif status == "taken":
        rows = [[act("cases.btn_note", "note"), act("cases.btn_resolve", "resolve")]]
    elif status == "resolved":
        rows = [[act("cases.btn_note", "note"), act("cases.btn_reopen", "reopen")]]
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
    return payload(t(lang, "confirm.question", company=settings.company_name), markup)


def reopened_notice_payload(card: CaseCard, lang: str) -> dict[str, Any]:
    """To the case's owner: the person said the issue is not resolved."""
    text = t(
        lang,
        "cases.reopened_notice",
        case_id=card.case_id,
        name=cut(card.contact_name or "—", NAME_LIMIT),
        org=f", {cut(card.organization, NAME_LIMIT)}" if card.organization else "",
    )
    open_case = button(plain(lang, "cases.btn_open_case"), CaseOpen(case_id=card.case_id).pack())
    return payload(text, InlineKeyboardMarkup(inline_keyboard=[[open_case]]))


# --- helpers -----------------------------------------------------------------------------------


def _viewer(role: Role, user_id: int) -> int | None:
    """Whose cases this person may see: None (an owner: all) or their own id (a manager)."""
    return None if role is Role.OWNER else user_id


async def _leave_flow(state: FSMContext) -> None:
    """Abandon a half-typed note or resolution, never another feature's conversation."""
    if (await state.get_state() or "").startswith(f"{CaseFlow.__name__}:"):
        await state.clear()


async def _show_card(
    query: CallbackQuery,
    bot: Bot,
    case_id: int,
    viewer: int | None,
    page: int,
    lang: str,
    settings: Settings,
    db: Database,
    now: datetime,
) -> None:
    detail = await get_case_detail(db, case_id, viewer)
    if detail is None:
        text, markup = list_view(await list_cases(db, viewer, page), lang, now, viewer is not None)
    else:
        text, markup = card_view(detail, lang, settings, now, page)
    await show(query, bot, text, markup)


async def _send_card(
    message: Message,
    case_id: int,
    viewer: int | None,
    page: int,
    lang: str,
    settings: Settings,
    db: Database,
    now: datetime,
) -> None:
    detail = await get_case_detail(db, case_id, viewer)
    if detail is not None:
        text, markup = card_view(detail, lang, settings, now, page)
        await message.answer(text, reply_markup=markup)


async def _asked_already(state: FSMContext, flow: State, case_id: int) -> bool:
    """The note or resolution prompt for this case went out (noted after it was sent)."""
    if await state.get_state() != flow.state:
        return False
    data = await state.get_data()
    return data.get("case_id") == case_id and data.get("asked") is True


async def _flow_case(state: FSMContext) -> tuple[int, int]:
    data = await state.get_data()
    case_id, page = data.get("case_id"), data.get("page", 0)
    return (
        case_id if isinstance(case_id, int) else 0,
        page if isinstance(page, int) else 0,
    )


# --- the list and the card -----------------------------------------------------------------------


async def cases_command(
    message: Message, state: FSMContext, role: Role, lang: str, db: Database, clock: Clock
) -> None:
    assert message.from_user is not None
    await _leave_flow(state)
    viewer = _viewer(role, message.from_user.id)
    text, markup = list_view(await list_cases(db, viewer, 0), lang, clock(), viewer is not None)
    await message.answer(text, reply_markup=markup)


async def on_list(
    query: CallbackQuery,
    callback_data: CaseList,
    bot: Bot,
    state: FSMContext,
    role: Role,
    lang: str,
    db: Database,
    clock: Clock,
) -> None:
    await answer(query)
    await _leave_flow(state)
    viewer = _viewer(role, query.from_user.id)
    page = await list_cases(db, viewer, callback_data.page)
    await show(query, bot, *list_view(page, lang, clock(), viewer is not None))


async def on_open(
    query: CallbackQuery,
    callback_data: CaseOpen,
    bot: Bot,
    state: FSMContext,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    viewer = _viewer(role, query.from_user.id)
    detail = await get_case_detail(db, callback_data.case_id, viewer)
    if detail is None:
        await forged(query, lang)
        return
    await answer(query)
    await _leave_flow(state)  # a half-typed note must not land on another case
    await show(query, bot, *card_view(detail, lang, settings, clock(), callback_data.page))


async def on_act(
    query: CallbackQuery,
    callback_data: CaseAct,
    bot: Bot,
    state: FSMContext,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    replayed: bool = False,
) -> None:
    user_id = query.from_user.id
    viewer = _viewer(role, user_id)
    case_id, page, action = callback_data.case_id, callback_data.page, callback_data.action
    now = clock()
    if action == "take":
        outcome, card = await take_case(db, case_id, user_id, role is Role.OWNER, now)
        if outcome in (Take.NOT_FOUND, Take.NOT_ALLOWED) or card is None:
            await forged(query, lang)
            return
        if outcome is Take.ALREADY_TAKEN:
            await answer(
                query, plain(lang, "alert.already_taken", name=card.owner_name or "—"), alert=True
            )
        else:
            await answer(query, plain(lang, "alert.taken_you", case_id=case_id), alert=True)
            await refresh_case_alerts(db, bot, settings, case_id)
    elif action in ("note", "resolve"):
        detail = await get_case_detail(db, case_id, viewer)
        if detail is None:
            await forged(query, lang)
            return
        if action == "resolve" and detail.card.status != "taken":
            await answer(query, plain(lang, "cases.not_taken", case_id=case_id), alert=True)
        else:
            await answer(query)
            flow = CaseFlow.note if action == "note" else CaseFlow.resolution
            if replayed and await _asked_already(state, flow, case_id):
                return  # handled before a crash, up to the prompt: the person has it
            await state.set_state(flow)
            await state.set_data({"case_id": case_id, "page": page})
            if action == "note":
                ask = t(lang, "cases.ask_note", case_id=case_id, limit=NOTE_LIMIT)
            else:
                ask = t(
                    lang,
                    "cases.ask_resolution",
                    case_id=case_id,
                    min=RESOLUTION_MIN,
                    limit=RESOLUTION_LIMIT,
                )
            await bot.send_message(user_id, ask)
            await state.update_data(asked=True)
            return
    elif action == "reopen":
        change = await reopen_case(db, case_id, viewer, user_id, now)
        if change is Change.NOT_ALLOWED:
            await forged(query, lang)
            return
        if change is Change.STALE:
            await answer(query, plain(lang, "cases.not_resolved", case_id=case_id), alert=True)
        else:
            await answer(query, plain(lang, "cases.reopened_done", case_id=case_id))
            await refresh_case_alerts(db, bot, settings, case_id)
    else:
        await forged(query, lang)
        return
    await _show_card(query, bot, case_id, viewer, page, lang, settings, db, now)


# --- what staff type -----------------------------------------------------------------------------


async def on_note_text(
    message: Message,
    state: FSMContext,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    assert message.from_user is not None
    text = (message.text or "").strip()
    if not text:
        await message.answer(t(lang, "cases.note_empty"))
        return
    if len(text) > NOTE_LIMIT:
        await message.answer(t(lang, "cases.note_too_long", limit=NOTE_LIMIT, length=len(text)))
        return
    case_id, page = await _flow_case(state)
    viewer = _viewer(role, message.from_user.id)
    now = clock()
    key = source_key(message.chat.id, message.message_id)
    change = await add_note(db, case_id, viewer, message.from_user.id, text, now, key)
    await state.clear()
    if change is not Change.DONE:
        await message.answer(t(lang, "cases.unavailable"))
        return
    await send_or_log(message.answer(t(lang, "cases.note_added", case_id=case_id)), "note added")
    await _send_card(message, case_id, viewer, page, lang, settings, db, now)


async def on_resolution_text(
    message: Message,
    bot: Bot,
    state: FSMContext,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    assert message.from_user is not None
    text = (message.text or "").strip()
    if len(text) < RESOLUTION_MIN:
        await message.answer(t(lang, "cases.resolution_too_short"))
        return
    if len(text) > RESOLUTION_LIMIT:
        await message.answer(
            t(lang, "cases.resolution_too_long", limit=RESOLUTION_LIMIT, length=len(text))
        )
        return
    case_id, page = await _flow_case(state)
    viewer = _viewer(role, message.from_user.id)
    now = clock()
    asked_at = respondent_moment(now, settings.cadence, settings.timezone)
    result = await resolve_case(
        db,
        case_id,
        viewer,
        message.from_user.id,
        text,
        now,
        min_days=settings.cadence.contact_min_days,
        question=lambda cid, language: question_payload(
            cid, language or settings.default_language, settings
        ),
        not_before=asked_at,
        source_key=source_key(message.chat.id, message.message_id),
    )
    await state.clear()
    if result.change is Change.NOT_ALLOWED:
        await message.answer(t(lang, "cases.unavailable"))
        return
    if result.change is Change.STALE:
        await message.answer(t(lang, "cases.not_taken", case_id=case_id))
    else:
        lines = [t(lang, "cases.resolved_done", case_id=case_id)]
        if result.asked:
            sender.kick()
            if asked_at > now:
                when = local_datetime(asked_at, settings.timezone)
                hours = settings.cadence
                lines.append(
                    t(
                        lang,
                        "cases.client_asked_later",
                        when=when,
                        start=f"{hours.respondent_start:%H:%M}",
                        end=f"{hours.respondent_end:%H:%M}",
                    )
                )
            else:
                lines.append(t(lang, "cases.client_asked"))
        elif result.blocked is Blocked.NOCONSENT:
            lines.append(t(lang, "cases.client_no_consent"))
        elif result.blocked is not None:
            reason = plain(
                lang,
                f"greet.reason_{result.blocked.value}",
                days=settings.cadence.contact_min_days,
            )
            lines.append(t(lang, "cases.client_blocked", reason=reason))
        await send_or_log(message.answer("\n".join(lines)), "case resolved")
        await refresh_case_alerts(db, bot, settings, case_id)
    await _send_card(message, case_id, viewer, page, lang, settings, db, now)


async def on_flow_other(message: Message, state: FSMContext, lang: str) -> None:
    """A sticker, photo or voice where text is expected: say so kindly and keep waiting."""
    current = await state.get_state()
    key = (
        "cases.text_expected_note"
        if current == CaseFlow.note.state
        else "cases.text_expected_resolution"
    )
    await message.answer(t(lang, key))


# --- the person's answer ---------------------------------------------------------------------


async def on_confirm(
    query: CallbackQuery,
    callback_data: CaseConfirm,
    bot: Bot,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    """ "Has your issue been resolved?" Yes / No. Anything but the first answer of the person
    the case is about changes nothing: their repeat gets "already recorded", anybody else (a
    forged button) the same refusal as every other forged button."""
    user_id = query.from_user.id
    outcome = await client_answer(
        db,
        callback_data.case_id,
        user_id,
        callback_data.yes,
        clock(),
        settings.owner_ids,
        lambda card, language: reopened_notice_payload(card, language or settings.default_language),
    )
    if outcome is Answer.IGNORED:
        if await is_about(db, callback_data.case_id, user_id):
            await answer(query, plain(lang, "confirm.done_already"))
        else:
            await forged(query, lang)
        return
    await answer(query)
    given = t(lang, "confirm.btn_yes" if callback_data.yes else "confirm.btn_no")
    await append_note(query, t(lang, "confirm.answer_given", answer=Raw(given)))
    if outcome is Answer.CONFIRMED:
        await bot.send_message(user_id, t(lang, "confirm.thanks_yes"))
        return
    sender.kick()  # the owner's notice was queued with the reopening
    await send_or_log(bot.send_message(user_id, t(lang, "confirm.thanks_no")), "reopen thanks")
    await refresh_case_alerts(db, bot, settings, callback_data.case_id)
