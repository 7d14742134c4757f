"""The outbox: every message the bot sends first (alerts, reminders, nudges) is a row here.

A row is enqueued in the same transaction as the fact that caused it, so the message cannot be
lost by a crash; the sender then claims it, sends it, and marks it with Telegram's message_id.
Claimed rows found at start-up were interrupted before their result was recorded and go back to
pending: a send is repeated only if the process died inside that one request. A row that keeps
failing carries `failing_since`, so the sender can give it up after a day; a failed row keeps
`failed_at` and `fail_reason` for the owners' daily delivery line.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from storage.db import Database
from storage.timefmt import from_ts, ts

# Why a row failed (outbox.fail_reason).
BLOCKED = "blocked"  # 403: the person blocked the bot or is gone
TIMEOUT = "timeout"  # no answer in time: it may have arrived, so it is not repeated
UNREADABLE = "unreadable"  # carried out, but the answer could not be read
REFUSED = "refused"  # another refusal by Telegram (400 ...)
EXPIRED = "expired"  # not taken by Telegram for a day


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    chat_id: int
    contact_id: int | None
    purpose: str
    ref: str | None
    payload: dict[str, Any]
    attempts: int
    failing_since: datetime | None = None
    """When the first of the failures that made it pending again happened."""


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    chat_id: int,
    purpose: str,
    payload: dict[str, Any],
    now: datetime,
    contact_id: int | None = None,
    ref: str | None = None,
    idem_key: str | None = None,
    not_before: datetime | None = None,
) -> int | None:
    """Queue a message inside the caller's transaction; a repeated idem_key queues nothing."""
    cur = await conn.execute(
        "INSERT INTO outbox (idem_key, chat_id, contact_id, purpose, ref, payload, not_before, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING",
        (
            idem_key,
            chat_id,
            contact_id,
            purpose,
            ref,
            json.dumps(payload, ensure_ascii=False),
            ts(not_before or now),
            ts(now),
        ),
    )
    return cur.lastrowid if cur.rowcount == 1 else None


def enqueue_in(
    conn: sqlite3.Connection,
    *,
    chat_id: int,
    purpose: str,
    payload: dict[str, Any],
    now: datetime,
    contact_id: int | None = None,
    ref: str | None = None,
    idem_key: str | None = None,
    not_before: datetime | None = None,
) -> int | None:
    """`enqueue` for a function run by `db.write` (a plain `sqlite3` connection, in the database
    thread): the same row, in the caller's transaction."""
    cur = conn.execute(
        "INSERT INTO outbox (idem_key, chat_id, contact_id, purpose, ref, payload, not_before, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING",
        (
            idem_key,
            chat_id,
            contact_id,
            purpose,
            ref,
            json.dumps(payload, ensure_ascii=False),
            ts(not_before or now),
            ts(now),
        ),
    )
    return cur.lastrowid if cur.rowcount == 1 else None


CLAIM_SQL = (
    "SELECT id, chat_id, contact_id, purpose, ref, payload, attempts, failing_since "
    "FROM outbox "
    "WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?"
)


async def recover_claimed(db: Database) -> int:
    async with db.transaction() as conn:
        cur = await conn.execute("UPDATE outbox SET status = 'pending' WHERE status = 'claimed'")
        return cur.rowcount


async def claim_due(db: Database, now: datetime, limit: int = 100) -> list[OutboxRow]:
    async with db.transaction() as conn:
        cur = await conn.execute(CLAIM_SQL, (ts(now), limit))
        rows = await cur.fetchall()
        if rows:
            await conn.executemany(
                "UPDATE outbox SET status = 'claimed', claimed_at = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [(ts(now), row["id"]) for row in rows],
            )
    return [
        OutboxRow(
            id=row["id"],
            chat_id=row["chat_id"],
            contact_id=row["contact_id"],
            purpose=row["purpose"],
            ref=row["ref"],
            payload=json.loads(row["payload"]),
            attempts=row["attempts"] + 1,
            failing_since=from_ts(row["failing_since"]) if row["failing_since"] else None,
        )
        for row in rows
    ]


