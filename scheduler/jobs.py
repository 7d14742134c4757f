"""APScheduler only ticks; our tables hold the truth about what is due and what was sent.

Two jobs call the same idempotent `FollowUp.tick`: every minute (reminders at their hour, nudges,
deadlines, alerts, and a digest that was missed while the bot was down) and a cron job at
DIGEST_TIME so the plan arrives on the minute. `misfire_grace_time` is large and `coalesce` on: a
late run (the machine slept, the loop was busy) still runs, once, instead of APScheduler's default
of silently skipping a run more than one second late. `max_instances=1`: runs never overlap.
The owners' delivery line (scheduler/health.py) runs with the plan, at DIGEST_TIME.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from domain.log_context import log_context
from domain.settings import Settings
from scheduler.followup import FollowUp
from scheduler.health import report_delivery
from storage.backup import daily_backup

log = logging.getLogger(__name__)

TICK_SECONDS = 60
JOB_DEFAULTS = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}


async def tick(followup: FollowUp) -> None:
    with log_context("tick"):
        try:
            await followup.tick()
        except Exception:  # logged; the next tick tries again (our tables still hold what is due)
            log.exception("follow-up tick failed")


async def backup(settings: Settings, followup: FollowUp) -> None:
    """The daily online backup (in a worker thread: the bot keeps answering)."""
    try:
        made = await asyncio.to_thread(
            daily_backup, settings.database_path, followup.today(), settings.backup_keep
        )
        if made is not None:
            log.info("backup written to %s", made)
    except Exception:  # logged; tomorrow's run tries again
        log.exception("daily backup failed")


async def delivery_line(followup: FollowUp) -> None:
    """The owners' daily delivery line, only when messages failed since the last one."""
    with log_context("tick"):
        try:
            await report_delivery(followup)
        except Exception:  # logged; tomorrow's run counts these failures too
            log.exception("delivery line failed")


# The jobs that run at DIGEST_TIME: made together, moved together when the time changes.
DIGEST_JOBS = {"digest": tick, "delivery": delivery_line}


def move_digest(scheduler: AsyncIOScheduler, settings: Settings) -> None:
    """Put the DIGEST_TIME job at the time now in force (an owner changed it in the chat)."""
    digest = settings.cadence.digest_time
    for job_id in DIGEST_JOBS:
        scheduler.reschedule_job(
            job_id,
            trigger=CronTrigger(hour=digest.hour, minute=digest.minute, timezone=settings.timezone),
        )
    log.info("the plan job now runs at %s", digest.strftime("%H:%M"))


def create_scheduler(settings: Settings, followup: FollowUp) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.timezone, job_defaults=JOB_DEFAULTS)
    scheduler.add_job(
        tick, "interval", seconds=TICK_SECONDS, args=(followup,), id="tick", replace_existing=True
    )
    digest = settings.cadence.digest_time
    for job_id, job in DIGEST_JOBS.items():
        scheduler.add_job(
            job,
            "cron",
            hour=digest.hour,
            minute=digest.minute,
            args=(followup,),
            id=job_id,
            replace_existing=True,
        )
    scheduler.add_job(
        backup,
        "cron",
        hour=3,
        minute=30,
        args=(settings, followup),
        id="backup",
        replace_existing=True,
    )
    return scheduler
