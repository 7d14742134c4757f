"""Deep-link payloads: `t.me/<bot>?start=<kind>_<token>`.

Telegram allows at most 64 characters of `A-Za-z0-9_-`; anything else is refused before a query.
The one-letter kind keeps invite, survey and referral tokens apart without a lookup in each table.
"""

from __future__ import annotations

import enum
import re

_PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class LinkKind(enum.StrEnum):
    INVITE = "i"
    SURVEY = "s"
    REFERRAL = "r"


def make_payload(kind: LinkKind, token: str) -> str:
    payload = f"{kind.value}_{token}"
    if not _PAYLOAD_RE.match(payload):
        raise ValueError("deep-link payload must be at most 64 characters of A-Za-z0-9_-")
    return payload


def make_link(bot_username: str, kind: LinkKind, token: str) -> str:
    return f"https://t.me/{bot_username}?start={make_payload(kind, token)}"


def parse_payload(payload: str | None) -> tuple[LinkKind, str] | None:
    """(kind, token) for a well-formed payload; None for garbage (refused without a lookup)."""
    if not payload or not _PAYLOAD_RE.match(payload):
        return None
    prefix, sep, token = payload.partition("_")
    if not sep or not token:
        return None
    try:
        return LinkKind(prefix), token
    except ValueError:
        return None
