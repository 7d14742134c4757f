"""The one long-lived SQLite connection of the process, and how every query gets to it.

A transaction opened by one coroutine would swallow the statements another coroutine sends
meanwhile, whichever thread runs them. So every use of the writer's connection goes through one
lock: `write()` and `transaction()` for writes, which open with `BEGIN IMMEDIATE` (a deferred
transaction that reads and then writes can fail with SQLITE_BUSY despite the busy timeout).
SQLite has one writer anyway; the lock costs nothing measurable.
`urgent()` takes the lock ahead of everybody waiting, for the one write whose delay matters:
noting that a message went out (a crash between the send and the note repeats the message after
the restart, and with twenty people answering at once the queue for the lock is long).

Re-planning follows every change of a person's facts without each write having to ask for it:
once a planner is attached, temporary triggers (on this connection only, not in the schema)
note the contact of every insert or relevant update by calling `note_contact()`, a Python
function, and `transaction()` hands the noted contacts to the planner just before COMMIT, inside
the same transaction. A write added later gets the same treatment; a change and the plan it
implies commit together or not at all. Writers count their own rows with `cursor.rowcount`, never
with `conn.total_changes`, which also counts the rows that triggers write (the schema's per-day
figures, storage/figures.py).

No hop for the short transactions: `write(fn, *args)` runs `fn(conn, *args)` with the plain
`sqlite3` connection under it, BEGIN IMMEDIATE, the re-planning and COMMIT included, in the
event loop's OWN thread, under the lock (taken without suspending when nobody holds it); `fetch`
does the same for reads on a plain read-only connection of that thread, without the lock. This
is the module's one non-obvious decision, and it was measured: a survey step's transaction
costs about 0.7 ms of CPU, but handed to aiosqlite's thread it took 4.5 ms of wall time at
saturation (the thread waits for the GIL and a core while the loop runs Python), the writer
became the queue every update stood in, and the bot answered 0.52-0.69 of a bare aiogram bot's
rate; run in the loop, 0.97-1.06 (bench/bench_updates.py, README "Keeping up with a crowd").
With WAL and `synchronous = NORMAL` a COMMIT writes to the WAL without an fsync, so the loop
blocks for the transaction's CPU only. What could block it longer is sent elsewhere: `write_bulk`
for long transactions (the planner's batches, pruning, the leftovers at start-up, a backlog of
webhook deliveries) runs in the database thread; WAL checkpoints run there too, under the lock,
every `CHECKPOINT_AFTER_COMMITS` commits (with nobody committing meanwhile the whole WAL is
copied and starts again; SQLite's own at COMMIT stays as a backstop at 40 MB); a BEGIN that
finds another process holding the write lock (`rebuild-figures` on the live file) does not wait
in the loop but goes to the database thread, with the busy timeout. A coroutine cancelled while
the thread runs its job keeps the lock until the thread is idle (aiosqlite runs the job anyway,
and the loop must not start a transaction of its own inside it). The older `transaction()`
(one await per statement, in aiosqlite's thread) stays for the paths where speed does not
matter; a `write` that comes while one is open waits for the lock, so it never lands inside it.
`read()` hands out the lock-free read-only connection of aiosqlite's thread statement by
statement, each statement run to its end in one job (an open statement would hold an old
snapshot for every other read).

Group commit: `write_joined(fn, *args)` is `write` for a small write of its own (the update
journal's finish, a question noted as asked) that may share ONE transaction with the other
joined writes waiting at that moment. With the writer free it simply runs at once; while the
lock is held (a bulk write, a `transaction()`), the joined writes that come meanwhile gather in
one group that runs as one transaction when the lock is free. Each caller returns only once the
transaction holding its write has committed, so it promises exactly what `write` does; if one
write of a group fails, the group is rolled back and each runs again alone, so a failure is
only its own.

Reports read through a second, read-only connection (`report()`, its own thread and its own FIFO
lock): WAL lets a reader see the last committed snapshot while the writer commits, so an all-time
/nps never makes a respondent's tap wait. It is opened after the writer has migrated (a read-only
connection cannot create the `-wal`/`-shm` files) and closed first, so the writer, the last
connection, checkpoints and removes the WAL. Never take the writer's lock inside `report()`:
`checkpoint_truncate()` takes the writer's lock and then the report lock, always in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import tzinfo
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import aiosqlite

from storage.figures import ensure_figures
from storage.migrations import MIGRATIONS, apply_migrations

log = logging.getLogger(__name__)

MMAP_BYTES = 64 * 2**20
BUSY_TIMEOUT_MS = 5000
# WAL checkpoints run in the writer's thread, under its lock, after this many commits (a few
# pages each: about SQLite's 1,000-page default), never in a commit on the loop. SQLite's own at
# COMMIT stays as a backstop, at 10,000 pages (40 MB), should they lag.
CHECKPOINT_AFTER_COMMITS = 300
WAL_BACKSTOP_PAGES = 10_000
WAL_SIZE_LIMIT = 64 * 2**20
YIELD_SECONDS = 0.05

# The planner runs inside the transaction that changed a person's facts. A plain function of the
# `sqlite3` connection runs in the same job as the transaction (in the loop's thread for `write`,
# the database thread for `write_bulk`); a coroutine function of the aiosqlite connection is
# awaited statement by statement (the old way).
SyncPlanner = Callable[[sqlite3.Connection, list[int]], object]
AsyncPlanner = Callable[[aiosqlite.Connection, list[int]], Awaitable[object]]
Planner = SyncPlanner | AsyncPlanner

T = TypeVar("T")
P = ParamSpec("P")

# Which writes change what the rules read (domain/planning.py, storage/tasks.load_facts). A
# survey is a fact only while unopened (`status = 'created'`, by `created_at`) and as a promoter's
# answer (`score >= 9`, by `scored_at`): a detractor's score or an answer finished re-plan nobody.
_REPLAN_TRIGGERS = """
CREATE TEMP TRIGGER IF NOT EXISTS replan_contact_new AFTER INSERT ON main.contacts
BEGIN SELECT note_contact(NEW.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_contact_facts
AFTER UPDATE OF birth_day, birth_month, manager_id, forgotten_at, kind, created_at ON main.contacts
BEGIN SELECT note_contact(NEW.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_deal_new AFTER INSERT ON main.deals
BEGIN SELECT note_contact(NEW.contact_id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_deal_facts
AFTER UPDATE OF contact_id, deal_date, source ON main.deals
BEGIN SELECT note_contact(OLD.contact_id), note_contact(NEW.contact_id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_survey_new AFTER INSERT ON main.surveys
BEGIN SELECT note_contact(NEW.contact_id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_survey_facts
AFTER UPDATE OF contact_id, status, score, scored_at, created_at ON main.surveys
WHEN OLD.contact_id IS NOT NEW.contact_id
  OR (CASE WHEN OLD.status = 'created' THEN OLD.created_at END)
     IS NOT (CASE WHEN NEW.status = 'created' THEN NEW.created_at END)
  OR (CASE WHEN OLD.score >= 9 THEN OLD.scored_at END)
     IS NOT (CASE WHEN NEW.score >= 9 THEN NEW.scored_at END)
BEGIN SELECT note_contact(OLD.contact_id), note_contact(NEW.contact_id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_offer_closed AFTER UPDATE OF status ON main.tasks
WHEN NEW.kind = 'offer' AND OLD.status = 'pending' AND NEW.status IN ('done', 'skipped', 'missed')
BEGIN SELECT note_contact(NEW.contact_id); END;
CREATE TEMP TRIGGER IF NOT EXISTS replan_staff_access AFTER UPDATE OF active ON main.staff
WHEN OLD.active IS NOT NEW.active
BEGIN SELECT note_contact(id) FROM main.contacts WHERE manager_id = NEW.user_id; END
"""


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


async def _tune(conn: aiosqlite.Connection) -> None:
    """What both connections share: rows by name, the busy timeout, the page cache, casefold."""
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Reports read hundreds of thousands of index entries: memory-map the file, keep a
    # bigger page cache and sort in memory. The map is 64 MiB, not more: every mapped page the
    # process reads counts in its RSS, and at 1,000,000 contacts a 256 MiB map put the daily
    # planning run at 468 MiB peak RSS, against 277 MiB now (bench/bench_planning.py).
    await conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    await conn.execute("PRAGMA cache_size = -32768")
    await conn.execute("PRAGMA temp_store = MEMORY")
    # SQLite's lower()/NOCASE fold ASCII only; names here are mostly Cyrillic.
    await conn.create_function("casefold", 1, _casefold, deterministic=True)


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

    @property
    def idle(self) -> bool:
        """Nobody holds it or waits for it: an acquire now takes it at once."""
        return not self._locked and not self._waiters and not self._urgent

    def release(self) -> None:
        for queue in (self._urgent, self._waiters):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays locked: the waiter holds it now
                    return
        self._locked = False


class Database:
    def __init__(self, path: Path | str, *, timezone: tzinfo | None = None) -> None:
        self.path = Path(path)
        # The company's zone: the local days of the per-day figures (storage/figures.py).
        self.timezone: tzinfo = timezone or ZoneInfo("Europe/Moscow")
        self._conn: aiosqlite.Connection | None = None
        self._lock = _Lock()
        self._reader: aiosqlite.Connection | None = None
        self._report_lock = _Lock()
        self._fast: aiosqlite.Connection | None = None
        self._inline: sqlite3.Connection | None = None  # `fetch`'s, used in the loop's thread
        self._checkpointing: asyncio.Task[None] | None = None
        self._commits = 0  # the writer's, since the last checkpoint began
        self._yielded_at = 0.0  # when a write in the loop's thread last let the others run
        self._planner: Planner | None = None
        self._sync_planner: SyncPlanner | None = None
        self._triggers = False
        self._noted: set[int] = set()
        # The loop adds to a group, the database thread takes it: both under this guard.
        self._group_guard = threading.Lock()
        self._group: _Group | None = None  # the group still open to joiners
        self._group_tasks: set[asyncio.Task[None]] = set()

    def _note(self, contact_id: int | None) -> None:
        if contact_id is not None:
            self._noted.add(contact_id)

    def attach_planner(self, planner: Planner) -> None:
        """From now on every transaction re-plans the contacts whose facts it changed."""
        self._planner = planner
        # Decided once here, not on every write: a plain function runs in the writer's job.
        sync = not inspect.iscoroutinefunction(planner)
        self._sync_planner = planner if sync else None  # type: ignore[assignment]

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("Database is not open")
        return self._conn

    async def open(self, *, migrate_to: int | None = None) -> None:
        """Open the file (creating its folder), set pragmas and run pending migrations."""
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # The loop thread runs the one-hop writes itself (see the module docs), aiosqlite's
        # thread the rest; never both at once: every use of this connection holds `_lock`.
        conn = await aiosqlite.connect(self.path, isolation_level=None, check_same_thread=False)
        await _tune(conn)
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
        # A WAL that grew (a long report held old frames) is cut back when it starts again.
        await conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        await conn.create_function("note_contact", 1, self._note)
        self._conn = conn
        self._triggers = False
        target = len(MIGRATIONS) if migrate_to is None else migrate_to
        async with self._locked():
            await apply_migrations(conn, target)
            await ensure_figures(conn, self.timezone)
        reader = await aiosqlite.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        await _tune(reader)
        await reader.execute("PRAGMA query_only = 1")
        self._reader = reader
        fast = await aiosqlite.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        await _tune(fast)
        # Point reads only (a survey row, a staff record): a small page cache is plenty.
        await fast.execute("PRAGMA cache_size = -4096")
        await fast.execute("PRAGMA query_only = 1")
        self._fast = fast
        self._inline = _inline_reader(self.path)

    async def close(self) -> None:
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):
                await self._checkpointing
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._fast is not None:
            await self._fast.close()
            self._fast = None
        if self._reader is not None:
            async with self._reporting():
                await self._reader.close()
                self._reader = None
        if self._conn is not None:
            async with self._locked():
                await self._conn.close()
                self._conn = None
                self._triggers = False

    async def schema_version(self) -> int:
        async with self.read() as conn:
            row = await (await conn.execute("PRAGMA user_version")).fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _locked(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._lock.acquire(urgent=urgent)
        try:
            yield
        except BaseException as exc:
            if not isinstance(exc, Exception):
                # Cancelled while awaiting a job of the writer's thread: aiosqlite runs it all
                # the same, and the loop writes on this connection itself, so the lock passes on
                # only once that thread has run everything queued.
                await self._thread_idle()
            raise
        finally:
            self._lock.release()

    async def _thread_idle(self) -> None:
        """Until the writer's thread has run every job queued so far (through cancellations)."""
        conn = self._conn
        if conn is None:
            return
        try:
            job = _submit(conn, _nothing)
        except ValueError:  # closed: nothing runs any more
            return
        if job is None:  # an aiosqlite whose queue we cannot reach: its own way, still in order
            job = asyncio.ensure_future(conn._execute(_nothing))
        while not job.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(job)
        if not job.cancelled():
            job.exception()  # retrieved: a closed connection's refusal is not news

    @asynccontextmanager
    async def read_locked(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer's connection under its lock, outside any transaction: for the rare read
        that must wait for a write in progress (and for the writer's own settings)."""
        async with self._locked():
            yield self.conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[ReadConnection]:
        """The lock-free read-only connection, statement by statement: reads never wait for the
        writer. Each statement sees what was committed when it started (for one snapshot across
        several statements use `fetch`): it runs to its end and its rows are fetched in one job
        (`ReadConnection`), so no statement is left open between two hops."""
        if self._fast is None:
            raise RuntimeError("Database is not open")
        yield ReadConnection(self._fast)

    @asynccontextmanager
    async def _reporting(self) -> AsyncIterator[None]:
        await self._report_lock.acquire()
        try:
            yield
        finally:
            self._report_lock.release()

    @asynccontextmanager
    async def report(self) -> AsyncIterator[aiosqlite.Connection]:
        """The read-only connection, for the owner's reports: it never waits for the writer and
        the writer never waits for it. Each statement sees the last committed data. Keep it to
        queries: no writer lock inside (see `checkpoint_truncate`), no sending in between."""
        async with self._reporting():
            if self._reader is None:
                raise RuntimeError("Database is not open")
            yield self._reader

    async def checkpoint_truncate(self, attempts: int = 3) -> bool:
        """Copy the WAL into the file and empty it (after `forget`, so erased values leave the
        disk). A reader's snapshot would keep the WAL from being reset, so this holds the writer's
        lock and then the report lock (always in that order), and tries again while SQLite says
        it was busy. Returns whether the WAL was emptied."""
        async with self._locked(), self._reporting():
            for _ in range(attempts):
                # Fetched to its end: a checkpoint statement left half-stepped would keep the
                # loop's next COMMIT on this connection from committing.
                rows = await self.conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
                row = next(iter(rows), None)
                if row is None or row[0] == 0:
                    return True
                await asyncio.sleep(0.05)
        log.warning("the WAL could not be emptied: a reader held it")
        return False

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection before anybody already waiting: for one short statement only."""
        async with self._locked(urgent=True):
            yield self.conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._locked():
            conn = await self._ready()
            try:
                # Inside the try: a BEGIN whose awaiting coroutine is cancelled still runs in the
                # database thread, and must not leave the connection in a transaction.
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
                await self._replan(conn)
            except BaseException:
                await conn._execute(self._rollback_job, conn._conn)
                raise
            else:
                await conn.execute("COMMIT")
                self._commits += 1
                self._after_commits()

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """Run `fn(conn, *args)` as one write transaction in the loop's own thread (see the module
        docs): BEGIN IMMEDIATE, `fn`, the re-planning of the contacts it changed, COMMIT
        (ROLLBACK if anything raised). `fn` is plain synchronous `sqlite3` code: it must not
        await, sleep or talk to Telegram, and must be short (a few people, a few rows; more goes
        through `write_bulk`); use `RETURNING` rather than reading back what it just wrote."""
        return await self._write(fn, args, kw, urgent=False)

    async def write_first(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """`write`, ahead of everybody waiting for the lock (the `urgent()` lane): for a short
        write every update waits for (long polling storing a fetched batch)."""
        return await self._write(fn, args, kw, urgent=True)

    async def write_bulk(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """`write` for a long transaction (the planner's batches, pruning, the leftovers at
        start-up): run in the database thread, so the loop goes on meanwhile (the writes that
        come in the meantime wait for the lock, as they would wait for any transaction)."""
        async with self._locked():
            conn = await self._ready()
            if self._sync_planner is None and self._planner is not None:
                return await self._write_async(conn, fn, args, kw)
            try:
                return await conn._execute(self._write_job, conn._conn, fn, args, kw)
            finally:
                self._after_commits()

    async def _ready(self) -> aiosqlite.Connection:
        """The writer's connection with the re-planning triggers in place (under the lock)."""
        conn = self.conn
        if self._planner is not None and not self._triggers:
            await conn.executescript(_REPLAN_TRIGGERS)
            self._triggers = True
        return conn

    async def _write(self, fn: Callable[..., T], args: tuple, kw: dict, *, urgent: bool) -> T:
        # A write that never suspends lets a loop of writes hold the event loop: let the others
        # run at least every YIELD_SECONDS (one turn of the loop). Before the write, so that a
        # caller cancelled here was not written.
        now = time.monotonic()
        if now - self._yielded_at >= YIELD_SECONDS:
            self._yielded_at = now
            await asyncio.sleep(0)
        async with self._locked(urgent=urgent):
            conn = await self._ready()
            if self._planner is not None and self._sync_planner is None:
                return await self._write_async(conn, fn, args, kw)
            try:
                # In the loop's own thread, no hop: taking the lock did not wait when nobody
                # held it, so a write with nobody ahead of it never suspends at all.
                if _begin_now(conn._conn):
                    return self._write_job(conn._conn, fn, args, kw, begun=True)
                # Another process holds the write lock (`rebuild-figures` run by hand): wait for
                # it in the database thread, with the busy timeout, not in the loop.
                return await conn._execute(self._write_job, conn._conn, fn, args, kw)
            finally:
                self._after_commits()

    async def _write_async(
        self, conn: aiosqlite.Connection, fn: Callable[..., T], args: tuple, kw: dict
    ) -> T:
        """An async planner (the old way) needs the loop between the statements."""
        try:
            result = await conn._execute(self._begin_job, conn._conn, fn, args, kw)
            await self._replan(conn)
        except BaseException:
            await conn._execute(self._rollback_job, conn._conn)
            raise
        await conn.execute("COMMIT")
        return result

    def _begin_job(self, raw: sqlite3.Connection, fn: Callable[..., T], args: tuple, kw: dict) -> T:
        raw.execute("BEGIN IMMEDIATE")
        try:
            return fn(raw, *args, **kw)
        except BaseException:
            self._noted.clear()
            raw.execute("ROLLBACK")
            raise

    def _rollback_job(self, raw: sqlite3.Connection) -> None:
        """Undo whatever the cancelled or failed statements left open. A job in the database
        thread, queued behind them: aiosqlite runs a queued job even when the coroutine that
        awaited it was cancelled, so only there is it known whether BEGIN ran, and `_noted` is
        cleared without racing a trigger (or another job's re-planning) in that thread."""
        self._noted.clear()
        if raw.in_transaction:
            raw.execute("ROLLBACK")

    def _write_job(
        self,
        raw: sqlite3.Connection,
        fn: Callable[..., T],
        args: tuple,
        kw: dict,
        *,
        begun: bool = False,
    ) -> T:
        if not begun:
            raw.execute("BEGIN IMMEDIATE")
        try:
            result = fn(raw, *args, **kw)
            self._replan_sync(raw)
        except BaseException:
            self._noted.clear()
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
        self._commits += 1
        return result

    def _after_commits(self) -> None:
        """On the loop, after a write: start a checkpoint when enough commits piled up."""
        if self._commits < CHECKPOINT_AFTER_COMMITS or self._checkpointing is not None:
            return
        self._commits = 0
        self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Copy the WAL into the file, in the writer's thread and under its lock: nobody commits
        meanwhile, so (unless a reader still needs old frames) the whole WAL is copied and the
        next write starts it again from the beginning. A checkpoint from another connection
        would never catch up with a busy writer, and the WAL would only grow."""
        try:
            async with self._locked():
                if self._conn is None:  # closed meanwhile
                    return
                conn = self._conn
                await conn._execute(_checkpoint_job, conn._conn)
        except Exception as exc:  # the backstop at COMMIT still bounds the WAL
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._checkpointing = None

    def _replan_sync(self, raw: sqlite3.Connection) -> None:
        planner = self._sync_planner
        if planner is None or not self._triggers:
            self._noted.clear()
            return
        for _ in range(4):
            if not self._noted:
                return
            noted, self._noted = sorted(self._noted), set()
            planner(raw, noted)

    async def write_joined(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """`write` for a short write that may share one transaction with the other joined writes
        waiting at the same moment (group commit, see the module docs); ahead of the writes
        waiting for the lock, as `write_first`. Returns `fn`'s result once that transaction has
        committed. `fn` must not depend on running alone: it may follow other writes in its
        transaction, and runs again in one of its own if another write of the group fails. A
        caller cancelled while waiting may still have its write committed (as with `write`, once
        the job is under way)."""
        if self._planner is not None and self._sync_planner is None:
            return await self.write(fn, *args, **kw)  # the old async planner: no joined jobs
        if self._group is None and self._lock.idle:
            # Nobody to join and nobody waiting: a plain write, at once (a group of one costs a
            # task and a future more). Whoever comes meanwhile gathers in the next group.
            return await self._write(fn, args, kw, urgent=True)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._group_guard:
            group = self._group
            start = group is None
            if group is None:
                group = self._group = _Group()
            group.writes.append((fn, args, kw, future))
        if start:
            task = loop.create_task(self._flush(group))
            self._group_tasks.add(task)
            task.add_done_callback(self._group_tasks.discard)
        return await future

    async def _flush(self, group: _Group) -> None:
        """Commit `group` (and whoever joins it until its job starts) as one transaction."""
        try:
            async with self._locked(urgent=True):
                conn = await self._ready()
                if _begin_now(conn._conn):
                    outcomes = self._group_job(conn._conn, group, begun=True)
                else:  # another process holds the write lock: wait in the database thread
                    outcomes = await conn._execute(self._group_job, conn._conn, group)
                self._after_commits()
        except BaseException as exc:
            # Not settled here: the job never took the group (the lock's wait was cancelled, the
            # database is closed), and then it never will, or this task was cancelled while the
            # job ran (the loop is closing). Either way every caller is told.
            with self._group_guard:
                group.taken = True
                if self._group is group:
                    self._group = None
            _settle([(f, None, exc) for *_, f in group.writes])
            if not isinstance(exc, Exception):
                raise
        else:
            _settle(outcomes)

    def _group_job(
        self, raw: sqlite3.Connection, group: _Group, *, begun: bool = False
    ) -> list[_Outcome]:
        with self._group_guard:
            if group.taken:  # its callers were already told it failed (see `_flush`)
                if begun:
                    raw.execute("ROLLBACK")
                return []
            group.taken = True
            if self._group is group:
                self._group = None  # from now on a joiner opens the next group
            writes = list(group.writes)
        try:
            results = self._write_job(raw, _run_all, (writes,), {}, begun=begun)
            return [(w[3], r, None) for w, r in zip(writes, results, strict=True)]
        except Exception as exc:
            if len(writes) == 1:
                return [(writes[0][3], None, exc)]
        outcomes: list[_Outcome] = []
        for fn, args, kw, future in writes:  # each alone: one write's failure is not the others'
            try:
                outcomes.append((future, self._write_job(raw, fn, args, kw), None))
            except Exception as own:
                outcomes.append((future, None, own))
        return outcomes

    async def fetch(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """Run `fn(conn, *args)` on the loop's read-only connection for quick reads, in one
        snapshot, without waiting for the writer's lock. It sees what was committed before it
        started: never call it for data the caller's own open `transaction()` just wrote."""
        inline = self._inline
        if inline is None:
            raise RuntimeError("Database is not open")
        return self._read_job(inline, fn, args, kw)

    @staticmethod
    def _read_job(raw: sqlite3.Connection, fn: Callable[..., T], args: tuple, kw: dict) -> T:
        raw.execute("BEGIN")
        try:
            return fn(raw, *args, **kw)
        finally:
            raw.execute("COMMIT")

    async def _replan(self, conn: aiosqlite.Connection) -> None:
        if self._planner is None or not self._triggers:
            return
        sync = self._sync_planner
        if sync is not None:  # the whole re-planning in one hop
            await conn._execute(self._replan_sync, conn._conn)
            return
        # The planner's own writes can note a contact again (an offer lapsing moves the next
        # offer's anchor): a few rounds settle it.
        for _ in range(4):
            if not self._noted:
                return
            noted, self._noted = sorted(self._noted), set()
            await self._planner(conn, noted)


_Write = tuple[Callable[..., Any], tuple, dict, "asyncio.Future[Any]"]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class _Group:
    """Joined writes waiting to share one transaction (`Database.write_joined`)."""

    __slots__ = ("taken", "writes")

    def __init__(self) -> None:
        self.writes: list[_Write] = []
        self.taken = False
        """Its job has started: nobody joins it any more."""


def _submit(
    conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any
) -> asyncio.Future[T] | None:
    """Queue `fn(*args)` in the connection's thread NOW and return its future (None if this
    aiosqlite keeps its queue elsewhere). aiosqlite's `_execute` queues only once its coroutine
    is first run; `_thread_idle` needs its marker queued before it yields (aiosqlite 0.20-0.22:
    same queue, same future, same worker as `_execute`)."""
    queue = getattr(conn, "_tx", None)
    if queue is None or not hasattr(queue, "put_nowait"):
        return None
    if not getattr(conn, "_running", False) or getattr(conn, "_connection", None) is None:
        raise ValueError("Connection closed")
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    queue.put_nowait((future, partial(fn, *args)))
    return future


def _checkpoint_job(raw: sqlite3.Connection) -> None:
    """PASSIVE: copy what no reader still needs; the statement run to its end (a checkpoint
    statement left stepped once would keep the loop's next COMMIT from committing)."""
    raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _nothing() -> None:
    """A job that only marks its place in the writer thread's queue (`_thread_idle`)."""


def _begin_now(raw: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE without waiting: False if another process holds the write lock (the
    loop must not sleep in SQLite's busy handler; the caller waits in the database thread)."""
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return False
        raise
    finally:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return True


def _inline_reader(path: Path) -> sqlite3.Connection:
    """`fetch`'s read-only connection, a plain `sqlite3` one of the loop's thread: point reads
    (a survey row, a staff record) take tens of microseconds, a hop to a thread far more."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=True
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    conn.execute("PRAGMA cache_size = -4096")
    conn.execute("PRAGMA query_only = 1")
    conn.create_function("casefold", 1, _casefold, deterministic=True)
    return conn


def _run_all(raw: sqlite3.Connection, writes: list[_Write]) -> list[Any]:
    return [fn(raw, *args, **kw) for fn, args, kw, _ in writes]


def _settle(outcomes: list[_Outcome]) -> None:
    """On the loop: hand each joined write its result (a cancelled caller's is dropped)."""
    for future, result, exc in outcomes:
        if future.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        elif exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


class ReadConnection:
    """What `Database.read()` hands out: `execute` and `execute_fetchall` as aiosqlite's, but
    each statement runs to its end, its rows fetched, in ONE job of the connection's thread.

    Why: the read-only connection is shared (by `read()` and `fetch()` alike), and a statement
    stepped once and fetched in a later hop stays open meanwhile, holding its read transaction:
    every other read the thread runs in between, `fetch`'s included, sees that older snapshot,
    not what was committed since (the sender found a row it had just claimed still pending,
    took it for dropped, and left it claimed until a restart)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Any = None) -> _Statement:
        return _Statement(self._conn, sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> list[sqlite3.Row]:
        return (await self.execute(sql, parameters)).rows


class _Statement:
    """`await conn.execute(...)` or `async with conn.execute(...) as cursor`: a `FetchedCursor`."""

    def __init__(self, conn: aiosqlite.Connection, sql: str, parameters: Any) -> None:
        self._conn, self._sql, self._parameters = conn, sql, parameters

    async def _run(self) -> FetchedCursor:
        rows, description = await self._conn._execute(
            _execute_to_end, self._conn._conn, self._sql, self._parameters
        )
        return FetchedCursor(rows, description)

    def __await__(self) -> Any:
        return self._run().__await__()

    async def __aenter__(self) -> FetchedCursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


def _execute_to_end(raw: sqlite3.Connection, sql: str, parameters: Any) -> tuple[list, Any]:
    cursor = raw.execute(sql, parameters if parameters is not None else ())
    try:
        return cursor.fetchall(), cursor.description
    finally:
        cursor.close()


class FetchedCursor:
    """A statement's rows, already fetched: the cursor API the readers use."""

    rowcount = -1

    def __init__(self, rows: list[sqlite3.Row], description: Any) -> None:
        self.rows = rows
        self.description = description
        self._next = 0

    async def fetchone(self) -> sqlite3.Row | None:
        if self._next >= len(self.rows):
            return None
        self._next += 1
        return self.rows[self._next - 1]

    async def fetchmany(self, size: int = 1) -> list[sqlite3.Row]:
        chunk = self.rows[self._next : self._next + size]
        self._next += len(chunk)
        return chunk

    async def fetchall(self) -> list[sqlite3.Row]:
        rest = self.rows[self._next :]
        self._next = len(self.rows)
        return rest

    def __aiter__(self) -> FetchedCursor:
        return self

    async def __anext__(self) -> sqlite3.Row:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        self._next = len(self.rows)
