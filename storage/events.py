"""Events for outside systems: written in the same transaction as the fact they report.

`emit(conn, type, contact_id=..., payload=...)` runs inside the caller's write (a plain `sqlite3`
connection in `db.write(fn)`, or through `emit_on` in an aiosqlite `transaction()`), stores the
event once and one delivery row for each endpoint that subscribed to its type, active or paused
(a paused one's are held until it is resumed; storage/webhooks.py sends them). A fact that
rolls back takes its event with it, and an event is never lost between the commit and the send:
the queue is the database.

The one non-obvious decision: what an event says about the person (a name, a phone, a reason, a
resolution text) is kept in its own column, `personal`, and merged into `data` only when a
delivery is sent. So `/forget` erases it from every event of the person still waiting (and from
those sent) with one UPDATE, and the event still goes out, without those fields; an event made
after the person was forgotten never gets them at all.

The builders (`deals_created`, `survey_opened`, ...) read what they report from the rows the
transaction has just written, so a call site is one line and every path that records a fact
(/sale, /import, the HTTP API) reports it the same way.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from domain.nps import category

P = ParamSpec("P")
T = TypeVar("T")

DEAL_CREATED = "deal.created"
SURVEY_OPENED = "survey.opened"
ANSWER_COMPLETED = "answer.completed"
CASE_OPENED = "case.opened"
CASE_TAKEN = "case.taken"
CASE_RESOLVED = "case.resolved"
CASE_REOPENED = "case.reopened"
CONTACT_FORGOTTEN = "contact.forgotten"

EVENT_TYPES: tuple[str, ...] = (
    DEAL_CREATED,
    SURVEY_OPENED,
    ANSWER_COMPLETED,
    CASE_OPENED,
    CASE_TAKEN,
    CASE_RESOLVED,
    CASE_REOPENED,
    CONTACT_FORGOTTEN,
)

Json = dict[str, Any]


def new_event_id() -> str:
    """96 random bits: unique across restores from a backup, unlike a row id."""
    return "evt_" + secrets.token_hex(12)


def _subscribers(conn: sqlite3.Connection, type_: str) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM webhook_endpoints "
            "WHERE ' ' || events || ' ' LIKE '% ' || ? || ' %' ORDER BY id",
            (type_,),
        )
    ]


def _forgotten(conn: sqlite3.Connection, contact_id: int | None) -> bool:
    if contact_id is None:
        return False
    row = conn.execute("SELECT forgotten_at FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    return row is not None and row[0] is not None


def _dumps(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def emit(
    conn: sqlite3.Connection,
    type_: str,
    *,
    contact_id: int | None,
    payload: Json,
    at: str,
    personal: Json | None = None,
    survey_id: int | None = None,
    case_id: int | None = None,
    endpoints: list[int] | None = None,
) -> int:
    """Queue the event `type_` for every endpoint that receives it, paused ones too (held until
    resumed; `endpoints`, when the caller has just asked), in the caller's transaction; how many
    deliveries were queued (0: nobody listens, nothing is stored). `personal` is dropped when
    the contact was forgotten."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    if endpoints is None:
        endpoints = _subscribers(conn, type_)
    if not endpoints:
        return 0
    if personal is not None and (_forgotten(conn, contact_id) or not personal):
        personal = None
    (event_id,) = conn.execute(
        "INSERT INTO webhook_events (uid, type, contact_id, survey_id, case_id, data, personal, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            new_event_id(),
            type_,
            contact_id,
            survey_id,
            case_id,
            _dumps(payload),
            None if personal is None else _dumps(personal),
            at,
        ),
    ).fetchone()
    conn.executemany(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, contact_id, next_at, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(event_id, endpoint, contact_id, at, at) for endpoint in endpoints],
    )
    return len(endpoints)


async def emit_on(
    conn: aiosqlite.Connection,
    fn: Callable[Concatenate[sqlite3.Connection, P], T],
    *args: P.args,
    **kw: P.kwargs,
) -> T:
    """Run a builder (or `emit`) inside an aiosqlite `transaction()`: in the database thread, on
    the same connection and so in the same transaction, as one job."""
    return await conn._execute(fn, conn._conn, *args, **kw)


