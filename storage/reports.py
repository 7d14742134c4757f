"""SQL for the owner's reports: NPS by local calendar month (/trend) and the rows of /export.

Months are calendar months in the company's time zone. Their bounds are computed in Python (zoneinfo
knows every DST rule), and the trend adds up the local days of the per-day figures between them
(storage/figures.py), so a month that starts in summer time and ends in winter time is still exact.

Export rows are read in chunks by keyset (`scored_at, id` for answers, `id` for contacts), each
chunk under its own short `db.report()` (the read-only connection, so a respondent's tap never
waits for an export): a 3,000,000-row export never holds all rows at once, and other reports get
the connection between chunks. A reader may start after any key and stop after any number of
rows, so an export can be cut into parts and a part re-read in halves.
Personal fields of contacts who asked to be forgotten are blanked here, in SQL, so they never leave
storage; their anonymous scores stay.

Export times leave SQL already local, as text and as a day number (days since 30.12.1899, what
spreadsheets store): SQLite's strftime/julianday shift each UTC stamp by the offset in force at
that instant, a CASE over the zone's offset changes computed here with zoneinfo. Measured with
bench/bench_export.py, this is faster than parsing and converting every stamp in Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import NamedTuple

from domain.nps import NpsCounts
from storage.db import Database
from storage.figures import sums
from storage.timefmt import ts

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month in the company's time zone, as the UTC instants [start, end)."""

    year: int
    month: int
    start: datetime
    end: datetime


def _month_start(year: int, month: int, tz: tzinfo) -> datetime:
    return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)


def last_months(now: datetime, tz: tzinfo, count: int = 12) -> list[Month]:
    """The `count` calendar months up to and including the current one, oldest first."""
    local = now.astimezone(tz)
    index = local.year * 12 + local.month - 1  # months since year 0, so stepping back is easy
    months = []
    for i in range(index - count + 1, index + 1):
        year, month = divmod(i, 12)
        next_year, next_month = divmod(i + 1, 12)
        months.append(
            Month(
                year,
                month + 1,
                _month_start(year, month + 1, tz),
                _month_start(next_year, next_month + 1, tz),
            )
        )
    return months


async def monthly_nps(db: Database, months: Sequence[Month]) -> dict[tuple[int, str], NpsCounts]:
    """Answers per (index into `months`, kind); pairs without answers are absent. Added up from
    the per-day figures (a month is its local days), on the read-only report connection.

    `invited` is left at 0: the trend is about scores, and a link made in one month is often
    answered in the next.
    """
    out: dict[tuple[int, str], NpsCounts] = {}
    async with db.report() as conn:
        for i, m in enumerate(months):
            found = await sums(
                conn,
                "answer_days",
                m.start,
                m.end,
                db.timezone,
                group="kind",
                columns=("promoters", "passives", "detractors"),
            )
            for kind, c in found.items():
                if isinstance(kind, str) and (c["promoters"] or c["passives"] or c["detractors"]):
                    out[(i, kind)] = NpsCounts(c["promoters"], c["passives"], c["detractors"])
    return out


class Local(NamedTuple):
    """A local date or moment for the export: days since 30.12.1899 (with the time as a fraction,
    what spreadsheets store) and the same as text, `DD.MM.YYYY` or `DD.MM.YYYY HH:MM`."""

    number: float
    text: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SPREADSHEET_DAY_ZERO = 2415018.5  # julianday('1899-12-30 00:00:00')


