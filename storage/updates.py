"""The update journal: which Telegram updates were begun and which were finished.

Telegram delivers an update again when the bot did not confirm it (long polling) or did not answer
200 (webhook), which is exactly what happens after a crash. The journal tells the three cases
apart: never seen (handle it), finished (skip it: its effects are all stored), begun but never
finished (handle it as a replay: the handler may have stored part of its effects and must not
repeat what the person already has). Rows are pruned after `KEEP`: Telegram gives up on an
unconfirmed update after 24 hours.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from storage.db import Database
from storage.timefmt import ts

KEEP = timedelta(days=2)


class Seen(enum.Enum):
    NEW = "new"
    INTERRUPTED = "interrupted"
    DONE = "done"


async def begin_update(db: Database, update_id: int, now: datetime) -> Seen:
    """Note that handling starts, and say whether this update was seen before.

    Each write here is a single statement, atomic on its own: no BEGIN/COMMIT round trips to the
    database thread for what every update pays (measured in bench/bench_polling.py)."""
    async with db.read() as conn:
        cur = await conn.execute(
            "INSERT INTO handled_updates (update_id, started_at) VALUES (?, ?) "
            "ON CONFLICT (update_id) DO NOTHING",
            (update_id, ts(now)),
        )
        if cur.rowcount == 1:
            return Seen.NEW
        row = await (
            await conn.execute(
                "SELECT done_at FROM handled_updates WHERE update_id = ?", (update_id,)
            )
        ).fetchone()
    return Seen.DONE if row is not None and row[0] is not None else Seen.INTERRUPTED


async def finish_update(db: Database, update_id: int, now: datetime) -> None:
    async with db.read() as conn:  # one statement: atomic without BEGIN/COMMIT
        await conn.execute(
            "UPDATE handled_updates SET done_at = ? WHERE update_id = ?", (ts(now), update_id)
        )


async def prune_updates(db: Database, now: datetime) -> int:
    """Forget updates begun more than `KEEP` ago; how many rows went."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "DELETE FROM handled_updates WHERE started_at < ?", (ts(now - KEEP),)
        )
        return cur.rowcount
