"""Case rules as values: which buttons each status of a case offers, what taking a case or
changing it can come to, which case events the person produced, and the length limits of what
staff type about a case."""

from __future__ import annotations

import enum

from domain.vocabulary import LIMITS

NOTE_LIMIT = LIMITS["case_note"].max
RESOLUTION_MIN = 2
RESOLUTION_LIMIT = 500
# What staff can do to a case in each status (the card's buttons, in order). Resolving needs
# the case taken; a resolved case can be reopened; a note can always be added.
ACTIONS: dict[str, tuple[str, ...]] = {
    "open": ("take", "note"),
    "taken": ("note", "resolve"),
    "resolved": ("note", "reopen"),
}


def allows(status: str, action: str) -> bool:
    return action in ACTIONS.get(status, ())


CLIENT_ACTIONS = frozenset({"confirmed", "reopened_by_client"})


class Take(enum.Enum):
    TAKEN = "taken"
    ALREADY_TAKEN = "already_taken"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"


class Change(enum.Enum):
    DONE = "done"
    STALE = "stale"  # the case is not in the state the button expected (e.g. a double tap)
    NOT_ALLOWED = "not_allowed"  # no such case, or not this person's to see
