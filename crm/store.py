"""The CRM tables (storage/migrations.py, CRM_CONNECTORS): connections, events, users, deals and
the comments going back. SQL only; what it means is crm/service.py's.

The one non-obvious decision: an event is claimed by moving it to `working`, not left `pending`,
so an event that arrives for the same deal while it is being read is stored as a new pending row
(the partial unique index allows one pending row per deal) and read again afterwards: the read in
progress may have seen the deal a moment before it was won.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage import Database
from storage.timefmt import from_ts, ts


@dataclass(frozen=True, slots=True)
class Connection:
    id: int
    kind: str
    account: str
    base_url: str
    token: str | None
    path_secret: str
    app_token: str | None
    created_by: int
    last_event_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    auth_failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    connection_id: int
    entity_id: str
    event: str
    status_hint: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class OutRow:
    id: int
    connection_id: int
    crm_id: str
    text: str
    attempts: int


@dataclass(frozen=True, slots=True)
class CrmUser:
    connection_id: int
    crm_user_id: str
    name: str | None
    staff_id: int | None


def _opt(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def _connection(row: aiosqlite.Row) -> Connection:
    return Connection(
        id=row["id"],
        kind=row["kind"],
        account=row["account"],
        base_url=row["base_url"],
        token=row["token"],
        path_secret=row["path_secret"],
        app_token=row["app_token"],
        created_by=row["created_by"],
        last_event_at=_opt(row["last_event_at"]),
        last_error=row["last_error"],
        last_error_at=_opt(row["last_error_at"]),
        auth_failed_at=_opt(row["auth_failed_at"]),
    )


# --- connections ------------------------------------------------------------------------------


async def save_connection(
    db: Database,
    *,
    kind: str,
    account: str,
    base_url: str,
    token: str | None,
    created_by: int,
    now: datetime,
) -> Connection:
    """The active connection of this kind, new or updated. The same portal keeps its webhook
    address and application token (only the credentials change, e.g. after a revoked webhook);
    another portal replaces the earlier one, whose pending work stops."""
    stamp = ts(now)
    async with db.transaction() as conn:
        row = await (
            await conn.execute(
                "SELECT * FROM crm_connections WHERE kind = ? AND active = 1", (kind,)
            )
        ).fetchone()
        if row is not None and row["account"] == account:
            await conn.execute(
                "UPDATE crm_connections SET base_url = ?, token = ?, auth_failed_at = NULL, "
                "last_error = NULL, last_error_at = NULL WHERE id = ?",
                (base_url, token, row["id"]),
            )
            connection_id = row["id"]
        else:
            if row is not None:
                await conn.execute(
                    "UPDATE crm_connections SET active = 0 WHERE id = ?", (row["id"],)
                )
            cur = await conn.execute(
                "INSERT INTO crm_connections (kind, account, base_url, token, path_secret, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, account, base_url, token, secrets.token_urlsafe(24), created_by, stamp),
            )
            connection_id = cur.lastrowid
        row = await (
            await conn.execute("SELECT * FROM crm_connections WHERE id = ?", (connection_id,))
        ).fetchone()
    return _connection(row)


async def disconnect(db: Database, connection_id: int) -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE crm_connections SET active = 0 WHERE id = ? AND active = 1", (connection_id,)
        )
        return cur.rowcount == 1


async def active_connections(db: Database) -> list[Connection]:
    async with db.read() as conn:
        rows = await (
            await conn.execute("SELECT * FROM crm_connections WHERE active = 1 ORDER BY kind")
        ).fetchall()
    return [_connection(r) for r in rows]


async def get_connection(db: Database, connection_id: int) -> Connection | None:
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT * FROM crm_connections WHERE id = ? AND active = 1", (connection_id,)
            )
        ).fetchone()
    return _connection(row) if row else None


async def connection_by_path(db: Database, kind: str, path_secret: str) -> Connection | None:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT * FROM crm_connections WHERE kind = ? AND active = 1", (kind,)
            )
        ).fetchall()
    # Compared in constant time, one by one (there are one or two rows).
    found = [r for r in rows if secrets.compare_digest(r["path_secret"], path_secret)]
    return _connection(found[0]) if found else None


async def learn_app_token(db: Database, connection_id: int, token: str) -> bool:
    """The first event's application_token is kept; True if this one was the first."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE crm_connections SET app_token = ? WHERE id = ? AND app_token IS NULL",
            (token, connection_id),
        )
        return cur.rowcount == 1


