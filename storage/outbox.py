"""The outbox: every message the bot sends first (alerts, reminders, nudges) is a row here.

A row is enqueued in the same transaction as the fact that caused it, so the message cannot be
lost by a crash; the sender then claims it, sends it, and marks it with Telegram's message_id.
Claimed rows found at start-up were interrupted before their result was recorded and go back to
pending: a send is repeated only if the process died inside that one request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import Database
from storage.timefmt import ts


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    chat_id: int
    contact_id: int | None
    purpose: str
    ref: str | None
    payload: dict[str, Any]
    attempts: int


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


async def recover_claimed(db: Database) -> int:
    async with db.transaction() as conn:
        cur = await conn.execute("UPDATE outbox SET status = 'pending' WHERE status = 'claimed'")
        return cur.rowcount


async def claim_due(db: Database, now: datetime, limit: int = 100) -> list[OutboxRow]:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "SELECT id, chat_id, contact_id, purpose, ref, payload, attempts FROM outbox "
            "WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?",
            (ts(now), limit),
        )
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


async def mark_retry(db: Database, row: OutboxRow, not_before: datetime, error: str) -> None:
    async with db.transaction() as conn:  # a row dropped meanwhile stays dropped
        await conn.execute(
            "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? "
            "WHERE id = ? AND status = 'claimed'",
            (ts(not_before), error[:500], row.id),
        )


async def mark_failed(db: Database, row: OutboxRow, error: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'failed', last_error = ? "
            "WHERE id = ? AND status = 'claimed'",
            (error[:500], row.id),
        )
