"""Follow-up tasks: the facts the rules need, reconciling a person's pending tasks with their
plan, and the task queries of the daily plan.

`replan` runs inside the caller's transaction (the database calls it before every commit that
changed a person's facts, see `storage.db`), so a change and its consequences for the plan are
one atomic step. Facts are loaded for a whole batch with a handful of set-based queries (the ids
go in as one JSON array), so re-planning one person or 2,000 costs the same number of queries.

The planner (`fallback_owner`, `load_facts`, `insert_tasks`, `replan`, `sweep_lapsed`,
`contacts_due`) is plain synchronous `sqlite3` code: it runs in the database thread in the same
job as the transaction it belongs to (`Database.write`), so re-planning costs no trip through the
event loop per statement. Call it through `db.write(fn, ...)` / `db.fetch(fn, ...)`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import aiosqlite

from domain.planning import (
    FACT_MARGIN_DAYS,
    NEVER,
    ContactFacts,
    Plan,
    TaskSpec,
    is_planned_key,
    plan_contact,
)
from domain.settings import Cadence
from storage.db import Database
from storage.events import CASE_OPENED, case_changed, emit_on
from storage.timefmt import from_ts, ts

# Planning runs in transactions of this many people (about 0.1–0.2 s each), so handlers answer
# between them.
PLAN_CHUNK = 500
# `outcome` of a task the planner cancelled because its fact is gone: only these come back when
# the fact does (a birthday corrected and corrected back); a manager's own decisions never do.
REPLANNED = "replanned"
LAPSED = "lapsed"


def _local_date(stamp: str, tz: tzinfo) -> date:
    return from_ts(stamp).astimezone(tz).date()


# The ids of a batch, as one JSON array parameter. Conditions on other columns of `tasks` are
# written `+status = ...`: without statistics (the bot never runs ANALYZE) SQLite may otherwise
# walk an index on `status`, every pending task of the base, instead of `tasks_contact`.
_IDS = "(SELECT value FROM json_each(?))"


def fallback_owner(conn: sqlite3.Connection) -> int | None:
    """Who gets the tasks of people whose manager lost access: the first active owner."""
    row = conn.execute(
        "SELECT min(user_id) FROM staff WHERE role = 'owner' AND active = 1"
    ).fetchone()
    return row[0] if row else None


def load_facts(
    conn: sqlite3.Connection,
    contact_ids: Sequence[int],
    tz: tzinfo,
    today: date | None = None,
    cadence: Cadence | None = None,
) -> list[ContactFacts]:
    """The facts of these people (the forgotten and those without a manager have none).

    With `today` and `cadence`, facts too old to justify any task (rules.FACT_MARGIN_DAYS) are
    left in the database: a long history costs nothing to plan."""
    ids = json.dumps(list(contact_ids))
    deals_since = answers_since = links_since = ""
    if today is not None and cadence is not None:
        old = datetime.combine(today - timedelta(days=FACT_MARGIN_DAYS + 2), time(0), tz)
        deals_since = (today - timedelta(days=FACT_MARGIN_DAYS + 2)).isoformat()
        answers_since = ts(old - timedelta(days=cadence.refresh_after_days))
        links_since = ts(old - timedelta(days=cadence.resend_after_days))
    owner = fallback_owner(conn)
    contacts = conn.execute(
        "SELECT c.id, CASE WHEN s.active = 1 THEN c.manager_id "
        "ELSE coalesce(?, c.manager_id) END, c.birth_day, c.birth_month, c.created_at "
        "FROM contacts c LEFT JOIN staff s ON s.user_id = c.manager_id "
        f"WHERE c.id IN {_IDS} AND c.manager_id IS NOT NULL AND c.forgotten_at IS NULL",
        (owner, ids),
    ).fetchall()
    last_deal: dict[int, date] = {}
    bot_deals: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for contact_id, latest in conn.execute(
        f"SELECT contact_id, max(deal_date) FROM deals WHERE contact_id IN {_IDS} "
        "GROUP BY contact_id",
        (ids,),
    ):
        last_deal[contact_id] = date.fromisoformat(latest)
    for contact_id, deal_id, deal_date in conn.execute(
        f"SELECT contact_id, id, deal_date FROM deals WHERE contact_id IN {_IDS} "
        "AND source NOT IN ('import', 'referral') AND deal_date >= ?",
        (ids, deals_since),
    ):
        bot_deals[contact_id].append((deal_id, date.fromisoformat(deal_date)))
    last_offer = {
        contact_id: _local_date(closed, tz)
        for contact_id, closed in conn.execute(
            "SELECT contact_id, max(closed_at) FROM tasks "
            f"WHERE contact_id IN {_IDS} AND +kind = 'offer' "
            "AND +status IN ('done', 'skipped', 'missed') AND closed_at IS NOT NULL "
            "GROUP BY contact_id",
            (ids,),
        )
    }
    pending_offer: dict[int, date] = {}
    for contact_id, key in conn.execute(
        f"SELECT contact_id, idem_key FROM tasks WHERE contact_id IN {_IDS} AND +kind = 'offer' "
        "AND +status = 'pending' AND idem_key GLOB ?",
        (ids, "offer:*:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"),
    ):
        anchor = date.fromisoformat(key[-10:])
        pending_offer[contact_id] = max(anchor, pending_offer.get(contact_id, anchor))
    promoters: dict[int, list[tuple[int, date]]] = defaultdict(list)
    unopened: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for contact_id, survey_id, status, score, scored_at, created_at in conn.execute(
        "SELECT contact_id, id, status, score, scored_at, created_at FROM surveys "
        f"WHERE contact_id IN {_IDS} AND ((score >= 9 AND scored_at >= ?) "
        "OR (status = 'created' AND created_at >= ?))",
        (ids, answers_since, links_since),
    ):
        if score is not None and score >= 9 and scored_at:
            promoters[contact_id].append((survey_id, _local_date(scored_at, tz)))
        if status == "created":
            unopened[contact_id].append((survey_id, _local_date(created_at, tz)))
    return [
        ContactFacts(
            contact_id=contact_id,
            manager_id=manager_id,
            birthday=(birth_day, birth_month) if birth_day and birth_month else None,
            last_deal=last_deal.get(contact_id),
            bot_deals=tuple(sorted(bot_deals.get(contact_id, ()))),
            last_offer=last_offer.get(contact_id),
            promoter_answers=tuple(sorted(promoters.get(contact_id, ()))),
            unopened_surveys=tuple(sorted(unopened.get(contact_id, ()))),
            since=_local_date(created_at, tz),
            pending_offer=pending_offer.get(contact_id),
        )
        for contact_id, manager_id, birth_day, birth_month, created_at in contacts
    ]


def _lapses_on(spec: TaskSpec) -> str:
    if spec.lapses_on is None:  # the shelf life depends on the cadence, which storage lacks
        raise ValueError(f"task {spec.idem_key} has no lapses_on")
    return spec.lapses_on.isoformat()


def insert_tasks(
    conn: sqlite3.Connection,
    specs: Iterable[TaskSpec],
    now: datetime,
    meta: Mapping[str, Any] | None = None,
) -> int:
    """Store tasks; a known idem_key adds nothing, except that a task the planner cancelled
    (`outcome = 'replanned'`) is brought back: its fact came back. Every spec carries its
    `lapses_on`, computed by the rules with the live cadence."""
    cur = conn.executemany(
        "INSERT INTO tasks (idem_key, kind, contact_id, deal_id, survey_id, manager_id, "
        "due_date, planned_due, lapses_on, meta, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (idem_key) DO UPDATE SET status = 'pending', outcome = NULL, "
        "closed_at = NULL, manager_id = excluded.manager_id, due_date = excluded.due_date, "
        "planned_due = excluded.planned_due, lapses_on = excluded.lapses_on "
        f"WHERE tasks.status = 'cancelled' AND tasks.outcome = '{REPLANNED}'",
        [
            (
                s.idem_key,
                s.kind,
                s.contact_id,
                s.deal_id,
                s.survey_id,
                s.manager_id,
                s.due_date.isoformat(),
                s.due_date.isoformat(),
                _lapses_on(s),
                json.dumps(dict(meta)) if meta else None,
                ts(now),
            )
            for s in specs
        ],
    )
    return cur.rowcount


def replan(
    conn: sqlite3.Connection,
    contact_ids: Sequence[int],
    today: date,
    cadence: Cadence,
    tz: tzinfo,
    now: datetime,
) -> int:
    """Reconcile these people's pending tasks with their plans, inside the caller's transaction:
    create what is missing, cancel planned tasks whose fact is gone, close lapsed ones as missed,
    move tasks to whoever now looks after the person, and store each `next_plan_on`.
    Returns the number of tasks created (or brought back)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    plans: dict[int, Plan] = {
        facts.contact_id: plan_contact(facts, today, cadence)
        for facts in load_facts(conn, ids, tz, today, cadence)
    }
    created = insert_tasks(conn, [spec for plan in plans.values() for spec in plan.wanted], now)
    managers = {
        contact_id: plan.candidates[0].manager_id
        for contact_id, plan in plans.items()
        if plan.candidates
    }
    candidates = {
        contact_id: {s.idem_key: s for s in plan.candidates} for contact_id, plan in plans.items()
    }
    wanted = {s.idem_key for plan in plans.values() for s in plan.wanted}
    cancel: list[tuple[str, int]] = []
    missed: list[tuple[str, int]] = []
    move: list[tuple[int, int]] = []
    redate: list[tuple[str, str, str, int]] = []
    stamp = ts(now)
    day = today.isoformat()
    for (
        task_id,
        contact_id,
        key,
        manager_id,
        due,
        due_at,
        planned_due,
        lapses_on,
    ) in conn.execute(
        "SELECT id, contact_id, idem_key, manager_id, due_date, due_at, planned_due, "
        "lapses_on "
        f"FROM tasks WHERE contact_id IN {_IDS} AND +status = 'pending'",
        (json.dumps(ids),),
    ):
        planned = is_planned_key(key)
        spec = candidates.get(contact_id, {}).get(key)
        if planned and spec is None:  # the fact behind it is gone
            cancel.append((stamp, task_id))
            continue
        if lapses_on is not None and lapses_on < day:
            missed.append((stamp, task_id))
            continue
        if spec is not None and due == planned_due and due_at is None:  # not snoozed since
            if key not in wanted:  # a new setting shows it later: back when it is due
                cancel.append((stamp, task_id))
                continue
            new_due, new_lapse = spec.due_date.isoformat(), str(spec.lapses_on)
            if (new_due, new_lapse) != (due, lapses_on):  # a new setting moved it
                redate.append((new_due, new_due, new_lapse, task_id))
        if contact_id in managers and manager_id != managers[contact_id]:
            move.append((managers[contact_id], task_id))
    if cancel:
        conn.executemany(
            f"UPDATE tasks SET status = 'cancelled', outcome = '{REPLANNED}', closed_at = ? "
            "WHERE id = ?",
            cancel,
        )
    if missed:
        conn.executemany(
            f"UPDATE tasks SET status = 'missed', outcome = '{LAPSED}', closed_at = ? WHERE id = ?",
            missed,
        )
    if redate:
        conn.executemany(
            "UPDATE tasks SET due_date = ?, planned_due = ?, lapses_on = ? WHERE id = ?", redate
        )
    if move:
        conn.executemany("UPDATE tasks SET manager_id = ? WHERE id = ?", move)
    conn.executemany(
        "UPDATE contacts SET next_plan_on = ? WHERE id = ?",
        [((plans[c].next_plan_on if c in plans else NEVER).isoformat(), c) for c in ids],
    )
    return created