def merged(data: Json, personal: Json | None) -> Json:
    """`data` with the personal fields put back (two levels: {"contact": {"name": ...}})."""
    if not personal:
        return data
    out = dict(data)
    for key, value in personal.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def iso(stamp: str | None) -> str | None:
    """Our UTC text as ISO 8601 with a Z, as receivers expect."""
    return None if stamp is None else stamp.replace(" ", "T") + "Z"


# --- the builders: one per fact, reading what the transaction has just written ----------------


def deals_created(conn: sqlite3.Connection, deal_ids: Sequence[int], at: str) -> int:
    """deal.created for each of these deals (with its survey link's id, if one was made)."""
    endpoints = _subscribers(conn, DEAL_CREATED) if deal_ids else []
    if not endpoints:
        return 0
    queued = 0
    for first in range(0, len(deal_ids), 500):
        part = list(deal_ids[first : first + 500])
        rows = conn.execute(
            "SELECT d.id, d.contact_id, d.manager_id, d.description, d.deal_date, d.source, "
            "d.created_at, c.kind, c.full_name, c.organization, c.phone, "
            "c.manager_id AS contact_manager, "
            "(SELECT s.id FROM surveys s WHERE s.deal_id = d.id) AS survey_id "
            f"FROM deals d JOIN contacts c ON c.id = d.contact_id "
            f"WHERE d.id IN ({','.join('?' * len(part))}) ORDER BY d.id",
            part,
        ).fetchall()
        for r in rows:
            queued += emit(
                conn,
                DEAL_CREATED,
                endpoints=endpoints,
                contact_id=r[1],
                at=at,
                payload={
                    "deal": {
                        "id": r[0],
                        "date": r[4],
                        "source": r[5],
                        "manager_id": r[2],
                        "created_at": iso(r[6]),
                        "survey_id": r[12],
                    },
                    "contact": {"id": r[1], "kind": r[7], "manager_id": r[11]},
                },
                personal={
                    "deal": {"description": r[3]},
                    "contact": {"name": r[8], "organization": r[9], "phone": r[10]},
                },
            )
    return queued


def deals_after(conn: sqlite3.Connection, last_id: int) -> list[int]:
    """The deals this transaction added after the one numbered `last_id` (an import's
    `INSERT ... ON CONFLICT DO NOTHING` does not say which rows it wrote)."""
    return [int(r[0]) for r in conn.execute("SELECT id FROM deals WHERE id > ?", (last_id,))]


def last_deal_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM deals").fetchone()[0])


def new_deals_created(conn: sqlite3.Connection, last_id: int, at: str) -> int:
    """deal.created for every deal added since `last_id` in this transaction."""
    if not _subscribers(conn, DEAL_CREATED):  # nobody listens: the new deals are not even read
        return 0
    return deals_created(conn, deals_after(conn, last_id), at)


def survey_opened(conn: sqlite3.Connection, survey_id: int, at: str) -> int:
    endpoints = _subscribers(conn, SURVEY_OPENED)
    if not endpoints:  # nobody listens: not even the survey row is read
        return 0
    row = conn.execute(
        "SELECT id, contact_id, deal_id, kind, manager_id, opened_at FROM surveys WHERE id = ?",
        (survey_id,),
    ).fetchone()
    if row is None:
        return 0
    return emit(
        conn,
        SURVEY_OPENED,
        endpoints=endpoints,
        contact_id=row[1],
        survey_id=row[0],
        at=at,
        payload={
            "survey": {
                "id": row[0],
                "deal_id": row[2],
                "kind": row[3],
                "manager_id": row[4],
                "opened_at": iso(row[5]),
            },
            "contact": {"id": row[1]},
        },
    )


