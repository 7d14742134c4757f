"""Detractor alerts: queued once per case, on the score itself, to the manager who made the deal
and to the owners; then kept up to date (reason, consent, phone, who took it) by editing them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiogram import Bot

from domain.settings import Settings
from scheduler.sender import edit_to
from storage import Database
from storage.cases import CaseCard, Recipient, alert_messages, queue_alerts
from views.cases import case_alert_payload

log = logging.getLogger(__name__)


def _renderer(settings: Settings) -> Any:
    def render(card: CaseCard, recipient: Recipient) -> dict[str, Any]:
        return case_alert_payload(card, recipient.language or settings.default_language, settings)

    return render


async def queue_case_alerts(db: Database, settings: Settings, now: datetime) -> int:
    return await queue_alerts(db, settings.owner_ids, now, _renderer(settings))


async def refresh_case_alerts(
    db: Database, bot: Bot, settings: Settings, case_id: int
) -> CaseCard | None:
    """Re-render a case's alerts: queued ones in the outbox, delivered ones by editing them."""
    card, to_edit = await alert_messages(db, case_id, _renderer(settings))
    for chat_id, message_id, payload in to_edit:
        error = await edit_to(bot, chat_id, message_id, payload)
        if error is not None:  # e.g. "message is not modified"
            log.info("case %d: alert in chat %d not edited: %s", case_id, chat_id, error)
    return card
