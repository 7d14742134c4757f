"""What the scheduler sends: nudges, case deadlines, unreachable notices, timed reminders, digests.

Each function marks what it queued in the same transaction as the outbox rows (or relies on the
outbox's idempotency key), so a tick that runs twice, or again after a restart, queues nothing new.
`may_write_first` is the one contact budget every bot-initiated message to a person goes through.
The budget counts only what the bot itself sent (`contact_log.channel = 'bot'`): a manager's call
is human contact, shown on the card, and must not hold back the bot's survey nudge.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

from storage.db import Database
from storage.outbox import enqueue
from storage.tasks import TASK_SQL, TaskView, task_view
from storage.timefmt import from_ts, ts

# What the minute tick reads, one constant each, so tests/test_query_plans.py checks the plan
# SQLite picks for exactly these (each must walk a partial index of what may be due, never a
# whole table: the tick holds the one connection while it reads).
NUDGE_WINDOW_DAYS = 14  # a survey opened longer ago than this before its nudge was due: no nudge
UNREACHABLE_DAYS = 3  # a person who blocked the bot longer ago than this: the manager was told

NUDGES_SQL = (
    "SELECT s.id, s.contact_id, s.respondent_tg_id, s.language, s.kind FROM surveys s "
    "JOIN contacts c ON c.id = s.contact_id "
    "WHERE s.answered_at IS NULL AND s.nudged_at IS NULL AND s.opened_at IS NOT NULL "
    "AND s.opened_at <= :due AND s.opened_at > :oldest AND s.respondent_tg_id IS NOT NULL "
    "AND c.opted_out_at IS NULL AND c.unreachable_at IS NULL "
    "AND c.forgotten_at IS NULL AND c.tg_user_id IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM contact_log l WHERE l.contact_id = s.contact_id "
    "AND l.initiated = 1 AND l.channel = 'bot' AND l.at > :since) "
    "ORDER BY s.opened_at"
)
# A taken case is never reminded, so "not reminded" cannot bound this: every case leaves it when
# it is escalated or resolved (cases_watch holds only those that have not). Of the recent cases,
# only those nobody took or was reminded of are read; the read is answered from the index alone
# (it carries every column used), and the names and scores are read only for the cases due.
WATCHED_CASES_SQL = (
    "SELECT k.id, k.status, k.opened_at, k.reminded_at IS NOT NULL AS reminded FROM cases k "
    "WHERE k.escalated_at IS NULL AND k.status != 'resolved' AND k.opened_at <= :earliest "
    "AND (k.opened_at <= :escalate_by OR (k.status = 'open' AND k.reminded_at IS NULL)) "
    "ORDER BY k.opened_at"
)
OPEN_CASES_SQL = (
    "SELECT k.id, k.status, k.opened_at, c.full_name, s.score, "
    "(SELECT user_id FROM staff WHERE active = 1 AND user_id = "
    "coalesce(s.manager_id, c.manager_id)) AS manager_id, o.full_name AS owner_name, "
    "k.reminded_at IS NOT NULL AS reminded, k.escalated_at IS NOT NULL AS escalated "
    "FROM cases k JOIN contacts c ON c.id = k.contact_id "
    "LEFT JOIN surveys s ON s.id = k.survey_id "
    "LEFT JOIN staff o ON o.user_id = k.owner_id "
    "WHERE k.id IN ({marks}) ORDER BY k.opened_at"
)
UNREACHABLE_SQL = (
    "SELECT c.id, c.manager_id, c.full_name, c.phone, c.unreachable_at, s.language "
    "FROM contacts c JOIN staff s ON s.user_id = c.manager_id AND s.active = 1 "
    "WHERE c.unreachable_at IS NOT NULL AND c.unreachable_at > ?"
)
TIMED_REMINDERS_SQL = (
    TASK_SQL + " JOIN staff m ON m.user_id = t.manager_id AND m.active = 1 "
    "WHERE t.status = 'pending' AND t.notified_at IS NULL AND t.due_at IS NOT NULL "
    "AND t.due_at <= ?"
)
# One read for every member's day plan, not one per member: each read is a trip to the
# connection's thread and a turn of its lock (formatted with one `?` per key).
DIGEST_QUEUED_SQL = "SELECT idem_key FROM outbox WHERE idem_key IN ({marks})"


async def anything(db: Database, sql: str, params: Any) -> bool:
    """Whether a tick's query finds anything, read outside any transaction: most minutes nothing
    is due, and a plain read is one trip to the connection's thread where BEGIN IMMEDIATE, the
    read and COMMIT are three (the write transaction then reads again)."""
    async with db.read() as conn:
        return await (await conn.execute(sql, params)).fetchone() is not None


class Blocked(enum.StrEnum):
    UNLINKED = "unlinked"  # never opened the bot (or was forgotten)
    OPTOUT = "optout"  # said /stop
    UNREACHABLE = "unreachable"  # blocked the bot
    NOCONSENT = "noconsent"  # declined to be contacted
    BUDGET = "budget"  # the bot already wrote first recently


async def may_write_first(
    conn: aiosqlite.Connection,
    contact_id: int,
    now: datetime,
    min_days: int,
    *,
    needs_consent: bool = False,
) -> Blocked | None:
    """None if the bot may write first to this person now, else why not."""
    row = await (
        await conn.execute(
            "SELECT tg_user_id, opted_out_at, unreachable_at, forgotten_at, contact_consent "
            "FROM contacts WHERE id = ?",
            (contact_id,),
        )
    ).fetchone()
    if row is None or row["tg_user_id"] is None or row["forgotten_at"] is not None:
        return Blocked.UNLINKED
    if row["opted_out_at"] is not None:
        return Blocked.OPTOUT
    if row["unreachable_at"] is not None:
        return Blocked.UNREACHABLE
    if needs_consent and not row["contact_consent"]:
        return Blocked.NOCONSENT
    since = ts(now - timedelta(days=min_days))
    # Only the bot's own messages: calls are logged with initiated = 1 too (the company called).
    recent = await (
        await conn.execute(
            "SELECT 1 FROM contact_log WHERE contact_id = ? AND initiated = 1 "
            "AND channel = 'bot' AND at > ? LIMIT 1",
            (contact_id, since),
        )
    ).fetchone()
    if recent is not None:
        return Blocked.BUDGET
    # A message already queued for this person counts too.
    queued = await (
        await conn.execute(
            "SELECT 1 FROM outbox WHERE contact_id = ? AND status IN ('pending', 'claimed') "
            "LIMIT 1",
            (contact_id,),
        )
    ).fetchone()
    return Blocked.BUDGET if queued else None


async def send_greeting(
    db: Database,
    contact_id: int,
    now: datetime,
    min_days: int,
    payload: Callable[[str | None, str | None], dict[str, Any]],
    not_before: datetime | None = None,
) -> Blocked | None:
    """Queue the bot's birthday greeting to a person, if the contact budget allows it; it goes
    at `not_before` (the respondents' daytime) if that is later than now."""
    async with db.transaction() as conn:
        blocked = await may_write_first(conn, contact_id, now, min_days, needs_consent=True)
        if blocked is not None:
            return blocked
        row = await (
            await conn.execute(
                "SELECT tg_user_id, full_name, language FROM contacts WHERE id = ?", (contact_id,)
            )
        ).fetchone()
        await enqueue(
            conn,
            chat_id=row["tg_user_id"],
            purpose="greeting",
            payload=payload(row["full_name"], row["language"]),
            now=now,
            contact_id=contact_id,
            idem_key=f"greeting:{contact_id}:{now.year}",
            not_before=not_before,
        )
    return None


async def queue_nudges(
    db: Database,
    now: datetime,
    after_hours: int,
    min_days: int,
    render: Callable[[int, str | None, str], dict[str, Any]],
) -> int:
    """One gentle nudge for a survey opened but not finished (method 10).

    The survey is marked nudged only when its nudge is queued: a nudge the contact budget holds
    back stays due and goes at the first tick the budget allows, for NUDGE_WINDOW_DAYS: a nudge
    weeks late is no help, and the bound keeps what every tick reads from growing for ever.
    People the bot may never write to first (opted out, blocked the bot, forgotten) are left out
    by the query itself, so their surveys cost nothing per tick and are nudged if they come back
    with /start within the window.
    """
    queued = 0
    due = now - timedelta(hours=after_hours)
    params = {
        "due": ts(due),
        "oldest": ts(due - timedelta(days=NUDGE_WINDOW_DAYS)),
        "since": ts(now - timedelta(days=min_days)),
    }
    if not await anything(db, NUDGES_SQL, params):
        return 0
    async with db.transaction() as conn:
        # The budget is checked here in SQL too, as a pre-filter: nudges it holds back are looked
        # at again every tick, and one query keeps that cheap (measured in bench/bench_nudges.py);
        # `may_write_first` below stays the rule for what the query lets through.
        rows = await (await conn.execute(NUDGES_SQL, params)).fetchall()
        for survey_id, contact_id, chat_id, language, kind in rows:
            if await may_write_first(conn, contact_id, now, min_days) is not None:
                continue  # held back by the budget: tried again at a later tick
            await enqueue(
                conn,
                chat_id=chat_id,
                purpose="nudge",
                payload=render(survey_id, language, kind),
                now=now,
                contact_id=contact_id,
                idem_key=f"nudge:{survey_id}",
            )
            await conn.execute(
                "UPDATE surveys SET nudged_at = ? WHERE id = ?", (ts(now), survey_id)
            )
            queued += 1
    return queued


@dataclass(frozen=True, slots=True)
class OpenCase:
    case_id: int
    status: str
    opened_at: datetime
    contact_name: str | None
    score: int | None
    manager_id: int | None
    owner_name: str | None
    reminded: bool
    escalated: bool


@dataclass(frozen=True, slots=True)
class WatchedCase:
    case_id: int
    status: str
    opened_at: datetime
    reminded: bool


async def watched_cases(
    db: Database, earliest: datetime, escalate_by: datetime
) -> list[WatchedCase]:
    """Cases that may have a reminder or an escalation due: not escalated, not resolved, opened
    at or before `earliest` (no deadline comes sooner), and either opened at or before
    `escalate_by` (no escalation comes sooner) or still waiting for their reminder."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                WATCHED_CASES_SQL, {"earliest": ts(earliest), "escalate_by": ts(escalate_by)}
            )
        ).fetchall()
    return [WatchedCase(r[0], r[1], from_ts(r[2]), bool(r[3])) for r in rows]


async def open_cases(db: Database, case_ids: list[int]) -> list[OpenCase]:
    """What a reminder or an escalation says about these cases."""
    if not case_ids:
        return []
    async with db.read() as conn:
        rows = await (
            await conn.execute(OPEN_CASES_SQL.format(marks=",".join("?" * len(case_ids))), case_ids)
        ).fetchall()
    return [
        OpenCase(
            case_id=r[0],
            status=r[1],
            opened_at=from_ts(r[2]),
            contact_name=r[3],
            score=r[4],
            manager_id=r[5],
            owner_name=r[6],
            reminded=bool(r[7]),
            escalated=bool(r[8]),
        )
        for r in rows
    ]


CaseMessages = tuple[int, str, list[tuple[int, str, dict[str, Any]]]]


async def queue_case_messages(db: Database, items: Iterable[CaseMessages], now: datetime) -> int:
    """Queue cases' reminders and escalations, (case, column, [(chat, idem key, payload)]) each,
    and mark them, once each, in one transaction."""
    queued = 0
    async with db.transaction() as conn:
        for case_id, column, messages in items:
            queued += await _queue_case_message(conn, case_id, column, messages, now)
    return queued


async def _queue_case_message(
    conn: aiosqlite.Connection,
    case_id: int,
    column: str,
    messages: Iterable[tuple[int, str, dict[str, Any]]],
    now: datetime,
) -> int:
    assert column in ("reminded_at", "escalated_at")
    # Re-checked here: a case taken (for a reminder) or resolved (for an escalation) since the
    # deadline was computed gets no stale message.
    still = "status = 'open'" if column == "reminded_at" else "status != 'resolved'"
    cur = await conn.execute(
        f"UPDATE cases SET {column} = ? WHERE id = ? AND {column} IS NULL AND {still}",
        (ts(now), case_id),
    )
    if cur.rowcount != 1:
        return 0
    queued = 0
    for chat_id, key, payload in messages:
        if await enqueue(
            conn,
            chat_id=chat_id,
            purpose="case_deadline",
            payload=payload,
            now=now,
            ref=f"case:{case_id}",
            idem_key=key,
        ):
            queued += 1
    return queued


async def staff_language(db: Database, user_ids: Iterable[int]) -> dict[int, str | None]:
    ids = list(user_ids)
    if not ids:
        return {}
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT user_id, language FROM staff WHERE user_id IN "
                f"({','.join('?' * len(ids))})",
                ids,
            )
        ).fetchall()
    found = {r[0]: r[1] for r in rows}
    return {i: found.get(i) for i in ids}


async def queue_unreachable_notices(
    db: Database,
    now: datetime,
    render: Callable[[str | None, str | None, str | None], dict[str, Any]],
) -> int:
    """Tell a person's manager once that the bot can no longer write to them."""
    queued = 0
    params = (ts(now - timedelta(days=UNREACHABLE_DAYS)),)
    if not await anything(db, UNREACHABLE_SQL, params):
        return 0
    async with db.transaction() as conn:
        rows = await (await conn.execute(UNREACHABLE_SQL, params)).fetchall()
        for contact_id, manager_id, name, phone, since, language in rows:
            if await enqueue(
                conn,
                chat_id=manager_id,
                purpose="unreachable",
                payload=render(name, phone, language),
                now=now,
                idem_key=f"unreachable:{contact_id}:{since}",
            ):
                queued += 1
    return queued


async def claim_timed_reminders(
    db: Database, now: datetime, render: Callable[[TaskView, str | None], dict[str, Any]]
) -> int:
    """A call-back at an hour, or a snoozed task: remind the manager when its hour comes."""
    queued = 0
    if not await anything(db, TIMED_REMINDERS_SQL, (ts(now),)):
        return 0
    async with db.transaction() as conn:
        rows = await (await conn.execute(TIMED_REMINDERS_SQL, (ts(now),))).fetchall()
        for row in rows:
            task = task_view(row)
            if task.manager_id is None:
                continue
            lang = await (
                await conn.execute(
                    "SELECT language FROM staff WHERE user_id = ?", (task.manager_id,)
                )
            ).fetchone()
            await enqueue(
                conn,
                chat_id=task.manager_id,
                purpose="reminder",
                payload=render(task, lang[0] if lang else None),
                now=now,
                idem_key=f"remind:{task.id}:{row['due_at']}",
            )
            await conn.execute("UPDATE tasks SET notified_at = ? WHERE id = ?", (ts(now), task.id))
            queued += 1
    return queued


async def queue_digest(
    db: Database, user_id: int, day: date, payload: dict[str, Any] | None, now: datetime
) -> bool:
    """Queue the day's plan, once; `None` marks a day with nothing to do (nothing is sent)."""
    key = _digest_key(user_id, day)
    async with db.transaction() as conn:
        if payload is None:
            cur = await conn.execute(
                "INSERT INTO outbox (idem_key, chat_id, purpose, payload, status, not_before, "
                "created_at) VALUES (?, ?, 'digest', '{}', 'dropped', ?, ?) "
                "ON CONFLICT (idem_key) DO NOTHING",
                (key, user_id, ts(now), ts(now)),
            )
            return cur.rowcount == 1
        queued = await enqueue(
            conn,
            chat_id=user_id,
            purpose="digest",
            payload=payload,
            now=now,
            idem_key=key,
        )
        return queued is not None


def _digest_key(user_id: int, day: date) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


async def digests_queued(db: Database, user_ids: Iterable[int], day: date) -> set[int]:
    """Who among these already has the day's plan queued (or the day marked as empty)."""
    keys = {_digest_key(user_id, day): user_id for user_id in user_ids}
    if not keys:
        return set()
    sql = DIGEST_QUEUED_SQL.format(marks=",".join("?" * len(keys)))
    async with db.read() as conn:
        rows = await (await conn.execute(sql, list(keys))).fetchall()
    return {keys[row[0]] for row in rows}


async def set_opt_out(db: Database, tg_user_id: int, opted_out: bool, now: datetime) -> bool:
    """/stop (True) or /start again (False); True if a contact record changed."""
    async with db.transaction() as conn:
        if opted_out:
            cur = await conn.execute(
                "UPDATE contacts SET opted_out_at = ?, updated_at = ? "
                "WHERE tg_user_id = ? AND opted_out_at IS NULL",
                (ts(now), ts(now), tg_user_id),
            )
        else:
            cur = await conn.execute(
                "UPDATE contacts SET opted_out_at = NULL, updated_at = ? "
                "WHERE tg_user_id = ? AND opted_out_at IS NOT NULL",
                (ts(now), tg_user_id),
            )
        return cur.rowcount > 0
