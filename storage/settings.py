"""The owner's settings changed in the chat (`settings` table), and the settings in force now.

Values are validated before they are stored (`domain.tunables`); the table keeps canonical text
values by key, with who changed them and when, so `/settings` can say which values differ from
the `.env` defaults.

`LiveSettings` is the `.env` settings with those changes over them. `Settings` stays an immutable
value; the holder swaps in a new one when an owner changes something, so every later update,
tick and job sees the change without a restart. The process is the only writer (the instance
lock guarantees one process per database), so a cache loaded once and replaced on every change
is exact. Listeners (the digest job's time, the command menus) are told after each change; a
failing listener is logged and never undoes the change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from domain import tunables
from domain.settings import Settings
from storage.db import Database
from storage.timefmt import ts


async def load_overrides(db: Database) -> dict[str, str]:
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT key, value FROM settings")).fetchall()
    return {key: value for key, value in rows}


async def save_override(
    db: Database,
    key: str,
    value: str,
    by: int,
    now: datetime,
    source_key: str | None = None,
) -> None:
    """Store a value; `source_key` names the typed message it came from (None for a tap)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO settings (key, value, updated_by, updated_at, source_key) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at, "
            "source_key = excluded.source_key",
            (key, value, by, ts(now), source_key),
        )


async def delete_override(db: Database, key: str) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM settings WHERE key = ?", (key,))


log = logging.getLogger(__name__)

Listener = Callable[[Settings, str], Awaitable[None]]


class LiveSettings:
    def __init__(self, base: Settings, db: Database | None = None) -> None:
        self.base = base
        self._db = db
        self._overrides: dict[str, str] | None = None if db is not None else {}
        self._current = base
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self.version = 0  # counts changes, so a long planning run can tell it was overtaken

    @property
    def current(self) -> Settings:
        """The settings as last loaded (call `get()` once first in a new process)."""
        return self._current

    @property
    def overrides(self) -> dict[str, str]:
        return dict(self._overrides or {})

    async def get(self) -> Settings:
        if self._overrides is None:
            await self.reload()
        return self._current

    async def reload(self) -> None:
        if self._db is None:
            return
        self._overrides = await load_overrides(self._db)
        self._current = tunables.apply(self.base, self._overrides)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def set(
        self, key: str, value: str, by: int, now: datetime, source_key: str | None = None
    ) -> Settings:
        """Validate (`tunables.parse`), store and put in force a value."""
        return await self.update(key, lambda _: value, by, now, source_key)

    async def update(
        self,
        key: str,
        change: Callable[[Settings], str],
        by: int,
        now: datetime,
        source_key: str | None = None,
    ) -> Settings:
        """Read, change and store one setting as one step: two quick taps (two working days)
        each see the other's change instead of both starting from the same old value."""
        if self._db is None:
            raise RuntimeError("settings without a database cannot be changed")
        async with self._lock:
            value = tunables.parse(key, change(await self.get()))
            await save_override(self._db, key, value, by, now, source_key)
            assert self._overrides is not None
            self._overrides[key] = value
            return await self._changed(key, by)

    async def reset(self, key: str, by: int) -> Settings:
        """Back to the `.env` value."""
        if self._db is None:
            raise RuntimeError("settings without a database cannot be changed")
        async with self._lock:
            await self.get()
            await delete_override(self._db, key)
            assert self._overrides is not None
            self._overrides.pop(key, None)
            return await self._changed(key, by)

    async def _changed(self, key: str, by: int) -> Settings:
        assert self._overrides is not None
        self._current = tunables.apply(self.base, self._overrides)
        self.version += 1
        log.info("setting %s changed by %s", key, by)
        for listener in self._listeners:
            try:
                await listener(self._current, key)
            except Exception:  # the change is stored and in force; a side effect failed
                log.exception("after changing %s, a listener failed", key)
        return self._current
