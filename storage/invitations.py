"""The invitation a manager sends from the chat with the client (inline mode): which survey may be
offered, and noting that it went out.

The decision: an invitation is offered only for a link nobody has opened yet (`status =
'created'`), of a person not forgotten and not opted out (/stop), made within `MAX_AGE_DAYS`, and
for a manager only their own survey (an owner's `viewer_scope` is everybody, as in /find). Every
other case, whatever the reason, gives the same `None`: the inline answer says nothing about
which links exist or why one is refused.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.planning import FACT_MARGIN_DAYS
from storage.db import Database
from storage.timefmt import ts

# A link older than this is not offered: the rules stop asking to resend it then
# (domain/planning.py), and a survey about a deal of months ago asks about something forgotten.
MAX_AGE_DAYS = FACT_MARGIN_DAYS


@dataclass(frozen=True, slots=True)
class Invitable:
    survey_id: int
    token: str
    kind: str
    contact_name: str
    contact_language: str | None  # known once the person has used the bot


async def invitable_survey(
    db: Database, token: str, staff_id: int, scope: int | None, now: datetime
) -> Invitable | None:
    """The survey behind `token` if `staff_id` may send its invitation now, else None.
    `scope` is `viewer_scope(role, staff_id)`: None for an owner (any survey), else the
    manager's own id (their surveys only)."""
    since = ts(now - timedelta(days=MAX_AGE_DAYS))
    return await db.fetch(_invitable, token, scope, since)


def _invitable(
    conn: sqlite3.Connection, token: str, scope: int | None, since: str
) -> Invitable | None:
    row = conn.execute(
        "SELECT s.id, s.token, s.kind, c.full_name, c.language FROM surveys s "
        "JOIN contacts c ON c.id = s.contact_id "
        "WHERE s.token = ? AND s.status = 'created' AND s.respondent_tg_id IS NULL "
        "AND s.created_at >= ? AND (? IS NULL OR s.manager_id = ?) "
        "AND c.forgotten_at IS NULL AND c.opted_out_at IS NULL",
        (token, since, scope, scope),
    ).fetchone()
    if row is None:
        return None
    return Invitable(
        survey_id=row[0],
        token=row[1],
        kind=row[2],
        contact_name=row[3] or "",
        contact_language=row[4],
    )


async def note_invited(db: Database, survey_id: int, scope: int | None, now: datetime) -> bool:
    """Note that the invitation of this survey was sent (the first time counts); False when
    there is no such survey this person may send (a forged or stale result id)."""
    return await db.write(_note, survey_id, scope, ts(now))


def _note(conn: sqlite3.Connection, survey_id: int, scope: int | None, now: str) -> bool:
    row = conn.execute(
        "UPDATE surveys SET invited_at = coalesce(invited_at, ?) "
        "WHERE id = ? AND (? IS NULL OR manager_id = ?) RETURNING id",
        (now, survey_id, scope, scope),
    ).fetchone()
    return row is not None
