"""Follow-up tasks: the facts the rules need, storing plans idempotently, and the task queries
of the daily plan. Facts are loaded with a handful of set-based queries (not one per person), so
planning a base of 100,000 contacts stays a matter of seconds."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import aiosqlite

from scheduler.rules import HORIZON_DAYS, ContactFacts, Plan, TaskSpec
from storage.db import Database
from storage.timefmt import from_ts, ts

# A call is planned only for deals this recent: a deal recorded weeks late needs no "next day".
CALL_WINDOW_DAYS = 14


def _local_date(stamp: str, tz: tzinfo) -> date:
    return from_ts(stamp).astimezone(tz).date()


async def load_facts(
    db: Database,
    today: date,
    tz: tzinfo,
    refresh_after_days: int,
    resend_after_days: int,
    contact_ids: Iterable[int] | None = None,
) -> list[ContactFacts]:
    only = sorted(set(contact_ids)) if contact_ids is not None else None
    where = ""
    params: list[Any] = []
    if only is not None:
        if not only:
            return []
        where = f" AND c.id IN ({','.join('?' * len(only))})"
        params = list(only)
    # instants older than these can have produced a task by now (UTC text compares correctly)
    refresh_cut = ts(
        datetime.combine(today, datetime.min.time(), tz)
        - timedelta(days=refresh_after_days - HORIZON_DAYS - 1)
    )
    resend_cut = ts(
        datetime.combine(today, datetime.min.time(), tz)
        - timedelta(days=resend_after_days - HORIZON_DAYS - 1)
    )
    call_since = (today - timedelta(days=CALL_WINDOW_DAYS)).isoformat()
    async with db.read() as conn:
        contacts = await (
            await conn.execute(
                "SELECT c.id, c.manager_id, c.birth_day, c.birth_month, c.created_at "
                "FROM contacts c WHERE c.manager_id IS NOT NULL AND c.forgotten_at IS NULL" + where,
                params,
            )
        ).fetchall()
        last_deal = dict(
            await (
                await conn.execute(
                    "SELECT d.contact_id, max(d.deal_date) FROM deals d "
                    "JOIN contacts c ON c.id = d.contact_id WHERE 1"
                    + where
                    + " GROUP BY d.contact_id",
                    params,
                )
            ).fetchall()
        )
        uncalled: dict[int, list[tuple[int, date]]] = defaultdict(list)
        for deal_id, contact_id, deal_date in await (
            await conn.execute(
                "SELECT d.id, d.contact_id, d.deal_date FROM deals d "
                "JOIN contacts c ON c.id = d.contact_id "
                "WHERE d.source = 'bot' AND d.deal_date >= ? "
                "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.idem_key = 'call:' || d.id)" + where,
                [call_since, *params],
            )
        ).fetchall():
            uncalled[contact_id].append((deal_id, date.fromisoformat(deal_date)))
        last_offer = {
            contact_id: _local_date(closed, tz)
            for contact_id, closed in await (
                await conn.execute(
                    "SELECT t.contact_id, max(t.closed_at) FROM tasks t "
                    "JOIN contacts c ON c.id = t.contact_id WHERE t.kind = 'offer' "
                    "AND t.status IN ('done', 'skipped') AND t.closed_at IS NOT NULL"
                    + where
                    + " GROUP BY t.contact_id",
                    params,
                )
            ).fetchall()
        }
        pending_offer = dict(
            await (
                await conn.execute(
                    "SELECT t.contact_id, t.idem_key FROM tasks t "
                    "JOIN contacts c ON c.id = t.contact_id "
                    "WHERE t.kind = 'offer' AND t.status = 'pending'" + where,
                    params,
                )
            ).fetchall()
        )
        promoters: dict[int, list[tuple[int, date]]] = defaultdict(list)
        for survey_id, contact_id, scored in await (
            await conn.execute(
                "SELECT s.id, s.contact_id, s.scored_at FROM surveys s "
                "JOIN contacts c ON c.id = s.contact_id "
                "WHERE s.score >= 9 AND s.scored_at <= ? "
                "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.idem_key = 'refresh:' || s.id)"
                + where,
                [refresh_cut, *params],
            )
        ).fetchall():
            promoters[contact_id].append((survey_id, _local_date(scored, tz)))
        unopened: dict[int, list[tuple[int, date]]] = defaultdict(list)
        for survey_id, contact_id, created in await (
            await conn.execute(
                "SELECT s.id, s.contact_id, s.created_at FROM surveys s "
                "JOIN contacts c ON c.id = s.contact_id "
                "WHERE s.status = 'created' AND s.created_at <= ? "
                "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.idem_key = 'resend:' || s.id)"
                + where,
                [resend_cut, *params],
            )
        ).fetchall():
            unopened[contact_id].append((survey_id, _local_date(created, tz)))
    facts = []
    for contact_id, manager_id, birth_day, birth_month, created_at in contacts:
        deal_day = last_deal.get(contact_id)
        facts.append(
            ContactFacts(
                contact_id=contact_id,
                manager_id=manager_id,
                birthday=(birth_day, birth_month) if birth_day and birth_month else None,
                last_deal=date.fromisoformat(deal_day) if deal_day else None,
                uncalled_deals=tuple(uncalled.get(contact_id, ())),
                last_offer=last_offer.get(contact_id),
                pending_offer_key=pending_offer.get(contact_id),
                promoter_answers=tuple(promoters.get(contact_id, ())),
                unopened_surveys=tuple(unopened.get(contact_id, ())),
                since=_local_date(created_at, tz),
            )
        )
    return facts


async def insert_tasks(
    conn: aiosqlite.Connection,
    specs: Iterable[TaskSpec],
    now: datetime,
    meta: dict[str, Any] | None = None,
) -> int:
    cur = await conn.executemany(
        "INSERT INTO tasks (idem_key, kind, contact_id, deal_id, survey_id, manager_id, "
        "due_date, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (idem_key) DO NOTHING",
        [
            (
                s.idem_key,
                s.kind,
                s.contact_id,
                s.deal_id,
                s.survey_id,
                s.manager_id,
                s.due_date.isoformat(),
                json.dumps(meta) if meta else None,
                ts(now),
            )
            for s in specs
        ],
    )
    return cur.rowcount


PLAN_CHUNK = 2000


async def apply_plans(db: Database, plans: Iterable[Plan], now: datetime) -> int:
    """Store new tasks (a known idem_key is skipped) and cancel obsolete ones.

    Written in transactions of PLAN_CHUNK rows, so planning a whole base (hundreds of thousands
    of tasks after an import) never holds the one connection for long: handlers answer between
    chunks. Each chunk is idempotent, so an interrupted run is simply completed by the next."""
    creates: list[TaskSpec] = []
    cancels: list[str] = []
    for plan in plans:
        creates += plan.create
        cancels += plan.cancel
    created = 0
    for first in range(0, max(len(creates), len(cancels)), PLAN_CHUNK):
        async with db.transaction() as conn:
            chunk_cancels = cancels[first : first + PLAN_CHUNK]
            if chunk_cancels:
                await conn.executemany(
                    "UPDATE tasks SET status = 'cancelled', closed_at = ? "
                    "WHERE idem_key = ? AND status = 'pending'",
                    [(ts(now), key) for key in chunk_cancels],
                )
            before = conn.total_changes
            await insert_tasks(conn, creates[first : first + PLAN_CHUNK], now)
            created += conn.total_changes - before
    if creates:
        async with db.transaction() as conn:
            # The facts were read before these transactions: a link opened in between must
            # not leave a "resend it" task behind.
            await conn.execute(
                "UPDATE tasks SET status = 'cancelled', closed_at = ? WHERE kind = 'resend' "
                "AND status = 'pending' AND survey_id IN "
                "(SELECT id FROM surveys WHERE status != 'created')",
                (ts(now),),
            )
    return created


@dataclass(frozen=True, slots=True)
class TaskView:
    id: int
    kind: str
    status: str
    contact_id: int | None
    contact_name: str | None
    organization: str | None
    phone: str | None
    contact_kind: str | None
    birth_day: int | None
    birth_month: int | None
    tg_linked: bool
    consent: bool
    manager_id: int | None
    deal_id: int | None
    deal_description: str | None
    deal_date: date | None
    survey_id: int | None
    survey_token: str | None
    survey_score: int | None
    survey_reason: str | None
    case_id: int | None
    due_date: date
    due_at: datetime | None
    attempts: int
    meta: dict[str, Any]


_TASK_SQL = """
SELECT t.id, t.kind, t.status, t.contact_id, c.full_name AS contact_name, c.organization, c.phone,
       c.kind AS contact_kind, c.birth_day, c.birth_month, c.tg_user_id, c.contact_consent,
       t.manager_id, t.deal_id, d.description AS deal_description, d.deal_date,
       t.survey_id, s.token AS survey_token, s.score AS survey_score, s.reason AS survey_reason,
       t.case_id, t.due_date, t.due_at, t.attempts, t.meta
