"""The follow-up routine: plan tasks, and queue what is due (digests, reminders, nudges, case
deadlines, unreachable notices, detractor alerts). Every step is idempotent and reads "what is due
now" from our tables, so running it late, twice, or after downtime sends each thing exactly once:
a bot stopped at 08:55 and started at 11:00 sends the 09:00 digest at 11:00, once.

Planning is reconciliation (storage/tasks.replan) and happens in three places: in the same
transaction as any change of a person's facts (the database calls `_replan_in` before COMMIT, in
its own thread: the planner is plain `sqlite3` code, so a change and its re-plan are one job);
once a day for the people whose `next_plan_on` has come (work proportional to what falls due);
and for everyone, in the background in small batches, after a change of the settings the rules
read (in the chat, or in `.env` between two runs: a fingerprint of them is stored). Start-up never
waits for any of it: `start_catch_up` runs in the background while polling answers people.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from domain.clock import Clock
from domain.daytime import in_respondent_hours
from domain.planning import add_working_days, add_working_hours, is_workday
from domain.settings import Settings
from scheduler.alerts import queue_case_alerts, settle_quiet_cases
from scheduler.sender import Sender
from storage import Database
from storage.followup import (
    OpenCase,
    WatchedCase,
    claim_timed_reminders,
    digests_queued,
    open_cases,
    queue_case_messages,
    queue_digest,
    queue_nudges,
    queue_unreachable_notices,
    staff_language,
    watched_cases,
)
from storage.settings import LiveSettings
from storage.staff import list_active_staff
from storage.tasks import PLAN_CHUNK, contacts_due, due_tasks, replan, sweep_lapsed
from views import tasks as task_views
from views.cases import case_escalate_payload, case_remind_payload
from views.common import payload
from views.invitation import inline_mode
from views.survey import nudge_payload

log = logging.getLogger(__name__)

# Re-planning this many people is a write the loop runs itself (about a millisecond each); more
# go to the database thread (`Database.write_bulk`) so the bot answers meanwhile.
INLINE_PEOPLE = 20


class FollowUp:
    def __init__(
        self, db: Database, settings: Settings | LiveSettings, clock: Clock, sender: Sender
    ) -> None:
        self.db = db
        # The owner may change settings in the chat: every tick reads the ones in force.
        self.live = settings if isinstance(settings, LiveSettings) else LiveSettings(settings)
        self.clock = clock
        self.sender = sender
        self._planned_for: date | None = None
        # The minute job and the DIGEST_TIME job are two APScheduler jobs (max_instances is per
        # job): this lock keeps their ticks from overlapping.
        self._tick_lock = asyncio.Lock()
        self._background: set[asyncio.Task[object]] = set()
        self._everyone: asyncio.Task[int] | None = None
        self._fingerprint = self.fingerprint()  # replaced by the stored one at start-up
        self._replanning = 0  # re-planning everyone in progress: the daily run would repeat it
        self.live.subscribe(self._settings_changed)
        db.attach_planner(self._replan_in)

    def fingerprint(self, settings: Settings | None = None) -> str:
        """What the plans depend on among the settings (a change means: re-plan everyone)."""
        s = settings or self.settings
        c = s.cadence
        return repr(
            (
                s.timezone.key,
                sorted(c.workdays),
                c.offer_min_days,
                c.offer_max_days,
                c.birthday_lead_days,
                c.refresh_after_days,
                c.passive_after_days,
                c.resend_after_days,
            )
        )

    async def _settings_changed(self, settings: Settings, key: str) -> None:
        if self.fingerprint(settings) != self._fingerprint:
            self.replan_everyone_soon()

    def _spawn(self, coro: object, name: str) -> asyncio.Task[object]:
        task: asyncio.Task[object] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def start_catch_up(self) -> None:
        """At start-up, in the background: re-plan everyone if the settings the plans were made
        with changed meanwhile (`.env` edited), then everything that fell due while down."""
        self._spawn(self._catch_up(), "plan-catch-up")

    async def _catch_up(self) -> None:
        try:
            await self.live.get()
            async with self.db.read() as conn:
                row = await (
                    await conn.execute("SELECT value FROM planner_state WHERE key = 'settings'")
                ).fetchone()
            self._fingerprint = row[0] if row else None
            if self._fingerprint != self.fingerprint():
                await self.replan_everyone()
            await self.tick()
        except Exception:  # logged; the minute tick tries again
            log.exception("catching up at start failed")

    def replan_everyone_soon(self) -> asyncio.Task[int]:
        """Re-plan every person in the background (a newer request replaces a running one)."""
        if self._everyone is not None and not self._everyone.done():
            self._everyone.cancel()
        task = asyncio.create_task(self.replan_everyone(), name="replan-everyone")
        self._everyone = task
        self._background.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._background.discard)  # type: ignore[arg-type]
        return task

    async def replan_everyone(self, batch: int = 200) -> int:
        """Everyone, in transactions of `batch` people by id, letting handlers in between."""
        await self.live.get()
        fingerprint = self.fingerprint()
        self._replanning += 1
        try:
            return await self._replan_from(0, batch, fingerprint)
        finally:
            self._replanning -= 1

    async def _replan_from(self, last: int, batch: int, fingerprint: str) -> int:
        """Everyone with an id above `last`; then the fingerprint of the settings is stored."""
        created = people = 0
        while True:
            ids, made = await self.db.write_bulk(self._replan_batch, last, batch, fingerprint)
            if not ids:
                break
            created += made
            people += len(ids)
            last = ids[-1]
            await asyncio.sleep(0)
        self._fingerprint = fingerprint
        log.info("re-planned everyone (%d people): %d tasks created", people, created)
        return created

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def wait_background(self) -> None:
        """For tests and benchmarks: until the background planning is finished."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def _replan_batch(
        self, conn: sqlite3.Connection, last: int, batch: int, fingerprint: str
    ) -> tuple[list[int], int]:
        """One batch of `replan_everyone`, as one job in the database thread; with no one left,
        the fingerprint of the settings the plans were made with is stored."""
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM contacts WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
        ]
        if not ids:
            conn.execute(
                "INSERT INTO planner_state (key, value) VALUES ('settings', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (fingerprint,),
            )
            return ids, 0
        return ids, self._replan_in(conn, ids)

    def _replan_in(self, conn: sqlite3.Connection, contact_ids: list[int]) -> int:
        """The database's planner: runs in its thread, inside the transaction that changed
        these people's facts (storage/db.py), so it must not await."""
        now = self.clock()
        settings = self.settings
        return replan(conn, contact_ids, self.today(now), settings.cadence, settings.timezone, now)

    def _plan_due(self, conn: sqlite3.Connection, today: date) -> tuple[int, int]:
        """One chunk of the daily run: the people whose `next_plan_on` has come, re-planned."""
        ids = contacts_due(conn, today, PLAN_CHUNK)
        return len(ids), self._replan_in(conn, ids) if ids else 0

    @property
    def settings(self) -> Settings:
        return self.live.current

    def today(self, now: datetime | None = None) -> date:
        return (now or self.clock()).astimezone(self.settings.timezone).date()

    def lang(self, language: str | None) -> str:
        return language or self.settings.default_language

    async def plan(self, contact_ids: Iterable[int] | None = None) -> int:
        """Re-plan these people now; or, without ids, the daily run: close what lapsed, and
        re-plan the people whose `next_plan_on` has come. Returns the tasks created."""
        await self.live.get()
        if contact_ids is not None:
            ids = sorted(set(contact_ids))
            created = 0
            # A few people inline; a crowd (a manager's clients) in the database thread.
            write = self.db.write if len(ids) <= INLINE_PEOPLE else self.db.write_bulk
            for first in range(0, len(ids), PLAN_CHUNK):
                created += await write(self._replan_in, ids[first : first + PLAN_CHUNK])
            return created
        now = self.clock()
        today = self.today(now)
        missed = 0
        while True:
            closed = await self.db.write_bulk(sweep_lapsed, today, now)
            missed += closed
            if not closed:
                break
            await asyncio.sleep(0)
        created = people = 0
        while True:
            due, made = await self.db.write_bulk(self._plan_due, today)
            if not due:
                break
            created += made
            people += due
            await asyncio.sleep(0)
        self._planned_for = today
        log.info(
            "daily planning for %s: %d people due, %d tasks created, %d lapsed",
            today,
            people,
            created,
            missed,
        )
        return created

    async def queue_digests(self, now: datetime) -> int:
        local = now.astimezone(self.settings.timezone)
        cadence = self.settings.cadence
        if not is_workday(local.date(), cadence) or local.time() < cadence.digest_time:
            return 0
        today = local.date()
        queued = 0
        staff = await list_active_staff(self.db)
        done = await digests_queued(self.db, [member.user_id for member in staff], today)
        for member in staff:
            if member.user_id in done:
                continue
            # Time-bound tasks (a snooze, a call-back at an hour) come as their own reminder.
            tasks = [
                task
                for task in await due_tasks(self.db, member.user_id, today, now)
                if task.due_at is None
            ]
            # The plan is decided once a day, in the first tick after DIGEST_TIME: a day with
            # nothing to do is marked too, so no "morning" plan turns up in the afternoon.
            body = None
            if tasks:
                text, markup = task_views.plan_message(tasks, 0, self.lang(member.language), today)
                body = payload(text, markup)
            if await queue_digest(self.db, member.user_id, today, body, now) and body:
                queued += 1
        return queued

    async def queue_reminders(self, now: datetime) -> int:
        me = await self.sender.bot.me()
        today = self.today(now)

        def render(task: task_views.TaskView, language: str | None) -> dict:  # type: ignore[type-arg]
            return task_views.reminder_payload(
                task, self.lang(language), self.settings, today, me.username or "", inline_mode(me)
            )

        return await claim_timed_reminders(self.db, now, render)

    async def queue_case_deadlines(self, now: datetime) -> int:
        cadence = self.settings.cadence
        tz = self.settings.timezone
        # A working hour or day is never shorter than a wall-clock one: a case opened after
        # these bounds cannot be due, and the query leaves it out.
        remind_by = now - timedelta(hours=cadence.case_take_hours)
        escalate_by = now - timedelta(days=cadence.case_resolve_days)

        def remind_due(case: WatchedCase | OpenCase) -> bool:
            return add_working_hours(case.opened_at, cadence.case_take_hours, cadence, tz) <= now

        def escalate_due(case: WatchedCase | OpenCase) -> bool:
            return add_working_days(case.opened_at, cadence.case_resolve_days, cadence, tz) <= now

        watched = await watched_cases(self.db, min(remind_by, escalate_by), escalate_by)
        due = [
            w.case_id
            for w in watched
            if (w.status == "open" and not w.reminded and remind_due(w)) or escalate_due(w)
        ]
        cases = await open_cases(self.db, due)
        if not cases:
            return 0
        owners = sorted(self.settings.owner_ids)
        managers = {case.manager_id for case in cases if case.manager_id is not None}
        languages = await staff_language(self.db, managers | set(owners))
        # Every message of this minute in one transaction: a minute after downtime may bring
        # dozens, and each transaction is a turn of the connection a respondent waits behind.
        items: list[tuple[int, str, list[tuple[int, str, dict[str, Any]]]]] = []
        for case in cases:
            if (
                case.status == "open"
                and not case.reminded
                and case.manager_id is not None
                and remind_due(case)
            ):
                body = case_remind_payload(
                    case.case_id,
                    case.contact_name,
                    case.score,
                    cadence.case_take_hours,
                    self.lang(languages[case.manager_id]),
                )
                message = (case.manager_id, f"case_remind:{case.case_id}", body)
                items.append((case.case_id, "reminded_at", [message]))
            if not case.escalated and escalate_due(case):
                messages = [
                    (
                        owner,
                        f"case_escalate:{case.case_id}:{owner}",
                        case_escalate_payload(
                            case.case_id,
                            case.contact_name,
                            case.score,
                            cadence.case_resolve_days,
                            case.owner_name,
                            case.status,
                            self.lang(languages[owner]),
                        ),
                    )
                    for owner in owners
                ]
                items.append((case.case_id, "escalated_at", messages))
        return await queue_case_messages(self.db, items, now)

    async def tick(self) -> int:
        """Everything that may have fallen due; safe to call at any moment, any number of times."""
        async with self._tick_lock:
            await self.live.get()
            return await self._tick()

    async def _tick(self) -> int:
        now = self.clock()
        # While everyone is being re-planned (a new setting, the first start after the upgrade)
        # the daily run would only repeat that work, and the morning plan would miss what is
        # not re-planned yet: both wait for the next tick after it.
        settled = not self._replanning
        if settled and self._planned_for != self.today(now):
            await self.plan()
        cadence = self.settings.cadence
        queued = await queue_case_alerts(self.db, self.settings, now)
        queued += await settle_quiet_cases(self.db, self.sender.bot, self.settings, now)
        if settled:
            queued += await self.queue_digests(now)
        queued += await self.queue_reminders(now)
        # Nudges are queued only in the respondents' daytime: one due at night stays due (not
        # queued for later, so an answer given overnight still cancels it) until the morning.
        if in_respondent_hours(now, cadence, self.settings.timezone):
            queued += await queue_nudges(
                self.db,
                now,
                cadence.nudge_after_hours,
                cadence.contact_min_days,
                lambda survey_id, language, kind: nudge_payload(
                    survey_id, self.lang(language), kind
                ),
            )
        queued += await self.queue_case_deadlines(now)
        queued += await queue_unreachable_notices(
            self.db,
            now,
            lambda name, phone, language: task_views.unreachable_payload(
                name, phone, self.lang(language)
            ),
        )
        if queued:
            log.info("tick: %d messages queued", queued)
        self.sender.kick()
        return queued
