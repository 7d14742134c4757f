"""Long polling that fetches continuously and still loses no update and handles none twice.

aiogram's `start_polling` hands each update to a background task and asks for the next batch at
once; that request's `offset` tells Telegram the previous batch is delivered, so a crash a moment
later loses updates nobody has handled (aiogram issue #1397). Handling a batch to the end before
confirming it (what this module did before) keeps them, but then a new tap waits for the slowest
update of the batch in hand, and nothing new is fetched meanwhile (head-of-line blocking).

The decision: a durable inbox. Each fetched batch is stored (its updates' JSON) in the update
journal in ONE write transaction (`storage.updates.store_updates`) before the next getUpdates
confirms it; then the next batch is fetched at once while the stored updates are handled in the
background, one person's in order, different people's at once. At start-up whatever was stored
and not finished is handled first: begun ones as replays (`replayed=True`), never begun ones as
new. Telegram never has to deliver anything again, a crash loses nothing, and the journal still
recognises the updates Telegram sends again anyway (a batch stored just before a crash, not yet
confirmed). The other design, a sliding confirmation window (confirm up to the oldest unfinished
update, skip re-deliveries of the ones in hand in memory), needs no storage but makes Telegram
send every update in hand again with each poll, and with one slow update in hand a poll
returns at once with nothing new: it must throttle itself, and a crash still leaves the whole
window to be delivered again. The inbox costs one small write per batch.

The journal costs an update its share of the batch's write plus one write when it is finished:
an update whose person has nothing in hand is stored already begun (it starts right after the
write), and finishing one notes the same person's next update begun in the same write. Only an
update that waited behind its person's and found nothing to ride on pays a write of its own.
Because the batch, not the update, pays the request and the store, a busy poller lets a small
batch gather for `GATHER_SECONDS` before asking again; an idle one (nothing in hand) never waits.

Back-pressure: at most `in_hand_max` updates are stored and not finished (the `limit` of each
getUpdates keeps it so); at the bound nothing is fetched until half of them have finished. On
SIGTERM nothing new is fetched, what is in hand is finished for up to `DRAIN_SECONDS` (what is
cut short stays in the inbox and is handled at the next start), and the offset is confirmed.
Network and server errors are retried with back-off, as aiogram does; so is a failed store
(nothing is confirmed then).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import signal
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import GetUpdates
from aiogram.types import Update

from bot.dispatching import Dispatcher
from domain.clock import Clock
from domain.log_context import log_context
from storage import Database
from storage.updates import (
    GIVE_UP_ATTEMPTS,
    Incoming,
    Seen,
    begin_stored,
    finish_update,
    store_updates,
    take_leftovers,
)

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds Telegram holds a getUpdates open when there is nothing new
BATCH_LIMIT = 100  # Telegram's maximum
# While updates are in hand, a small batch waits this long before the next getUpdates, so a
# crowd's updates come in batches (one request and one store for several) instead of one by one.
GATHER_SECONDS = 0.03
GATHER_BELOW = 10
IN_HAND_MAX = 200  # updates stored and not finished before fetching pauses
# Docker gives 10 s between SIGTERM and SIGKILL: finish what is in hand well before that.
DRAIN_SECONDS = 7.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


def person_of(update: Update) -> Hashable:
    """Whose update this is: their updates are handled in order, anyone else's alongside."""
    context = UserContextMiddleware.resolve_event_context(update)
    if context.chat_id is None and context.user_id is None:
        return ("update", update.update_id)
    return (context.chat_id, context.user_id)


def payload_of(update: Update) -> str:
    """The update as Telegram sent it (aiogram keeps which fields were set: it round-trips)."""
    return update.model_dump_json(exclude_unset=True, by_alias=True)


# The parsed JSON of the getUpdates answer, kept for the poller's own request only: storing an
# update as the dict Telegram sent (`json.dumps`) costs a fraction of dumping aiogram's model
# again (`payload_of`: a Python call per date field), about 4% of the bot's CPU in a crowd.
_raw_answers: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "raw_get_updates", default=None
)


class _KeepsRaw:
    """The session's JSON loader, also handing the parsed answer to a poller that asked."""

    def __init__(self, loads: Any) -> None:
        self.loads = loads

    def __call__(self, content: str) -> Any:
        data = self.loads(content)
        box = _raw_answers.get()
        if box is not None:
            box.append(data)
        return data


