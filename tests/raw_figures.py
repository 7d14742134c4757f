"""The independent count: the owner's figures straight from the raw rows, as storage/stats.py
computed them before the per-day tables (issue 13). Tests compare every figure the views show
with these; nothing here reads a *_days table.

Synchronous (sqlite3 on the same file, read-only), so a test can call it between async steps.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.nps import NpsCounts, median
from storage.timefmt import ts


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _where(
    column: str,
    start: datetime | None,
    end: datetime,
    kind: str | None,
    manager: int | None,
    alias: str = "",
) -> tuple[str, list[object]]:
    clauses = [f"{alias}{column} < ?"]
    params: list[object] = [ts(end)]
    if start is not None:
        clauses.append(f"{alias}{column} >= ?")
        params.append(ts(start))
    if kind is not None:
        clauses.append(f"{alias}kind = ?")
        params.append(kind)
    if manager is not None:
        clauses.append(f"{alias}manager_id = ?")
        params.append(manager)
    return " AND ".join(clauses), params


def nps(
    conn: sqlite3.Connection,
    start: datetime | None,
    end: datetime,
    kind: str | None = None,
    manager: int | None = None,
) -> NpsCounts:
    answered, a_params = _where("scored_at", start, end, kind, manager)
    invited, i_params = _where("created_at", start, end, kind, manager)
    p, n, d = conn.execute(
        "SELECT sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6) "
        f"FROM surveys WHERE score IS NOT NULL AND {answered}",
        a_params,
    ).fetchone()
    links, responded = conn.execute(
        f"SELECT count(*), count(score) FROM surveys WHERE {invited}", i_params
    ).fetchone()
    return NpsCounts(p or 0, n or 0, d or 0, links, responded)


def median_answer_hours(
    conn: sqlite3.Connection,
    start: datetime | None,
    end: datetime,
    kind: str | None = None,
    manager: int | None = None,
) -> float | None:
    where, params = _where("scored_at", start, end, kind, manager)
    hours = [
        r[0]
        for r in conn.execute(
            "SELECT answer_seconds / 3600.0 FROM surveys WHERE score IS NOT NULL "
            f"AND answer_seconds IS NOT NULL AND {where} ORDER BY answer_seconds",
            params,
        )
    ]
    return median(hours)


@dataclass(frozen=True, slots=True)
class Cases:
    opened: int
    resolved: int
    median_hours: float | None


def cases(
    conn: sqlite3.Connection,
    start: datetime | None,
    end: datetime,
    kind: str | None = None,
    manager: int | None = None,
) -> Cases:
    """Cases by the survey's kind and manager, else the contact's (two joins, as before)."""
    clauses = ["k.opened_at < ?"]
    params: list[object] = [ts(end)]
    if start is not None:
        clauses.append("k.opened_at >= ?")
        params.append(ts(start))
    if kind is not None:
        clauses.append("coalesce(s.kind, c.kind) = ?")
        params.append(kind)
    if manager is not None:
        clauses.append("coalesce(s.manager_id, c.manager_id) = ?")
        params.append(manager)
    rows = conn.execute(
        "SELECT k.status = 'resolved' AND k.resolved_at IS NOT NULL, "
        "(strftime('%s', k.resolved_at) - strftime('%s', k.opened_at)) / 3600.0 "
        "FROM cases k LEFT JOIN surveys s ON s.id = k.survey_id "
        f"JOIN contacts c ON c.id = k.contact_id WHERE {' AND '.join(clauses)}",
        params,
    ).fetchall()
    hours = sorted(h for done, h in rows if done)
    return Cases(len(rows), len(hours), median(hours))


@dataclass(frozen=True, slots=True)
class Manager:
    deals: int
    sent: int
    opened: int
    counts: NpsCounts


def managers(conn: sqlite3.Connection, start: datetime | None, end: datetime) -> dict[int, Manager]:
    since = ts(start) if start else "0000"
    until = ts(end)

    def grouped(sql: str) -> dict[int, tuple]:
        return {r[0]: tuple(r[1:]) for r in conn.execute(sql, (since, until))}

    deals = grouped(
        "SELECT manager_id, count(*) FROM deals WHERE created_at >= ? AND created_at < ? "
        "GROUP BY manager_id"
    )
    sent = grouped(
        "SELECT manager_id, count(*), count(opened_at), count(score) FROM surveys "
        "WHERE created_at >= ? AND created_at < ? GROUP BY manager_id"
    )
    scores = grouped(
        "SELECT manager_id, sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6) "
        "FROM surveys WHERE score IS NOT NULL AND scored_at >= ? AND scored_at < ? "
        "GROUP BY manager_id"
    )
    out = {}
    for user_id in {*deals, *sent, *scores} - {None}:
        links, opened, responded = sent.get(user_id, (0, 0, 0))
        p, n, d = scores.get(user_id, (0, 0, 0))
        out[user_id] = Manager(
            deals.get(user_id, (0,))[0], links, opened, NpsCounts(p, n, d, links, responded)
        )
    return out


CATEGORY = {
    "all": "1",
    "promoter": "score >= 9",
    "passive": "score BETWEEN 7 AND 8",
    "detractor": "score <= 6",
}


def comment_total(conn: sqlite3.Connection, category: str, kind: str | None) -> int:
    sql = f"SELECT count(*) FROM surveys WHERE reason IS NOT NULL AND {CATEGORY[category]}"
    params: list[object] = []
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return conn.execute(sql, params).fetchone()[0]


def monthly(
    conn: sqlite3.Connection, bounds: list[tuple[datetime, datetime]]
) -> dict[tuple[int, str], NpsCounts]:
    out = {}
    for i, (start, end) in enumerate(bounds):
        for kind, p, n, d in conn.execute(
            "SELECT kind, sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6) "
            "FROM surveys WHERE score IS NOT NULL AND scored_at >= ? AND scored_at < ? "
            "GROUP BY kind",
            (ts(start), ts(end)),
        ):
            out[(i, kind)] = NpsCounts(p, n, d)
    return out