def answer_completed(conn: sqlite3.Connection, survey_id: int, at: str) -> int:
    endpoints = _subscribers(conn, ANSWER_COMPLETED)
    if not endpoints:
        return 0
    row = conn.execute(
        "SELECT s.id, s.contact_id, s.deal_id, s.kind, s.manager_id, s.score, s.reason, "
        "s.consent, s.phone, s.answered_at, c.full_name, "
        "(SELECT k.id FROM cases k WHERE k.survey_id = s.id) "
        "FROM surveys s JOIN contacts c ON c.id = s.contact_id WHERE s.id = ?",
        (survey_id,),
    ).fetchone()
    if row is None:
        return 0
    score = row[5]
    personal: Json = {"answer": {"reason": row[6]}, "contact": {"name": row[10]}}
    if row[7] == 1 and row[8]:
        personal["answer"]["phone"] = row[8]
    return emit(
        conn,
        ANSWER_COMPLETED,
        endpoints=endpoints,
        contact_id=row[1],
        survey_id=row[0],
        at=at,
        payload={
            "answer": {
                "survey_id": row[0],
                "deal_id": row[2],
                "kind": row[3],
                "manager_id": row[4],
                "score": score,
                "category": category(score) if score is not None else None,
                "consent": None if row[7] is None else bool(row[7]),
                "answered_at": iso(row[9]),
                "case_id": row[11],
            },
            "contact": {"id": row[1]},
        },
        personal=personal,
    )


def case_changed(
    conn: sqlite3.Connection, type_: str, case_id: int, at: str, *, by: str | None = None
) -> int:
    """case.opened / taken / resolved / reopened (`by`: 'staff' or 'client' for a reopening)."""
    endpoints = _subscribers(conn, type_)
    if not endpoints:
        return 0
    row = conn.execute(
        "SELECT k.id, k.contact_id, k.survey_id, k.deal_id, k.source, k.status, k.owner_id, "
        "k.opened_at, k.taken_at, k.resolved_at, k.resolution, k.reopened_count, s.score, "
        "c.kind, c.manager_id FROM cases k JOIN contacts c ON c.id = k.contact_id "
        "LEFT JOIN surveys s ON s.id = k.survey_id WHERE k.id = ?",
        (case_id,),
    ).fetchone()
    if row is None:
        return 0
    case: Json = {
        "id": row[0],
        "source": row[4],
        "status": row[5],
        "owner_id": row[6],
        "survey_id": row[2],
        "deal_id": row[3],
        "score": row[12],
        "opened_at": iso(row[7]),
        "taken_at": iso(row[8]),
        "resolved_at": iso(row[9]),
        "reopened_count": row[11],
    }
    if by is not None:
        case["reopened_by"] = by
    personal = {"case": {"resolution": row[10]}} if type_ == CASE_RESOLVED else None
    return emit(
        conn,
        type_,
        endpoints=endpoints,
        contact_id=row[1],
        survey_id=row[2],
        case_id=row[0],
        at=at,
        payload={"case": case, "contact": {"id": row[1], "kind": row[13], "manager_id": row[14]}},
        personal=personal,
    )


def contact_forgotten(conn: sqlite3.Connection, contact_id: int, at: str) -> int:
    return emit(
        conn,
        CONTACT_FORGOTTEN,
        contact_id=contact_id,
        at=at,
        payload={"contact": {"id": contact_id, "forgotten_at": iso(at)}},
    )


def scrub(
    conn: sqlite3.Connection,
    contact_ids: Iterable[int],
    survey_ids: Iterable[int] = (),
    case_ids: Iterable[int] = (),
) -> int:
    """Erase the personal part of every event about these contacts, answers and cases, sent or
    not (inside the /forget transaction, which runs with `secure_delete`); how many events."""
    changed = 0
    for column, ids in (
        ("contact_id", contact_ids),
        ("survey_id", survey_ids),
        ("case_id", case_ids),
    ):
        values = sorted(set(ids))
        for first in range(0, len(values), 500):
            part = values[first : first + 500]
            changed += conn.execute(
                f"UPDATE webhook_events SET personal = NULL WHERE personal IS NOT NULL "
                f"AND {column} IN ({','.join('?' * len(part))})",
                part,
            ).rowcount
    return changed
