"""The injected clock: every 'now' in the bot comes from here, so tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.clock import Clock


def system_clock() -> datetime:
    return datetime.now(UTC)


def shifted_clock(start: datetime) -> Clock:
    """A clock that starts at `start` and then runs at real speed (end-to-end tests only)."""
    offset = start - datetime.now(UTC)

    def now() -> datetime:
        return datetime.now(UTC) + offset

    return now
