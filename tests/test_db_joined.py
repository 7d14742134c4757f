"""Group commit (storage/db.py `write_joined`), on a real SQLite file.

What is provoked here: small writes waiting at the same moment share one transaction, and those
that join while it waits for the writer ride along; each caller gets its own result only once
the transaction is committed (another connection sees it); one failing write of a group fails
alone, and its partial effect is rolled back; a group whose turn never comes (the database
closed) tells every caller, and the next group forms anew.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from storage import Database

INSERT = (
    "INSERT INTO contacts (full_name, kind, created_at, updated_at) "
    "VALUES (?, 'client', '2026-01-01T00:00:00', '2026-01-01T00:00:00') RETURNING id"
)


def _insert(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(INSERT, (name,)).fetchone()[0])


def _insert_then_fail(conn: sqlite3.Connection, name: str) -> int:
    _insert(conn, name)
    raise ValueError(f"no {name}")


def _names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT full_name FROM contacts ORDER BY id")]


async def _count_begins(db: Database) -> list[str]:
    """The writer's BEGINs from now on (the callback is set in the database thread)."""
    begins: list[str] = []
    conn = db.conn
    await conn._execute(
        conn._conn.set_trace_callback,
        lambda sql: begins.append(sql) if sql.startswith("BEGIN") else None,
    )
    return begins


async def test_writes_waiting_together_share_one_transaction(db: Database) -> None:
    await db.write(_insert, "before")  # the planner's triggers, if any, are made
    begins = await _count_begins(db)
    async with db.transaction():  # the writer is busy: the joined writes wait for it
        first = [asyncio.create_task(db.write_joined(_insert, f"a{n}")) for n in range(3)]
        await asyncio.sleep(0.05)
        later = [asyncio.create_task(db.write_joined(_insert, f"b{n}")) for n in range(3)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in first + later)
    ids = await asyncio.gather(*first, *later)
    assert len(set(ids)) == 6  # each caller got its own result
    # The busy transaction, then ONE for all six: those that joined while it waited rode along.
    assert len(begins) == 2
    assert await db.fetch(_names) == ["before", "a0", "a1", "a2", "b0", "b1", "b2"]


async def test_writes_coming_during_a_bulk_write_share_one_transaction(db: Database) -> None:
    """The usual way a group forms now: a bulk write holds the writer in the database thread
    (the short writes run in the loop's thread and never wait otherwise), and the joined writes
    that come meanwhile commit together once it is done, after it."""
    await db.write(_insert, "before")
    begins = await _count_begins(db)
    started, go_on = threading.Event(), threading.Event()

    def long(conn: sqlite3.Connection) -> None:
        _insert(conn, "bulk")
        started.set()
        go_on.wait(5)

    bulk = asyncio.create_task(db.write_bulk(long))
    assert await asyncio.to_thread(started.wait, 5)
    joined = [asyncio.create_task(db.write_joined(_insert, f"j{n}")) for n in range(4)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in joined)
    go_on.set()
    await bulk
    assert len(set(await asyncio.gather(*joined))) == 4
    assert len(begins) == 2  # the bulk write's, then ONE for the four
    assert await db.fetch(_names) == ["before", "bulk", "j0", "j1", "j2", "j3"]


async def test_a_caller_returns_only_once_its_write_is_committed(db: Database) -> None:
    seen: dict[str, list[str]] = {}

    async def write_then_look(name: str) -> None:
        await db.write_joined(_insert, name)
        # Another connection (the read-only one) sees it: it is committed, not merely queued.
        seen[name] = await db.fetch(_names)

    await asyncio.gather(*(write_then_look(f"p{n}") for n in range(4)))
    assert all(name in names for name, names in seen.items())
    assert sorted(await db.fetch(_names)) == ["p0", "p1", "p2", "p3"]


async def test_one_failing_write_fails_alone(db: Database) -> None:
    async with db.transaction():
        tasks = [
            asyncio.create_task(db.write_joined(_insert, "kept1")),
            asyncio.create_task(db.write_joined(_insert_then_fail, "broken")),
            asyncio.create_task(db.write_joined(_insert, "kept2")),
        ]
        await asyncio.sleep(0.05)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], ValueError) and str(results[1]) == "no broken"
    assert await db.fetch(_names) == ["kept1", "kept2"]  # nothing of the failed one
    # The connection is out of every transaction: the next writes work.
    assert await db.write_joined(_insert, "after") > 0
    await db.write(_insert, "plain")
    assert (await db.fetch(_names))[-2:] == ["after", "plain"]


async def test_a_group_whose_turn_never_comes_tells_every_caller(db: Database) -> None:
    await db.close()
    results = await asyncio.gather(
        *(db.write_joined(_insert, f"x{n}") for n in range(2)), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]  # "Database is not open"
    await db.open()
    assert await db.fetch(_names) == []
    assert await db.write_joined(_insert, "reopened") > 0  # a new group after the failed one


@pytest.mark.parametrize("n", [1, 40])
async def test_a_write_alone_or_in_a_crowd_lands_once(db: Database, n: int) -> None:
    ids = await asyncio.gather(*(db.write_joined(_insert, f"c{i}") for i in range(n)))
    assert len(set(ids)) == n
    assert sorted(await db.fetch(_names)) == sorted(f"c{i}" for i in range(n))