async def note_error(db: Database, connection_id: int, error: str, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE crm_connections SET last_error = ?, last_error_at = ? WHERE id = ?",
            (error[:300], ts(now), connection_id),
        )


async def mark_auth_failed(db: Database, connection_id: int, now: datetime) -> bool:
    """True the first time (the owners are told then, not at every retry)."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE crm_connections SET auth_failed_at = ? WHERE id = ? AND auth_failed_at IS NULL",
            (ts(now), connection_id),
        )
        return cur.rowcount == 1


# --- events -----------------------------------------------------------------------------------


async def store_events(
    db: Database, connection_id: int, events: list[tuple[str, str, str | None]], now: datetime
) -> int:
    """(event, entity id, status hint) rows; a deal already waiting is not stored twice."""
    stamp = ts(now)
    async with db.transaction() as conn:
        cur = await conn.executemany(
            "INSERT OR IGNORE INTO crm_events (connection_id, entity_id, event, status_hint, "
            "not_before, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(connection_id, e, name, hint, stamp, stamp) for name, e, hint in events],
        )
        await conn.execute(
            "UPDATE crm_connections SET last_event_at = ? WHERE id = ?", (stamp, connection_id)
        )
        return cur.rowcount


async def recover_working(db: Database) -> int:
    """At start: events whose processing a stop interrupted go back to pending (a newer pending
    row of the same deal, if any, makes the old one redundant)."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE crm_events SET status = 'done', outcome = 'superseded' "
            "WHERE status = 'working' "
            "AND EXISTS (SELECT 1 FROM crm_events p WHERE p.status = 'pending' "
            "AND p.connection_id = crm_events.connection_id AND p.entity_id = crm_events.entity_id)"
        )
        cur = await conn.execute(
            "UPDATE crm_events SET status = 'pending' WHERE status = 'working'"
        )
        return cur.rowcount


async def claim_event(db: Database, now: datetime) -> EventRow | None:
    async with db.transaction() as conn:
        row = await (
            await conn.execute(
                "SELECT e.* FROM crm_events e JOIN crm_connections c ON c.id = e.connection_id "
                "WHERE e.status = 'pending' AND e.not_before <= ? AND c.active = 1 "
                "AND c.auth_failed_at IS NULL ORDER BY e.not_before, e.id LIMIT 1",
                (ts(now),),
            )
        ).fetchone()
        if row is None:
            return None
        await conn.execute(
            "UPDATE crm_events SET status = 'working', attempts = attempts + 1 WHERE id = ?",
            (row["id"],),
        )
    return EventRow(
        row["id"],
        row["connection_id"],
        row["entity_id"],
        row["event"],
        row["status_hint"],
        row["attempts"] + 1,
    )


async def finish_event(
    db: Database, event_id: int, outcome: str, now: datetime, *, failed: bool = False
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE crm_events SET status = ?, outcome = ?, processed_at = ? WHERE id = ?",
            ("failed" if failed else "done", outcome[:300], ts(now), event_id),
        )


async def retry_event(
    db: Database, event: EventRow, not_before: datetime, outcome: str, now: datetime
) -> None:
    """Back to pending for later, unless a newer event of the same deal is already waiting (it
    will read the same deal)."""
    async with db.transaction() as conn:
        newer = await (
            await conn.execute(
                "SELECT 1 FROM crm_events WHERE status = 'pending' AND connection_id = ? "
                "AND entity_id = ?",
                (event.connection_id, event.entity_id),
            )
        ).fetchone()
        if newer:
            await conn.execute(
                "UPDATE crm_events SET status = 'done', outcome = 'superseded', processed_at = ? "
                "WHERE id = ?",
                (ts(now), event.id),
            )
        else:
            await conn.execute(
                "UPDATE crm_events SET status = 'pending', not_before = ?, outcome = ? "
                "WHERE id = ?",
                (ts(not_before), outcome[:300], event.id),
            )