def sweep_lapsed(
    conn: sqlite3.Connection, today: date, now: datetime, limit: int = PLAN_CHUNK
) -> int:
    """Close up to `limit` pending tasks whose shelf life is over as missed (an index range:
    the work follows what lapses, not the size of the base). A lapsed offer re-plans its
    person (the next offer counts from it) in the same transaction, hence the limit."""
    cur = conn.execute(
        f"UPDATE tasks SET status = 'missed', outcome = '{LAPSED}', closed_at = ? "
        "WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_lapsing "
        "WHERE status = 'pending' AND lapses_on < ? LIMIT ?)",
        (ts(now), today.isoformat(), limit),
    )
    return cur.rowcount


def contacts_due(conn: sqlite3.Connection, today: date, limit: int) -> list[int]:
    """People whose plan may want something new by today (`next_plan_on` is indexed)."""
    rows = conn.execute(
        "SELECT id FROM contacts WHERE next_plan_on <= ? ORDER BY next_plan_on LIMIT ?",
        (today.isoformat(), limit),
    ).fetchall()
    return [r[0] for r in rows]


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
    outcome: str | None = None  # how a closed task ended ("likes", "no_answer", …)


TASK_SQL = """
SELECT t.id, t.kind, t.status, t.contact_id, c.full_name AS contact_name, c.organization, c.phone,
       c.kind AS contact_kind, c.birth_day, c.birth_month, c.tg_user_id, c.contact_consent,
       t.manager_id, t.deal_id, d.description AS deal_description, d.deal_date,
       t.survey_id, s.token AS survey_token, s.score AS survey_score, s.reason AS survey_reason,
       t.case_id, t.due_date, t.due_at, t.attempts, t.meta, t.outcome
FROM tasks t
LEFT JOIN contacts c ON c.id = t.contact_id
LEFT JOIN deals d ON d.id = t.deal_id
LEFT JOIN surveys s ON s.id = t.survey_id
"""


