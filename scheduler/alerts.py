"""Detractor alerts: queued once per case, on the score itself, to the manager who made the deal
and to the owners; then kept up to date (reason, consent, phone, who took it) by editing them.

An edit notifies nobody, so `bring_case_up_to_date` also queues what the person said after the
alert went out as a short new message (storage/cases.py decides what is new and to whom), and the
tick settles a case whose respondent went quiet (`settle_quiet_cases`): its alerts lose their
"still answering…" after ALERT_QUIET_MINUTES instead of keeping it for ever.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot

from domain.settings import Settings
from domain.tunables import ALERT_QUIET_MINUTES
from scheduler.sender import edit_to
from storage import Database
from storage.cases import (
    AlertUpdate,
    CaseCard,
    Recipient,
    alert_messages,
    alert_messages_in,
    queue_alerts,
    quiet_cases,
)
from views.cases import case_alert_payload, case_late_payload

log = logging.getLogger(__name__)

SETTLE_BATCH = 50  # cases settled per tick: the first ticks after an upgrade stay short


def alert_renderer(settings: Settings) -> Any:
    """How an alert looks to each recipient, in their language."""

    def render(card: CaseCard, recipient: Recipient) -> dict[str, Any]:
        return case_alert_payload(card, recipient.language or settings.default_language, settings)

    return render


def _late_renderer(settings: Settings) -> Any:
    def render(
        card: CaseCard, reason: str | None, phone: str | None, language: str | None
    ) -> dict[str, Any]:
        return case_late_payload(card, reason, phone, language or settings.default_language)

    return render


async def queue_case_alerts(db: Database, settings: Settings, now: datetime) -> int:
    return await queue_alerts(db, settings.owner_ids, now, alert_renderer(settings))


def case_update_in(
    conn: sqlite3.Connection, settings: Settings, case_id: int, now: datetime
) -> AlertUpdate:
    """`bring_case_up_to_date`'s database part inside an answer's own write transaction (in the
    database thread); the caller edits the delivered alerts (`edit_alerts`) once it committed."""
    return alert_messages_in(
        conn,
        case_id,
        alert_renderer(settings),
        now,
        _late_renderer(settings),
        settings.owner_ids,
    )


async def edit_alerts(bot: Bot, case_id: int, update: AlertUpdate) -> None:
    """Edit the delivered alerts to what `update` says (Telegram's "not modified" is fine)."""
    for chat_id, message_id, payload in update.to_edit:
        error = await edit_to(bot, chat_id, message_id, payload)
        if error is not None:  # e.g. "message is not modified"
            log.info("case %d: alert in chat %d not edited: %s", case_id, chat_id, error)


async def refresh_case_alerts(
    db: Database, bot: Bot, settings: Settings, case_id: int
) -> CaseCard | None:
    """Re-render a case's alerts: queued ones in the outbox, delivered ones by editing them."""
    update = await alert_messages(db, case_id, alert_renderer(settings))
    await edit_alerts(bot, case_id, update)
    return update.card


async def bring_case_up_to_date(
    db: Database,
    bot: Bot,
    settings: Settings,
    case_id: int,
    now: datetime,
    *,
    settle_quiet: datetime | None = None,
) -> int:
    """After an answer (or when the tick settles the case): re-render the alerts and queue what
    the person said since the alert went out, once the case is settled. Returns the messages
    queued; safe to repeat (a replayed answer tells nothing twice)."""
    update = await alert_messages(
        db,
        case_id,
        alert_renderer(settings),
        now=now,
        late=_late_renderer(settings),
        owner_ids=settings.owner_ids,
        settle_quiet=settle_quiet,
    )
    await edit_alerts(bot, case_id, update)
    return update.told


async def settle_quiet_cases(db: Database, bot: Bot, settings: Settings, now: datetime) -> int:
    """Settle the cases whose respondent has said nothing for ALERT_QUIET_MINUTES: their alerts
    take the final form ("reason: not given", "not asked about contact") and what they said
    after the first alert went out is told. Returns the messages queued."""
    quiet = now - timedelta(minutes=ALERT_QUIET_MINUTES)
    queued = 0
    for case_id in await quiet_cases(db, quiet, SETTLE_BATCH):
        queued += await bring_case_up_to_date(db, bot, settings, case_id, now, settle_quiet=quiet)
    return queued