async def next_due(db: Database) -> datetime | None:
    """When the earliest waiting event or comment falls due (for the loop's sleep)."""
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT min(t) FROM (SELECT min(not_before) AS t FROM crm_events "
                "WHERE status = 'pending' UNION ALL SELECT min(not_before) FROM crm_outbox "
                "WHERE status = 'pending')"
            )
        ).fetchone()
    return _opt(row[0]) if row else None


# --- users --------------------------------------------------------------------------------------


async def get_user(db: Database, connection_id: int, crm_user_id: str) -> CrmUser | None:
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT u.*, s.active AS staff_active FROM crm_users u "
                "LEFT JOIN staff s ON s.user_id = u.staff_id "
                "WHERE u.connection_id = ? AND u.crm_user_id = ?",
                (connection_id, crm_user_id),
            )
        ).fetchone()
    if row is None:
        return None
    staff = row["staff_id"] if row["staff_active"] == 1 else None
    return CrmUser(connection_id, crm_user_id, row["name"], staff)


async def remember_user(
    db: Database, connection_id: int, crm_user_id: str, name: str | None, now: datetime
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO crm_users (connection_id, crm_user_id, name, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (connection_id, crm_user_id) DO UPDATE SET "
            "name = coalesce(excluded.name, name), seen_at = excluded.seen_at",
            (connection_id, crm_user_id, name, ts(now)),
        )


async def unmatched_users(db: Database) -> list[CrmUser]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT u.* FROM crm_users u JOIN crm_connections c ON c.id = u.connection_id "
                "LEFT JOIN staff s ON s.user_id = u.staff_id "
                "WHERE c.active = 1 AND (u.staff_id IS NULL OR s.active = 0) "
                "ORDER BY u.connection_id, u.name, u.crm_user_id LIMIT 50"
            )
        ).fetchall()
    return [CrmUser(r["connection_id"], r["crm_user_id"], r["name"], None) for r in rows]


async def match_user(db: Database, connection_id: int, crm_user_id: str, staff_id: int) -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE crm_users SET staff_id = ? WHERE connection_id = ? AND crm_user_id = ? "
            "AND EXISTS (SELECT 1 FROM staff WHERE user_id = ? AND active = 1)",
            (staff_id, connection_id, crm_user_id, staff_id),
        )
        return cur.rowcount == 1


# --- deals and what goes back ---------------------------------------------------------------


async def link_deal(
    db: Database,
    connection_id: int,
    crm_id: str,
    deal_id: int,
    crm_user_id: str | None,
    link_text: str,
    now: datetime,
) -> bool:
    """The CRM deal → bot deal link and the survey link's comment, in one transaction; True if
    this deal was new to the connector."""
    stamp = ts(now)
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT OR IGNORE INTO crm_deals (connection_id, crm_id, deal_id, crm_user_id, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            (connection_id, crm_id, deal_id, crm_user_id, stamp),
        )
        await conn.execute(
            "INSERT OR IGNORE INTO crm_outbox (connection_id, crm_id, idem_key, text, "
            "not_before, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (connection_id, crm_id, f"link:{deal_id}", link_text, stamp, stamp),
        )
        return cur.rowcount == 1


@dataclass(frozen=True, slots=True)
class Answer:
    connection_id: int
    crm_id: str
    survey_id: int
    score: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class CaseNote:
    connection_id: int
    crm_id: str
    case_id: int
    status: str


