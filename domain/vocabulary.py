"""The bot's vocabulary: the words every layer uses for the same things (kinds of person, how a
date is written, …).

One definition each: callback data, the import's synonyms and the SQL all refer to these."""

from __future__ import annotations

# The kinds of person a deal is made with (stored in contacts.kind and surveys.kind).
KINDS = ("client", "supplier", "contractor", "partner")

# How people read a date and a moment, day first (also how a date cell is read in an import).
DATE = "%d.%m.%Y"
DATETIME = "%d.%m.%Y %H:%M"
