"""Figures for the owner, computed in SQL: NPS and its parts, overall and per kind of person.

NPS = % promoters (9–10) − % detractors (0–6), from −100 to +100. A survey counts once it has a
score; "invited" is every survey link made. Later views (periods, managers, trends) grow from
`nps_counts` by adding conditions, so the arithmetic lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.nps import NpsCounts, median, percent
from domain.vocabulary import KINDS
from storage.db import Database
from storage.timefmt import from_ts, ts

# ---- figures for a period (issue: the owner's view) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """Which answers count: [start, end) in UTC (start None = since the beginning), one kind of
    person or all, one manager (the one who made the deal) or all."""

    start: datetime | None
    end: datetime
    kind: str | None = None
    manager_id: int | None = None

    def where(self, time_column: str) -> tuple[str, list[object]]:
        clauses = [f"{time_column} < ?"]
        params: list[object] = [ts(self.end)]
        if self.start is not None:
            clauses.append(f"{time_column} >= ?")
            params.append(ts(self.start))
        if self.kind is not None:
            clauses.append("kind = ?")
            params.append(self.kind)
        if self.manager_id is not None:
            clauses.append("manager_id = ?")
            params.append(self.manager_id)
        return " AND ".join(clauses), params


async def nps_counts(db: Database, filters: Filters) -> NpsCounts:
    """Answers scored in the period, and links created in it (the invited)."""
    answered_where, answered_params = filters.where("scored_at")
    invited_where, invited_params = filters.where("created_at")
    async with db.report() as conn:
        row = await (
            await conn.execute(
                "SELECT sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6) "
                f"FROM surveys WHERE score IS NOT NULL AND {answered_where}",
                answered_params,
            )
        ).fetchone()
        invited = await (
            await conn.execute(
                f"SELECT count(*), count(score) FROM surveys WHERE {invited_where}",
                invited_params,
            )
        ).fetchone()
    return NpsCounts(
        promoters=row[0] or 0,
        passives=row[1] or 0,
        detractors=row[2] or 0,
        invited=invited[0],
        responded=invited[1],
    )


async def kinds_in_period(db: Database, filters: Filters) -> dict[str, NpsCounts]:
    """The same figures per kind of person (only kinds that were invited or answered): one
    index range per kind (surveys_kind_created / surveys_kind_scored)."""
    out = {}
    for kind in KINDS:
        counts = await nps_counts(db, Filters(filters.start, filters.end, kind, filters.manager_id))
        if counts.invited or counts.answered:
            out[kind] = counts
    return out


async def median_hours_to_answer(db: Database, filters: Filters) -> float | None:
    """Median time from the sale being recorded (the link made) to the score, in hours.

    Computed in SQLite (count, then the middle one or two by OFFSET) rather than by pulling
    every answer into Python."""
    where, params = filters.where("scored_at")
    hours = "answer_seconds / 3600.0"
    async with db.report() as conn:
        total = (
            await (
                await conn.execute(
                    "SELECT count(*) FROM surveys WHERE score IS NOT NULL "
                    f"AND answer_seconds IS NOT NULL AND {where}",
                    params,
                )
            ).fetchone()
        )[0]
        if not total:
            return None
        rows = await (
            await conn.execute(
                f"SELECT {hours} AS h FROM surveys WHERE score IS NOT NULL "
                f"AND answer_seconds IS NOT NULL AND {where} ORDER BY answer_seconds "
                "LIMIT ? OFFSET ?",
                [*params, 2 - total % 2, (total - 1) // 2],
            )
        ).fetchall()
    return median([r[0] for r in rows])


@dataclass(frozen=True, slots=True)
class ManagerRow:
    user_id: int
    name: str
    active: bool
    deals: int
    sent: int
    opened: int
    counts: NpsCounts
    overdue: int
    open_cases: int
    missed: int = 0  # tasks of the period that lapsed undone (closed as missed)


async def manager_rows(
    db: Database, start: datetime | None, end: datetime, today: str
) -> list[ManagerRow]:
    """Per manager for the period: deals, survey links made, opened, answered, NPS, tasks missed
    (lapsed undone); and now: overdue follow-up tasks and open cases. Problems first: the lowest
    share answered, then the most overdue tasks. One grouped query per figure (not one per
    manager)."""
    since = ts(start) if start else "0000"
    until = ts(end)
    async with db.report() as conn:
        staff = await (
            await conn.execute(
                "SELECT user_id, full_name, active FROM staff WHERE role = 'manager' "
                "OR user_id IN (SELECT DISTINCT manager_id FROM surveys)"
            )
        ).fetchall()

        async def grouped(sql: str, params: tuple[object, ...]) -> dict[int, tuple]:
            rows = await (await conn.execute(sql, params)).fetchall()
            return {r[0]: tuple(r[1:]) for r in rows}

        deals = await grouped(
            "SELECT manager_id, count(*) FROM deals WHERE created_at >= ? AND created_at < ? "
            "GROUP BY manager_id",
            (since, until),
        )
        sent = await grouped(
            "SELECT manager_id, count(*), count(opened_at), count(score) FROM surveys "
            "WHERE created_at >= ? AND created_at < ? GROUP BY manager_id",
            (since, until),
        )
        scores = await grouped(
            "SELECT manager_id, sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6) "
            "FROM surveys WHERE score IS NOT NULL AND scored_at >= ? AND scored_at < ? "
            "GROUP BY manager_id",
            (since, until),
        )
        overdue = await grouped(
            "SELECT manager_id, count(*) FROM tasks WHERE status = 'pending' AND due_date < ? "
            "GROUP BY manager_id",
            (today,),
        )
        missed = await grouped(
            "SELECT manager_id, count(*) FROM tasks INDEXED BY tasks_missed "
            "WHERE status = 'missed' AND closed_at >= ? AND closed_at < ? GROUP BY manager_id",
            (since, until),
        )
        cases = await grouped(
            "SELECT manager_id, count(*) FROM cases WHERE status != 'resolved' GROUP BY 1", ()
        )
    out = []
    for user_id, name, active in staff:
        links, opened, responded = sent.get(user_id, (0, 0, 0))
        p, n, d = scores.get(user_id, (0, 0, 0))
        out.append(
            ManagerRow(
                user_id=user_id,
                name=name,
                active=bool(active),
                deals=deals.get(user_id, (0,))[0],
                sent=links,
                opened=opened,
                counts=NpsCounts(p or 0, n or 0, d or 0, links, responded),
                overdue=overdue.get(user_id, (0,))[0],
                open_cases=cases.get(user_id, (0,))[0],
                missed=missed.get(user_id, (0,))[0],
            )
        )
    return sorted(
        out,
        key=lambda m: (
            not m.active,
            m.counts.response_rate if m.sent else 101,
            -m.overdue,
            -m.missed,
            -m.open_cases,
            m.name,
        ),
    )


CATEGORY_SQL = {
    "all": "1",
    "promoter": "s.score >= 9",
    "passive": "s.score BETWEEN 7 AND 8",
    "detractor": "s.score <= 6",
}


@dataclass(frozen=True, slots=True)
class Comment:
    scored_at: datetime
    score: int
    reason: str
    kind: str
    contact_name: str | None
    manager_name: str | None


async def latest_comments(
    db: Database, category: str, kind: str | None, offset: int, limit: int
) -> tuple[list[Comment], int]:
    """The latest answers to "what influenced your score", newest first, and how many there are."""
    where = f"s.reason IS NOT NULL AND {CATEGORY_SQL[category]}"
    params: list[object] = []
    if kind is not None:
        where += " AND s.kind = ?"
        params.append(kind)
    async with db.report() as conn:
        total = (
            await (
                await conn.execute(f"SELECT count(*) FROM surveys s WHERE {where}", params)
            ).fetchone()
        )[0]
        rows = await (
            await conn.execute(
                "SELECT s.scored_at, s.score, s.reason, s.kind, "
                "CASE WHEN c.forgotten_at IS NULL THEN c.full_name END, m.full_name "
                "FROM surveys s JOIN contacts c ON c.id = s.contact_id "
                "LEFT JOIN staff m ON m.user_id = s.manager_id "
                f"WHERE {where} ORDER BY s.scored_at DESC, s.id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ).fetchall()
    return [Comment(from_ts(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows], total


@dataclass(frozen=True, slots=True)
class CaseStats:
    """Cases opened in a period and what became of them (for /nps)."""

    opened: int
    resolved: int  # of those opened in the period, resolved now
    resolved_share: int  # whole percent of `opened`, 0 when none was opened
    median_hours_to_resolve: float | None  # resolved_at − opened_at; None when none is resolved


async def case_stats(
    db: Database,
    since: datetime | None,
    until: datetime | None,
    kind: str | None = None,
    manager_id: int | None = None,
) -> CaseStats:
    """Cases opened in [since, until) (None: unbounded), of any source (survey or call), of one
    kind of person and one manager (None: all).

    A case carries the kind and manager it was opened for (its survey's, or its contact's for a
    call case), so the /nps slice and its cases are the same people. Counted and the median taken
    in SQLite (count, then the middle one or two by OFFSET on `resolve_seconds`): tens of
    thousands of cases never travel into Python."""
    where = (
        "(:since IS NULL OR opened_at >= :since) AND (:until IS NULL OR opened_at < :until)"
        " AND (:kind IS NULL OR kind = :kind)"
        " AND (:manager IS NULL OR manager_id = :manager)"
    )
    params = {
        "since": ts(since) if since else None,
        "until": ts(until) if until else None,
        "kind": kind,
        "manager": manager_id,
    }
    async with db.report() as conn:
        opened, resolved = await (
            await conn.execute(
                f"SELECT count(*), count(resolve_seconds) FROM cases WHERE {where}", params
            )
        ).fetchone()
        hours: list[float] = []
        if resolved:
            rows = await (
                await conn.execute(
                    "SELECT resolve_seconds / 3600.0 FROM cases "
                    f"WHERE resolve_seconds IS NOT NULL AND {where} "
                    "ORDER BY resolve_seconds LIMIT :take OFFSET :skip",
                    {**params, "take": 2 - resolved % 2, "skip": (resolved - 1) // 2},
                )
            ).fetchall()
            hours = [r[0] for r in rows]
    return CaseStats(
        opened=opened,
        resolved=resolved,
        resolved_share=percent(resolved, opened) if opened else 0,
        median_hours_to_resolve=median(hours) if hours else None,
    )


_REASON_COLUMNS = {
    "all": ("reasons_p", "reasons_n", "reasons_d"),
    "promoter": ("reasons_p",),
    "passive": ("reasons_n",),
    "detractor": ("reasons_d",),
}


async def comment_total(db: Database, category: str | None, kind: str | None) -> int:
    """How many answers of this category (None: all) and kind (None: all) carry a reason, over
    all time: the /comments total, added up from the per-day figures (a forgotten person's
    reason is erased, and leaves the total in the same transaction)."""
    columns = _REASON_COLUMNS[category or "all"]
    sql = f"SELECT {' + '.join(f'coalesce(sum({c}), 0)' for c in columns)} FROM answer_days"
    params: list[object] = []
    if kind is not None:
        sql += " WHERE kind = ?"
        params.append(kind)
    async with db.report() as conn:
        row = await (await conn.execute(sql, params)).fetchone()
    return int(row[0])