def task_view(row: aiosqlite.Row) -> TaskView:
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
        outcome=row["outcome"],
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
        row = await (await conn.execute(TASK_SQL + " WHERE t.id = ?", (task_id,))).fetchone()
    return task_view(row) if row else None


DUE_TASKS_SQL = (
    TASK_SQL + " WHERE t.manager_id = ? AND t.status = 'pending' "
    "AND t.due_date <= ? AND (t.due_at IS NULL OR t.due_at <= ?) "
    "AND (t.lapses_on IS NULL OR t.lapses_on >= ?) ORDER BY t.due_date, t.id"
)


async def due_tasks(db: Database, manager_id: int, today: date, now: datetime) -> list[TaskView]:
    """What the manager should do today: due today or overdue, and not snoozed past now."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                DUE_TASKS_SQL, (manager_id, today.isoformat(), ts(now), today.isoformat())
            )
        ).fetchall()
    views = [task_view(r) for r in rows]
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return sorted(views, key=lambda v: (order.get(v.kind, 99), v.due_date, v.id))


async def upcoming_tasks(db: Database, manager_id: int, start: date, end: date) -> list[TaskView]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                TASK_SQL + " WHERE t.manager_id = ? AND t.status = 'pending' "
                "AND t.due_date BETWEEN ? AND ? AND (t.lapses_on IS NULL OR t.lapses_on >= ?) "
                "ORDER BY t.due_date, t.id",
                (manager_id, start.isoformat(), end.isoformat(), start.isoformat()),
            )
        ).fetchall()
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return sorted(
        (task_view(r) for r in rows), key=lambda v: (v.due_date, order.get(v.kind, 99), v.id)
    )


async def close_task(
    db: Database,
    task_id: int,
    manager_id: int,
    status: str,
    outcome: str,
    now: datetime,
    note: str | None = None,
    follow_ups: Iterable[TaskSpec] = (),
    follow_up_meta: Mapping[str, Any] | None = None,
) -> bool:
    """Close a pending task (first tap wins) and create its follow-ups in the same transaction."""
    return await db.write(
        _close_task,
        task_id,
        manager_id,
        status,
        outcome,
        now,
        note,
        list(follow_ups),
        follow_up_meta,
    )


def _close_task(
    conn: sqlite3.Connection,
    task_id: int,
    manager_id: int,
    status: str,
    outcome: str,
    now: datetime,
    note: str | None,
    follow_ups: list[TaskSpec],
    follow_up_meta: Mapping[str, Any] | None,
) -> bool:
    row = conn.execute(
        "UPDATE tasks SET status = ?, outcome = ?, note = coalesce(?, note), closed_at = ? "
        "WHERE id = ? AND manager_id = ? AND status = 'pending' RETURNING contact_id, kind",
        (status, outcome, note, ts(now), task_id, manager_id),
    ).fetchone()
    if row is None:
        return False
    insert_tasks(conn, follow_ups, now, follow_up_meta)
    contact_id, kind = row
    if contact_id is not None and kind in ("call", "call_back"):
        conn.execute(
            "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated, staff_id, "
            "note) VALUES (?, ?, 'call', ?, 1, ?, ?)",
            (contact_id, ts(now), outcome, manager_id, note),
        )
    if note and contact_id is not None:
        conn.execute(
            "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
            "VALUES (?, ?, 'call', ?, ?)",
            (contact_id, manager_id, note, ts(now)),
        )
    return True


async def snooze_task(
    db: Database,
    task_id: int,
    manager_id: int,
    due_date: date,
    due_at: datetime | None,
    lapses_on: date,
) -> bool:
    """Move a pending task; its shelf life moves to `lapses_on` (the kind's shelf life from the
    new due day, computed with the live cadence), never shortened."""
    lapses = lapses_on.isoformat()
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE tasks SET due_date = ?, due_at = ?, notified_at = NULL, "
            "lapses_on = max(coalesce(lapses_on, ?), ?) "
            "WHERE id = ? AND manager_id = ? AND status = 'pending'",
            (
                due_date.isoformat(),
                ts(due_at) if due_at else None,
                lapses,
                lapses,
                task_id,
                manager_id,
            ),
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


async def contact_purchases(
    db: Database, contact_id: int, limit: int = 10
) -> list[tuple[date, str]]:
    """The person's latest deals: the day and what was bought (the view writes them)."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT description, deal_date FROM deals WHERE contact_id = ? "
                "ORDER BY deal_date DESC, id DESC LIMIT ?",
                (contact_id, limit),
            )
        ).fetchall()
    return [(date.fromisoformat(r[1]), r[0]) for r in rows]


