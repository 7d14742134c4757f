"""The manager's day: /today, /week, the plan message, and carrying out every task outcome.

What each button does (retries, call-backs, snoozes, their keys and dates) is decided by the pure
`domain.outcomes.decide`; this router only loads the task, checks that it belongs to the person
pressing, and executes the decision with storage and the views. Each outcome closes the task with
a conditional UPDATE, so a double tap records one outcome.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from domain.outcomes import (
    GONE,
    Action,
    Decision,
    Effect,
    Menu,
    NoteValue,
    Question,
    decide,
)
from domain.parsing import parse_future_date
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole, not_command
from handlers.replies import answer, forged, show
from handlers.states import TaskFlow
from scheduler.followup import FollowUp
from scheduler.sender import Sender
from storage import Database
from storage.followup import Blocked, send_greeting
from storage.tasks import (
    TaskView,
    close_task,
    close_unsuitable,
    contact_comments,
    contact_purchases,
    create_task,
    due_tasks,
    get_task,
    snooze_task,
    upcoming_tasks,
)
from views import tasks as views
from views.callbacks import PlanPage, TaskAct, TaskOpen
from views.common import day
from views.invitation import inline_mode
from views.texts import plain, t

log = logging.getLogger(__name__)

NOTE_LIMIT = 2000


def router() -> Router:
    r = Router(name="tasks")
    staff = HasRole(Role.OWNER, Role.MANAGER)
    r.message.filter(staff)
    r.callback_query.filter(staff)
    r.message.register(today_command, Command("today"))
    r.message.register(week_command, Command("week"))
    r.callback_query.register(on_page, PlanPage.filter())
    r.callback_query.register(on_open, TaskOpen.filter())
    r.callback_query.register(on_act, TaskAct.filter())
    r.message.register(on_start_date, TaskFlow.start_date, F.text, not_command)
    r.message.register(on_note, TaskFlow.note, F.text, not_command)
    r.message.register(on_flow_other, StateFilter(TaskFlow), not_command)
    return r


async def _plan(
    db: Database, user_id: int, page: int, lang: str, followup: FollowUp
) -> tuple[str, InlineKeyboardMarkup | None]:
    now = followup.clock()
    today = followup.today(now)
    return views.plan_message(await due_tasks(db, user_id, today, now), page, lang, today)


async def _card(
    task: TaskView, bot: Bot, lang: str, settings: Settings, db: Database, today: date, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    purchases = comments = None
    if task.kind == "offer" and task.contact_id is not None:
        purchases = await contact_purchases(db, task.contact_id)
        comments = await contact_comments(db, task.contact_id)
    me = await bot.me()
    return views.task_card(
        task,
        lang,
        settings,
        today,
        page,
        bot_username=me.username or "",
        inline=inline_mode(me),
        purchases=purchases,
        comments=comments,
    )


async def today_command(message: Message, lang: str, db: Database, followup: FollowUp) -> None:
    assert message.from_user is not None
    text, markup = await _plan(db, message.from_user.id, 0, lang, followup)
    await message.answer(text, reply_markup=markup)


async def week_command(message: Message, lang: str, db: Database, followup: FollowUp) -> None:
    assert message.from_user is not None
    today = followup.today()
    tasks = await upcoming_tasks(
        db, message.from_user.id, today + timedelta(days=1), today + timedelta(days=7)
    )
    await message.answer(views.week_message(tasks, lang))


async def on_page(
    query: CallbackQuery,
    callback_data: PlanPage,
    bot: Bot,
    state: FSMContext,
    lang: str,
    db: Database,
    followup: FollowUp,
) -> None:
    await answer(query)
    await state.clear()
    text, markup = await _plan(db, query.from_user.id, callback_data.page, lang, followup)
    await show(query, bot, text, markup)


async def _own_task(query: CallbackQuery, task_id: int, db: Database, lang: str) -> TaskView | None:
    task = await get_task(db, task_id)
    if task is None or task.manager_id != query.from_user.id:
        await forged(query, lang)
        return None
    return task


async def on_open(
    query: CallbackQuery,
    callback_data: TaskOpen,
    bot: Bot,
    lang: str,
    settings: Settings,
    db: Database,
    followup: FollowUp,
) -> None:
    task = await _own_task(query, callback_data.task_id, db, lang)
    if task is None:
        return
    if task.status != "pending":
        await answer(query, plain(lang, "task.gone"), alert=True)
        text, markup = await _plan(db, query.from_user.id, callback_data.page, lang, followup)
        await show(query, bot, text, markup)
        return
    await answer(query)
    text, markup = await _card(task, bot, lang, settings, db, followup.today(), callback_data.page)
    await show(query, bot, text, markup)


_MENUS = {
    Menu.SNOOZE: views.snooze_menu,
    Menu.NOT_YET: views.not_yet_menu,
    Menu.LIKES: views.likes_menu,
}
_QUESTIONS = {
    Question.START_DATE: (TaskFlow.start_date, "task.ask_date"),
    Question.NOTE: (TaskFlow.note, "task.ask_note"),
}


def _shown(value: NoteValue, settings: Settings) -> str | int:
    if isinstance(value, datetime):  # before date: a datetime is a date
        return views.snoozed_until(value, settings)
    if isinstance(value, date):
        return day(value)
    if isinstance(value, time):
        return f"{value:%H:%M}"
    return value


def _say(decision: Decision, lang: str, settings: Settings, **more: int) -> str | None:
    """What the manager is told about a decision carried out."""
    if decision.note_key is None:
        return None
    args = {name: _shown(value, settings) for name, value in decision.note_args.items()}
    return plain(lang, decision.note_key, **args, **more)


async def on_act(
    query: CallbackQuery,
    callback_data: TaskAct,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    followup: FollowUp,
    sender: Sender,
) -> None:
    """Carry out what domain.outcomes decides for the tapped button."""
    task = await _own_task(query, callback_data.task_id, db, lang)
    if task is None:
        return
    user_id = query.from_user.id
    now = followup.clock()
    today = followup.today(now)
    page = callback_data.page
    decision = decide(callback_data.action, task, today, now, settings.cadence, settings.timezone)
    note: str | None = None  # what to tell the manager; None: somebody (a second tap) was first
    match decision.effect:
        case Effect.BACK:
            await _back_to_plan(query, bot, None, lang, db, followup, page)
            return
        case Effect.FOLLOW_UP:
            for spec in decision.follow_ups:
                await create_task(db, spec, now, decision.meta)
            note = _say(decision, lang, settings)
            await _back_to_plan(query, bot, note, lang, db, followup, page)
            return
        case Effect.MENU:
            assert decision.menu is not None
            await answer(query)
            await show(query, bot, *_MENUS[decision.menu](task, lang, page))
            return
        case Effect.ASK:
            assert decision.question is not None
            flow, key = _QUESTIONS[decision.question]
            await answer(query)
            await state.set_state(flow)
            await state.set_data({"task_id": task.id, "page": page})
            await bot.send_message(user_id, t(lang, key))
            return
        case Effect.CLOSE:
            if await _close(db, task, user_id, decision, now):
                if decision.menu is not None:  # "likes": what next, instead of the plan
                    await answer(query)
                    await show(query, bot, *_MENUS[decision.menu](task, lang, page))
                    return
                note = _say(decision, lang, settings)
            elif decision.menu is not None:
                await answer(query, plain(lang, "task.gone"), alert=True)
                return
        case Effect.OPEN_CASE:
            case_id = await close_unsuitable(db, task.id, user_id, decision.follow_ups[0], now)
            if case_id:
                note = _say(decision, lang, settings, case_id=case_id)
        case Effect.SNOOZE:
            assert decision.snooze_to is not None and decision.lapses_on is not None
            if await snooze_task(
                db,
                task.id,
                user_id,
                decision.snooze_to,
                decision.snooze_at,
                decision.lapses_on,
            ):
                note = _say(decision, lang, settings)
        case Effect.GREET:
            blocked = await _greet(db, task, user_id, now, decision, settings, sender)
            if blocked is not None:
                cadence = settings.cadence
                reason = plain(lang, f"greet.reason_{blocked.value}", days=cadence.contact_min_days)
                await answer(query, plain(lang, "task.greet_blocked", reason=reason), alert=True)
                return
            note = _say(decision, lang, settings)
        case Effect.GONE:
            pass
    if note is None:
        await answer(query, plain(lang, "task.gone"), alert=True)
        text, markup = await _plan(db, user_id, page, lang, followup)
        await show(query, bot, text, markup)
        return
    await _back_to_plan(query, bot, note, lang, db, followup, page)


async def _back_to_plan(
    query: CallbackQuery,
    bot: Bot,
    note: str | None,
    lang: str,
    db: Database,
    followup: FollowUp,
    page: int,
) -> None:
    await answer(query, note or None)
    text, markup = await _plan(db, query.from_user.id, page, lang, followup)
    await show(query, bot, text, markup)


async def _close(
    db: Database, task: TaskView, user_id: int, decision: Decision, now: datetime
) -> bool:
    """Close the task as decided, with its follow-ups, in one transaction (first tap wins)."""
    assert decision.status is not None and decision.outcome is not None
    return await close_task(
        db,
        task.id,
        user_id,
        decision.status,
        decision.outcome,
        now,
        note=decision.note,
        follow_ups=decision.follow_ups,
        follow_up_meta=decision.meta,
    )


async def _greet(
    db: Database,
    task: TaskView,
    user_id: int,
    now: datetime,
    decision: Decision,
    settings: Settings,
    sender: Sender,
) -> Blocked | None:
    """The bot's birthday greeting, if the person agreed and the contact budget allows;
    otherwise why not."""
    if task.contact_id is None:
        return Blocked.UNLINKED
    blocked = await send_greeting(
        db,
        task.contact_id,
        now,
        settings.cadence.contact_min_days,
        lambda name, language: views.greeting_payload(
            name, language or settings.default_language, settings
        ),
        not_before=decision.greet_at,
    )
    if blocked is None:
        sender.kick()
        await _close(db, task, user_id, decision, now)
    return blocked


async def _after_typed(
    message: Message,
    task: TaskView | None,
    decision: Decision,
    data: dict[str, Any],
    lang: str,
    settings: Settings,
    db: Database,
    followup: FollowUp,
    now: datetime,
) -> None:
    """Close the task with what was typed, say so (or that it is gone), and show the plan."""
    assert message.from_user is not None
    user_id = message.from_user.id
    closed = (
        decision.effect is Effect.CLOSE
        and task is not None
        and await _close(db, task, user_id, decision, now)
    )
    said = _say(decision, lang, settings) if closed else None
    await message.answer(said or t(lang, "task.gone"))
    text, markup = await _plan(db, user_id, int(data.get("page", 0)), lang, followup)
    await message.answer(text, reply_markup=markup)


async def on_start_date(
    message: Message,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    followup: FollowUp,
) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    task = await get_task(db, int(data.get("task_id", 0)))
    if task is None or task.manager_id != message.from_user.id or task.status != "pending":
        await state.clear()
        await message.answer(t(lang, "task.gone"))
        return
    now = followup.clock()
    today = followup.today(now)
    start = parse_future_date(message.text or "", today)
    if start is None:
        await message.answer(t(lang, "task.date_invalid"))
        return
    await state.clear()
    cadence, tz = settings.cadence, settings.timezone
    decision = decide(Action.START_DATE, task, today, now, cadence, tz, start=start)
    await _after_typed(message, task, decision, data, lang, settings, db, followup, now)


async def on_note(
    message: Message,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    followup: FollowUp,
) -> None:
    assert message.from_user is not None
    text = (message.text or "").strip()
    if not text or len(text) > NOTE_LIMIT:
        await message.answer(t(lang, "task.note_invalid"))
        return
    data = await state.get_data()
    await state.clear()
    task = await get_task(db, int(data.get("task_id", 0)))
    now = followup.clock()
    decision = GONE
    if task is not None and task.manager_id == message.from_user.id:
        cadence, tz = settings.cadence, settings.timezone
        decision = decide(Action.NOTE, task, followup.today(now), now, cadence, tz, note=text)
    await _after_typed(message, task, decision, data, lang, settings, db, followup, now)


async def on_flow_other(message: Message, state: FSMContext, lang: str) -> None:
    current = await state.get_state()
    key = "task.date_invalid" if current == TaskFlow.start_date.state else "task.note_invalid"
    await message.answer(t(lang, key))
