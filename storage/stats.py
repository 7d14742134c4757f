"""Figures for the owner: NPS and its parts, overall, per kind of person and per manager.

NPS = % promoters (9–10) − % detractors (0–6), from −100 to +100. A survey counts once it has a
score; "invited" is every survey link made. Every count is added up from the per-day figures
(storage/figures.py), so an all-time /nps at 3,000,000 answers sums a few thousand days, and
reads through the read-only report connection, so it never makes a respondent wait. Medians
stay exact: the days give the histogram, then one bucket of an index ordered by the time gives
the middle value(s).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import aiosqlite

from domain.nps import NpsCounts, median, percent
from domain.vocabulary import KINDS
from storage.db import Database
from storage.figures import BUCKET_SECONDS, sums
from storage.timefmt import ts

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


async def _nps(
    conn: aiosqlite.Connection, tz: tzinfo, filters: Filters, group: str | None = None
) -> dict[object, NpsCounts]:
    """Answers scored in the period, and links created in it (the invited), from the days."""
    where = {"kind": filters.kind, "manager_id": filters.manager_id}
    answers = await sums(
        conn,
        "answer_days",
        filters.start,
        filters.end,
        tz,
        where=where,
        group=group,
        columns=("promoters", "passives", "detractors"),
    )
    links = await sums(
        conn,
        "link_days",
        filters.start,
        filters.end,
        tz,
        where=where,
        group=group,
        columns=("links", "answered"),
    )
    out = {}
    for key in answers.keys() | links.keys():
        a = answers.get(key, {})
        made = links.get(key, {})
        out[key] = NpsCounts(
            promoters=a.get("promoters", 0),
            passives=a.get("passives", 0),
            detractors=a.get("detractors", 0),
            invited=made.get("links", 0),
            responded=made.get("answered", 0),
        )
    return out


async def nps_counts(db: Database, filters: Filters) -> NpsCounts:
    """Answers scored in the period, and links created in it (the invited)."""
    async with db.report() as conn:
        return (await _nps(conn, db.timezone, filters))[None]


async def kinds_in_period(db: Database, filters: Filters) -> dict[str, NpsCounts]:
    """The same figures per kind of person (only kinds that were invited or answered)."""
    async with db.report() as conn:
        by_kind = await _nps(conn, db.timezone, filters, group="kind")
    return {
        kind: by_kind[kind]
        for kind in KINDS
        if kind in by_kind and (by_kind[kind].invited or by_kind[kind].answered)
    }


# Below this many answers (or resolved cases) in a period the median is read directly, in order,
# through the period's index; above it in two phases (see _two_phase_median).
DIRECT_MEDIAN = 20_000


async def _two_phase_median(
    counts: Sequence[int], fetch: Callable[[int, int], Awaitable[float]]
) -> float | None:
    """The exact median from a histogram: phase 1 finds the bucket of the middle one or two and
    their rank in it (from the day sums), phase 2 reads just those values, `fetch(bucket, rank)`,
    through an index ordered by the value: one bucket is scanned, not the period."""
    total = sum(counts)
    if not total:
        return None
    values = []
    for rank in sorted({(total - 1) // 2, total // 2}):
        before = 0
        for bucket, count in enumerate(counts):
            if rank < before + count:
                values.append(await fetch(bucket, rank - before))
                break
            before += count
    return median(values)


def _bucket_range(column: str, bucket: int) -> str:
    clauses = []
    if bucket > 0:
        clauses.append(f"{column} >= {BUCKET_SECONDS[bucket - 1]}")
    if bucket < len(BUCKET_SECONDS):
        clauses.append(f"{column} < {BUCKET_SECONDS[bucket]}")
    return " AND ".join(clauses)


async def median_hours_to_answer(db: Database, filters: Filters) -> float | None:
    """Median time from the sale being recorded (the link made) to the score, in hours; exact.

    The day sums give the count and the histogram; a small period is read directly in order,
    a large one in two phases (one bucket of `surveys_answer_time`)."""
    where, params = filters.where("scored_at")
    buckets = [f"h{i}" for i in range(len(BUCKET_SECONDS) + 1)]
    async with db.report() as conn:
        sums_ = (
            await sums(
                conn,
                "answer_days",
                filters.start,
                filters.end,
                db.timezone,
                where={"kind": filters.kind, "manager_id": filters.manager_id},
                columns=("timed", *buckets),
            )
        )[None]
        total = sums_["timed"]
        if not total:
            return None
        if total <= DIRECT_MEDIAN:
            rows = await (
                await conn.execute(
                    "SELECT answer_seconds / 3600.0 FROM surveys WHERE score IS NOT NULL "
                    f"AND answer_seconds IS NOT NULL AND {where} ORDER BY answer_seconds "
                    "LIMIT ? OFFSET ?",
                    [*params, 2 - total % 2, (total - 1) // 2],
                )
            ).fetchall()
            return median([r[0] for r in rows])

        async def fetch(bucket: int, rank: int) -> float:
            row = await (
                await conn.execute(
                    "SELECT answer_seconds / 3600.0 FROM surveys INDEXED BY surveys_answer_time "
                    f"WHERE score IS NOT NULL AND {_bucket_range('answer_seconds', bucket)} "
                    f"AND {where} ORDER BY answer_seconds LIMIT 1 OFFSET ?",
                    [*params, rank],
                )
            ).fetchone()
            return float(row[0])

        return await _two_phase_median([sums_[b] for b in buckets], fetch)


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
                "OR EXISTS (SELECT 1 FROM surveys WHERE manager_id = staff.user_id)"
            )
        ).fetchall()

        async def grouped(sql: str, params: tuple[object, ...]) -> dict[int, tuple]:
            rows = await (await conn.execute(sql, params)).fetchall()
            return {r[0]: tuple(r[1:]) for r in rows}

        def by_manager(found: dict[object, dict[str, int]]) -> dict[int, tuple]:
            return {k: tuple(v.values()) for k, v in found.items() if isinstance(k, int) and k}

        tz = db.timezone
        deals = by_manager(await sums(conn, "deal_days", start, end, tz, group="manager_id"))
        sent = by_manager(
            await sums(
                conn,
                "link_days",
                start,
                end,
                tz,
                group="manager_id",
                columns=("links", "opened", "answered"),
            )
        )
        scores = by_manager(
            await sums(
                conn,
                "answer_days",
                start,
                end,
                tz,
                group="manager_id",
                columns=("promoters", "passives", "detractors"),
            )
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


_NO_END = datetime(9000, 1, 1, tzinfo=UTC)  # "until now and later" for an open-ended period


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
    call case), so the /nps slice and its cases are the same people. Counted from the per-day
    figures (case_days); the exact median from their resolve-time histogram, reading one bucket
    of `cases_resolve_time` (or, for a few cases, the middle one or two directly)."""
    buckets = [f"r{i}" for i in range(len(BUCKET_SECONDS) + 1)]
    where = (
        "(:since IS NULL OR opened_at >= :since) AND opened_at < :until"
        " AND (:kind IS NULL OR kind = :kind)"
        " AND (:manager IS NULL OR manager_id = :manager)"
    )
    end = until or _NO_END
    params = {
        "since": ts(since) if since else None,
        "until": ts(end),
        "kind": kind,
        "manager": manager_id,
    }
    async with db.report() as conn:
        found = (
            await sums(
                conn,
                "case_days",
                since,
                end,
                db.timezone,
                where={"kind": kind, "manager_id": manager_id},
                columns=("opened", "resolved", *buckets),
            )
        )[None]
        opened, resolved = found["opened"], found["resolved"]
        hours: float | None = None
        if resolved and resolved <= DIRECT_MEDIAN:
            rows = await (
                await conn.execute(
                    "SELECT resolve_seconds / 3600.0 FROM cases "
                    f"WHERE resolve_seconds IS NOT NULL AND {where} "
                    "ORDER BY resolve_seconds LIMIT :take OFFSET :skip",
                    {**params, "take": 2 - resolved % 2, "skip": (resolved - 1) // 2},
                )
            ).fetchall()
            hours = median([r[0] for r in rows])
        elif resolved:

            async def fetch(bucket: int, rank: int) -> float:
                row = await (
                    await conn.execute(
                        "SELECT resolve_seconds / 3600.0 FROM cases INDEXED BY cases_resolve_time "
                        f"WHERE {_bucket_range('resolve_seconds', bucket)} AND {where} "
                        "ORDER BY resolve_seconds LIMIT 1 OFFSET :rank",
                        {**params, "rank": rank},
                    )
                ).fetchone()
                return float(row[0])

            hours = await _two_phase_median([found[b] for b in buckets], fetch)
    return CaseStats(
        opened=opened,
        resolved=resolved,
        resolved_share=percent(resolved, opened) if opened else 0,
        median_hours_to_resolve=hours,
    )


_REASON_COLUMNS = {
    "all": ("reasons_p", "reasons_n", "reasons_d"),
    "promoter": ("reasons_p",),
    "passive": ("reasons_n",),
    "detractor": ("reasons_d",),
}


async def comment_total(db: Database, category: str | None, kind: str | None) -> int:
    """How many answers of this category and kind (None or "all": any) carry a reason, over all
    time: the /comments total, added up from the per-day figures (a forgotten person's reason is
    erased, and leaves the total in the same transaction)."""
    columns = _REASON_COLUMNS[category or "all"]
    sql = f"SELECT {' + '.join(f'coalesce(sum({c}), 0)' for c in columns)} FROM answer_days"
    params: list[object] = []
    if kind is not None and kind != "all":
        sql += " WHERE kind = ?"
        params.append(kind)
    async with db.report() as conn:
        row = await (await conn.execute(sql, params)).fetchone()
    return int(row[0])
