"""NPS arithmetic: categories, exact integer percentages, sums, the median and the margin of error.

NPS = % promoters (9–10) − % detractors (0–6), from −100 to +100. Percentages are rounded half
away from zero in integer arithmetic, so a figure never depends on float rounding; the one float
shown (the margin of error) goes through `round_half_away`, the same rule, never Python's
`round()` (which rounds halves to even: 2.5 → 2, and 100 · 1/8 = 12.5 → 12)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


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


def round_half_away(value: float) -> int:
    """The nearest whole number, halves away from zero (2.5 → 3, −2.5 → −3): the rule of
    `percent`, for a figure that is a float (the margin of error)."""
    magnitude = math.floor(abs(value) + 0.5)
    return magnitude if value >= 0 else -magnitude


@dataclass(frozen=True, slots=True)
class NpsCounts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    invited: int = 0  # survey links made in the period
    responded: int = 0  # of those links, how many have been answered (the response rate)

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
        """Of the links made in the period, the share answered: like with like, never over 100%
        (answers in a period can belong to links made before it)."""
        return percent(self.responded, self.invited) if self.invited else 0


def sum_counts(parts: Iterable[NpsCounts]) -> NpsCounts:
    items = list(parts)
    return NpsCounts(
        promoters=sum(c.promoters for c in items),
        passives=sum(c.passives for c in items),
        detractors=sum(c.detractors for c in items),
        invited=sum(c.invited for c in items),
        responded=sum(c.responded for c in items),
    )


def median(values: list[float]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return float(values[middle])
    return (values[middle - 1] + values[middle]) / 2


def margin_of_error(counts: NpsCounts) -> float | None:
    """95% margin of error of the NPS, in points: 1.96 · sqrt((p + d − (p − d)²) / n)."""
    n = counts.answered
    if n == 0:
        return None
    p, d = counts.promoters / n, counts.detractors / n
    return 1.96 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n) * 100
