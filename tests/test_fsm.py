"""The FSM storage (storage/fsm.py) on a real SQLite file: what a step costs, and the cache.

What is provoked: a change that writes state and data in two statements, or writes when nothing
changed, or leaves an empty row behind; a cache that outlives a deletion by /forget (including a
read that started before the deletion committed), that grows without bound, or that believes a
state staged in a transaction that rolled back.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from storage import Database
from storage.fsm import SQLiteStorage
from tests.harness import FakeClock

KEY = StorageKey(bot_id=123456789, chat_id=222, user_id=222)
OTHER = StorageKey(bot_id=123456789, chat_id=333, user_id=333)
DEFAULT_KEY = "fsm:123456789:222:222:default"


@asynccontextmanager
async def writer_statements(db: Database) -> AsyncIterator[list[str]]:
    """Every statement the writer runs meanwhile (a trigger's repeats collapsed)."""
    seen: list[str] = []

    def trace(statement: str) -> None:
        if not seen or seen[-1] != statement:
            seen.append(statement)

    conn = db.conn
    await conn._execute(conn._conn.set_trace_callback, trace)
    try:
        yield seen
    finally:
        await conn._execute(conn._conn.set_trace_callback, None)


def _changes(statements: list[str]) -> list[str]:
    return [s.split()[0] for s in statements if "fsm_states" in s]


async def _rows(db: Database) -> list[tuple[str, str | None, str]]:
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT key, state, data FROM fsm_states")).fetchall()
    return [tuple(r) for r in rows]


async def test_a_step_is_one_statement_and_an_unchanged_one_none(
    db: Database, clock: FakeClock
) -> None:
    storage = SQLiteStorage(db, clock)
    assert await storage.get_state(KEY) is None  # fills the cache (and sets up the watch)
    async with writer_statements(db) as seen:
        await storage.set_state(KEY, "Sale:name")
        await storage.set_data(KEY, {"contact_id": 7})
        await storage.set_state(KEY, "Sale:name")  # unchanged: no write
        await storage.set_data(KEY, {"contact_id": 7})  # unchanged: no write
        await storage.update_data(KEY, {})  # unchanged: no write
        assert await storage.get_state(KEY) == "Sale:name"  # from the cache
        assert await storage.get_data(KEY) == {"contact_id": 7}
    assert _changes(seen) == ["INSERT", "INSERT"]
    assert seen.count("BEGIN IMMEDIATE") == 2
    assert not any(s.startswith("SELECT") for s in seen)  # reads go to the read-only connection
    assert await _rows(db) == [(DEFAULT_KEY, "Sale:name", '{"contact_id": 7}')]


async def test_clearing_deletes_the_row_in_one_statement(db: Database, clock: FakeClock) -> None:
    storage = SQLiteStorage(db, clock)
    await storage.set_state(KEY, "Sale:name")
    async with writer_statements(db) as seen:
        await storage.clear_key(KEY)
        await storage.clear_key(KEY)  # nothing left to clear: no write
    assert _changes(seen) == ["DELETE"]
    assert await _rows(db) == []
    # aiogram's own clear() (state, then data): the last of its steps deletes the row
    await storage.set_state(KEY, "Sale:name")
    await storage.set_data(KEY, {"a": 1})
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    assert await _rows(db) == []


async def test_the_cache_fills_from_the_database_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    db = Database(tmp_path / "fsm.sqlite3")
    await db.open()
    await SQLiteStorage(db, clock).set_state(KEY, "CaseFlow:note")
    await db.close()
    db = Database(tmp_path / "fsm.sqlite3")
    await db.open()
    try:
        storage = SQLiteStorage(db, clock)
        assert await storage.get_state(KEY) == "CaseFlow:note"
        async with writer_statements(db) as seen:
            await storage.set_state(KEY, "CaseFlow:note")  # known now: nothing to write
        assert _changes(seen) == []
    finally:
        await db.close()


async def _forget_row(db: Database, built: str) -> None:
    async with db.transaction() as conn:  # as storage/forget.py does
        await conn.execute("DELETE FROM fsm_states WHERE key = ?", (built,))


async def test_a_row_deleted_behind_the_cache_is_not_served_from_it(
    db: Database, clock: FakeClock
) -> None:
    storage = SQLiteStorage(db, clock)
    await storage.set_state(KEY, "ContactFlow:comment")
    await storage.set_data(KEY, {"contact_id": 7})
    await storage.set_state(OTHER, "Sale:name")
    await _forget_row(db, DEFAULT_KEY)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    assert await storage.get_state(OTHER) == "Sale:name"
    # and writing the same state again is a real write, not skipped as "unchanged"
    await storage.set_state(KEY, "ContactFlow:comment")
    assert sorted(await _rows(db)) == [
        (DEFAULT_KEY, "ContactFlow:comment", "{}"),
        ("fsm:123456789:333:333:default", "Sale:name", "{}"),
    ]


async def test_a_read_that_saw_the_row_before_its_deletion_committed_is_not_cached(
    db: Database, clock: FakeClock
) -> None:
    storage = SQLiteStorage(db, clock)
    await storage.set_state(KEY, "ContactFlow:comment")
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM fsm_states WHERE key = ?", (DEFAULT_KEY,))
        # not committed yet: the read-only connection still sees the row
        assert await storage.get_state(KEY) == "ContactFlow:comment"
    assert await storage.get_state(KEY) is None


async def test_the_cache_is_bounded_and_what_it_dropped_is_read_again(
    db: Database, clock: FakeClock
) -> None:
    storage = SQLiteStorage(db, clock, cache_size=2)
    keys = [StorageKey(bot_id=1, chat_id=i, user_id=i) for i in range(1, 6)]
    for i, key in enumerate(keys):
        await storage.set_state(key, f"Sale:s{i}")
    assert len(storage._cache) == 2
    for i, key in enumerate(keys):
        assert await storage.get_state(key) == f"Sale:s{i}"
    assert len(storage._cache) == 2


async def test_a_state_staged_in_a_transaction_that_rolled_back_is_not_believed(
    db: Database, clock: FakeClock
) -> None:
    storage = SQLiteStorage(db, clock)
    await storage.set_state(KEY, "SurveyFlow:score")

    def stage_then_fail(conn: sqlite3.Connection) -> None:
        storage.stage(conn, KEY, "SurveyFlow:reason", {"survey_id": 1})
        raise RuntimeError("the answer's transaction failed")

    with pytest.raises(RuntimeError):
        await db.write(stage_then_fail)
    assert await storage.get_state(KEY) == "SurveyFlow:score"

    def stage(conn: sqlite3.Connection) -> None:
        storage.stage(conn, KEY, "SurveyFlow:reason", {"survey_id": 1})

    await db.write(stage)
    storage.settle(KEY)
    async with writer_statements(db) as seen:
        assert await storage.get_state(KEY) == "SurveyFlow:reason"
        await storage.set_state(KEY, "SurveyFlow:reason")  # the handler's own call: no write
        await storage.set_data(KEY, {"survey_id": 1})
    assert _changes(seen) == []


async def test_put_writes_state_and_data_in_one_statement(db: Database, clock: FakeClock) -> None:
    storage = SQLiteStorage(db, clock)
    await storage.set_state(KEY, "Sale:name")
    async with writer_statements(db) as seen:
        await storage.put(KEY, "Sale:phone", {"name": "Анна"})
        await storage.put(KEY, "Sale:phone", {"name": "Анна"})  # unchanged: no write
    assert _changes(seen) == ["INSERT"]
    assert await _rows(db) == [(DEFAULT_KEY, "Sale:phone", '{"name": "Анна"}')]


async def test_a_write_cancelled_while_queued_does_not_leave_a_stale_cache(
    db: Database, clock: FakeClock
) -> None:
    """A state write waiting for the writer (another transaction holds it) is cancelled: it
    never runs, and nothing of it is cached. A read meanwhile must not cache anything either,
    or a later `clear()` would be skipped as "nothing changed"; and the state read after the
    holder finished is the stored one, not a guess."""
    storage = SQLiteStorage(db, clock)
    assert await storage.get_state(KEY) is None  # cached: no row
    await storage.clear_key(OTHER)  # (sets nothing; the watch is on)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with db.transaction():
            holding.set()
            await release.wait()

    holder = asyncio.ensure_future(hold())
    await holding.wait()
    task = asyncio.ensure_future(storage.set_state(KEY, "Sale:name"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()  # waiting for the writer
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await storage.get_state(KEY) is None  # the write has not run
    release.set()
    await holder
    await db.write(lambda conn: None)
    assert await _rows(db) == []  # and never will: cancelled before it ran
    assert await storage.get_state(KEY) is None
    await storage.set_state(KEY, "Sale:name")
    assert await _rows(db) == [(DEFAULT_KEY, "Sale:name", "{}")]
    await storage.clear_key(KEY)
    assert await _rows(db) == []


async def test_two_storages_of_one_database_both_hear_a_deletion(
    db: Database, clock: FakeClock
) -> None:
    """The trigger's function is registered on the shared connection: a second storage must not
    take it over from the first (the first would then serve a row /forget deleted)."""
    one = SQLiteStorage(db, clock)
    two = SQLiteStorage(db, clock)
    await one.set_state(KEY, "Sale:name")
    assert await one.get_state(KEY) == "Sale:name"
    await two.set_state(OTHER, "Sale:phone")
    assert await two.get_state(KEY) == "Sale:name"
    await _forget_row(db, DEFAULT_KEY)
    assert await one.get_state(KEY) is None
    assert await two.get_state(KEY) is None
