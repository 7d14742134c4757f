"""Long polling that confirms an update to Telegram only after it has been handled.

aiogram's `start_polling` hands each update to a background task and asks for the next batch at
once; that request's `offset` tells Telegram the previous batch is delivered, so a crash a moment
later loses updates nobody has handled (aiogram issue #1397). Here a batch is handled completely
(every update finished or failed for good) before the next `getUpdates` confirms it: a killed
process gets the unfinished ones again, and the update journal (`bot.dispatching`) recognises the
ones it had finished. Within a batch one person's updates run in order and different people's run
at once, so the batch takes as long as its slowest person; long work (imports, exports) runs in
background jobs outside the update for that reason.

On SIGTERM the batch in hand is finished (for up to `DRAIN_SECONDS`; whatever is cut short stays
unconfirmed and is handled after the restart) and confirmed; nothing new is fetched. Network and
server errors are retried with back-off, as aiogram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Hashable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import GetUpdates
from aiogram.types import Update

from domain.log_context import log_context

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds Telegram holds a getUpdates open when there is nothing new
BATCH_LIMIT = 100  # Telegram's maximum
# Docker gives 10 s between SIGTERM and SIGKILL: finish the batch in hand well before that.
DRAIN_SECONDS = 7.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


def person_of(update: Update) -> Hashable:
    """Whose update this is: their updates are handled in order, anyone else's alongside."""
    context = UserContextMiddleware.resolve_event_context(update)
    if context.chat_id is None and context.user_id is None:
        return ("update", update.update_id)
    return (context.chat_id, context.user_id)


async def handle_batch(dp: Dispatcher, bot: Bot, updates: Sequence[Update]) -> None:
    """Every update of the batch handled: each person's in order, people in parallel."""
    queues: dict[Hashable, list[Update]] = {}
    for update in updates:
        queues.setdefault(person_of(update), []).append(update)
    await asyncio.gather(*(_in_order(dp, bot, queue) for queue in queues.values()))


async def _in_order(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    for update in updates:
        try:
            await dp.feed_update(bot, update)
        except Exception:  # the error handler itself failed; the journal counts it as finished
            with log_context(f"update {update.update_id}"):
                log.exception("failed, and the person could not be told")


class Poller:
    """`run()` polls until `stop` is set (SIGTERM/SIGINT when `handle_signals`)."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        *,
        stop: asyncio.Event | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.stop = stop or asyncio.Event()
        self.poll_timeout = poll_timeout
        self.drain_seconds = drain_seconds
        self.offset: int | None = None
        """The next getUpdates offset: one past the last update handled."""

    async def run(self, *, handle_signals: bool = False) -> None:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.stop.set)
        workflow: dict[str, Any] = {
            "dispatcher": self.dp,
            "bots": (self.bot,),
            **self.dp.workflow_data,
        }
        await self.dp.emit_startup(bot=self.bot, **workflow)
        try:
            me = await self.bot.me()
            log.info("long polling as @%s", me.username)
            await self._poll()
            await self._confirm()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await self.dp.emit_shutdown(bot=self.bot, **workflow)
            log.info("long polling stopped")

    async def _poll(self) -> None:
        allowed = self.dp.resolve_used_update_types()
        delay = BACKOFF_FIRST
        failing = False
        while not self.stop.is_set():
            request = GetUpdates(
                offset=self.offset,
                limit=BATCH_LIMIT,
                timeout=self.poll_timeout,
                allowed_updates=allowed,
            )
            try:
                updates = await self._until_stopped(self._call(request))
            except _Stopped:
                return
            except Exception as exc:  # network, 5xx, 409 (a webhook or another poller), ...
                log.warning(
                    "getUpdates failed (%s: %s); retrying in %.0f s", type(exc).__name__, exc, delay
                )
                failing = True
                with contextlib.suppress(_Stopped):
                    await self._until_stopped(asyncio.sleep(delay))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if failing:
                log.info("getUpdates works again")
                failing, delay = False, BACKOFF_FIRST
            if not updates:
                continue
            try:
                await self._handle(updates)
            except _CutShort:
                return
            self.offset = updates[-1].update_id + 1

    async def _call(self, request: GetUpdates) -> list[Update]:
        timeout = self.poll_timeout + int(self.bot.session.timeout or 0)
        return await self.bot(request, request_timeout=timeout)

    async def _handle(self, updates: list[Update]) -> None:
        """The whole batch, even when asked to stop meanwhile (then for `drain_seconds` at most:
        what is cut short stays unconfirmed and unfinished, to be handled after the restart)."""
        batch = asyncio.ensure_future(handle_batch(self.dp, self.bot, updates))
        try:
            await self._until_stopped(asyncio.shield(batch))
            return
        except _Stopped:
            log.info("stopping: finishing the %d updates in hand", len(updates))
        done, _ = await asyncio.wait({batch}, timeout=self.drain_seconds)
        if not done:
            log.warning("updates still running after %.0f s: cut short", self.drain_seconds)
            batch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await batch
            raise _CutShort

    async def _confirm(self) -> None:
        """Tell Telegram the last batch is handled, so it is not delivered again at the next start
        (it would be skipped by the journal anyway)."""
        if self.offset is None:
            return
        try:
            await self.bot(GetUpdates(offset=self.offset, limit=1, timeout=0), request_timeout=5)
        except Exception as exc:  # the journal covers it
            log.info("last batch not confirmed (%s)", type(exc).__name__)

    async def _until_stopped(self, awaitable: Any) -> Any:
        """Await `awaitable`, or raise `_Stopped` (cancelling it) once `stop` is set."""
        work = asyncio.ensure_future(awaitable)
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        raise _Stopped


class _Stopped(Exception):
    """`stop` was set while waiting."""


class _CutShort(_Stopped):
    """The batch was cancelled at shutdown: its offset must not be confirmed."""
