"""Detractor alerts: queue each case's alert to the contact's manager and the owners, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.cards import case_alert_payload
from bot.config import Settings
from storage import Database
from storage.cases import CaseCard, Recipient, queue_alerts

# A person who stops after the score still produces an alert, with what they said, after this.
ALERT_IDLE = timedelta(minutes=15)


async def queue_case_alerts(db: Database, settings: Settings, now: datetime) -> int:
    def render(card: CaseCard, recipient: Recipient) -> dict[str, Any]:
        return case_alert_payload(card, recipient.language or settings.default_language, settings)

    return await queue_alerts(db, settings.owner_ids, now, now - ALERT_IDLE, render)
