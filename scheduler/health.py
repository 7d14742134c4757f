"""The owners' daily delivery line: how many messages the bot gave up on since the last line.

Sent only when something failed, through the outbox like every other message (an idempotency key
per owner and day, so a restart or a second run the same day queues nothing more). The count
runs from the previous line, not over a fixed day, so a day the bot was down loses nothing. A
person who blocked the bot is left out: their manager is told at once, and it is not a fault.
"""

from __future__ import annotations

import logging

from scheduler.followup import FollowUp
from storage.outbox import HEALTH_PURPOSE, delivery_health, enqueue
from storage.staff import staff_languages
from views.texts import t

log = logging.getLogger(__name__)


def health_text(lang: str, expired: int, refused: int, maybe_arrived: int) -> str:
    lines = [t(lang, "health.title", total=expired + refused + maybe_arrived)]
    if expired:
        lines.append(t(lang, "health.expired", n=expired))
    if refused:
        lines.append(t(lang, "health.refused", n=refused))
    if maybe_arrived:
        lines.append(t(lang, "health.maybe_arrived", n=maybe_arrived))
    lines.append(t(lang, "health.where"))
    return "\n".join(lines)


async def report_delivery(followup: FollowUp) -> int:
    """Queue the line to every owner if anything failed; how many lines were queued."""
    db, settings, now = followup.db, followup.settings, followup.clock()
    health = await delivery_health(db, now)
    if not health.total or not settings.owner_ids:
        return 0
    day = followup.today(now).isoformat()
    queued = 0
    async with db.transaction() as conn:
        languages = await staff_languages(conn, settings.owner_ids)
        for owner_id in sorted(settings.owner_ids):
            lang = languages.get(owner_id) or settings.default_language
            text = health_text(lang, health.expired, health.refused, health.maybe_arrived)
            row = await enqueue(
                conn,
                chat_id=owner_id,
                purpose=HEALTH_PURPOSE,
                payload={"text": text},
                now=now,
                idem_key=f"{HEALTH_PURPOSE}:{day}:{owner_id}",
            )
            queued += row is not None
    if queued:
        log.warning("delivery line queued: %d messages failed since %s", health.total, health.since)
        followup.sender.kick()
    return queued
