"""APScheduler only ticks; our tables hold the truth about what is due and what was sent.

`misfire_grace_time` is large and `coalesce` on: a tick that was late (the machine slept, the
loop was busy) still runs, once, instead of APScheduler's default of silently skipping a run that
is more than one second late. `max_instances=1`: a slow tick is never overlapped by the next.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.config import Settings
from scheduler.alerts import queue_case_alerts
from scheduler.sender import Sender
from storage import Database

log = logging.getLogger(__name__)

TICK_SECONDS = 60
JOB_DEFAULTS = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}


async def tick(db: Database, settings: Settings, clock: Clock, sender: Sender) -> None:
    """Queue whatever has fallen due (idle detractor alerts for now) and wake the sender."""
    queued = await queue_case_alerts(db, settings, clock())
    if queued:
        log.info("tick: %d alerts queued", queued)
    sender.kick()


def create_scheduler(
    db: Database, settings: Settings, clock: Clock, sender: Sender
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.timezone, job_defaults=JOB_DEFAULTS)
    scheduler.add_job(
        tick,
        "interval",
        seconds=TICK_SECONDS,
        args=(db, settings, clock, sender),
        id="tick",
        replace_existing=True,
    )
    return scheduler
