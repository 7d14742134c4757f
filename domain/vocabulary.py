"""The bot's vocabulary: the words every layer uses for the same things (kinds of person, how a
date is written, …).

One definition each: callback data, the import's synonyms and the SQL all refer to these."""

from __future__ import annotations

from dataclasses import dataclass

# The kinds of person a deal is made with (stored in contacts.kind and surveys.kind).
KINDS = ("client", "supplier", "contractor", "partner")

# How people read a date and a moment, day first (also how a date cell is read in an import).
DATE = "%d.%m.%Y"
DATETIME = "%d.%m.%Y %H:%M"


@dataclass(frozen=True, slots=True)
class Limit:
    """How long a typed or imported value may be, in characters (after whitespace is collapsed)."""

    min: int
    max: int

    def allows(self, text: str) -> bool:
        return self.min <= len(text) <= self.max


# One table for /sale, /referral and /import (which stored up to these maxima all along). Two
# kinds of note: a free-text note (a call's note, a /find comment, an import's note) and a note
# on a case, which is also what the case's prompt shows.
LIMITS: dict[str, Limit] = {
    "name": Limit(2, 200),
    "organization": Limit(1, 200),
    "product": Limit(2, 500),
    "note": Limit(1, 2000),
    "case_note": Limit(1, 1000),
    "company": Limit(1, 100),
}
