"""Figures for the owner, computed in SQL: NPS and its parts, overall and per kind of person.

NPS = % promoters (9–10) − % detractors (0–6), from −100 to +100. A survey counts once it has a
score; "invited" is every survey link made. Later views (periods, managers, trends) grow from
`nps_counts` by adding conditions, so the arithmetic lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database

KINDS = ("client", "supplier", "contractor", "partner")


def category(score: int) -> str:
    if not 0 <= score <= 10:
        raise ValueError(f"score must be 0..10, got {score}")
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


def percent(part: int, whole: int) -> int:
    """round(100 * part / whole), halves away from zero, in exact integer arithmetic."""
    numerator = 100 * part
    magnitude = (2 * abs(numerator) + whole) // (2 * whole)
    return magnitude if numerator >= 0 else -magnitude


@dataclass(frozen=True, slots=True)
class NpsCounts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    invited: int = 0

    @property
    def answered(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> int | None:
        """Whole points, halves rounded away from zero; None when nobody has answered."""
        if not self.answered:
            return None
        return percent(self.promoters - self.detractors, self.answered)

    def share(self, part: int) -> int:
        """Percent of answers, rounded half away from zero (0 when nobody has answered)."""
        return percent(part, self.answered) if self.answered else 0

    @property
    def response_rate(self) -> int:
        return percent(self.answered, self.invited) if self.invited else 0


_COUNTS_SQL = """
SELECT kind,
       sum(score >= 9) AS promoters,
       sum(score BETWEEN 7 AND 8) AS passives,
       sum(score <= 6) AS detractors,
       count(*) AS invited
FROM surveys
GROUP BY kind
"""


async def nps_by_kind(db: Database) -> dict[str, NpsCounts]:
    """Counts per kind of person, over all surveys ever made."""
    async with db.read() as conn:
        rows = await (await conn.execute(_COUNTS_SQL)).fetchall()
    return {
        row["kind"]: NpsCounts(
            promoters=row["promoters"] or 0,
            passives=row["passives"] or 0,
            detractors=row["detractors"] or 0,
            invited=row["invited"],
        )
        for row in rows
    }


def total(counts: dict[str, NpsCounts]) -> NpsCounts:
    return NpsCounts(
        promoters=sum(c.promoters for c in counts.values()),
        passives=sum(c.passives for c in counts.values()),
        detractors=sum(c.detractors for c in counts.values()),
        invited=sum(c.invited for c in counts.values()),
    )
