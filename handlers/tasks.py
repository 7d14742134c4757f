"""The manager's day: /today, /week, the plan message, and every task outcome.

Outcomes follow the method (section 3 of the product brief): a call that "likes it" may be repeated
tomorrow; "not used yet" asks when they start and plans a call the day after; "not suitable" opens
a case and an urgent meeting; "no answer" tries again the next working day, at most
MAX_CALL_ATTEMPTS times. Each outcome closes the task with a conditional UPDATE, so a double tap
records one outcome; every button re-checks that the task belongs to the person pressing it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from domain.daytime import respondent_moment
from domain.parsing import parse_future_date
from domain.planning import TaskSpec, lapse_for, next_workday, workday_on_or_after
from domain.roles import Role
from domain.settings import Cadence, Settings
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


def _call_back(task: TaskView, due: date, key: str, cadence: Cadence) -> TaskSpec:
    assert task.contact_id is not None and task.manager_id is not None
    lapses = lapse_for("call_back", due, cadence)
    return TaskSpec(
        "call_back",
        key,
        task.contact_id,
        task.manager_id,
        due,
        deal_id=task.deal_id,
        lapses_on=lapses,
    )


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
    task = await _own_task(query, callback_data.task_id, db, lang)
    if task is None:
        return
    user_id = query.from_user.id
    now = followup.clock()
    today = followup.today(now)
    cadence = settings.cadence
    action, page = callback_data.action, callback_data.page
    note: str | None = None  # what to tell the manager in the callback answer

    if action == "again":  # after "likes it": a call tomorrow to ask about the effect
        if task.status == "done" and task.contact_id is not None:
            due = next_workday(today, cadence)
            spec = _call_back(task, due, f"callback:{task.id}:likes", cadence)
            await create_task(db, spec, now, {"likes": True})
            note = plain(lang, "task.call_back_set", date=due.strftime("%d.%m.%Y"))
        await _back_to_plan(query, bot, note, lang, db, followup, page)
        return
    if action == "nomore":
        await _back_to_plan(query, bot, None, lang, db, followup, page)
        return
    if task.status != "pending":
        await answer(query, plain(lang, "task.gone"), alert=True)
        text, markup = await _plan(db, user_id, page, lang, followup)
        await show(query, bot, text, markup)
        return

    if action == "snz":
        await answer(query)
        await show(query, bot, *views.snooze_menu(task, lang, page))
        return
    if action == "notyet":
        await answer(query)
        await show(query, bot, *views.not_yet_menu(task, lang, page))
        return
    if action == "stdate":
        await answer(query)
        await state.set_state(TaskFlow.start_date)
        await state.set_data({"task_id": task.id, "page": page})
        await bot.send_message(user_id, t(lang, "task.ask_date"))
        return
    if action == "note":
        await answer(query)
        await state.set_state(TaskFlow.note)
        await state.set_data({"task_id": task.id, "page": page})
        await bot.send_message(user_id, t(lang, "task.ask_note"))
        return

    if action == "likes":
        if await close_task(db, task.id, user_id, "done", "likes", now):
            await answer(query)
            await show(query, bot, *views.likes_menu(task, lang, page))
        else:
            await answer(query, plain(lang, "task.gone"), alert=True)
        return
    if action in ("st1", "st3", "st7"):
        start = today + timedelta(days=int(action[2:]))
        note = await _started_on(db, task, user_id, start, now, lang, settings)
    elif action == "unsuit":
        case_id = await close_unsuitable(db, task, user_id, today, now)
        note = plain(lang, "task.meet_set", case_id=case_id) if case_id else None
    elif action == "noans":
        attempt = int(task.meta.get("attempt", 1))
        if attempt < cadence.max_call_attempts:
            due = next_workday(today, cadence)
            retry = TaskSpec(
                task.kind,
                f"retry:{task.id}",
                task.contact_id or 0,
                user_id,
                due,
                deal_id=task.deal_id,
                lapses_on=lapse_for(task.kind, due, cadence),
            )
            meta = {**task.meta, "attempt": attempt + 1}
            if await close_task(
                db,
                task.id,
                user_id,
                "done",
                "no_answer",
                now,
                follow_ups=[retry],
                follow_up_meta=meta,
            ):
                note = plain(lang, "task.retry_set", date=due.strftime("%d.%m.%Y"))
        elif await close_task(db, task.id, user_id, "done", "no_answer", now):
            note = plain(lang, "task.retries_exhausted", n=attempt)
    elif action in ("s1h", "s3h"):
        until = now + timedelta(hours=int(action[1]))
        if await snooze_task(
            db, task.id, user_id, until.astimezone(settings.timezone).date(), until, cadence
        ):
            note = plain(lang, "task.snoozed", when=views.snoozed_until(until, settings))
    elif action in ("stom", "swk"):
        days = 1 if action == "stom" else 7
        due = workday_on_or_after(today + timedelta(days=days), cadence)
        if await snooze_task(db, task.id, user_id, due, None, cadence):
            note = plain(lang, "task.snoozed", when=due.strftime("%d.%m.%Y"))
    elif action == "done":
        if await close_task(db, task.id, user_id, "done", "done", now):
            note = plain(lang, "task.done")
    elif action == "skip":
        if await close_task(db, task.id, user_id, "skipped", "skipped", now):
            note = plain(lang, "task.skipped")
    elif action == "greet":
        goes_at = respondent_moment(now, cadence, settings.timezone)
        blocked = await _greet(db, task, user_id, now, goes_at, settings, sender)
        if blocked is not None:
            reason = plain(lang, f"greet.reason_{blocked.value}", days=cadence.contact_min_days)
            await answer(query, plain(lang, "task.greet_blocked", reason=reason), alert=True)
            return
        if goes_at > now:
            note = plain(
                lang,
                "task.greet_later",
                when=views.snoozed_until(goes_at, settings),
                start=f"{cadence.respondent_start:%H:%M}",
                end=f"{cadence.respondent_end:%H:%M}",
            )
        else:
            note = plain(lang, "task.greeted")
    else:
        await forged(query, lang)
        return
    if note is None:  # somebody (a second tap) closed it first
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


async def _started_on(
    db: Database,
    task: TaskView,
    user_id: int,
    start: date,
    now: datetime,
    lang: str,
    settings: Settings,
) -> str | None:
    """ "Not used yet": call back the working day after the day they said they will start."""
    due = next_workday(start, settings.cadence)
    spec = _call_back(task, due, f"callback:{task.id}", settings.cadence)
    if await close_task(
        db,
        task.id,
        user_id,
        "done",
        "not_yet",
        now,
        follow_ups=[spec],
        follow_up_meta={"start": start.isoformat()},
    ):
        return plain(lang, "task.call_back_set", date=due.strftime("%d.%m.%Y"))
    return None


async def _greet(
    db: Database,
    task: TaskView,
    user_id: int,
    now: datetime,
    goes_at: datetime,
    settings: Settings,
    sender: Sender,
) -> Blocked | None:
    """The bot's birthday greeting, if the person agreed and the contact budget allows;
    otherwise why not. Tapped at night, it goes when the respondents' daytime begins."""
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
        not_before=goes_at,
    )
    if blocked is None:
        sender.kick()
        await close_task(db, task.id, user_id, "done", "greeted", now)
    return blocked


async def on_start_date(
    message: Message,
    bot: Bot,
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
    start = parse_future_date(message.text or "", followup.today(now))
    if start is None:
        await message.answer(t(lang, "task.date_invalid"))
        return
    await state.clear()
    note = await _started_on(db, task, message.from_user.id, start, now, lang, settings)
    await message.answer(note or t(lang, "task.gone"))
    text, markup = await _plan(db, message.from_user.id, int(data.get("page", 0)), lang, followup)
    await message.answer(text, reply_markup=markup)


async def on_note(
    message: Message,
    state: FSMContext,
    lang: str,
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
    closed = await close_task(
        db,
        int(data.get("task_id", 0)),
        message.from_user.id,
        "done",
        "done",
        followup.clock(),
        note=text,
    )
    await message.answer(t(lang, "task.note_saved" if closed else "task.gone"))
    plan_text, markup = await _plan(
        db, message.from_user.id, int(data.get("page", 0)), lang, followup
    )
    await message.answer(plan_text, reply_markup=markup)


async def on_flow_other(message: Message, state: FSMContext, lang: str) -> None:
    current = await state.get_state()
    key = "task.date_invalid" if current == TaskFlow.start_date.state else "task.note_invalid"
    await message.answer(t(lang, key))
