"""aiogram FSM storage in the bot's SQLite file, so a half-finished conversation survives a restart.

State names are stored data: renaming a `StatesGroup` or a state breaks stored conversations, so
keep them stable (they live in `handlers/states.py`).

A step of a conversation costs at most one statement, and nothing when nothing changed: the
state and the data of a key are written together (or the row deleted, when both are empty) in
one `db.write`, and a bounded write-through cache of what each key holds in the database lets
`set_state`/`set_data`/`clear` skip a write that changes nothing and answer reads without a
query. The database stays the truth: the cache is filled from it on a read (so it is right
after a restart) and from our own committed writes. The non-obvious part is the one other
writer, `/forget` (storage/forget.py), which deletes rows: a temporary trigger on the writer's
connection notes every key deleted or changed behind our back, and such a key is dropped from
the cache and never filled again from a read (a read may have started before the deletion
committed) until we write it ourselves, which the writer's lock orders after that deletion.

`stage()` writes a state inside another write transaction (the survey's answer), so routing the
person's next message costs no transaction of its own; `settle()` caches it once that committed.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)

from storage.db import Database
from storage.timefmt import ts

CACHE_SIZE = 10_000  # keys kept: people in a conversation right now, with room to spare
EMPTY = "{}"

_UPSERT = (
    "INSERT INTO fsm_states (key, state, data, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
    "updated_at = excluded.updated_at"
)
_DELETE = "DELETE FROM fsm_states WHERE key = ?"

# Every storage of one database hears every change: the trigger's function is registered once per
# connection, so a second storage on the same database must not take it over from the first.
_LISTENERS: WeakKeyDictionary[Database, list[list[str]]] = WeakKeyDictionary()
_WATCH = (
    "CREATE TEMP TRIGGER IF NOT EXISTS fsm_watch_delete AFTER DELETE ON main.fsm_states "
    "BEGIN SELECT fsm_changed(OLD.key); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS fsm_watch_update AFTER UPDATE ON main.fsm_states "
    "BEGIN SELECT fsm_changed(OLD.key); END",
)

Row = tuple[str | None, str]  # (state, data as JSON text)


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), ensure_ascii=False)


def _read(conn: sqlite3.Connection, built: str) -> Row:
    row = conn.execute("SELECT state, data FROM fsm_states WHERE key = ?", (built,)).fetchone()
    return (row[0], row[1]) if row else (None, EMPTY)


def _store(conn: sqlite3.Connection, built: str, row: Row, now: str) -> None:
    """The one statement of a change: the whole row, or its deletion when both are empty."""
    state, data = row
    if state is None and data == EMPTY:
        conn.execute(_DELETE, (built,))
    else:
        conn.execute(_UPSERT, (built, state, data, now))


class SQLiteStorage(BaseStorage):
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        key_builder: KeyBuilder | None = None,
        *,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._db = db
        self._clock = clock
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._cache: OrderedDict[str, Row] = OrderedDict()
        self._size = cache_size
        # Keys changed behind our back (appended in the database thread by the trigger), and
        # keys not to fill from a read until we write them ourselves.
        self._changed: list[str] = []
        _LISTENERS.setdefault(db, []).append(self._changed)
        self._unsure: set[str] = set()
        self._watched: object | None = None  # the writer connection the trigger is on
        self._staged: dict[str, Row] = {}
        self._writing: dict[str, tuple[object, Row]] = {}  # the last write asked for, per key

    # --- aiogram's interface ------------------------------------------------------------

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        built = self._keys.build(key)
        current = await self._row(built)
        await self._write(built, (_state_name(state), current[1]), current)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._row(self._keys.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        built = self._keys.build(key)
        current = await self._row(built)
        await self._write(built, (current[0], _dump(data)), current)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((await self._row(self._keys.build(key)))[1])
        return data

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """A read-modify-write with nothing awaited between the read and the write: two quick
        updates of the same key cannot lose each other."""
        built = self._keys.build(key)
        current = await self._row(built)
        merged: dict[str, Any] = json.loads(current[1])
        merged.update(data)
        await self._write(built, (current[0], _dump(merged)), current)
        return merged.copy()

    async def put(self, key: StorageKey, state: StateType, data: Mapping[str, Any]) -> None:
        """`set_state` and `set_data` in one step: at most one statement."""
        built = self._keys.build(key)
        await self._write(built, (_state_name(state), _dump(data)), await self._row(built))

    async def clear_key(self, key: StorageKey) -> None:
        """`FSMContext.clear()` in one step (no state, no data): at most one statement."""
        await self.put(key, None, {})

    async def close(self) -> None:
        """The connection belongs to the application, which closes it."""

    # --- inside somebody else's transaction --------------------------------------------

    def stage(
        self,
        conn: sqlite3.Connection,
        key: StorageKey,
        state: StateType,
        data: Mapping[str, Any],
    ) -> None:
        """Write a key's state and data with `conn`, inside the caller's write transaction (in
        the database thread). Call `settle(key)` once that transaction committed; until then the
        key is read from the database."""
        built = self._keys.build(key)
        row = (_state_name(state), _dump(data))
        _store(conn, built, row, ts(self._clock()))
        self._staged[built] = row

    def settle(self, key: StorageKey) -> None:
        """The transaction that staged `key` committed: cache what it wrote."""
        built = self._keys.build(key)
        row = self._staged.pop(built, None)
        if row is not None and self._watched is self._db.conn:
            self._apply_changes()
            self._unsure.discard(built)
            self._remember(built, row)

    # --- the cache ----------------------------------------------------------------------

    async def _row(self, built: str) -> Row:
        """What the key holds, as the database will once the writes already queued are done."""
        self._apply_changes()
        writing = self._writing.get(built)
        if writing is not None:
            return writing[1]
        cached = self._cache.get(built)
        if cached is not None and built not in self._staged:
            self._cache.move_to_end(built)
            return cached
        if self._watched is not self._db.conn:
            # Until the trigger is on the writer's connection, a deletion would go unnoticed.
            conn = self._db.conn
            await self._db.write(self._watch)
            self._watched = conn
        row = await self._db.fetch(_read, built)
        self._apply_changes()  # a deletion that happened while we read makes `built` unsure
        writing = self._writing.get(built)
        if writing is not None:  # written meanwhile by another coroutine
            return writing[1]
        if built in self._unsure or built in self._staged:
            return row
        cached = self._cache.get(built)
        if cached is not None:  # filled meanwhile by another coroutine
            return cached
        self._remember(built, row)
        return row

    async def _write(self, built: str, row: Row, current: Row) -> None:
        """Write `row` unless the key already holds it (or a queued write will). Writes are
        queued in the order they are asked for (the writer's lock is FIFO), so the last one
        asked for is what readers are given meanwhile."""
        if row == current and (built in self._cache or built in self._writing):
            return
        self._staged.pop(built, None)
        token = object()
        self._writing[built] = (token, row)
        try:
            await self._db.write(_store, built, row, ts(self._clock()))
        except BaseException:
            if self._writing.get(built, (None,))[0] is token:
                del self._writing[built]
            # Cancelled, the write may still run in the database thread (aiosqlite runs a
            # queued job regardless): not known, so not filled from a read until we write it.
            self._cache.pop(built, None)
            self._unsure.add(built)
            raise
        self._apply_changes()
        if self._writing.get(built, (None,))[0] is token:  # no later write is in flight
            del self._writing[built]
            self._unsure.discard(built)
            self._remember(built, row)

    def _remember(self, built: str, row: Row) -> None:
        self._cache[built] = row
        self._cache.move_to_end(built)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def _watch(self, conn: sqlite3.Connection) -> None:
        """In the database thread, once per connection: note the keys anybody deletes or changes
        from now on (its own transaction: the trigger must not roll back with somebody else's)."""
        listeners = _LISTENERS[self._db]

        def changed(key: str) -> None:
            for heard in listeners:
                heard.append(key)

        conn.create_function("fsm_changed", 1, changed)
        for statement in _WATCH:
            conn.execute(statement)

    def _apply_changes(self) -> None:
        """Forget what was changed behind our back (our own writes are noted too, and cached
        again right after). `list.pop` is atomic: the trigger may append meanwhile."""
        while self._changed:
            built = self._changed.pop()
            self._cache.pop(built, None)
            self._unsure.add(built)
        if len(self._unsure) > self._size:  # bounded: being unsure only costs a read
            self._unsure.clear()
            self._cache.clear()
