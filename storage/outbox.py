"""The outbox: every message the bot sends first (alerts, reminders, nudges) is a row here.

A row is enqueued in the same transaction as the fact that caused it, so the message cannot be
lost by a crash; the sender then claims it, sends it, and marks it with Telegram's message_id.
Claimed rows found at start-up were interrupted before their result was recorded and go back to
pending: a send is repeated only if the process died inside that one request. A row that keeps
failing carries `failing_since`, so the sender can give it up after a day; a failed row keeps
`failed_at` and `fail_reason` for the owners' daily delivery line.

The sender's every step is one hop to the database thread (`db.write` / `db.fetch`): choosing
and claiming the next rows (`choose_ready`: the oldest due row of each chat that is ready, so a
chat cooling down never holds up the others), the check before the request, the mark after it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
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
    """Queue a message inside the caller's transaction; a repeated idem_key queues nothing.
    The statement is `enqueue_in`'s, run as one job in the database thread."""
    return await conn._execute(
        partial(
            enqueue_in,
            conn._conn,
            chat_id=chat_id,
            purpose=purpose,
            payload=payload,
            now=now,
            contact_id=contact_id,
            ref=ref,
            idem_key=idem_key,
            not_before=not_before,
        )
    )


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
_COLUMNS = "id, chat_id, contact_id, purpose, ref, payload, attempts, failing_since"
# What the sender scans to choose the next rows: the due rows, oldest first, via the index
# (status, not_before); `chat_id` alone is read from the table.
_SCAN_SQL = (
    "SELECT id, chat_id FROM outbox WHERE status = 'pending' AND not_before <= ? "
    "ORDER BY not_before, id LIMIT ?"
)
SCAN_LIMIT = 2000


def _row(row: sqlite3.Row | tuple[Any, ...]) -> OutboxRow:
    """An OutboxRow from the columns of `_COLUMNS` (attempts as stored)."""
    id_, chat_id, contact_id, purpose, ref, payload, attempts, failing_since = row
    return OutboxRow(
        id=id_,
        chat_id=chat_id,
        contact_id=contact_id,
        purpose=purpose,
        ref=ref,
        payload=json.loads(payload),
        attempts=attempts,
        failing_since=from_ts(failing_since) if failing_since else None,
    )


async def recover_claimed(db: Database) -> int:
    def job(conn: sqlite3.Connection) -> int:
        return conn.execute(
            "UPDATE outbox SET status = 'pending' WHERE status = 'claimed'"
        ).rowcount

    return await db.write(job)


