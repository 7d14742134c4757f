"""The owner's figures per local day: keeping them right, rebuilding them, and adding them up.

Triggers in the schema (storage/migrations.py, `FIGURE_TABLES`) add each answer, link, case and
deal to its local day in the writer's own transaction, so /nps for all time adds up days, not
millions of answers, and no write path can forget them. The triggers know the company's time
zone only through `tz_offsets`: spans of constant UTC offset made here from zoneinfo, so a local
day is exact across DST without Python in the trigger. `ensure_figures` runs at every open: when
the time zone differs from the one the days were made for (or on the first start after the
upgrade), it refills the offsets and rebuilds every table from the raw rows, before any handler
runs. `python -m bot rebuild-figures` does the same on demand.

The one non-obvious decision: sums over a period take whole local days from the tables and the
rows of a partial first or last day (a bound that is not a local midnight) from the raw rows, so
any [start, end) is exact, not only the calendar periods of the views.
"""

from __future__ import annotations

import logging
import time as timer
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import aiosqlite

from storage.migrations import FIGURE_BUCKET_HOURS, FIGURE_TABLES, FigureTable, local_day_sql
from storage.timefmt import ts

log = logging.getLogger(__name__)

TABLES: dict[str, FigureTable] = {t.name: t for t in FIGURE_TABLES}
BUCKET_SECONDS = tuple(h * 3600 for h in FIGURE_BUCKET_HOURS)
FIRST_YEAR, LAST_YEAR = 2000, 2100
_EPOCH = "0000-01-01 00:00:00"  # the first span reaches back to any earlier instant
_FMT = "%Y-%m-%d %H:%M:%S"
_STRAIGHT_THROUGH = frozenset({"answer_days", "case_days"})


def tz_spans(tz: tzinfo) -> list[tuple[str, str, int]]:
    """(utc_from, utc_to, minutes east of UTC) for every span of constant offset, 2000–2100."""
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(LAST_YEAR, 1, 1, tzinfo=UTC)

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds() // 60) if delta is not None else 0

    spans: list[tuple[str, str, int]] = []
    span_from, current, t = _EPOCH, offset(start), start
    step = timedelta(hours=6)
    while t < end:
        nxt = t + step
        if offset(nxt) != current:
            lo, hi = int(t.timestamp()), int(nxt.timestamp())  # offset(lo) == current
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(datetime.fromtimestamp(mid, UTC)) == current:
                    lo = mid
                else:
                    hi = mid
            change = datetime.fromtimestamp(hi, UTC).strftime(_FMT)
            spans.append((span_from, change, current))
            span_from, current = change, offset(nxt)
        t = nxt
    spans.append((span_from, "9999-12-31 23:59:59", current))
    return spans


def _tz_key(tz: tzinfo) -> str:
    return tz.key if isinstance(tz, ZoneInfo) else str(tz)


def _row_values(table: FigureTable, alias: str) -> list[str]:
    return [f"({expr.format(r=alias)})" for _, expr in table.values]


async def rebuild_figures(conn: aiosqlite.Connection) -> None:
    """Every per-day table made again from the raw rows, inside the caller's transaction.
    Rows that add up to zero are not made (the live tables may keep some after a move)."""
    for t in FIGURE_TABLES:
        keys = [name for name, _ in t.keys]
        values = [name for name, _ in t.values]
        inner = ", ".join(
            [
                f"{local_day_sql(t.time.format(r='r'))} AS day",
                *(f"{expr.format(r='r')} AS {name}" for name, expr in t.keys),
                *(f"({expr.format(r='r')}) AS {name}" for name, expr in t.values),
            ]
        )
        group = ", ".join(["day", *keys])
        # Answers read `reason`, which no index holds: through an index, every answer would
        # cost a random read of its row (I/O-bound, ~20 min at 3,000,000 on a loaded disk), so
        # the table is read straight through. Links and deals have covering indexes.
        straight = " NOT INDEXED" if t.name in _STRAIGHT_THROUGH else ""
        await conn.execute(f"DELETE FROM {t.name}")
        await conn.execute(
            f"INSERT INTO {t.name} ({group}, {', '.join(values)}) "
            f"SELECT {group}, {', '.join(f'sum({v})' for v in values)} "
            f"FROM (SELECT {inner} FROM {t.source} r{straight} WHERE {t.when.format(r='r')}) "
            f"GROUP BY {group}"
        )


async def fill_offsets(conn: aiosqlite.Connection, tz: tzinfo) -> None:
    await conn.execute("DELETE FROM tz_offsets")
    await conn.executemany("INSERT INTO tz_offsets VALUES (?, ?, ?)", tz_spans(tz))
    await conn.execute(
        "INSERT INTO figures_meta (key, value) VALUES ('tz', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_tz_key(tz),),
    )


