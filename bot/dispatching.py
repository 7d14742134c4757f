"""The dispatcher every mode feeds updates into: the update journal, the log context, and one
person's updates in order.

The non-obvious decision is where this sits: in `feed_update` itself rather than in an outer
middleware. aiogram registers its errors middleware first, before anything we can add, so an
error handler runs outside every middleware of ours; only wrapping `feed_update` makes the failure
lines carry `[update N]` too, and lets a failed update (the apology sent) count as finished.

An update is noted in the journal (`storage/updates.py`) before it is handled and marked finished
afterwards, whatever the outcome short of the process stopping. One finished before (a redelivery
after a crash) is skipped; one begun but never finished is handled again with `replayed=True` in
the handler data, so handlers can avoid repeating what the person already has. `feed_update`
notes the beginning itself (a webhook, tests); long polling stores and begins updates in its own
writes (`bot.polling`'s inbox) and calls `feed_begun` with what it found, and a `finish` that
notes the same person's next update begun in the same write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.types import Update

from domain.clock import Clock
from domain.log_context import log_context
from storage import Database
from storage.strangers import prune_strangers
from storage.updates import Seen, begin_update, finish_update, prune_updates

log = logging.getLogger(__name__)

# Finished updates between two prunings of the journal and of the strangers' replies (both grow
# with the updates, so pruning by their count keeps them bounded however busy the bot is).
PRUNE_EVERY = 1000


class PerChatIsolation(BaseEventIsolation):
    """One person's updates one after another (a lock per FSM key), different people at once.

    aiogram's `SimpleEventIsolation` does the same but keeps a lock for every person it ever saw;
    here a lock lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @property
    def held(self) -> int:
        """How many keys have a lock now (for tests: none are left behind)."""
        return len(self._locks)

    async def close(self) -> None:
        self._locks.clear()


class Dispatcher(AiogramDispatcher):
    """aiogram's dispatcher with the update journal and the `[update N]` log context around
    everything, the error handler included. Needs `db` and `clock` in its workflow data."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(events_isolation=PerChatIsolation(), **kwargs)
        self._finished = 0

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        """An update from anywhere (a webhook, a test): noted begun, handled, noted finished."""
        db: Database = self.workflow_data["db"]
        clock: Clock = self.workflow_data["clock"]
        update_id = update.update_id
        with log_context(f"update {update_id}"):
            seen = await begin_update(db, update_id, clock())

            async def finish() -> None:
                await finish_update(db, update_id, clock())

            return await self._journaled(bot, update, seen, finish, kwargs)

    async def feed_begun(
        self,
        bot: Bot,
        update: Update,
        seen: Seen,
        finish: Callable[[], Awaitable[None]],
        **kwargs: Any,
    ) -> Any:
        """An update the caller has already noted begun (`bot.polling`'s inbox), `seen` saying
        how; `finish()` notes its end (and whatever the caller folds into that write)."""
        with log_context(f"update {update.update_id}"):
            return await self._journaled(bot, update, seen, finish, kwargs)

    async def _journaled(
        self,
        bot: Bot,
        update: Update,
        seen: Seen,
        finish: Callable[[], Awaitable[None]],
        kwargs: dict[str, Any],
    ) -> Any:
        if seen is Seen.DONE:
            log.info("delivered again after it was handled: skipped")
            return UNHANDLED
        if seen is Seen.INTERRUPTED:
            log.info("its handling was interrupted (a crash?): handling it again")
        try:
            result = await super().feed_update(
                bot, update, **kwargs, replayed=seen is Seen.INTERRUPTED
            )
        except Exception:
            # Got this far, a failure has been logged and apologised for by the error handler
            # (or the apology failed too): handling it again would fail the same way.
            await self._finish(finish)
            raise
        # A cancellation (the process stopping) passes by: the update stays unfinished and is
        # handled again after the restart, as after a crash.
        await self._finish(finish)
        return result

    async def _finish(self, finish: Callable[[], Awaitable[None]]) -> None:
        await finish()
        self._finished += 1
        if self._finished % PRUNE_EVERY == 0:
            db, now = self.workflow_data["db"], self.workflow_data["clock"]()
            await prune_updates(db, now)
            await prune_strangers(db, now)
