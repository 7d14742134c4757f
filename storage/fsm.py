"""aiogram FSM storage in the bot's SQLite file, so a half-finished conversation survives a restart.

State names are stored data: renaming a `StatesGroup` or a state breaks stored conversations, so
keep them stable (they live in `handlers/states.py`). `update_data` is one transaction, unlike the
base class's read-modify-write, so two quick updates of the same person cannot lose each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

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


class SQLiteStorage(BaseStorage):
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO fsm_states (key, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                (self._keys.build(key), value, ts(self._clock())),
            )
            await self._drop_if_empty(conn, self._keys.build(key))

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._fetch(key)
        return row[0] if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._db.transaction() as conn:
            await self._write_data(conn, self._keys.build(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._fetch(key)
        return json.loads(row[1]) if row else {}

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        built = self._keys.build(key)
        async with self._db.transaction() as conn:
            cur = await conn.execute("SELECT data FROM fsm_states WHERE key = ?", (built,))
            row = await cur.fetchone()
            current: dict[str, Any] = json.loads(row[0]) if row else {}
            current.update(data)
            await self._write_data(conn, built, current)
        return current.copy()

    async def close(self) -> None:
        """The connection belongs to the application, which closes it."""

    async def _fetch(self, key: StorageKey) -> Any:
        async with self._db.read() as conn:
            cur = await conn.execute(
                "SELECT state, data FROM fsm_states WHERE key = ?", (self._keys.build(key),)
            )
            return await cur.fetchone()

    async def _write_data(self, conn: Any, built: str, data: dict[str, Any]) -> None:
        await conn.execute(
            "INSERT INTO fsm_states (key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (built, json.dumps(data, ensure_ascii=False), ts(self._clock())),
        )
        await self._drop_if_empty(conn, built)

    @staticmethod
    async def _drop_if_empty(conn: Any, built: str) -> None:
        await conn.execute(
            "DELETE FROM fsm_states WHERE key = ? AND state IS NULL AND data = '{}'", (built,)
        )
