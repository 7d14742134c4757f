"""Report periods as owners think of them: calendar days in the company's time zone.

"30 days" is today and the 29 days before, from local midnight; "this year" starts on 1 January;
a month is `YYYY-MM`. Each period knows the previous one of the same length for the "change"
figure (for a month: the previous calendar month).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

CODES = ("7", "30", "90", "y", "all")
_MONTH = re.compile(r"^m?(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    code: str
    first_day: date | None  # None: since the beginning
    last_day: date
    start: datetime | None  # UTC, inclusive
    end: datetime  # UTC, exclusive
    previous: Period | None = None


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tz).astimezone(UTC)


def _span(code: str, first: date | None, last: date, tz: tzinfo) -> Period:
    start = _midnight(first, tz) if first else None
    return Period(code, first, last, start, _midnight(last + timedelta(days=1), tz))


def resolve(code: str, today: date, tz: tzinfo) -> Period | None:
    """The period for a button code or a typed month; None for anything else."""
    if code in ("7", "30", "90"):
        days = int(code)
        first = today - timedelta(days=days - 1)
        previous = _span(code, first - timedelta(days=days), first - timedelta(days=1), tz)
        return _with_previous(_span(code, first, today, tz), previous)
    if code == "y":
        first = date(today.year, 1, 1)
        length = (today - first).days + 1
        previous = _span(code, first - timedelta(days=length), first - timedelta(days=1), tz)
        return _with_previous(_span(code, first, today, tz), previous)
    if code == "all":
        return _span(code, None, today, tz)
    match = _MONTH.match(code)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or not 2000 <= year <= today.year:
            return None
        first = date(year, month, 1)
        if first > today:
            return None
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        last = min(nxt - timedelta(days=1), today)
        before = first - timedelta(days=1)
        previous = _span(f"m{before:%Y-%m}", before.replace(day=1), before, tz)
        return _with_previous(_span(f"m{year:04d}-{month:02d}", first, last, tz), previous)
    return None


def _with_previous(period: Period, previous: Period) -> Period:
    return Period(
        period.code, period.first_day, period.last_day, period.start, period.end, previous
    )
