"""SQL for the owner's reports: NPS by local calendar month (/trend) and the rows of /export.

Months are calendar months in the company's time zone. Their bounds are computed in Python (zoneinfo
knows every DST rule), and the trend adds up the local days of the per-day figures between them
(storage/figures.py), so a month that starts in summer time and ends in winter time is still exact.

Export rows are read in chunks by keyset (`scored_at, id` for answers, `id` for contacts), each
chunk under its own short `db.read()`: a 300,000-row export never holds all rows at once, and the
shared connection is free for other handlers between chunks. Personal fields of contacts who asked
to be forgotten are blanked here, in SQL, so they never leave storage; their anonymous scores stay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

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


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One scored survey for the export. Times are UTC text; personal fields are None when the
    person was forgotten (`forgotten` is then True) and `phone` only when they agreed to contact."""

    id: int
    scored_at: str
    kind: str
    score: int
    reason: str | None
    consent: int | None
    created_at: str
    opened_at: str | None
    name: str | None
    organization: str | None
    phone: str | None
    forgotten: bool
    manager: str | None
    deal_description: str | None
    deal_date: str | None


_ANSWERS_SQL = """
SELECT s.id, s.scored_at, s.kind, s.score, s.consent, s.created_at, s.opened_at,
       c.forgotten_at IS NOT NULL AS forgotten,
       CASE WHEN c.forgotten_at IS NULL THEN s.reason END AS reason,
       CASE WHEN c.forgotten_at IS NULL THEN c.full_name END AS name,
       CASE WHEN c.forgotten_at IS NULL THEN c.organization END AS organization,
       CASE WHEN c.forgotten_at IS NULL AND s.consent = 1 THEN coalesce(s.phone, c.phone) END
           AS phone,
       CASE WHEN c.forgotten_at IS NULL THEN d.description END AS deal_description,
       d.deal_date, st.full_name AS manager
FROM surveys s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN deals d ON d.id = s.deal_id
LEFT JOIN staff st ON st.user_id = s.manager_id
WHERE s.score IS NOT NULL AND (s.scored_at, s.id) > (?, ?) AND s.scored_at < ?
ORDER BY s.scored_at, s.id
LIMIT ?
"""


async def iter_answers(
    db: Database, start: datetime | None, end: datetime, chunk: int = CHUNK
) -> AsyncIterator[list[AnswerRow]]:
    """Answers scored in [start, end) (start None: since the beginning), oldest first, in chunks."""
    cursor: tuple[str, int] = (ts(start) if start else "", 0)
    until = ts(end)
    while True:
        async with db.read() as conn:
            rows = await (await conn.execute(_ANSWERS_SQL, (*cursor, until, chunk))).fetchall()
        if not rows:
            return
        yield [
            AnswerRow(
                id=r["id"],
                scored_at=r["scored_at"],
                kind=r["kind"],
                score=r["score"],
                reason=r["reason"],
                consent=r["consent"],
                created_at=r["created_at"],
                opened_at=r["opened_at"],
                name=r["name"],
                organization=r["organization"],
                phone=r["phone"],
                forgotten=bool(r["forgotten"]),
                manager=r["manager"],
                deal_description=r["deal_description"],
                deal_date=r["deal_date"],
            )
            for r in rows
        ]
        if len(rows) < chunk:
            return
        cursor = (rows[-1]["scored_at"], rows[-1]["id"])


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One contact for the export (forgotten contacts are never returned). Times are UTC text,
    `last_deal` a local date `YYYY-MM-DD`."""

    id: int
    name: str | None
    kind: str
    organization: str | None
    phone: str | None
    birth_day: int | None
    birth_month: int | None
    birth_year: int | None
    manager: str | None
    last_deal: str | None
    deals: int
    last_score: int | None
    consent: int | None
    opted_out_at: str | None
    unreachable_at: str | None
    created_at: str


_CONTACTS_SQL = """
SELECT c.id, c.full_name, c.kind, c.organization, c.phone, c.birth_day, c.birth_month,
       c.birth_year, c.contact_consent, c.opted_out_at, c.unreachable_at, c.created_at,
       st.full_name AS manager,
       (SELECT max(d.deal_date) FROM deals d WHERE d.contact_id = c.id) AS last_deal,
       (SELECT count(*) FROM deals d WHERE d.contact_id = c.id) AS deals,
       (SELECT s.score FROM surveys s WHERE s.contact_id = c.id AND s.score IS NOT NULL
        ORDER BY s.scored_at DESC, s.id DESC LIMIT 1) AS last_score
FROM contacts c
LEFT JOIN staff st ON st.user_id = c.manager_id
WHERE c.forgotten_at IS NULL AND c.id > ?
ORDER BY c.id
LIMIT ?
"""


async def iter_contacts(db: Database, chunk: int = CHUNK) -> AsyncIterator[list[ContactRow]]:
    """Every contact not forgotten, in the order they were added, in chunks."""
    after = 0
    while True:
        async with db.read() as conn:
            rows = await (await conn.execute(_CONTACTS_SQL, (after, chunk))).fetchall()
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
                last_deal=r["last_deal"],
                deals=r["deals"],
                last_score=r["last_score"],
                consent=r["contact_consent"],
                opted_out_at=r["opted_out_at"],
                unreachable_at=r["unreachable_at"],
                created_at=r["created_at"],
            )
            for r in rows
        ]
        if len(rows) < chunk:
            return
        after = rows[-1]["id"]
