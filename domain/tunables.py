"""The settings an owner may change in the chat (`/settings`): how each is read from what the owner
types, stored as canonical text, shown, and laid over the `.env` settings.

Pure functions and no I/O, so every rule is tested without a bot. A stored value that no longer
parses (a setting whose limits were tightened in a later release) is ignored, never fatal: the
`.env` value applies and the owner sees it in `/settings`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from datetime import time

from domain.settings import SUPPORTED_LANGUAGES, Settings
from domain.vocabulary import LIMITS

log = logging.getLogger(__name__)

COMPANY = "company_name"
COMPANY_EN = "company_name_en"
DIGEST = "digest_time"
WORKDAYS = "workdays"
OFFER = "offer_interval"
BIRTHDAY = "birthday_lead_days"
BUDGET = "contact_min_days"
LANGUAGE = "default_language"

# In the order /settings lists them.
KEYS: tuple[str, ...] = (COMPANY, COMPANY_EN, DIGEST, WORKDAYS, OFFER, BIRTHDAY, BUDGET, LANGUAGE)
# Settings changed by taps only (no typed value).
TAP_ONLY = frozenset({WORKDAYS, LANGUAGE})

COMPANY_MAX = LIMITS["company"].max
OFFER_LIMITS = (7, 365)
BIRTHDAY_LIMITS = (0, 30)
BUDGET_LIMITS = (0, 90)

# Preset buttons under each typed setting (canonical values).
PRESETS: dict[str, tuple[str, ...]] = {
    DIGEST: ("08:00", "09:00", "10:00"),
    OFFER: ("30-60", "45-90", "60-90"),
    BIRTHDAY: ("1", "3", "7"),
    BUDGET: ("3", "7", "14"),
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidValue(ValueError):
    """What the owner typed does not fit; `key` names the text that explains the expected form."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def parse(key: str, raw: str) -> str:
    """What the owner typed → the canonical stored value, or `InvalidValue`."""
    text = raw.strip()
    if key in (COMPANY, COMPANY_EN):
        if _CONTROL.search(text) or not text:
            raise InvalidValue("settings.bad.company", limit=COMPANY_MAX)
        if len(text) > COMPANY_MAX:
            raise InvalidValue("settings.bad.company_long", limit=COMPANY_MAX, length=len(text))
        return text
    if key == DIGEST:
        return _parse_time(text)
    if key == OFFER:
        return _parse_range(text)
    if key == BIRTHDAY:
        return str(_parse_int(text, *BIRTHDAY_LIMITS))
    if key == BUDGET:
        return str(_parse_int(text, *BUDGET_LIMITS))
    if key == LANGUAGE:
        if text not in SUPPORTED_LANGUAGES:
            raise InvalidValue("settings.bad.language")
        return text
    if key == WORKDAYS:
        # isdecimal, not isdigit: "²" is a digit that int() refuses (a ValueError, not a refusal)
        days = sorted({int(d) for d in text.split(",") if d.strip().isdecimal()})
        if not days or any(d > 6 for d in days):
            raise InvalidValue("settings.bad.workdays")
        return ",".join(map(str, days))
    raise InvalidValue("settings.bad.unknown")


def _parse_time(text: str) -> str:
    match = re.fullmatch(r"(\d{1,2})(?:\s*[:.\-h ]\s*(\d{2}))?", text.lower())
    if match is None:
        raise InvalidValue("settings.bad.time")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 23 or minutes > 59:
        raise InvalidValue("settings.bad.time")
    return f"{hours:02d}:{minutes:02d}"


def _parse_range(text: str) -> str:
    numbers = re.findall(r"\d+", text)
    low, high = OFFER_LIMITS
    if len(numbers) != 2 or re.sub(r"[\d\s\-–—.,]|от|до|from|to|and|и", "", text.lower()):
        raise InvalidValue("settings.bad.offer", low=low, high=high)
    first, last = int(numbers[0]), int(numbers[1])
    if not (low <= first <= high and low <= last <= high):
        raise InvalidValue("settings.bad.offer", low=low, high=high)
    if last < first:
        raise InvalidValue("settings.bad.offer_order")
    return f"{first}-{last}"


def _parse_int(text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\d{1,3}", text):
        raise InvalidValue("settings.bad.number", low=low, high=high)
    value = int(text)
    if not low <= value <= high:
        raise InvalidValue("settings.bad.number", low=low, high=high)
    return value


def value_of(settings: Settings, key: str) -> str:
    """The canonical value a setting has now (the inverse of `apply` for one key)."""
    cadence = settings.cadence
    if key == COMPANY:
        return settings.company_name
    if key == COMPANY_EN:
        return settings.company_name_en
    if key == DIGEST:
        return cadence.digest_time.strftime("%H:%M")
    if key == WORKDAYS:
        return ",".join(str(d) for d in sorted(cadence.workdays))
    if key == OFFER:
        return f"{cadence.offer_min_days}-{cadence.offer_max_days}"
    if key == BIRTHDAY:
        return str(cadence.birthday_lead_days)
    if key == BUDGET:
        return str(cadence.contact_min_days)
    if key == LANGUAGE:
        return settings.default_language
    raise KeyError(key)


def _replace_one(settings: Settings, key: str, value: str) -> Settings:
    cadence = settings.cadence
    if key == COMPANY:
        return dataclasses.replace(settings, company_name=value)
    if key == COMPANY_EN:
        return dataclasses.replace(settings, company_name_en=value)
    if key == LANGUAGE:
        return dataclasses.replace(settings, default_language=value)
    if key == DIGEST:
        hours, minutes = value.split(":")
        cadence = dataclasses.replace(cadence, digest_time=time(int(hours), int(minutes)))
    elif key == WORKDAYS:
        cadence = dataclasses.replace(cadence, workdays=frozenset(map(int, value.split(","))))
    elif key == OFFER:
        low, high = value.split("-")
        cadence = dataclasses.replace(cadence, offer_min_days=int(low), offer_max_days=int(high))
    elif key == BIRTHDAY:
        cadence = dataclasses.replace(cadence, birthday_lead_days=int(value))
    elif key == BUDGET:
        cadence = dataclasses.replace(cadence, contact_min_days=int(value))
    else:
        raise KeyError(key)
    return dataclasses.replace(settings, cadence=cadence)


def apply(base: Settings, overrides: Mapping[str, str]) -> Settings:
    """The `.env` settings with the owner's chat changes laid over them."""
    settings = base
    for key in KEYS:
        stored = overrides.get(key)
        if stored is None:
            continue
        try:
            settings = _replace_one(settings, key, parse(key, stored))
        except InvalidValue:
            log.warning("stored setting %s no longer valid; the .env value applies", key)
    return settings


# Not an owner's setting, but a number the product promises ("the alert comes 15 minutes later
# with what they said"): a detractor's survey untouched this long is taken as all they will say,
# and the case's alerts are brought to their final form (scheduler/alerts.settle_quiet_cases).
ALERT_QUIET_MINUTES = 15

# A fact told as "late" (a reason or phone that came after the alert was delivered) is news only
# while it is fresh. Older ones are still edited into the alerts but not announced again: after
# the upgrade that added settling, every old unfinished case would otherwise send its months-old
# reason as a new message.
LATE_FACTS_MAX_AGE_HOURS = 24
