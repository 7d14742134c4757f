"""The update journal and inbox: which Telegram updates were received, begun and finished.

Telegram delivers an update again when the bot did not confirm it (long polling) or did not answer
200 (webhook), which is exactly what happens after a crash. The journal tells the cases apart:
never seen (handle it), finished (skip it: its effects are all stored), begun but never finished
(handle it as a replay: the handler may have stored part of its effects and must not repeat what
the person already has).

Long polling (`bot.polling`) also keeps the update itself here: a batch is stored, its JSON in
`payload`, in one transaction before the next getUpdates confirms it to Telegram, so Telegram
never needs to deliver it again and a crash loses nothing; what was stored and not finished is
handled at the next start. "Begun" (`started_at`) means "its handling may have started": it is
written before the handler runs, sometimes a moment earlier (with the batch, or with the end of
the same person's previous update), never later. The payload is cleared when the update is
finished: messages carry phone numbers, and `storage/forget.py` cannot reach a copy kept here.

Every function is one hop to the database thread (`Database.write`/`fetch`): the journal costs an
update a share of its batch's write and a share of a joined write when it is finished
(`Database.write_joined`: the finishes of updates ending together commit as one transaction),
which also notes the next update of the same person begun. Rows are pruned after `KEEP`:
Telegram gives up on an unconfirmed update after 24 hours.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Database
from storage.timefmt import ts

KEEP = timedelta(days=2)
# A stored update that every start finds begun and unfinished (it crashes the process, or never
# ends) is given up at its third start, rather than crash-looping the bot; one stored longer
# than Telegram keeps an unconfirmed update (a day) is given up too. Both are logged.
GIVE_UP_ATTEMPTS = 3
STALE = timedelta(days=1)


class Seen(enum.Enum):
    NEW = "new"
    INTERRUPTED = "interrupted"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Incoming:
    """An update of a fetched batch, to store: `begin` notes it begun with the batch (it is
    handled right after the write: its person has nothing else in hand)."""

    update_id: int
    payload: str
    begin: bool


@dataclass(frozen=True, slots=True)
class Stored:
    """An update stored and not finished (at start-up): `begun` ones are replays."""

    update_id: int
    payload: str
    begun: bool


async def begin_update(db: Database, update_id: int, now: datetime) -> Seen:
    """Note that handling starts (webhook, tests), and say whether this update was seen before."""
    return await db.write(_begin, update_id, ts(now))


def _begin(conn: sqlite3.Connection, update_id: int, now: str) -> Seen:
    cur = conn.execute(
        "INSERT INTO handled_updates (update_id, received_at, started_at) VALUES (?, ?, ?) "
        "ON CONFLICT (update_id) DO NOTHING",
        (update_id, now, now),
    )
    if cur.rowcount == 1:
        return Seen.NEW
    row = conn.execute(
        "SELECT started_at, done_at FROM handled_updates WHERE update_id = ?", (update_id,)
    ).fetchone()
    if row[1] is not None:
        return Seen.DONE
    if row[0] is None:  # stored by the poller, never begun
        conn.execute(
            "UPDATE handled_updates SET started_at = ? WHERE update_id = ?", (now, update_id)
        )
        return Seen.NEW
    return Seen.INTERRUPTED


async def finish_update(
    db: Database,
    update_id: int,
    now: datetime,
    *,
    begin: Sequence[int] | Callable[[], Sequence[int]] = (),
) -> list[int]:
    """Note the update finished (its payload dropped) and, in the same write, the updates in
    `begin` begun (the same person's next one, about to start); which of them were marked.
    `begin` may be a function, called in the database thread once the write holds the lock: an
    update stored while this write waited for the lock is then included too. A joined write:
    the finishes of updates ending at the same moment share one transaction."""
    return await db.write_joined(_finish, update_id, ts(now), begin)


def _finish(
    conn: sqlite3.Connection,
    update_id: int,
    now: str,
    begin: Sequence[int] | Callable[[], Sequence[int]],
) -> list[int]:
    conn.execute(
        "UPDATE handled_updates SET done_at = ?, payload = NULL, "
        "started_at = coalesce(started_at, ?) WHERE update_id = ?",
        (now, now, update_id),
    )
    ids = list(begin() if callable(begin) else begin)
    return [
        other
        for other in ids
        if conn.execute(
            "UPDATE handled_updates SET started_at = ? WHERE update_id = ? AND started_at IS NULL",
            (now, other),
        ).rowcount
    ]


async def begin_stored(db: Database, update_ids: Sequence[int], now: datetime) -> None:
    """Note stored updates begun (one about to be handled whose person was busy at its batch)."""
    await db.write_joined(_mark_begun, list(update_ids), ts(now))


def _mark_begun(conn: sqlite3.Connection, update_ids: list[int], now: str) -> None:
    conn.executemany(
        "UPDATE handled_updates SET started_at = ? WHERE update_id = ? AND started_at IS NULL",
        [(now, update_id) for update_id in update_ids],
    )


async def store_updates(db: Database, batch: Sequence[Incoming], now: datetime) -> dict[int, Seen]:
    """Keep a fetched batch, in one transaction; which of its updates to handle, and how.

    An update already stored (delivered again: in hand, or finished) is left out. One the
    journal has as begun and unfinished without a payload (a webhook, or the journal before the
    inbox, interrupted) gets its payload and comes back as `Seen.INTERRUPTED`. It goes ahead of
    the handlers' writes waiting for the lock: every update of the batch waits for it."""
    return await db.write_first(_store, list(batch), ts(now))


def _store(conn: sqlite3.Connection, batch: list[Incoming], now: str) -> dict[int, Seen]:
    ids = [update.update_id for update in batch]
    marks = ",".join("?" * len(ids))
    known = {
        row[0]: (row[1], row[2], row[3])
        for row in conn.execute(
            "SELECT update_id, started_at IS NOT NULL, done_at IS NOT NULL, payload IS NOT NULL "
            f"FROM handled_updates WHERE update_id IN ({marks})",
            ids,
        )
    }
    taken: dict[int, Seen] = {}
    fresh: list[tuple[int, str, str | None, str]] = []
    for update in batch:
        seen = known.get(update.update_id)
        if seen is None:
            fresh.append((update.update_id, now, now if update.begin else None, update.payload))
            taken[update.update_id] = Seen.NEW
            continue
        begun, done, has_payload = seen
        if done or has_payload:
            continue
        conn.execute(
            "UPDATE handled_updates SET payload = ? WHERE update_id = ?",
            (update.payload, update.update_id),
        )
        taken[update.update_id] = Seen.INTERRUPTED if begun else Seen.NEW
    conn.executemany(
        "INSERT INTO handled_updates (update_id, received_at, started_at, payload) "
        "VALUES (?, ?, ?, ?)",
        fresh,
    )
    return taken


async def unfinished(db: Database) -> list[Stored]:
    """The updates stored and never finished, oldest first (what a crash or a cut-short drain
    left in hand)."""
    return await db.fetch(_unfinished)


def _unfinished(conn: sqlite3.Connection) -> list[Stored]:
    return [
        Stored(int(row[0]), str(row[1]), bool(row[2]))
        for row in conn.execute(
            "SELECT update_id, payload, started_at IS NOT NULL FROM handled_updates "
            "WHERE done_at IS NULL AND payload IS NOT NULL ORDER BY update_id"
        )
    ]


async def take_leftovers(db: Database, now: datetime) -> tuple[list[Stored], list[int]]:
    """At start-up: the stored updates still to handle (as `unfinished`), and the ids of those
    given up now (`GIVE_UP_ATTEMPTS` interrupted starts, or older than `STALE`): marked finished,
    their payload dropped."""
    return await db.write_bulk(_take_leftovers, ts(now), ts(now - STALE), GIVE_UP_ATTEMPTS)


def _take_leftovers(
    conn: sqlite3.Connection, now: str, stale: str, attempts: int
) -> tuple[list[Stored], list[int]]:
    conn.execute(
        "UPDATE handled_updates SET attempts = attempts + 1 "
        "WHERE done_at IS NULL AND payload IS NOT NULL AND started_at IS NOT NULL"
    )
    given_up = [
        int(row[0])
        for row in conn.execute(
            "UPDATE handled_updates SET done_at = ?, payload = NULL, "
            "started_at = coalesce(started_at, ?) "
            "WHERE done_at IS NULL AND payload IS NOT NULL AND (attempts >= ? OR received_at < ?) "
            "RETURNING update_id",
            (now, now, attempts, stale),
        )
    ]
    return _unfinished(conn), sorted(given_up)


async def prune_updates(db: Database, now: datetime) -> int:
    """Forget updates received more than `KEEP` ago, except stored ones still to be handled;
    how many rows went."""
    return await db.write_bulk(_prune, ts(now - KEEP))


def _prune(conn: sqlite3.Connection, before: str) -> int:
    cur = conn.execute(
        "DELETE FROM handled_updates WHERE received_at < ? "
        "AND (done_at IS NOT NULL OR payload IS NULL)",
        (before,),
    )
    return cur.rowcount
