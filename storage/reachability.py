"""Whether the bot can write to a person, as Telegram tells it: a `my_chat_member` update when
they block the bot (or delete their account) or unblock it, besides the 403 a failed send gets
(scheduler/sender.py).

Both paths set the same column, `contacts.unreachable_at`, and keep the first moment of a block
(`coalesce`): the manager's notice is keyed by that moment (storage/followup.py), so a block
seen by an update and then by a failed send is told once. Unblocking clears it, so a later block
is a new fact with its own notice.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.db import Database
from storage.timefmt import ts


def _set(raw: sqlite3.Connection, tg_user_id: int, reachable: bool, now: datetime) -> int | None:
    if reachable:
        row = raw.execute(
            "UPDATE contacts SET unreachable_at = NULL "
            "WHERE tg_user_id = ? AND unreachable_at IS NOT NULL AND forgotten_at IS NULL "
            "RETURNING id",
            (tg_user_id,),
        ).fetchone()
    else:
        row = raw.execute(
            "UPDATE contacts SET unreachable_at = ? "
            "WHERE tg_user_id = ? AND unreachable_at IS NULL AND forgotten_at IS NULL "
            "RETURNING id",
            (ts(now), tg_user_id),
        ).fetchone()
    return None if row is None else int(row[0])


async def set_reachable(
    db: Database, tg_user_id: int, reachable: bool, now: datetime
) -> int | None:
    """Mark the contact of this Telegram account reachable or not; the contact's id if that
    changed anything (None: no such contact, or it was so already)."""
    return await db.write(_set, tg_user_id, reachable, now)