async def close_unsuitable(
    db: Database, task_id: int, manager_id: int, meet: TaskSpec, now: datetime
) -> int | None:
    """ "Not suitable" on a call, in one transaction: the call is closed, a case about the
    meeting's person and deal is opened and owned by the manager, and the urgent meeting `meet`
    is created. None if already closed."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE tasks SET status = 'done', outcome = 'unsuitable', closed_at = ? "
            "WHERE id = ? AND manager_id = ? AND status = 'pending'",
            (ts(now), task_id, manager_id),
        )
        if cur.rowcount != 1:
            return None
        cur = await conn.execute(
            "INSERT INTO cases (contact_id, deal_id, source, status, owner_id, opened_at, "
            "taken_at, alerted_at) VALUES (?, ?, 'call', 'taken', ?, ?, ?, ?)",
            (meet.contact_id, meet.deal_id, manager_id, ts(now), ts(now), ts(now)),
        )
        case_id = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO case_events (case_id, at, actor_id, action, note) "
            "VALUES (?, ?, ?, 'opened', 'not suitable (call)')",
            (case_id, ts(now), manager_id),
        )
        # Nothing more will come from a survey: the case is final as it is opened.
        await conn.execute("UPDATE cases SET settled_at = opened_at WHERE id = ?", (case_id,))
        await emit_on(conn, case_changed, CASE_OPENED, case_id, ts(now))
        await conn.execute(
            "INSERT INTO tasks (idem_key, kind, contact_id, deal_id, case_id, manager_id, "
            "due_date, lapses_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (idem_key) DO NOTHING",
            (
                meet.idem_key,
                meet.kind,
                meet.contact_id,
                meet.deal_id,
                case_id,
                meet.manager_id,
                meet.due_date.isoformat(),
                _lapses_on(meet),
                ts(now),
            ),
        )
        await conn.execute(
            "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated, staff_id) "
            "VALUES (?, ?, 'call', 'unsuitable', 1, ?)",
            (meet.contact_id, ts(now), manager_id),
        )
    return case_id


async def create_task(
    db: Database, spec: TaskSpec, now: datetime, meta: Mapping[str, Any] | None = None
) -> bool:
    """A task made by an outcome (e.g. "call again tomorrow"); a repeated idem_key adds nothing."""
    return await db.write(insert_tasks, [spec], now, meta) == 1
