"""The formatting helpers every view shares: dates as people read them (in the company's time
zone, day first), one-line cuts, signed figures, buttons and outbox message bodies.

One decision: `cut` flattens whitespace and line breaks, because every place it is used shows
one line of something a person typed (a name, a reason, a note)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.vocabulary import DATE, DATETIME


def local_date(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime(DATE)


def local_datetime(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime(DATETIME)


def day(value: date) -> str:
    """A calendar date (no time zone involved): 05.03.2026."""
    return value.strftime(DATE)


def cut(text: str, width: int) -> str:
    """One line of at most `width` characters (whitespace and line breaks collapsed)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def signed(value: int | None) -> str:
    """An NPS or its change with its sign: +12, -3, 0 (also for no figure)."""
    return f"{value:+d}" if value else "0"


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def payload(text: str, markup: InlineKeyboardMarkup | None = None) -> dict[str, Any]:
    """A message body as the outbox stores it (the keyboard as JSON)."""
    body: dict[str, Any] = {"text": text}
    if markup is not None:
        body["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
    return body
