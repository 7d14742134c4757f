"""How the bot answers a stranger's message (anybody neither staff nor answering a survey):
the full greeting, a short line, or nothing.

The decision and its record are one write transaction (`stranger_replies`), so two stickers
handled at once cannot both be greeted, and a restart of the bot does not greet again. The one
non-obvious decision: the greeting counts as a reply, so a burst of ten stickers gets the
greeting alone; silence within the quiet window is deliberate (the person has just been told
what the bot does, and one reply per sticker is noise).

A row is useful for a day at most (after `GREETING_EVERY` the rule greets as if it were not
there), so rows untouched for `KEEP` are pruned with the update journal (`prune_strangers`,
bot/dispatching.py and the start-up): the table holds the strangers of the last week, not every
one the bot ever met.
"""

from __future__ import annotations

import enum
import sqlite3
from datetime import datetime, timedelta

from storage.db import Database
from storage.timefmt import from_ts, ts

GREETING_EVERY = timedelta(days=1)
SHORT_LINE_EVERY = timedelta(minutes=5)
KEEP = timedelta(days=7)


class Reply(enum.Enum):
    GREETING = "greeting"
    SHORT = "short"
    NONE = "none"


def decide(greeted_at: datetime | None, replied_at: datetime | None, now: datetime) -> Reply:
    """Pure rule: the full greeting once a day, then a short line at most every few minutes."""
    if greeted_at is None or now - greeted_at >= GREETING_EVERY:
        return Reply.GREETING
    if replied_at is None or now - replied_at >= SHORT_LINE_EVERY:
        return Reply.SHORT
    return Reply.NONE


def _claim(raw: sqlite3.Connection, user_id: int, now: datetime, forced: bool) -> Reply:
    row = raw.execute(
        "SELECT greeted_at, replied_at FROM stranger_replies WHERE user_id = ?", (user_id,)
    ).fetchone()
    greeted = from_ts(row[0]) if row else None
    replied = from_ts(row[1]) if row else None
    reply = Reply.GREETING if forced else decide(greeted, replied, now)
    if reply is Reply.GREETING:
        raw.execute(
            "INSERT INTO stranger_replies (user_id, greeted_at, replied_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET greeted_at = excluded.greeted_at, "
            "replied_at = excluded.replied_at",
            (user_id, ts(now), ts(now)),
        )
    elif reply is Reply.SHORT:
        raw.execute(
            "UPDATE stranger_replies SET replied_at = ? WHERE user_id = ?", (ts(now), user_id)
        )
    return reply


async def claim_reply(db: Database, user_id: int, now: datetime) -> Reply:
    """What to answer a stranger's message now, recorded as answered."""
    return await db.write(_claim, user_id, now, False)


async def note_greeted(db: Database, user_id: int, now: datetime) -> None:
    """The person asked for the greeting (/start): it was given, so a sticker right after it
    does not bring it again."""
    await db.write(_claim, user_id, now, True)


async def forget_stranger(db: Database, user_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM stranger_replies WHERE user_id = ?", (user_id,))


async def prune_strangers(db: Database, now: datetime) -> int:
    """Forget strangers last answered more than `KEEP` ago; how many rows went."""
    return await db.write(_prune, ts(now - KEEP))


def _prune(raw: sqlite3.Connection, before: str) -> int:
    # replied_at is never older than greeted_at (a greeting sets both)
    return raw.execute("DELETE FROM stranger_replies WHERE replied_at < ?", (before,)).rowcount