FROM tasks t
LEFT JOIN contacts c ON c.id = t.contact_id
LEFT JOIN deals d ON d.id = t.deal_id
LEFT JOIN surveys s ON s.id = t.survey_id
"""


def _view(row: aiosqlite.Row) -> TaskView:
    return TaskView(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        contact_id=row["contact_id"],
        contact_name=row["contact_name"],
        organization=row["organization"],
        phone=row["phone"],
        contact_kind=row["contact_kind"],
        birth_day=row["birth_day"],
        birth_month=row["birth_month"],
        tg_linked=row["tg_user_id"] is not None,
        consent=bool(row["contact_consent"]),
        manager_id=row["manager_id"],
        deal_id=row["deal_id"],
        deal_description=row["deal_description"],
        deal_date=date.fromisoformat(row["deal_date"]) if row["deal_date"] else None,
        survey_id=row["survey_id"],
        survey_token=row["survey_token"],
        survey_score=row["survey_score"],
        survey_reason=row["survey_reason"],
        case_id=row["case_id"],
        due_date=date.fromisoformat(row["due_date"]),
        due_at=from_ts(row["due_at"]) if row["due_at"] else None,
        attempts=row["attempts"],
        meta=json.loads(row["meta"]) if row["meta"] else {},
    )


KIND_ORDER = (
    "meet",
    "call_back",
    "call",
    "birthday",
    "birthday_lead",
    "offer",
    "refresh",
    "resend",
    "passive",
)


async def get_task(db: Database, task_id: int) -> TaskView | None:
    async with db.read() as conn:
        row = await (await conn.execute(_TASK_SQL + " WHERE t.id = ?", (task_id,))).fetchone()
    return _view(row) if row else None


async def due_tasks(db: Database, manager_id: int, today: date, now: datetime) -> list[TaskView]:
    """What the manager should do today: due today or overdue, and not snoozed past now."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                _TASK_SQL + " WHERE t.manager_id = ? AND t.status = 'pending' "
                "AND t.due_date <= ? AND (t.due_at IS NULL OR t.due_at <= ?) "
                "ORDER BY t.due_date, t.id",
                (manager_id, today.isoformat(), ts(now)),
            )
        ).fetchall()
    views = [_view(r) for r in rows]
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return sorted(views, key=lambda v: (order.get(v.kind, 99), v.due_date, v.id))


