"""The one long-lived SQLite connection of the process, and how every query gets to it.

aiosqlite runs one connection in one thread, and a transaction opened by one coroutine would
swallow the statements another coroutine sends meanwhile. So every use of the connection goes
through one lock: `read()` for plain reads, `transaction()` for writes, which opens with
`BEGIN IMMEDIATE` (a deferred transaction that reads and then writes can fail with SQLITE_BUSY
despite the busy timeout). SQLite has one writer anyway; the lock costs nothing measurable.
`urgent()` takes the lock ahead of everybody waiting, for the one write whose delay matters:
noting that a message went out (a crash between the send and the note repeats the message after
the restart, and with twenty people answering at once the queue for the lock is long).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import MIGRATIONS, apply_migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


class _Lock:
    """An asyncio lock handed from holder to waiter in order, with a lane that goes first."""

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._urgent: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._locked and not self._waiters and not self._urgent:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._waiters
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in queue:
                queue.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self.release()  # handed the lock just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._waiters):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays locked: the waiter holds it now
                    return
        self._locked = False


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = _Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("Database is not open")
        return self._conn

    async def open(self, *, migrate_to: int | None = None) -> None:
        """Open the file (creating its folder), set pragmas and run pending migrations."""
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        # Reports read hundreds of thousands of index entries: memory-map the file, keep a
        # bigger page cache and sort in memory.
        await conn.execute("PRAGMA mmap_size = 268435456")
        await conn.execute("PRAGMA cache_size = -32768")
        await conn.execute("PRAGMA temp_store = MEMORY")
        # SQLite's lower()/NOCASE fold ASCII only; names here are mostly Cyrillic.
        await conn.create_function("casefold", 1, _casefold, deterministic=True)
        self._conn = conn
        target = len(MIGRATIONS) if migrate_to is None else migrate_to
        async with self._locked():
            await apply_migrations(conn, target)

    async def close(self) -> None:
        if self._conn is not None:
            async with self._locked():
                await self._conn.close()
                self._conn = None

    async def schema_version(self) -> int:
        async with self.read() as conn:
            row = await (await conn.execute("PRAGMA user_version")).fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _locked(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._lock.acquire(urgent=urgent)
        try:
            yield
        finally:
            self._lock.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._locked():
            yield self.conn

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection before anybody already waiting: for one short statement only."""
        async with self._locked(urgent=True):
            yield self.conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._locked():
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")
