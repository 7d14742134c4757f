"""The follow-up routine: plan tasks, and queue what is due (digests, reminders, nudges, case
deadlines, unreachable notices, detractor alerts). Every step is idempotent and reads "what is due
now" from our tables, so running it late, twice, or after downtime sends each thing exactly once:
a bot stopped at 08:55 and started at 11:00 sends the 09:00 digest at 11:00, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import date, datetime

from bot import plan as views
from bot.clock import Clock
from bot.config import Settings
from bot.live_settings import LiveSettings
from scheduler.alerts import queue_case_alerts
from scheduler.daytime import in_respondent_hours
from scheduler.rules import add_working_days, add_working_hours, is_workday, plan_contact
from scheduler.sender import Sender
from storage import Database
from storage.followup import (
    claim_timed_reminders,
    digest_queued,
    open_cases,
    queue_case_message,
    queue_digest,
    queue_nudges,
    queue_unreachable_notices,
    staff_language,
)
from storage.staff import list_active_staff
from storage.tasks import apply_plans, due_tasks, load_facts

log = logging.getLogger(__name__)


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
        self.live.subscribe(self._settings_changed)

    async def _settings_changed(self, settings: Settings, key: str) -> None:
        # A new interval, lead time or set of working days: plan everyone again at the next tick
        # (planning is idempotent; tasks already made keep their dates).
        self._planned_for = None

    @property
    def settings(self) -> Settings:
        return self.live.current

    def today(self, now: datetime | None = None) -> date:
        return (now or self.clock()).astimezone(self.settings.timezone).date()

    def lang(self, language: str | None) -> str:
        return language or self.settings.default_language

    async def plan(self, contact_ids: Iterable[int] | None = None) -> int:
        """Create the tasks the rules ask for (all contacts, or just these)."""
        await self.live.get()
        version = self.live.version  # a change made while planning runs means: plan again
        now = self.clock()
        today = self.today(now)
        cadence = self.settings.cadence
        facts = await load_facts(
            self.db,
            today,
            self.settings.timezone,
            cadence.refresh_after_days,
            cadence.resend_after_days,
            contact_ids,
        )
        created = await apply_plans(self.db, (plan_contact(f, today, cadence) for f in facts), now)
        if contact_ids is None and self.live.version == version:
            self._planned_for = today
            log.info("planned %d contacts for %s: %d new tasks", len(facts), today, created)
        return created

    async def queue_digests(self, now: datetime) -> int:
        local = now.astimezone(self.settings.timezone)
        cadence = self.settings.cadence
        if not is_workday(local.date(), cadence) or local.time() < cadence.digest_time:
            return 0
        today = local.date()
        queued = 0
        for member in await list_active_staff(self.db):
            if await digest_queued(self.db, member.user_id, today):
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
                text, markup = views.plan_message(tasks, 0, self.lang(member.language), today)
                body = views.payload(text, markup)
            if await queue_digest(self.db, member.user_id, today, body, now) and body:
                queued += 1
        return queued

    async def queue_reminders(self, now: datetime) -> int:
        me = await self.sender.bot.me()
        today = self.today(now)

        def render(task: views.TaskView, language: str | None) -> dict:  # type: ignore[type-arg]
            return views.reminder_payload(
                task, self.lang(language), self.settings, today, me.username or ""
            )

        return await claim_timed_reminders(self.db, now, render)

    async def queue_case_deadlines(self, now: datetime) -> int:
        cadence = self.settings.cadence
        tz = self.settings.timezone
        queued = 0
        for case in await open_cases(self.db):
            if (
                case.status == "open"
                and not case.reminded
                and case.manager_id is not None
                and add_working_hours(case.opened_at, cadence.case_take_hours, cadence, tz) <= now
            ):
                lang = self.lang(
                    (await staff_language(self.db, [case.manager_id]))[case.manager_id]
                )
                body = views.case_remind_payload(
                    case.case_id, case.contact_name, case.score, cadence.case_take_hours, lang
                )
                message = (case.manager_id, f"case_remind:{case.case_id}", body)
                queued += await queue_case_message(
                    self.db, case.case_id, "reminded_at", [message], now
                )
            if (
                not case.escalated
                and add_working_days(case.opened_at, cadence.case_resolve_days, cadence, tz) <= now
            ):
                owners = sorted(self.settings.owner_ids)
                languages = await staff_language(self.db, owners)
                messages = [
                    (
                        owner,
                        f"case_escalate:{case.case_id}:{owner}",
                        views.case_escalate_payload(
                            case.case_id,
                            case.contact_name,
                            case.score,
                            cadence.case_resolve_days,
                            case.owner_name,
                            self.lang(languages[owner]),
                        ),
                    )
                    for owner in owners
                ]
                queued += await queue_case_message(
                    self.db, case.case_id, "escalated_at", messages, now
                )
        return queued

    async def tick(self) -> int:
        """Everything that may have fallen due; safe to call at any moment, any number of times."""
        async with self._tick_lock:
            await self.live.get()
            return await self._tick()

    async def _tick(self) -> int:
        now = self.clock()
        if self._planned_for != self.today(now):
            await self.plan()
        cadence = self.settings.cadence
        queued = await queue_case_alerts(self.db, self.settings, now)
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
                lambda survey_id, language: views.nudge_payload(survey_id, self.lang(language)),
            )
        queued += await self.queue_case_deadlines(now)
        queued += await queue_unreachable_notices(
            self.db,
            now,
            lambda name, phone, language: views.unreachable_payload(
                name, phone, self.lang(language)
            ),
        )
        if queued:
            log.info("tick: %d messages queued", queued)
        self.sender.kick()
        return queued