async def unreported(db: Database, settled_before: datetime) -> tuple[list[Answer], list[CaseNote]]:
    """Answers of CRM deals not yet queued for the CRM (finished, or scored long enough ago that
    the reason will not come), and their cases."""
    async with db.read() as conn:
        answers = await (
            await conn.execute(
                "SELECT d.connection_id, d.crm_id, s.id, s.score, s.reason FROM crm_deals d "
                "JOIN crm_connections c ON c.id = d.connection_id AND c.active = 1 "
                "JOIN surveys s ON s.deal_id = d.deal_id "
                "WHERE s.score IS NOT NULL AND (s.answered_at IS NOT NULL OR s.scored_at <= ?) "
                "AND NOT EXISTS (SELECT 1 FROM crm_outbox o WHERE o.idem_key = 'answer:' || s.id) "
                "ORDER BY s.id LIMIT 200",
                (ts(settled_before),),
            )
        ).fetchall()
        cases = await (
            await conn.execute(
                "SELECT d.connection_id, d.crm_id, k.id, k.status FROM crm_deals d "
                "JOIN crm_connections c ON c.id = d.connection_id AND c.active = 1 "
                "JOIN cases k ON k.deal_id = d.deal_id "
                "WHERE (NOT EXISTS (SELECT 1 FROM crm_outbox o WHERE o.idem_key = 'case:' || k.id) "
                "OR (k.status = 'resolved' AND NOT EXISTS (SELECT 1 FROM crm_outbox o "
                "WHERE o.idem_key = 'case_resolved:' || k.id))) "
                "AND (k.survey_id IS NULL OR EXISTS (SELECT 1 FROM crm_outbox o "
                "WHERE o.idem_key = 'answer:' || k.survey_id)) ORDER BY k.id LIMIT 200"
            )
        ).fetchall()
    return (
        [Answer(r[0], r[1], r[2], r[3], r[4]) for r in answers],
        [CaseNote(r[0], r[1], r[2], r[3]) for r in cases],
    )


async def queue_notes(db: Database, notes: list[tuple[int, str, str, str]], now: datetime) -> int:
    """(connection, CRM deal id, idem key, text) rows; a key already queued is not queued again."""
    stamp = ts(now)
    async with db.transaction() as conn:
        cur = await conn.executemany(
            "INSERT OR IGNORE INTO crm_outbox (connection_id, crm_id, idem_key, text, "
            "not_before, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(c, crm_id, key, text, stamp, stamp) for c, crm_id, key, text in notes],
        )
        return cur.rowcount


async def due_notes(db: Database, now: datetime, limit: int = 50) -> list[OutRow]:
    """Pending comments in order, only the connections whose oldest pending comment is due (the
    order within a deal is kept: a link before its answer)."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT o.id, o.connection_id, o.crm_id, o.text, o.attempts FROM crm_outbox o "
                "JOIN crm_connections c ON c.id = o.connection_id "
                "WHERE o.status = 'pending' AND c.active = 1 AND c.auth_failed_at IS NULL "
                "AND (SELECT min(f.not_before) FROM crm_outbox f WHERE f.status = 'pending' "
                "AND f.connection_id = o.connection_id) <= ? ORDER BY o.id LIMIT ?",
                (ts(now), limit),
            )
        ).fetchall()
    return [OutRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def note_sent(db: Database, row_id: int, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE crm_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 "
            "WHERE id = ?",
            (ts(now), row_id),
        )


async def note_later(
    db: Database, row_id: int, not_before: datetime, error: str, *, failed: bool = False
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE crm_outbox SET status = ?, not_before = ?, last_error = ?, "
            "attempts = attempts + 1 WHERE id = ?",
            ("failed" if failed else "pending", ts(not_before), error[:300], row_id),
        )


@dataclass(frozen=True, slots=True)
class Figures:
    deals_today: int
    events_waiting: int
    notes_waiting: int
    unmatched: int


async def figures(db: Database, connection_id: int, day_start: datetime) -> Figures:
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT (SELECT count(*) FROM crm_deals WHERE connection_id = :c "
                "AND created_at >= :d), "
                "(SELECT count(*) FROM crm_events WHERE connection_id = :c "
                "AND status IN ('pending', 'working')), "
                "(SELECT count(*) FROM crm_outbox WHERE connection_id = :c "
                "AND status = 'pending'), "
                "(SELECT count(*) FROM crm_users u LEFT JOIN staff s ON s.user_id = u.staff_id "
                "WHERE u.connection_id = :c AND (u.staff_id IS NULL OR s.active = 0))",
                {"c": connection_id, "d": ts(day_start)},
            )
        ).fetchone()
    return Figures(row[0], row[1], row[2], row[3])


async def is_erased_phone(db: Database, digest: str) -> bool:
    async with db.read() as conn:
        row = await (
            await conn.execute("SELECT 1 FROM erased_phones WHERE phone_hash = ?", (digest,))
        ).fetchone()
    return row is not None