async def ensure_figures(conn: aiosqlite.Connection, tz: tzinfo) -> bool:
    """Make the days right for `tz` (in their own transaction) if they were made for another
    zone or never made. Returns whether it rebuilt. A file migrated only part of the way (a test
    of an old schema) has no figures yet: nothing to do."""
    exists = await (
        await conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'figures_meta'")
    ).fetchone()
    if exists is None:
        return False
    row = await (await conn.execute("SELECT value FROM figures_meta WHERE key = 'tz'")).fetchone()
    spans = (await (await conn.execute("SELECT count(*) FROM tz_offsets")).fetchone())[0]
    if row is not None and row[0] == _tz_key(tz) and spans:
        return False
    began = timer.monotonic()
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await fill_offsets(conn, tz)
        await rebuild_figures(conn)
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
    answers = (await (await conn.execute("SELECT count(*) FROM surveys")).fetchone())[0]
    log.info(
        "per-day figures made for %s from %d survey links in %.1f s",
        _tz_key(tz),
        answers,
        timer.monotonic() - began,
    )
    return True


async def totals(conn: aiosqlite.Connection) -> dict[str, int]:
    """Every figure column summed over all days (what `rebuild-figures` prints)."""
    out: dict[str, int] = {}
    for t in FIGURE_TABLES:
        names = [name for name, _ in t.values]
        row = await (
            await conn.execute(f"SELECT {', '.join(f'sum({n})' for n in names)} FROM {t.name}")
        ).fetchone()
        out.update({f"{t.name}.{n}": int(v or 0) for n, v in zip(names, row, strict=True)})
    return out


# ---- adding up a period -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """[start, end) as whole local days [first_day, end_day) plus raw edges (UTC text)."""

    first_day: str | None  # None: since the beginning
    end_day: str | None  # None: no whole days at all (a span within one day)
    edges: tuple[tuple[str | None, str], ...]


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tz).astimezone(UTC)


def span(start: datetime | None, end: datetime, tz: tzinfo) -> Span:
    local_end = end.astimezone(tz)
    end_day = local_end.date()
    edges: list[tuple[str | None, str]] = []
    if _midnight(end_day, tz) != end:
        edges.append((ts(_midnight(end_day, tz)), ts(end)))
    if start is None:
        return Span(None, end_day.isoformat(), tuple(edges))
    first = start.astimezone(tz).date()
    if _midnight(first, tz) != start:
        first += timedelta(days=1)
        if first > end_day:  # both bounds inside one local day
            return Span(None, None, ((ts(start), ts(end)),))
        edges.append((ts(start), ts(_midnight(first, tz))))
    if first >= end_day:
        return Span(None, None, tuple(edges) or ((ts(start), ts(end)),))
    return Span(first.isoformat(), end_day.isoformat(), tuple(edges))


def _filters(
    table: FigureTable, alias: str | None, where: Mapping[str, object]
) -> tuple[list[str], list[object]]:
    exprs = dict(table.keys)
    clauses, params = [], []
    for name, value in where.items():
        if value is None:
            continue
        column = exprs[name].format(r=alias) if alias else name
        clauses.append(f"{column} = ?")
        params.append(value)
    return clauses, params


async def sums(
    conn: aiosqlite.Connection,
    table_name: str,
    start: datetime | None,
    end: datetime,
    tz: tzinfo,
    *,
    where: Mapping[str, object] | None = None,
    group: str | None = None,
    columns: Sequence[str] | None = None,
) -> dict[object, dict[str, int]]:
    """Sums of `columns` (default: all) of one table over [start, end), for rows matching
    `where` (key column → value; None means any), grouped by one key column (or None: one
    group, keyed None). Whole days come from the table, partial ones from the raw rows."""
    t = TABLES[table_name]
    where = where or {}
    names = list(columns) if columns else [name for name, _ in t.values]
    out: dict[object, dict[str, int]] = {}

    def add(rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            key = row[0] if group else None
            values = row[1:] if group else row
            if group and key is None:
                continue
            into = out.setdefault(key, dict.fromkeys(names, 0))
            for name, value in zip(names, values, strict=True):
                into[name] += int(value or 0)

    s = span(start, end, tz)
    if s.end_day is not None:
        clauses, params = _filters(t, None, where)
        clauses.append("day < ?")
        params.append(s.end_day)
        if s.first_day is not None:
            clauses.append("day >= ?")
            params.append(s.first_day)
        selected = ", ".join(f"sum({n})" for n in names)
        head = f"{group}, " if group else ""
        tail = f" GROUP BY {group}" if group else ""
        cur = await conn.execute(
            f"SELECT {head}{selected} FROM {t.name} WHERE {' AND '.join(clauses)}{tail}", params
        )
        add(await cur.fetchall())
    exprs = dict(t.values)
    for lo, hi in s.edges:
        clauses, params = _filters(t, "r", where)
        clauses += [t.when.format(r="r"), f"{t.time.format(r='r')} < ?"]
        params.append(hi)
        if lo is not None:
            clauses.append(f"{t.time.format(r='r')} >= ?")
            params.append(lo)
        selected = ", ".join(f"sum({exprs[n].format(r='r')})" for n in names)
        head = f"{dict(t.keys)[group].format(r='r')}, " if group else ""
        tail = " GROUP BY 1" if group else ""
        cur = await conn.execute(
            f"SELECT {head}{selected} FROM {t.source} r WHERE {' AND '.join(clauses)}{tail}",
            params,
        )
        add(await cur.fetchall())
    if not group:
        out.setdefault(None, dict.fromkeys(names, 0))
    return out
