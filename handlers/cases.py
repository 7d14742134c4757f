"""Closing the loop on a detractor's case (method section 7): "take the case" on the alert, the
reminder and the escalation, /cases, the case card and its buttons (take, note, resolved,
reopen), and the person's answer to "Has your issue been resolved?". Taking is written once
(`_take`): the alert's button (prefix "ct", also on the reminder and the escalation) and the
card's (prefix "ka", action "take") both run it; the card then shows again.

The list message is navigated in place: a case opens as its card, "back" returns to the page it
came from. Buttons carry only ids; every press is re-checked in storage/cases.py against who
is pressing (owners: every case; managers: their deals' cases and the cases they own), and every
change is a conditional UPDATE, so a double tap or a forged id changes nothing. After each change
the alerts everybody got are re-rendered (scheduler.alerts.refresh_case_alerts).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from domain.cases import NOTE_LIMIT, RESOLUTION_LIMIT, RESOLUTION_MIN, Change, Take, allows
from domain.clock import Clock
from domain.daytime import respondent_moment
from domain.roles import Role, viewer_scope
from domain.settings import Settings
from handlers.filters import HasRole, not_command
from handlers.replies import answer, append_note, edit_markup, forged, send_or_log, show
from handlers.states import CaseFlow
from scheduler.alerts import refresh_case_alerts
from scheduler.sender import Sender
from storage import Database
from storage.cases import (
    Answer,
    add_note,
    client_answer,
    get_case_detail,
    is_about,
    list_cases,
    reopen_case,
    resolve_case,
    take_case,
)
from storage.followup import Blocked
from storage.replays import source_key
from views.callbacks import CaseAct, CaseConfirm, CaseList, CaseOpen, CaseReason, CaseTake
from views.cases import (
    card_view,
    list_view,
    question_payload,
    reopened_notice_payload,
    without_take,
)
from views.common import local_date, local_datetime
from views.texts import Raw, plain, t
from views.whole_text import whole_text_messages

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="cases")
    staff = HasRole(Role.OWNER, Role.MANAGER)
    r.callback_query.register(on_take, CaseTake.filter(), staff)
    r.message.register(cases_command, Command("cases"), staff)
    r.callback_query.register(on_list, CaseList.filter(), staff)
    r.callback_query.register(on_open, CaseOpen.filter(), staff)
    r.callback_query.register(on_whole_reason, CaseReason.filter(), staff)
    r.callback_query.register(on_act, CaseAct.filter(), staff)
    # The person the case is about is not staff: their answer is checked against the case.
    r.callback_query.register(on_confirm, CaseConfirm.filter())
    r.message.register(on_note_text, CaseFlow.note, F.text, not_command, staff)
    r.message.register(on_resolution_text, CaseFlow.resolution, F.text, not_command, staff)
    r.message.register(on_flow_other, StateFilter(CaseFlow), not_command, staff)
    return r


# --- helpers -----------------------------------------------------------------------------------


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
    viewer = viewer_scope(role, message.from_user.id)
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
    viewer = viewer_scope(role, query.from_user.id)
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
    viewer = viewer_scope(role, query.from_user.id)
    detail = await get_case_detail(db, callback_data.case_id, viewer)
    if detail is None:
        await forged(query, lang)
        return
    await answer(query)
    await _leave_flow(state)  # a half-typed note must not land on another case
    await show(query, bot, *card_view(detail, lang, settings, clock(), callback_data.page))


async def on_whole_reason(
    query: CallbackQuery,
    callback_data: CaseReason,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    """ "📄 Whole answer" on the card: the person's reason in full, as new messages, to whoever may
    open the card (checked again: the button carries only the case id)."""
    viewer = viewer_scope(role, query.from_user.id)
    detail = await get_case_detail(db, callback_data.case_id, viewer)
    if detail is None or not detail.card.reason:
        await forged(query, lang)
        return
    await answer(query)
    card = detail.card
    when = local_date(detail.opened_at, settings.timezone)
    name = card.contact_name or "—"
    for text in whole_text_messages(lang, name, when, card.score, card.reason):
        await send_or_log(bot.send_message(query.from_user.id, text), "whole reason")


async def _take(
    query: CallbackQuery,
    case_id: int,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    now: datetime,
) -> bool:
    """Take the case (first taker wins) and say how it went; False for a forged button."""
    outcome, card = await take_case(db, case_id, query.from_user.id, role is Role.OWNER, now)
    if outcome in (Take.NOT_FOUND, Take.NOT_ALLOWED) or card is None:
        await forged(query, lang)
        return False
    if outcome is Take.ALREADY_TAKEN:
        await answer(
            query, plain(lang, "alert.already_taken", name=card.owner_name or "—"), alert=True
        )
        return True
    await answer(query, plain(lang, "alert.taken_you", case_id=card.case_id), alert=True)
    # Everybody who got the alert now sees who took it, and the button is gone (also from
    # alerts still waiting in the outbox).
    await refresh_case_alerts(db, bot, settings, card.case_id)
    return True


async def on_take(
    query: CallbackQuery,
    callback_data: CaseTake,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    """The alert's button, and the same button on the reminder and the escalation."""
    if not await _take(query, callback_data.case_id, bot, role, lang, settings, db, clock()):
        return
    # The case has an owner now: a reminder's or escalation's "take" goes, its "open" stays.
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    remaining = without_take(markup, callback_data.case_id)
    if remaining is not None:
        await edit_markup(query, remaining)


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
    viewer = viewer_scope(role, user_id)
    case_id, page, action = callback_data.case_id, callback_data.page, callback_data.action
    now = clock()
    if action == "take":
        if not await _take(query, case_id, bot, role, lang, settings, db, now):
            return
    elif action in ("note", "resolve"):
        detail = await get_case_detail(db, case_id, viewer)
        if detail is None:
            await forged(query, lang)
            return
        if action == "resolve" and not allows(detail.card.status, "resolve"):
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
    viewer = viewer_scope(role, message.from_user.id)
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
    viewer = viewer_scope(role, message.from_user.id)
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