def _claim_ids(conn: sqlite3.Connection, ids: list[int], now: datetime) -> list[OutboxRow]:
    """Claim these pending rows (one UPDATE ... RETURNING), in the order given."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    cur = conn.execute(
        f"UPDATE outbox SET status = 'claimed', claimed_at = ?, attempts = attempts + 1 "
        f"WHERE id IN ({marks}) AND status = 'pending' RETURNING {_COLUMNS}",
        (ts(now), *ids),
    )
    claimed = {row.id: row for row in map(_row, cur.fetchall())}
    return [claimed[i] for i in ids if i in claimed]


async def claim_due(db: Database, now: datetime, limit: int = 100) -> list[OutboxRow]:
    """Claim the first `limit` due rows, whatever their chats (what a crash test needs)."""

    def job(conn: sqlite3.Connection) -> list[OutboxRow]:
        ids = [r[0] for r in conn.execute(CLAIM_SQL, (ts(now), limit))]
        return _claim_ids(conn, ids, now)

    return await db.write(job)


@dataclass(frozen=True, slots=True)
class Claim:
    """What one look at the outbox found for the sender."""

    rows: list[OutboxRow]
    """Claimed now, at most one per chat, in the order they are to go."""
    next_ready: float | None = None
    """The earliest `blocked` time (the sender's monotonic clock) of a chat that has a due row
    waiting; None if no due row waits for a chat to become ready."""
    more: bool = False
    """More chats have a due row ready to go than were asked for."""
    stale_holds: tuple[int, ...] = ()
    """Chats whose held row is no longer pending (sent, dropped): their hold can go."""


def choose_ready(
    conn: sqlite3.Connection,
    now: datetime,
    *,
    want: int,
    blocked: Mapping[int, float],
    held: Mapping[int, int],
    scan: int = SCAN_LIMIT,
) -> Claim:
    """Claim up to `want` due rows, one per chat, skipping the chats in `blocked` (a request in
    flight, cooling down, paused after a 429: the value is when it is ready again), in the order
    of each chat's oldest due row. A chat's row is its lowest id among the due rows scanned, so
    a chat's messages go in the order they were queued even when a re-queued row got a later
    `not_before`; a chat in `held` (after a 429) sends nothing but that row, whenever it is due,
    and a chat with a row re-queued after a 429 (`holds_chat`) that is not due yet sends
    nothing else meanwhile: what keeps the order after a restart, when `held` is empty.
    Runs inside `db.write`: the choice and the claim are one transaction, one hop."""
    best: dict[int, int] = {}  # chat -> lowest due id
    next_ready: float | None = None
    for id_, chat_id in conn.execute(_SCAN_SQL, (ts(now), scan)):
        hold = held.get(chat_id)
        if hold is not None and hold != id_:
            continue  # waits for its held row, which is not due yet
        ready_at = blocked.get(chat_id)
        if ready_at is not None:
            if next_ready is None or ready_at < next_ready:
                next_ready = ready_at
            continue
        if chat_id not in best or id_ < best[chat_id]:
            best[chat_id] = id_  # dicts keep the first-seen order of the chats
    if best:
        # A chat's row re-queued after a 429 goes before the chat's later rows, due or not,
        # after a restart too (the sender's `held` is gone then).
        chats = list(best)
        marks = ", ".join("?" * len(chats))
        for chat_id, first in conn.execute(
            f"SELECT chat_id, min(id) FROM outbox WHERE status = 'pending' AND holds_chat = 1 "
            f"AND chat_id IN ({marks}) GROUP BY chat_id",
            chats,
        ):
            if first < best[chat_id]:
                del best[chat_id]  # that row is not due yet: the chat waits for it
    stale: tuple[int, ...] = ()
    if held:
        holds = list(held.values())
        marks = ", ".join("?" * len(holds))
        pending = {
            r[0]
            for r in conn.execute(
                f"SELECT id FROM outbox WHERE id IN ({marks}) AND status = 'pending'", holds
            )
        }
        stale = tuple(chat for chat, id_ in held.items() if id_ not in pending)
    chosen = list(best.values())[: max(want, 0)]
    if next_ready is not None and next_ready == float("inf"):
        next_ready = None  # only chats with a request in flight: their end wakes the sender
    return Claim(_claim_ids(conn, chosen, now), next_ready, len(best) > len(chosen), stale)


async def claim_ready(
    db: Database,
    now: datetime,
    *,
    want: int,
    blocked: Mapping[int, float],
    held: Mapping[int, int],
) -> Claim:
    """`choose_ready` in one write transaction (see there)."""
    return await db.write(choose_ready, now, want=want, blocked=blocked, held=held)


async def any_due(db: Database, now: datetime) -> bool:
    """Whether some row is due (lock-free read: while all sending is paused)."""

    def job(conn: sqlite3.Connection) -> bool:
        sql = "SELECT 1 FROM outbox WHERE status = 'pending' AND not_before <= ? LIMIT 1"
        return conn.execute(sql, (ts(now),)).fetchone() is not None

    return await db.fetch(job)


async def mark_sent(
    db: Database, row: OutboxRow, message_id: int, now: datetime
) -> dict[str, Any] | None:
    """Record the delivery. Returns the row's payload if it was re-rendered while the message was
    in flight (a case alert updated between claim and send), so the sender can edit the message:
    otherwise that update would reach nobody, since it found the row not yet sent."""

    def job(conn: sqlite3.Connection) -> str | None:
        stored = conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ? RETURNING payload",
            (ts(now), message_id, row.id),
        ).fetchone()
        if row.contact_id is not None:
            conn.execute(
                "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated, outbox_id) "
                "VALUES (?, ?, 'bot', ?, 1, ?)",
                (row.contact_id, ts(now), row.purpose, row.id),
            )
        return stored[0] if stored else None

    stored = await db.write(job)
    current = json.loads(stored) if stored else row.payload
    return current if current != row.payload else None


async def still_claimed(db: Database, row: OutboxRow) -> bool:
    """Right before the request: the row may have been dropped since it was claimed (the person
    was erased with /forget). A lock-free read of what is committed: the claim is."""

    def job(conn: sqlite3.Connection) -> bool:
        found = conn.execute("SELECT status FROM outbox WHERE id = ?", (row.id,)).fetchone()
        return found is not None and found[0] == "claimed"

    return await db.fetch(job)


async def mark_retry(
    db: Database,
    row: OutboxRow,
    not_before: datetime,
    error: str,
    *,
    failed_at: datetime | None = None,
    hold: bool = False,
) -> None:
    """Back to pending until `not_before`. `failed_at`: this was a failure (not a stop), which
    starts the row's day of retries if it is the first one. `hold` (after a 429): the chat's
    later rows wait for this one, even after a restart."""

    def job(conn: sqlite3.Connection) -> None:  # a row dropped meanwhile stays dropped
        conn.execute(
            "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ?, "
            "failing_since = COALESCE(failing_since, ?), holds_chat = ? "
            "WHERE id = ? AND status = 'claimed'",
            (ts(not_before), error[:500], ts(failed_at) if failed_at else None, hold, row.id),
        )

    await db.write(job)


async def mark_failed(
    db: Database, row: OutboxRow, error: str, *, reason: str, now: datetime
) -> None:
    def job(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, fail_reason = ?, failed_at = ? "
            "WHERE id = ? AND status = 'claimed'",
            (error[:500], reason, ts(now), row.id),
        )

    await db.write(job)


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
