"""One hop per transaction (storage/db.py `write` and `fetch`), on a real SQLite file.

What is provoked here: a failure inside the function rolls back everything it wrote (and the
re-planning it caused); the re-planning of a changed contact commits in the same job as the
change; a quick read neither waits for the writer's lock nor sees a transaction still open; a
`write` runs in the loop's own thread and never wakes it from another (`write_bulk` once); a
write that comes while a `transaction()` is open waits for it and is not swallowed by it; the
WAL is checkpointed off the loop after enough commits.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

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
    assert threads == {threading.get_ident()}  # in the loop's own thread: no hop at all
    assert await db.fetch(_names) == ["Анна (planned)"]
    second = await db.write_bulk(_insert_contact, "Вера")
    assert planned == [[first], [second]]
    assert len(threads) == 2  # a bulk write, with its planning, in the database thread

    def change_then_fail(conn: sqlite3.Connection) -> None:
        _insert_contact(conn, "Борис")
        raise ValueError

    with pytest.raises(ValueError):
        await db.write(change_then_fail)
    # Nothing noted by the failed transaction leaks into the next one.
    await db.write(lambda conn: conn.execute("SELECT 1").fetchone())
    assert planned == [[first], [second]]


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


async def test_a_write_never_wakes_the_loop_from_a_thread_whatever_it_runs(db: Database) -> None:
    """aiosqlite hands each result back with `call_soon_threadsafe`: count those wake-ups. A
    `write` and a `fetch` make none (they run in the loop's thread), a `write_bulk` one, the
    old statement-by-statement `transaction()` one per statement."""
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
        assert await db.fetch(_names)
        one_write = calls
        calls = 0
        await db.write_bulk(ten_statements)
        one_bulk = calls
        calls = 0
        async with db.transaction() as conn:
            for i in range(10):
                await conn.execute(INSERT, (f"m{i}",))
        old_way = calls
    finally:
        loop.call_soon_threadsafe = original  # type: ignore[method-assign]
    assert one_write == 0
    assert one_bulk == 1
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


async def test_a_write_waits_for_an_open_transaction_and_is_not_swallowed_by_it(
    db: Database,
) -> None:
    """The loop runs `write`s on the writer's connection itself, where `transaction()` runs its
    statements one hop at a time: a write that came meanwhile must not land inside that open
    transaction (and vanish with its rollback)."""
    entered = asyncio.Event()
    release = asyncio.Event()

    async def rolled_back() -> None:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(INSERT, ("rolled back",))
                entered.set()
                await release.wait()
                raise RuntimeError("undo")

    holder = asyncio.create_task(rolled_back())
    await entered.wait()
    writer = asyncio.create_task(db.write(_insert_contact, "kept"))
    await asyncio.sleep(0.05)
    assert not writer.done()  # waiting for the lock, not written into the open transaction
    release.set()
    await holder
    assert await writer > 0
    assert await db.fetch(_names) == ["kept"]


async def test_the_loop_goes_on_while_a_bulk_write_runs(db: Database) -> None:
    """`write_bulk` runs in the database thread: the loop answers meanwhile."""
    started = threading.Event()
    go_on = threading.Event()

    def slow(conn: sqlite3.Connection) -> int:
        started.set()
        go_on.wait(5)
        return _insert_contact(conn, "bulk")

    bulk = asyncio.create_task(db.write_bulk(slow))
    assert await asyncio.to_thread(started.wait, 5)
    ticks = 0
    for _ in range(5):  # the loop runs other coroutines while the bulk write is under way
        await asyncio.sleep(0)
        ticks += 1
    assert ticks == 5 and not bulk.done()
    assert await db.fetch(_names) == []  # reads do not wait for it either
    go_on.set()
    assert await bulk > 0


async def test_the_wal_is_checkpointed_off_the_loop_after_enough_commits(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SQLite's own checkpoint would run inside a COMMIT, i.e. on the loop; ours runs after
    CHECKPOINT_AFTER_COMMITS commits, in the writer's thread under its lock."""
    import storage.db as db_module

    monkeypatch.setattr(db_module, "CHECKPOINT_AFTER_COMMITS", 5)
    ran: list[int] = []
    original = db_module.Database._checkpoint

    async def spying(self: Database) -> None:
        ran.append(threading.get_ident())
        await original(self)

    monkeypatch.setattr(db_module.Database, "_checkpoint", spying)
    for i in range(4):
        await db.write(_insert_contact, f"n{i}")
    await asyncio.sleep(0.05)
    assert ran == []
    await db.write(_insert_contact, "fifth")
    for _ in range(100):
        if ran and db._checkpointing is None:
            break
        await asyncio.sleep(0.01)
    assert len(ran) == 1 and db._checkpointing is None
    assert ran[0] == threading.get_ident()  # the task, on the loop; its statement elsewhere
    # The five contacts are in the database file itself now, not only in the WAL: a copy of
    # the file without its WAL holds them.
    copy = tmp_path / "file-only.db"
    shutil.copyfile(db.path, copy)
    names = [
        r[0] for r in sqlite3.connect(copy).execute("SELECT full_name FROM contacts ORDER BY id")
    ]
    assert names == ["n0", "n1", "n2", "n3", "fifth"]


async def test_a_loop_of_writes_lets_the_others_run(db: Database) -> None:
    """A write in the loop's thread need not suspend: a coroutine writing in a loop would hold
    the event loop for as long as it writes. It lets the others run at least every
    YIELD_SECONDS (here 100 writes of about 2 ms each: the ticker gets its turns)."""
    ticks = 0
    stop = False

    async def ticker() -> None:
        nonlocal ticks
        while not stop:
            await asyncio.sleep(0)
            ticks += 1

    def slow(conn: sqlite3.Connection, i: int) -> int:
        time.sleep(0.002)
        return _insert_contact(conn, f"n{i}")

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    for i in range(100):
        await db.write(slow, i)
    during = ticks - before
    stop = True
    await task
    assert during >= 2  # 0 if no write ever yielded


async def test_a_cancelled_bulk_write_keeps_the_writer_until_its_job_ends(db: Database) -> None:
    """aiosqlite runs a job whose awaiting coroutine was cancelled all the same. The lock must
    not pass on meanwhile: the next write runs on the same connection in the loop's thread, and
    would find the bulk transaction open ("cannot start a transaction within a transaction")."""
    started, go_on = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> int:
        _insert_contact(conn, "bulk")
        started.set()
        go_on.wait(5)
        return _insert_contact(conn, "bulk2")

    bulk = asyncio.create_task(db.write_bulk(slow))
    assert await asyncio.to_thread(started.wait, 5)
    bulk.cancel()
    await asyncio.sleep(0.05)
    assert not bulk.done()  # still waiting for its job before letting the lock go
    inline = asyncio.create_task(db.write(_insert_contact, "inline"))
    await asyncio.sleep(0.05)
    assert not inline.done()
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await bulk
    assert await inline > 0
    assert await db.fetch(_names) == ["bulk", "bulk2", "inline"]


async def test_the_wal_stays_small_while_writes_keep_coming(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoints copy the whole WAL only when nobody commits meanwhile; then the next write
    starts the WAL again from its beginning. Without SQLite's own checkpoint at COMMIT (switched
    off here), a WAL file stops growing under writes that keep coming."""
    import storage.db as db_module

    monkeypatch.setattr(db_module, "CHECKPOINT_AFTER_COMMITS", 50)
    async with db.urgent() as conn:
        await conn.execute("PRAGMA wal_autocheckpoint = 0")
    wal = Path(f"{db.path}-wal")
    sizes = []
    for round_ in range(5):
        for i in range(1000):
            await db.write(_insert_contact, f"person {round_}-{i:04d} " + "x" * 200)
        sizes.append(wal.stat().st_size)
    # Each thousand adds about 4 MB of pages; once the WAL starts again from its beginning
    # after a checkpoint, its file grows only when a burst between two checkpoints is longer
    # than any before (a WAL never started again would grow by 12 MB over the last three).
    assert sizes[4] - sizes[1] < 4 * 2**20, sizes


async def test_another_process_holding_the_write_lock_does_not_stop_the_loop(
    db: Database,
) -> None:
    """`python -m bot rebuild-figures` on the live file holds the write lock for a while: a
    write waits for it in the database thread (with the busy timeout), not in the loop, which
    goes on answering; reads are not held up at all."""
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        writer = asyncio.create_task(db.write(_insert_contact, "waited"))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not writer.done()
        assert await db.fetch(_names) == []
    finally:
        other.execute("COMMIT")
        other.close()
    assert await writer > 0
    assert await db.fetch(_names) == ["waited"]