async def upcoming_tasks(db: Database, manager_id: int, start: date, end: date) -> list[TaskView]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                _TASK_SQL + " WHERE t.manager_id = ? AND t.status = 'pending' "
                "AND t.due_date BETWEEN ? AND ? ORDER BY t.due_date, t.id",
                (manager_id, start.isoformat(), end.isoformat()),
            )
        ).fetchall()
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return sorted((_view(r) for r in rows), key=lambda v: (v.due_date, order.get(v.kind, 99), v.id))


async def close_task(
    db: Database,
    task_id: int,
    manager_id: int,
    status: str,
    outcome: str,
    now: datetime,
    note: str | None = None,
    follow_ups: Iterable[TaskSpec] = (),
    follow_up_meta: dict[str, Any] | None = None,
) -> bool:
    """Close a pending task (first tap wins) and create its follow-ups in the same transaction."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE tasks SET status = ?, outcome = ?, note = coalesce(?, note), closed_at = ? "
            "WHERE id = ? AND manager_id = ? AND status = 'pending'",
            (status, outcome, note, ts(now), task_id, manager_id),
        )
        if cur.rowcount != 1:
            return False
        await insert_tasks(conn, follow_ups, now, follow_up_meta)
        row = await (
            await conn.execute("SELECT contact_id, kind FROM tasks WHERE id = ?", (task_id,))
        ).fetchone()
        if row and row[0] is not None and row[1] in ("call", "call_back"):
            await conn.execute(
                "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated, staff_id, "
                "note) VALUES (?, ?, 'call', ?, 1, ?, ?)",
                (row[0], ts(now), outcome, manager_id, note),
            )
        if note and row and row[0] is not None:
            await conn.execute(
                "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
                "VALUES (?, ?, 'call', ?, ?)",
                (row[0], manager_id, note, ts(now)),
            )
    return True


async def snooze_task(
    db: Database,
    task_id: int,
    manager_id: int,
    due_date: date,
    due_at: datetime | None,
) -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE tasks SET due_date = ?, due_at = ?, notified_at = NULL "
            "WHERE id = ? AND manager_id = ? AND status = 'pending'",
            (due_date.isoformat(), ts(due_at) if due_at else None, task_id, manager_id),
        )
        return cur.rowcount == 1


async def contact_comments(db: Database, contact_id: int, limit: int = 10) -> list[str]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT text FROM comments WHERE contact_id = ? ORDER BY created_at DESC, id DESC "
                "LIMIT ?",
                (contact_id, limit),
            )
        ).fetchall()
    return [r[0] for r in rows]


async def contact_purchases(db: Database, contact_id: int, limit: int = 10) -> list[str]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT description, deal_date FROM deals WHERE contact_id = ? "
                "ORDER BY deal_date DESC, id DESC LIMIT ?",
                (contact_id, limit),
            )
        ).fetchall()
    return [f"{date.fromisoformat(r[1]).strftime('%d.%m.%Y')} — {r[0]}" for r in rows]


async def close_unsuitable(
    db: Database, task: TaskView, manager_id: int, meet_due: date, now: datetime
) -> int | None:
    """ "Not suitable" on a call, in one transaction: the call is closed, a case is opened and
    owned by the manager, and an urgent meeting task is created. None if already closed."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE tasks SET status = 'done', outcome = 'unsuitable', closed_at = ? "
            "WHERE id = ? AND manager_id = ? AND status = 'pending'",
            (ts(now), task.id, manager_id),
        )
        if cur.rowcount != 1:
            return None
        cur = await conn.execute(
            "INSERT INTO cases (contact_id, deal_id, source, status, owner_id, opened_at, "
            "taken_at, alerted_at) VALUES (?, ?, 'call', 'taken', ?, ?, ?, ?)",
            (task.contact_id, task.deal_id, manager_id, ts(now), ts(now), ts(now)),
        )
        case_id = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO case_events (case_id, at, actor_id, action, note) "
            "VALUES (?, ?, ?, 'opened', 'not suitable (call)')",
            (case_id, ts(now), manager_id),
        )
        await conn.execute(
            "INSERT INTO tasks (idem_key, kind, contact_id, deal_id, case_id, manager_id, "
            "due_date, created_at) VALUES (?, 'meet', ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (idem_key) DO NOTHING",
            (
                f"meet:{task.id}",
                task.contact_id,
                task.deal_id,
                case_id,
                manager_id,
                meet_due.isoformat(),
                ts(now),
            ),
        )
        if task.contact_id is not None:
            await conn.execute(
                "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated, staff_id) "
                "VALUES (?, ?, 'call', 'unsuitable', 1, ?)",
                (task.contact_id, ts(now), manager_id),
            )
    return case_id


async def create_task(
    db: Database, spec: TaskSpec, now: datetime, meta: dict[str, Any] | None = None
) -> bool:
    """A task made by an outcome (e.g. "call again tomorrow"); a repeated idem_key adds nothing."""
    async with db.transaction() as conn:
        return await insert_tasks(conn, [spec], now, meta) == 1
