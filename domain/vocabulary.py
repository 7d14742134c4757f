"""The bot's vocabulary: the words every layer uses for the same things (kinds of person, …).

One definition each: callback data, the import's synonyms and the SQL all refer to these."""

from __future__ import annotations

# The kinds of person a deal is made with (stored in contacts.kind and surveys.kind).
KINDS = ("client", "supplier", "contractor", "partner")
