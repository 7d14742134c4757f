"""What the connectors hand to the rest: a won deal, read from either CRM, in one shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class WonDeal:
    crm_id: str
    title: str
    contact_id: str | None  # None: the deal has no contact
    contact_name: str | None = None
    phones: tuple[str, ...] = ()  # as typed in the CRM; parsed by the caller
    birthday: tuple[int, int, int | None] | None = None
    products: tuple[str, ...] = ()
    responsible_id: str | None = None
    closed_on: date | None = None

    @property
    def description(self) -> str:
        return ", ".join(self.products) or self.title or f"#{self.crm_id}"


@dataclass(frozen=True, slots=True)
class Event:
    """An event as it arrived, reduced to what processing needs (no secrets)."""

    event: str
    entity_id: str
    status_hint: str | None = None


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def birthday_from(value: object) -> tuple[int, int, int | None] | None:
    """A birthday as the CRMs send it: ISO text ("1990-05-14T03:00:00+03:00", Bitrix24) or a Unix
    timestamp (amoCRM's birthday field); empty or nonsense gives None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        # amoCRM keeps a date as midnight of the account's zone (Moscow: 21:00 UTC the day
        # before): an instant in the afternoon UTC belongs to the next day.
        day = moment.date()
        if moment.hour >= 12:
            day += timedelta(days=1)
        return (day.day, day.month, day.year)
    if isinstance(value, str):
        match = _ISO_DAY.match(value.strip())
        if not match:
            return None
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
        return (day.day, day.month, day.year)
    return None


def date_from(value: object) -> date | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value, UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        match = _ISO_DAY.match(value.strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None
