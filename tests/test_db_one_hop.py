"""One hop per transaction (storage/db.py `write` and `fetch`), on a real SQLite file.

What is provoked here: a failure inside the function rolls back everything it wrote (and the
re-planning it caused); the re-planning of a changed contact commits in the same job as the
change; a quick read neither waits for the writer's lock nor sees a transaction still open; and
the whole of a `write` wakes the event loop once, however many statements it runs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from storage import Database

INSERT = (
    "INSERT INTO contacts (full_name, kind, created_at, updated_at) "
    "VALUES (?, 'client', '2026-01-01T00:00:00', '2026-01-01T00:00:00')"
)


def _insert_contact(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute(INSERT + " RETURNING id", (name,)).fetchone()
    return int(row[0])


def _names(conn: sqlite3.Connection) -> list[str]:
    return [row["full_name"] for row in conn.execute("SELECT full_name FROM contacts ORDER BY id")]


async def test_write_commits_and_returns(db: Database) -> None:
    contact_id = await db.write(_insert_contact, "Анна")
    assert contact_id > 0
    assert await db.fetch(_names) == ["Анна"]


async def test_a_failure_rolls_back_the_whole_function(db: Database) -> None:
    def two_then_fail(conn: sqlite3.Connection) -> None:
        _insert_contact(conn, "first")
        _insert_contact(conn, "second")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.write(two_then_fail)
    assert await db.fetch(_names) == []
    # The connection is usable again, out of the failed transaction.
    await db.write(_insert_contact, "after")
    assert await db.fetch(_names) == ["after"]


async def test_the_sync_planner_runs_in_the_same_job_and_rolls_back_with_it(db: Database) -> None:
    planned: list[list[int]] = []
    threads: set[int] = set()

    def planner(conn: sqlite3.Connection, ids: list[int]) -> int:
        threads.add(threading.get_ident())
        planned.append(ids)
        marks = ",".join("?" * len(ids))
        conn.execute(
            f"UPDATE contacts SET full_name = full_name || ' (planned)' WHERE id IN ({marks})", ids
        )
        return 0

    db.attach_planner(planner)
    first = await db.write(_insert_contact, "Анна")
    assert planned == [[first]]
    assert threading.get_ident() not in threads  # in the database thread, not the loop's
    assert await db.fetch(_names) == ["Анна (planned)"]

    def change_then_fail(conn: sqlite3.Connection) -> None:
        _insert_contact(conn, "Борис")
        raise ValueError

    with pytest.raises(ValueError):
        await db.write(change_then_fail)
    # Nothing noted by the failed transaction leaks into the next one.
    await db.write(lambda conn: conn.execute("SELECT 1").fetchone())
    assert planned == [[first]]


async def test_the_old_transaction_runs_a_sync_planner_too(db: Database) -> None:
    planned: list[list[int]] = []
    db.attach_planner(lambda conn, ids: planned.append(ids))
    async with db.transaction() as conn:
        await conn.execute(INSERT, ("Вера",))
    assert len(planned) == 1


async def test_fetch_does_not_wait_for_the_writer_nor_see_its_open_transaction(
    db: Database,
) -> None:
    await db.write(_insert_contact, "committed")
    async with db.transaction() as conn:
        await conn.execute(INSERT, ("open",))
        # The writer's lock is held right now: a fetch that took it would hang here.
        names = await asyncio.wait_for(db.fetch(_names), timeout=5)
        assert names == ["committed"]
    assert await db.fetch(_names) == ["committed", "open"]


async def test_a_write_wakes_the_loop_once_whatever_it_runs(db: Database) -> None:
    """aiosqlite hands each result back with `call_soon_threadsafe`: count those wake-ups."""
    loop = asyncio.get_running_loop()
    calls = 0
    original = loop.call_soon_threadsafe

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    def ten_statements(conn: sqlite3.Connection) -> None:
        for i in range(10):
            _insert_contact(conn, f"n{i}")

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        await db.write(ten_statements)
        one_write = calls
        calls = 0
        async with db.transaction() as conn:
            for i in range(10):
                await conn.execute(INSERT, (f"m{i}",))
        old_way = calls
    finally:
        loop.call_soon_threadsafe = original  # type: ignore[method-assign]
    assert one_write == 1
    assert old_way >= 12  # BEGIN, ten statements, COMMIT: a wake-up each


async def test_a_read_statement_left_half_fetched_hides_nothing_committed_since(
    db: Database,
) -> None:
    """`read()` and `fetch()` share the read-only connection. A statement stepped once and
    fetched in a later hop used to stay open in between, holding its read transaction: a
    `fetch` run meanwhile saw that older snapshot (the sender took a row it had just claimed
    for dropped, and left it claimed until a restart)."""
    for name in ("a", "b", "c"):
        await db.write(_insert_contact, name)
    async with db.read() as conn:
        cursor = await conn.execute("SELECT full_name FROM contacts ORDER BY id")
        first = await cursor.fetchone()
        await db.write(_insert_contact, "written meanwhile")
        assert await db.fetch(_names) == ["a", "b", "c", "written meanwhile"]
        rows = await conn.execute_fetchall("SELECT full_name FROM contacts ORDER BY id")
        assert [r["full_name"] for r in rows][-1] == "written meanwhile"
        # the half-read statement still gives its own rows, by name, in order
        assert first["full_name"] == "a"
        assert [r["full_name"] for r in await cursor.fetchall()] == ["b", "c"]
        assert await cursor.fetchone() is None
