"""Dates and times as people read them: in the company's time zone, day first."""

from __future__ import annotations

from datetime import datetime, tzinfo


def local_date(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y")


def local_datetime(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")