async def mark_sent(
    db: Database, row: OutboxRow, message_id: int, now: datetime
) -> dict[str, Any] | None:
    """Record the delivery. Returns the row's payload if it was re-rendered while the message was
    in flight (a case alert updated between claim and send), so the sender can edit the message:
    otherwise that update would reach nobody, since it found the row not yet sent."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ?",
            (ts(now), message_id, row.id),
        )
        if row.contact_id is not None:
            await conn.execute(
                "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated, outbox_id) "
                "VALUES (?, ?, 'bot', ?, 1, ?)",
                (row.contact_id, ts(now), row.purpose, row.id),
            )
        stored = await (
            await conn.execute("SELECT payload FROM outbox WHERE id = ?", (row.id,))
        ).fetchone()
    current = json.loads(stored[0]) if stored else row.payload
    return current if current != row.payload else None


async def still_claimed(db: Database, row: OutboxRow) -> bool:
    """Right before the request: the row may have been dropped since it was claimed (the person
    was erased with /forget)."""
    async with db.read() as conn:
        found = await (
            await conn.execute("SELECT status FROM outbox WHERE id = ?", (row.id,))
        ).fetchone()
    return found is not None and found[0] == "claimed"


async def mark_retry(
    db: Database,
    row: OutboxRow,
    not_before: datetime,
    error: str,
    *,
    failed_at: datetime | None = None,
) -> None:
    """Back to pending until `not_before`. `failed_at`: this was a failure (not a stop), which
    starts the row's day of retries if it is the first one."""
    async with db.transaction() as conn:  # a row dropped meanwhile stays dropped
        await conn.execute(
            "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ?, "
            "failing_since = COALESCE(failing_since, ?) WHERE id = ? AND status = 'claimed'",
            (ts(not_before), error[:500], ts(failed_at) if failed_at else None, row.id),
        )


async def mark_failed(
    db: Database, row: OutboxRow, error: str, *, reason: str, now: datetime
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, fail_reason = ?, failed_at = ? "
            "WHERE id = ? AND status = 'claimed'",
            (error[:500], reason, ts(now), row.id),
        )


async def release(db: Database, row: OutboxRow, not_before: datetime, error: str) -> None:
    """Un-claim a row after an unexpected failure in the sender itself (never left claimed)."""
    await mark_retry(db, row, not_before, error, failed_at=not_before)


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    """Messages given up since the last delivery line (a person who blocked the bot is not
    news for the owners: their manager is told at once)."""

    since: datetime
    expired: int = 0
    refused: int = 0
    maybe_arrived: int = 0  # timeouts and unreadable answers

    @property
    def total(self) -> int:
        return self.expired + self.refused + self.maybe_arrived


HEALTH_PURPOSE = "delivery_health"


async def delivery_health(db: Database, now: datetime) -> DeliveryHealth:
    """Failures since the previous delivery line was queued (at most a week back; a day back if
    there was none), so each failure is reported once even if a day's line was missed."""
    async with db.read() as conn:
        last = await (
            await conn.execute(
                "SELECT max(created_at) FROM outbox WHERE purpose = ?", (HEALTH_PURPOSE,)
            )
        ).fetchone()
        since = now - timedelta(days=1)
        if last and last[0]:
            since = max(from_ts(last[0]), now - timedelta(days=7))
        cur = await conn.execute(
            "SELECT fail_reason, count(*) FROM outbox WHERE failed_at > ? AND failed_at <= ? "
            "AND fail_reason IS NOT NULL AND fail_reason != ? GROUP BY fail_reason",
            (ts(since), ts(now), BLOCKED),
        )
        counts = {reason: n for reason, n in await cur.fetchall()}
    return DeliveryHealth(
        since=since,
        expired=counts.get(EXPIRED, 0),
        refused=counts.get(REFUSED, 0),
        maybe_arrived=counts.get(TIMEOUT, 0) + counts.get(UNREADABLE, 0),
    )
