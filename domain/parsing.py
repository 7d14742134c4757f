"""Parsing what people type: phone numbers (E.164 via `phonenumbers`), birthdays, deal dates.

Each parser returns a value or None; the caller asks again with an example. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers

MAX_PHONE_INPUT = 40


def parse_phone(text: str, default_region: str = "RU") -> str | None:
    """A phone typed in any common format ("8 916 123-45-67", "+7 (916) 1234567") as E.164."""
    text = text.strip()
    if not text or len(text) > MAX_PHONE_INPUT or not re.search(r"\d", text):
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_shared_phone(raw: str, default_region: str = "RU", *, own: bool = False) -> str | None:
    """A phone from a Telegram contact card. A person's own number (`request_contact`) is always
    international without the "+"; a contact from an address book is as the owner saved it, so a
    leading 8 or 0 (a national prefix) is read in the default region first."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if text.startswith("+") or own:
        return parse_phone("+" + digits, default_region)
    attempts = ("national", "international")
    if not digits.startswith(("8", "0")):
        attempts = ("international", "national")
    for attempt in attempts:
        phone = parse_phone(("+" + digits) if attempt == "international" else text, default_region)
        if phone is not None:
            return phone
    return None


def format_phone(e164: str) -> str:
    """E.164 for people: "+7 916 123-45-67"."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@dataclass(frozen=True, slots=True)
class Birthday:
    day: int
    month: int
    year: int | None = None

    def __str__(self) -> str:
        return f"{self.day:02d}.{self.month:02d}" + (f".{self.year}" if self.year else "")


_DATE_RE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})(?:[./-](\d{4}))?\s*$")


def parse_birthday(text: str, today: date) -> Birthday | None:
    """`DD.MM` or `DD.MM.YYYY`; 29.02 is accepted without a year; no future or impossible date."""
    match = _DATE_RE.match(text)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else None
    try:
        # 2000 is a leap year, so 29.02 without a year is a real date
        candidate = date(year or 2000, month, day)
    except ValueError:
        return None
    if year is not None and (candidate > today or year < today.year - 120):
        return None
    return Birthday(day, month, year)


def parse_deal_date(text: str, today: date, max_age_days: int = 3660) -> date | None:
    """`DD.MM.YYYY` or `DD.MM` (this year); not in the future, not older than ten years."""
    match = _DATE_RE.match(text)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else today.year
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if value > today or (today - value).days > max_age_days:
        return None
    return value


def parse_future_date(text: str, today: date, max_days: int = 366) -> date | None:
    """`DD.MM` (the next such day) or `DD.MM.YYYY`; today or later, within a year."""
    match = _DATE_RE.match(text)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    try:
        if match.group(3):
            value = date(int(match.group(3)), month, day)
        else:
            value = date(today.year, month, day)
            if value < today:
                value = date(today.year + 1, month, day)
    except ValueError:
        return None
    if value < today or (value - today).days > max_days:
        return None
    return value