@lru_cache(maxsize=16)
def _offset_changes(tz: tzinfo, until_day: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """The zone's UTC offset (seconds) in force on 1.1.1970, and each change after it up to
    `until_day` as (UTC text of the first instant of the new offset, new offset), oldest first.
    zoneinfo keeps its transitions private, so days are stepped and each change bisected to the
    second."""

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    end = datetime.fromisoformat(until_day).replace(tzinfo=UTC) + timedelta(days=2)
    first = offset(_EPOCH)
    changes: list[tuple[str, int]] = []
    day, current = _EPOCH, first
    step = timedelta(days=1)
    while day < end:
        following = offset(day + step)
        if following != current:
            low, high = 0, 86400  # the change is in (day + low, day + high]
            while high - low > 1:
                middle = (low + high) // 2
                if offset(day + timedelta(seconds=middle)) == current:
                    low = middle
                else:
                    high = middle
            changes.append((ts(day + timedelta(seconds=high)), following))
            current = following
        day += step
    return first, tuple(changes)


def _shift(column: str, tz: tzinfo, until: datetime) -> str:
    """An SQL date modifier ('+10800 seconds') that turns the UTC text in `column` into local
    time: a constant for a zone that kept one offset, else a CASE over the changes, newest
    first (most rows are recent). Only our own digits go into the SQL text."""
    first, changes = _offset_changes(tz, until.astimezone(UTC).date().isoformat())
    if not changes:
        return f"'{first:+d} seconds'"
    whens = " ".join(
        f"WHEN {column} >= '{at}' THEN '{off:+d} seconds'" for at, off in reversed(changes)
    )
    return f"CASE {whens} ELSE '{first:+d} seconds' END"


def _local_columns(
    column: str, alias: str, tz: tzinfo, until: datetime, *, day_only: bool = False
) -> str:
    """`{alias}_n` and `{alias}_t` (see `Local`) of a UTC stamp column, or of its local date."""
    shift = _shift(column, tz, until)
    if day_only:
        return (
            f"julianday({column}, {shift}, 'start of day') - {_SPREADSHEET_DAY_ZERO} "
            f"AS {alias}_n, strftime('%d.%m.%Y', {column}, {shift}) AS {alias}_t"
        )
    return (
        f"julianday({column}, {shift}) - {_SPREADSHEET_DAY_ZERO} AS {alias}_n, "
        f"strftime('%d.%m.%Y %H:%M', {column}, {shift}) AS {alias}_t"
    )


def _day_columns(column: str, alias: str) -> str:
    """A local calendar date stored as `YYYY-MM-DD` (no shift)."""
    return (
        f"julianday({column}) - {_SPREADSHEET_DAY_ZERO} AS {alias}_n, "
        f"strftime('%d.%m.%Y', {column}) AS {alias}_t"
    )


def _local(row: object, alias: str) -> Local | None:
    text = row[f"{alias}_t"]  # type: ignore[index]
    return None if text is None else Local(row[f"{alias}_n"], text)  # type: ignore[index]


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One scored survey for the export. `scored_at` is UTC text (the key, with `id`); the other
    times are local. Personal fields are None when the person was forgotten (`forgotten` is then
    True) and `phone` only when they agreed to be contacted. `reason` is the whole text."""

    id: int
    scored_at: str
    answered: Local
    kind: str
    score: int
    reason: str | None
    consent: int | None
    created: Local
    opened: Local | None
    name: str | None
    organization: str | None
    phone: str | None
    forgotten: bool
    manager: str | None
    deal_description: str | None
    deal_date: Local | None


AnswerKey = tuple[str, int]

_ANSWERS_SQL = """
SELECT s.id, s.scored_at, s.kind, s.score, s.consent, {answered}, {created}, {opened}, {deal},
       c.forgotten_at IS NOT NULL AS forgotten,
       CASE WHEN c.forgotten_at IS NULL THEN s.reason END AS reason,
       CASE WHEN c.forgotten_at IS NULL THEN c.full_name END AS name,
       CASE WHEN c.forgotten_at IS NULL THEN c.organization END AS organization,
       CASE WHEN c.forgotten_at IS NULL AND s.consent = 1 THEN coalesce(s.phone, c.phone) END
           AS phone,
       CASE WHEN c.forgotten_at IS NULL THEN d.description END AS deal_description,
       st.full_name AS manager
FROM surveys s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN deals d ON d.id = s.deal_id
LEFT JOIN staff st ON st.user_id = s.manager_id
WHERE s.score IS NOT NULL AND (s.scored_at, s.id) > (?, ?) AND s.scored_at < ?
ORDER BY s.scored_at, s.id
LIMIT ?
"""


def _answers_sql(tz: tzinfo, until: datetime) -> str:
    return _ANSWERS_SQL.format(
        answered=_local_columns("s.scored_at", "answered", tz, until),
        created=_local_columns("s.created_at", "created", tz, until),
        opened=_local_columns("s.opened_at", "opened", tz, until),
        deal=_day_columns("d.deal_date", "deal"),
    )


async def count_answers(db: Database, start: datetime | None, end: datetime) -> int:
    """How many answers `iter_answers` gives for [start, end)."""
    async with db.report() as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM surveys WHERE score IS NOT NULL AND scored_at >= ? "
            "AND scored_at < ?",
            (ts(start) if start else "", ts(end)),
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def iter_answers(
    db: Database,
    start: datetime | None,
    end: datetime,
    chunk: int | None = None,
    *,
    tz: tzinfo = UTC,
    after: AnswerKey | None = None,
    limit: int | None = None,
) -> AsyncIterator[list[AnswerRow]]:
    """Answers scored in [start, end) (start None: since the beginning), oldest first, in chunks;
    only those after the key `after`, and at most `limit` of them when given."""
    chunk = chunk or CHUNK
    cursor: AnswerKey = after or (ts(start) if start else "", 0)
    until = ts(end)
    sql = _answers_sql(tz, end)
    left = limit
    while left is None or left > 0:
        size = chunk if left is None else min(chunk, left)
        async with db.report() as conn:
            rows = await (await conn.execute(sql, (*cursor, until, size))).fetchall()
        if not rows:
            return
        yield [
            AnswerRow(
                id=r["id"],
                scored_at=r["scored_at"],
                answered=Local(r["answered_n"], r["answered_t"]),
                kind=r["kind"],
                score=r["score"],
                reason=r["reason"],
                consent=r["consent"],
                created=Local(r["created_n"], r["created_t"]),
                opened=_local(r, "opened"),
                name=r["name"],
                organization=r["organization"],
                phone=r["phone"],
                forgotten=bool(r["forgotten"]),
                manager=r["manager"],
                deal_description=r["deal_description"],
                deal_date=_local(r, "deal"),
            )
            for r in rows
        ]
        if len(rows) < size:
            return
        if left is not None:
            left -= len(rows)
        cursor = (rows[-1]["scored_at"], rows[-1]["id"])


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One contact for the export (forgotten contacts are never returned). Times are local."""

    id: int
    name: str | None
    kind: str
    organization: str | None
    phone: str | None
    birth_day: int | None
    birth_month: int | None
    birth_year: int | None
    manager: str | None
    last_deal: Local | None
    deals: int
    last_score: int | None
    consent: int | None
    opted_out: Local | None
    unreachable: Local | None
    created: Local


_CONTACTS_SQL = """
SELECT c.id, c.full_name, c.kind, c.organization, c.phone, c.birth_day, c.birth_month,
       c.birth_year, c.contact_consent, {opted_out}, {unreachable}, {created},
       st.full_name AS manager,
       (SELECT count(*) FROM deals d WHERE d.contact_id = c.id) AS deals,
       (SELECT s.score FROM surveys s WHERE s.contact_id = c.id AND s.score IS NOT NULL
        ORDER BY s.scored_at DESC, s.id DESC LIMIT 1) AS last_score,
       {last_deal}
FROM (SELECT c.*, (SELECT max(d.deal_date) FROM deals d WHERE d.contact_id = c.id) AS last_deal
      FROM contacts c
      WHERE c.forgotten_at IS NULL AND c.id > ? AND c.id <= ?
      ORDER BY c.id
      LIMIT ?) c
LEFT JOIN staff st ON st.user_id = c.manager_id
ORDER BY c.id
"""


def _contacts_sql(tz: tzinfo, until: datetime) -> str:
    return _CONTACTS_SQL.format(
        opted_out=_local_columns("c.opted_out_at", "opted_out", tz, until, day_only=True),
        unreachable=_local_columns("c.unreachable_at", "unreachable", tz, until, day_only=True),
        created=_local_columns("c.created_at", "created", tz, until),
        last_deal=_day_columns("c.last_deal", "last_deal"),
    )


async def count_contacts(db: Database) -> tuple[int, int]:
    """How many contacts `iter_contacts` gives, and the last id so far: an export reads only up
    to it, so a contact added meanwhile cannot make a part more than was announced."""
    async with db.report() as conn:
        cursor = await conn.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM contacts WHERE forgotten_at IS NULL"
        )
        row = await cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def iter_contacts(
    db: Database,
    chunk: int | None = None,
    *,
    tz: tzinfo = UTC,
    now: datetime | None = None,
    after: int | None = None,
    limit: int | None = None,
    last_id: int | None = None,
) -> AsyncIterator[list[ContactRow]]:
    """Every contact not forgotten, in the order they were added, in chunks: those after the id
    `after`, up to the id `last_id`, at most `limit` of them when given."""
    chunk = chunk or CHUNK
    cursor = after or 0
    sql = _contacts_sql(tz, now or datetime.now(UTC))
    left = limit
    top = last_id if last_id is not None else 2**63 - 1
    while left is None or left > 0:
        size = chunk if left is None else min(chunk, left)
        async with db.report() as conn:
            rows = await (await conn.execute(sql, (cursor, top, size))).fetchall()
        if not rows:
            return
        yield [
            ContactRow(
                id=r["id"],
                name=r["full_name"],
                kind=r["kind"],
                organization=r["organization"],
                phone=r["phone"],
                birth_day=r["birth_day"],
                birth_month=r["birth_month"],
                birth_year=r["birth_year"],
                manager=r["manager"],
                last_deal=_local(r, "last_deal"),
                deals=r["deals"],
                last_score=r["last_score"],
                consent=r["contact_consent"],
                opted_out=_local(r, "opted_out"),
                unreachable=_local(r, "unreachable"),
                created=Local(r["created_n"], r["created_t"]),
            )
            for r in rows
        ]
        if len(rows) < size:
            return
        if left is not None:
            left -= len(rows)
        cursor = rows[-1]["id"]
