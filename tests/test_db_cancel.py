"""A coroutine cancelled while its statement waits in the database thread (storage/db.py).

aiosqlite runs a queued job even after the coroutine awaiting it was cancelled, and the writer's
lock goes as soon as the coroutine unwinds. Provoked here: a `transaction()` cancelled while its
BEGIN IMMEDIATE waits behind another job must not leave the connection inside a transaction
(every later write would fail with "cannot start a transaction within a transaction", and
`urgent()` statements would join a transaction nobody commits).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from storage import Database

INSERT = (
    "INSERT INTO contacts (full_name, kind, created_at, updated_at) "
    "VALUES (?, 'client', '2026-01-01T00:00:00', '2026-01-01T00:00:00')"
)


def _insert(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(INSERT, (name,))


def _names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT full_name FROM contacts ORDER BY id")]


async def _cancel_while_queued(db: Database, body: object) -> None:
    """Start `body` while the database thread is busy, cancel it, then let the thread go on."""
    gate = threading.Event()
    blocker = asyncio.ensure_future(db.conn._execute(gate.wait, 5))
    await asyncio.sleep(0)
    task = asyncio.ensure_future(body)  # type: ignore[arg-type]
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    gate.set()
    await blocker


async def test_a_transaction_cancelled_at_begin_leaves_no_transaction_open(db: Database) -> None:
    async def body() -> None:
        async with db.transaction() as conn:
            await conn.execute(INSERT, ("never",))

    await _cancel_while_queued(db, body())
    await db.write(_insert, "after")  # fails if the cancelled BEGIN left a transaction open
    assert await db.fetch(_names) == ["after"]
    assert not db.conn._conn.in_transaction


async def test_a_transaction_cancelled_in_its_body_rolls_back(db: Database) -> None:
    async def body() -> None:
        async with db.transaction() as conn:
            await conn.execute(INSERT, ("first",))
            await asyncio.sleep(3600)

    task = asyncio.ensure_future(body())
    for _ in range(10):
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.write(_insert, "after")
    assert await db.fetch(_names) == ["after"]