def _raw_by_id(answers: list[Any]) -> dict[int, dict[str, Any]]:
    answer = answers[-1] if answers else None  # the last try, if the request was retried
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, list):
        return {}
    return {u["update_id"]: u for u in result if isinstance(u, dict) and "update_id" in u}


@dataclass(slots=True)
class _Item:
    update: Update
    begun: bool
    """The journal has it as begun (its handling may have started)."""
    replayed: bool
    """Begun before this process started it: handled as a replay."""


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
        in_hand_max: int = IN_HAND_MAX,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.stop = stop or asyncio.Event()
        self.poll_timeout = poll_timeout
        self.drain_seconds = drain_seconds
        self.in_hand_max = in_hand_max
        self.offset: int | None = None
        """The next getUpdates offset: one past the last update stored."""
        self.in_hand = 0
        """Updates stored and not finished by this process."""
        self.most_in_hand = 0
        self._queues: dict[Hashable, deque[_Item]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._raw: dict[int, dict[str, Any]] = {}
        """The last batch as Telegram sent it, by update id (what is stored)."""
        session = bot.session
        if not isinstance(session.json_loads, _KeepsRaw):
            session.json_loads = _KeepsRaw(session.json_loads)

    @property
    def db(self) -> Database:
        return self.dp.workflow_data["db"]

    @property
    def clock(self) -> Clock:
        return self.dp.workflow_data["clock"]

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
            await self._resume()
            await self._poll()
            await self._drain()
            await self._confirm()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await self._cut_short()
            await self.dp.emit_shutdown(bot=self.bot, **workflow)
            log.info("long polling stopped")

    # -- fetching ------------------------------------------------------------------------------

    async def _poll(self) -> None:
        allowed = self.dp.resolve_used_update_types()
        delay = BACKOFF_FIRST
        failing = False
        while not self.stop.is_set():
            if self.in_hand >= self.in_hand_max:
                try:
                    await self._until_stopped(self._wait_for_room())
                except _Stopped:
                    return
            request = GetUpdates(
                offset=self.offset,
                limit=min(BATCH_LIMIT, self.in_hand_max - self.in_hand),
                timeout=self.poll_timeout,
                allowed_updates=allowed,
            )
            try:
                updates = await self._until_stopped(self._call(request))
                if updates:
                    await self._take(updates)  # not cut short by a stop: one quick write
            except _Stopped:
                return
            except Exception as exc:  # network, 5xx, 409 (a webhook or another poller), the disk
                log.warning(
                    "getUpdates or storing its updates failed (%s: %s); retrying in %.0f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                failing = True
                with contextlib.suppress(_Stopped):
                    await self._until_stopped(asyncio.sleep(delay))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if failing:
                log.info("getUpdates works again")
                failing, delay = False, BACKOFF_FIRST
            if updates:
                self.offset = updates[-1].update_id + 1
                if self.in_hand and len(updates) < GATHER_BELOW:
                    # Busy: let the next few updates gather rather than pay a getUpdates and a
                    # store for each one (an idle bot, nothing in hand, never waits here).
                    with contextlib.suppress(_Stopped):
                        await self._until_stopped(asyncio.sleep(GATHER_SECONDS))

    async def _wait_for_room(self) -> None:
        """Until there is room for a good batch again, not for one update: fetching one at a
        time as each finishes would cost a getUpdates and a write per update at the bound."""
        room = min(BATCH_LIMIT, max(1, self.in_hand_max // 2))
        while self.in_hand > self.in_hand_max - room:
            self._room.clear()
            await self._room.wait()

    async def _call(self, request: GetUpdates) -> list[Update]:
        timeout = self.poll_timeout + int(self.bot.session.timeout or 0)
        answers: list[Any] = []
        token = _raw_answers.set(answers)
        try:
            updates = await self.bot(request, request_timeout=timeout)
        finally:
            _raw_answers.reset(token)
        self._raw = _raw_by_id(answers)
        return updates

    def _payload(self, update: Update) -> str:
        raw = self._raw.get(update.update_id)
        if raw is None:  # a session whose loader is not ours
            return payload_of(update)
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))

    async def _take(self, updates: list[Update]) -> None:
        """Store the batch (one transaction), then hand each update to its person's queue."""
        people = [person_of(update) for update in updates]
        starting: set[Hashable] = set()
        batch = []
        for update, person in zip(updates, people, strict=True):
            begin = person not in self._queues and person not in starting
            starting.add(person)
            batch.append(Incoming(update.update_id, self._payload(update), begin))
        taken = await store_updates(self.db, batch, self.clock())
        for update, person, incoming in zip(updates, people, batch, strict=True):
            seen = taken.get(update.update_id)
            if seen is None:
                with log_context(f"update {update.update_id}"):
                    log.info("delivered again, already stored: skipped")
                continue
            replayed = seen is Seen.INTERRUPTED
            self._enqueue(person, _Item(update, incoming.begin or replayed, replayed))
        self._raw = {}

    async def _resume(self) -> None:
        """What the last run stored and did not finish: handled before anything fetched now."""
        stored, given_up = await take_leftovers(self.db, self.clock())
        if given_up:
            log.error(
                "%d stored updates given up (interrupted %d times, or older than a day): %s",
                len(given_up),
                GIVE_UP_ATTEMPTS,
                ", ".join(map(str, given_up)),
            )
        if not stored:
            return
        log.info("%d updates stored before the restart: handling them first", len(stored))
        for row in stored:
            update = Update.model_validate_json(row.payload, context={"bot": self.bot})
            self._enqueue(person_of(update), _Item(update, row.begun, row.begun))

    # -- handling ------------------------------------------------------------------------------

    def _enqueue(self, person: Hashable, item: _Item) -> None:
        self.in_hand += 1
        self.most_in_hand = max(self.most_in_hand, self.in_hand)
        queue = self._queues.get(person)
        if queue is not None:
            queue.append(item)
            return
        self._queues[person] = deque([item])
        worker = asyncio.create_task(self._person(person))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _person(self, person: Hashable) -> None:
        """One person's updates, one after another, until none is left."""
        queue = self._queues[person]
        try:
            while queue:
                await self._handle(queue)
                queue.popleft()
                self.in_hand -= 1
                self._room.set()
        finally:
            if self._queues.get(person) is queue:
                del self._queues[person]

    async def _handle(self, queue: deque[_Item]) -> None:
        item = queue[0]
        update_id = item.update.update_id
        if not item.begun:
            try:
                await begin_stored(self.db, [update_id], self.clock())
            except Exception:  # handled all the same: the person is waiting
                with log_context(f"update {update_id}"):
                    log.exception("could not note it begun")
            item.begun = True

        def following() -> list[int]:
            # Called in the database thread once the finish holds the lock: an update of this
            # person stored while the finish waited for it is begun here too, not in a write of
            # its own (deque indexing is atomic; what was enqueued is stored).
            nxt = queue[1] if len(queue) > 1 else None
            return [nxt.update.update_id] if nxt is not None and not nxt.begun else []

        async def finish() -> None:
            marked = await finish_update(self.db, update_id, self.clock(), begin=following)
            if marked and len(queue) > 1 and queue[1].update.update_id in marked:
                queue[1].begun = True

        seen = Seen.INTERRUPTED if item.replayed else Seen.NEW
        try:
            await self.dp.feed_begun(self.bot, item.update, seen, finish)
        except Exception:  # the error handler itself failed; the journal counts it as finished
            with log_context(f"update {update_id}"):
                log.exception("failed, and the person could not be told")

    # -- stopping ------------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Finish what is in hand, for `drain_seconds` at most."""
        if not self._workers:
            return
        log.info("stopping: finishing the %d updates in hand", self.in_hand)
        _, running = await asyncio.wait(set(self._workers), timeout=self.drain_seconds)
        if running:
            log.warning(
                "%d updates still in hand after %.0f s: cut short, handled at the next start",
                self.in_hand,
                self.drain_seconds,
            )
            await self._cut_short()  # before confirming: Docker's SIGKILL comes 10 s after SIGTERM

    async def _cut_short(self) -> None:
        """Cancel whatever still runs: it stays unfinished in the inbox."""
        workers = set(self._workers)
        for worker in workers:
            worker.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    async def _confirm(self) -> None:
        """Tell Telegram the stored updates are delivered, so they do not come again at the next
        start (the journal would skip them anyway)."""
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


async def handle_leftovers(dp: AiogramDispatcher, bot: Bot) -> int:
    """What long polling stored and did not finish, handled to the end; how many. For webhook
    mode at start-up: Telegram was told these were delivered and will not send them again."""
    if not isinstance(dp, Dispatcher):  # no journal, so no inbox either
        return 0
    poller = Poller(dp, bot)
    await poller._resume()
    count = poller.in_hand
    await asyncio.gather(*set(poller._workers))
    return count


class _Stopped(Exception):
    """`stop` was set while waiting."""
