"""The one sender for everything the bot writes first: drains the outbox within Telegram's limits,
as fast as they allow.

Limits: a global rate (`SEND_RATE` per second; Telegram allows about 30) kept by a token bucket
that never lets more than `SEND_RATE` + 1 sends into one second (`TokenBucket`); and at most one
message per `per_chat_interval` (1.05 s: Telegram's second plus a margin for the network's
jitter) to a chat, one per `GROUP_INTERVAL` (3.15 s) to a group (Telegram's 20 a minute),
timed from the moment the request goes out, after the last database read.
To cover the round trip, up to `max_in_flight` requests are out at once (rate × 0.5 s, at most
16: 100 ms to Telegram needs 3 for 28/s), never two to the same chat, so a chat's messages
keep their order. The sender does not wait on the oldest row: it claims the oldest due row of
each chat that is ready (storage/outbox.choose_ready), one transaction per look.

Flood control (429) tells neither which limit was hit nor for whom, so the sender decides: a
429 for a group (negative chat id, 20 a minute) or for a chat that got another message from
this bot within the last 1.5 s (at about one a second: the sender's own, or a handler's reply,
seen by a request middleware on the bot's session) is that chat's: only that chat pauses for
`retry_after`. Any other 429 cannot come from its chat's limit: it is the bot's global one, and
every send pauses. The row waits (re-queued, its chat held for it so its successors don't
overtake it; the hold is stored with the row, `holds_chat`, so it outlives a restart). The
sender's requests bypass the retry middleware's 429 handling (bot/retries.py, through
`no_flood_waits` in scheduler/failures.py): it would sleep out `retry_after` inside the
request, holding a slot, blind to which chat it was about, while the other requests ran into
the same limit. Its quick retries of a 5xx or a dropped connection stay (each repeat waits for
a token of the bucket, and the chat's turn is timed from the repeat). What still fails lands
here, row by row, and no exception leaves a row "claimed":

* 429: as above, the row is re-queued after `retry_after`;
* 403 (blocked, deactivated): the row fails and the person is marked unreachable;
* a timeout, or an answer that says "done" but cannot be read: the row fails at once, never
  repeated, because the message may have arrived and Telegram has no idempotency key (a duplicate
  alert is worse than the one missing message the log and the owners' daily line report);
* another refusal (400 ...) or a payload that cannot be built: the row fails;
* anything else (5xx, a lost connection, an unexpected exception): re-queued with back-off
  (2 s doubling to 10 minutes), and given up ("expired") a day after its first failure.

Handlers never send through here synchronously: they enqueue in their own transaction and `kick()`
the loop, so a fan-out to many people never delays the person in front of the bot. At stop, the
requests out finish (or, after 10 s, are cancelled and their rows re-queued, as a restart does);
rows claimed but not yet sent go back to pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import Response, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup
from pydantic import ValidationError

from domain.clock import Clock
from domain.log_context import log_context
from scheduler.failures import Failure, classify, describe, no_flood_waits
from storage import Database
from storage.outbox import (
    BLOCKED,
    EXPIRED,
    REFUSED,
    TIMEOUT,
    UNREADABLE,
    OutboxRow,
    any_due,
    claim_ready,
    mark_failed,
    mark_retry,
    mark_sent,
    recover_claimed,
    release,
    still_claimed,
)
from storage.sale import mark_unreachable

if TYPE_CHECKING:
    from aiogram.client.session.base import BaseSession

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=1)
IDLE_WAKEUP_SECONDS = 5.0
RECORD_ATTEMPTS = 3
STOP_SECONDS = 10.0

DEFAULT_RATE = 28.5
PER_CHAT_INTERVAL = 1.05
GROUP_INTERVAL = 3.15  # a group (negative chat id) takes 20 a minute: one every 3 s, plus 5%
COVERED_RTT = 0.5  # seconds of round trip the in-flight bound covers at the full rate
MAX_IN_FLIGHT = 16
CHAT_BUSY_WINDOW = 1.5  # a 429 for a chat messaged this recently is the chat's own
LOOKAHEAD = 0.2  # claim a chat this early before it is ready; its task waits the rest


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


def in_flight_for(rate: float) -> int:
    """Requests out at once: enough for the rate over a 0.5 s round trip; one without a rate."""
    if rate <= 0:
        return 1
    return min(MAX_IN_FLIGHT, max(2, math.ceil(rate * COVERED_RTT)))


def build_method(chat_id: int, payload: dict[str, Any]) -> SendMessage:
    markup = payload.get("reply_markup")
    return SendMessage(
        chat_id=chat_id,
        text=payload["text"],
        reply_markup=InlineKeyboardMarkup.model_validate(markup) if markup else None,
    )


async def edit_to(bot: Bot, chat_id: int, message_id: int, payload: dict[str, Any]) -> str | None:
    """Edit a delivered message to show `payload`; the error, if Telegram refused (e.g. "message
    is not modified") or could not be reached, else None."""
    markup = payload.get("reply_markup")
    try:
        await bot.edit_message_text(
            text=payload["text"],
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=InlineKeyboardMarkup.model_validate(markup) if markup else None,
        )
    except (TelegramAPIError, TelegramNetworkError, ClientDecodeError) as exc:
        return describe(exc)
    return None


class ChatTraffic(BaseRequestMiddleware):
    """When each chat last got a request that creates a message from this bot, whoever made it
    (a handler's reply too): what tells a chat's 429 from the bot's (see the module docs)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._recent: dict[int, deque[float]] = {}
        self._seen = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        name = method.__api_method__.lower()
        if (
            isinstance(chat_id, int)
            and name.startswith(("send", "copymessage", "forwardmessage"))
            and name != "sendchataction"
        ):
            self.note(chat_id)
        return await make_request(bot, method)

    def note(self, chat_id: int, at: float | None = None) -> None:
        now = self._monotonic() if at is None else at
        times = self._recent.setdefault(chat_id, deque(maxlen=4))
        times.append(now)
        self._seen += 1
        if self._seen % 1024 == 0:  # forget the quiet chats now and then
            old = now - 2 * CHAT_BUSY_WINDOW
            self._recent = {c: t for c, t in self._recent.items() if t[-1] > old}

    def busy_before(self, chat_id: int, at: float) -> bool:
        """Whether the chat got a message within CHAT_BUSY_WINDOW before `at` (not at `at`)."""
        return any(at - CHAT_BUSY_WINDOW < t < at for t in self._recent.get(chat_id, ()) if t != at)

    @classmethod
    def on(cls, session: BaseSession) -> ChatTraffic:
        """The one recorder on `session` (installed once; tests share sessions)."""
        for existing in session.middleware:
            if isinstance(existing, ChatTraffic):
                return existing
        recorder = cls()
        session.middleware(recorder)
        return recorder


class TokenBucket:
    """The global rate: a token every 1/rate s, and never more than rate + 1 sends within one
    second; `pause()` stops all.

    It keeps its schedule within a quarter interval: a token taken a few milliseconds late (a
    busy event loop wakes the waiter after its time) does not delay the next one. And the sends
    of the last second are remembered: one more goes only when fewer than rate + 1 went out in
    the second before it."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._per_second = math.floor(rate) + 1 if rate > 0 else 0
        self._sent: deque[float] = deque()
        self._next = 0.0
        self.paused_until = 0.0
        self._lock = asyncio.Lock()  # FIFO: the longest waiter goes first

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def _ready(self, now: float) -> float:
        ready = max(self._next, self.paused_until)
        if self._per_second:
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            if len(self._sent) >= self._per_second:
                ready = max(ready, self._sent[0] + 1.0)
        return ready

    async def take(self, stopping: asyncio.Event) -> float | None:
        """Wait for a token; the moment it was taken, or None if the sender is stopping."""
        async with self._lock:
            while True:
                if stopping.is_set():
                    return None
                now = time.monotonic()
                ready = self._ready(now)
                if ready <= now:
                    # On schedule, or at most a quarter interval behind it: a late wake-up is
                    # made up, a stall is not (two sends back to back would bunch at Telegram).
                    self._next = max(self._next, now - self._interval / 4) + self._interval
                    if self._per_second:
                        self._sent.append(now)
                    return now
                if ready - now < 1.0:  # the usual case: a few milliseconds
                    await asyncio.sleep(ready - now)
                else:  # a pause after a 429: a stop cuts it short
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), ready - now)


class Sender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Clock,
        *,
        rate: float = DEFAULT_RATE,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        max_in_flight: int | None = None,
    ) -> None:
        """`rate` 0 and `per_chat_interval` 0 switch the limits off (the tests); then, unless
        `max_in_flight` says otherwise, one request is out at a time, in the outbox's order."""
        self._bot = bot
        self._db = db
        self._clock = clock
        self._per_chat = per_chat_interval
        self._max_in_flight = max_in_flight or in_flight_for(rate)
        self._bucket = TokenBucket(rate)
        self._traffic = ChatTraffic.on(bot.session)
        self._chat_ready: dict[int, float] = {}  # monotonic time a chat may get its next one
        self._busy: set[int] = set()  # chats with a row claimed and not yet settled
        self._held: dict[int, int] = {}  # chat -> the row re-queued after a 429, to go first
        self._wake = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def bot(self) -> Bot:
        return self._bot

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    def interval_for(self, chat_id: int) -> float:
        """The least time between two messages to a chat: a group's 20 a minute, or a person's
        one a second (none when the limits are off)."""
        if chat_id < 0 and self._per_chat > 0:
            return max(self._per_chat, GROUP_INTERVAL)
        return self._per_chat

    def kick(self) -> None:
        """Something was enqueued: look at the outbox now instead of at the next tick."""
        self._wake.set()

    async def start(self) -> None:
        recovered = await recover_claimed(self._db)
        if recovered:
            log.warning("outbox: %d interrupted sends re-queued", recovered)
        self._stopping = False
        self._stop_event.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        self._stopping = True
        self._stop_event.set()
        self._wake.set()
        if self._task is not None:
            # After STOP_SECONDS wait_for cancels it: the sends still out are re-queued.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, timeout=STOP_SECONDS)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before draining: a kick that arrives during the drain is not lost.
            self._wake.clear()
            try:
                await self.drain_once()
            except Exception:  # never let the loop die; the rows stay in the outbox
                log.exception("outbox: drain failed")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_timeout())

    def _idle_timeout(self) -> float:
        """Until the next look: the idle tick, or sooner when a chat paused by a 429 resumes
        (its held row is due then, and drain_once does not wait for it)."""
        now = time.monotonic()
        resumes = [self._chat_ready.get(chat, now) - now for chat in self._held]
        return min([IDLE_WAKEUP_SECONDS, *(t + 0.01 for t in resumes if t > 0)])

    def _blocked(self, now: float) -> dict[int, float]:
        """Chats that cannot take a message now: in flight (never ready), or until when."""
        soon = now + LOOKAHEAD
        for chat in [c for c, t in self._chat_ready.items() if t <= now]:
            del self._chat_ready[chat]
        blocked = {c: t for c, t in self._chat_ready.items() if t > soon}
        blocked.update(dict.fromkeys(self._busy, math.inf))
        return blocked

    async def drain_once(self) -> int:
        """Send everything that is due now (waiting for chats cooling down and pauses, not for
        rows due later); returns how many messages were delivered."""
        tasks: set[asyncio.Task[int]] = set()
        delivered = 0
        try:
            while True:
                free = self._max_in_flight - len(tasks)
                wait: float | None = None
                if free > 0 and not self._stopping:
                    now = time.monotonic()
                    if self._bucket.paused_until > now:  # claim nothing during a global pause
                        if await any_due(self._db, self._clock()):
                            wait = self._bucket.paused_until - now
                    else:
                        claim = await claim_ready(
                            self._db,
                            self._clock(),
                            want=free,
                            blocked=self._blocked(now),
                            held=dict(self._held),  # a copy: read in the database thread
                        )
                        for chat in claim.stale_holds:
                            self._held.pop(chat, None)
                        for row in claim.rows:
                            self._held.pop(row.chat_id, None)
                            self._busy.add(row.chat_id)
                            tasks.add(asyncio.create_task(self._send_one(row)))
                        if claim.rows and claim.more:
                            continue  # fill the free slots first
                        if claim.next_ready is not None:
                            wait = max(0.0, claim.next_ready - LOOKAHEAD - time.monotonic())
                if not tasks and wait is None:
                    return delivered
                delivered += await self._wait(tasks, wait)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _wait(self, tasks: set[asyncio.Task[int]], timeout: float | None) -> int:
        """Until a send ends, a kick, a stop or `timeout`; returns what the ended sends
        delivered (and forgets them)."""
        waiting: set[asyncio.Future[Any]] = set(tasks)
        waker = None
        if not self._stopping:  # a stop sets the event for good: wait for the sends only
            waker = asyncio.ensure_future(self._wake.wait())
            waiting.add(waker)
        try:
            done, _ = await asyncio.wait(
                waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if waker is not None:
                waker.cancel()
        if waker is not None and waker in done:
            self._wake.clear()  # this drain looks again now
        delivered = 0
        for task in tasks & done:
            tasks.discard(task)
            delivered += task.result()
        return delivered

    async def _send_one(self, row: OutboxRow) -> int:
        with log_context(f"outbox {row.id}"):
            try:
                return await self._send(row)
            except Exception as exc:  # the sender's own step failed (the database?)
                log.exception("outbox %d: send step failed; re-queued", row.id)
                await self._release(row, exc)
                return 0
            except asyncio.CancelledError:  # stopped mid-request: as a restart would
                log.warning("outbox %d: stopped while sending; re-queued", row.id)
                await mark_retry(self._db, row, self._clock(), "stopped while sending")
                raise
            finally:
                self._busy.discard(row.chat_id)

    async def _release(self, row: OutboxRow, exc: Exception) -> None:
        try:
            when = self._clock() + _retry_delay(row.attempts)
            await release(self._db, row, when, f"sender: {describe(exc)}")
        except Exception:  # nothing more to do here; the next start re-queues claimed rows
            log.exception("outbox %d: could not be re-queued", row.id)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, cut short by a stop."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), seconds)

    async def _send(self, row: OutboxRow) -> int:
        await self._sleep(self._chat_ready.get(row.chat_id, 0.0) - time.monotonic())
        if self._stopping:
            await mark_retry(self._db, row, self._clock(), "stopped before sending")
            return 0
        if not await still_claimed(self._db, row):
            log.info("outbox %d: dropped while waiting, not sent", row.id)
            return 0
        sent_at = await self._bucket.take(self._stop_event)
        if sent_at is None:
            await mark_retry(self._db, row, self._clock(), "stopped before sending")
            return 0
        # The chat's turn is timed from here, the last moment before the request goes out.
        self._chat_ready[row.chat_id] = sent_at + self.interval_for(row.chat_id)

        async def again() -> None:
            # The retry middleware repeats a 5xx or a dropped connection: one more request to
            # Telegram, so it waits for a token too, and the chat's turn is timed from it.
            nonlocal sent_at
            taken = await self._bucket.take(self._stop_event)
            sent_at = taken if taken is not None else time.monotonic()  # stopping: the last one
            self._chat_ready[row.chat_id] = sent_at + self.interval_for(row.chat_id)

        try:
            with no_flood_waits(before_retry=again):  # a 429 comes back here: see the docs
                message = await self._bot(build_method(row.chat_id, row.payload))
        except Exception as exc:
            await self._failed(row, exc, sent_at)
            return 0
        await self._delivered(row, message.message_id)
        return 1

    def _flood(self, row: OutboxRow, exc: TelegramRetryAfter, sent_at: float) -> None:
        """Pause the chat, or everybody (see the module docs for the rule)."""
        chat = row.chat_id
        self._held[chat] = row.id
        until = time.monotonic() + exc.retry_after
        self._chat_ready[chat] = max(self._chat_ready.get(chat, 0.0), until)
        if chat < 0 or self._traffic.busy_before(chat, sent_at):
            log.warning(
                "outbox %d: flood control for its chat: it waits %ss", row.id, exc.retry_after
            )
        else:
            self._bucket.pause(exc.retry_after)
            log.warning("outbox %d: flood control, all sending waits %ss", row.id, exc.retry_after)

    async def _failed(self, row: OutboxRow, exc: Exception, sent_at: float) -> None:
        """Record why a request failed: re-queued, or failed for good (see the module docs)."""
        now = self._clock()
        if isinstance(exc, TelegramForbiddenError):
            log.warning("outbox %d: chat %d unreachable: %s", row.id, row.chat_id, exc.message)
            await mark_failed(self._db, row, f"403 {exc.message}", reason=BLOCKED, now=now)
            if row.contact_id is not None:
                await mark_unreachable(self._db, row.contact_id, now)
            return
        failure = classify(exc)
        if failure in (Failure.MAYBE_DONE, Failure.DONE):
            log.error("outbox %d: not repeated (%s); it may have arrived", row.id, describe(exc))
            reason = TIMEOUT if failure is Failure.MAYBE_DONE else UNREADABLE
            await mark_failed(self._db, row, describe(exc), reason=reason, now=now)
            return
        if isinstance(exc, TelegramAPIError | ValidationError) and failure is Failure.FINAL:
            log.error("outbox %d: refused: %s", row.id, describe(exc))
            await mark_failed(self._db, row, describe(exc), reason=REFUSED, now=now)
            return
        first_failure = row.failing_since or now
        if now - first_failure >= GIVE_UP_AFTER:
            log.error("outbox %d: given up after a day of failures: %s", row.id, describe(exc))
            await mark_failed(self._db, row, describe(exc), reason=EXPIRED, now=now)
            return
        when: datetime
        if isinstance(exc, TelegramRetryAfter):
            self._flood(row, exc, sent_at)
            when = now + timedelta(seconds=exc.retry_after)
        else:
            when = now + _retry_delay(row.attempts)
            if failure is Failure.FINAL:  # not Telegram's: a bug or the unexpected
                log.error("outbox %d: failed, retry at %s", row.id, when, exc_info=exc)
            else:
                log.warning("outbox %d: %s, retry at %s", row.id, describe(exc), when)
        flood = isinstance(exc, TelegramRetryAfter)
        await mark_retry(self._db, row, when, describe(exc), failed_at=now, hold=flood)

    async def _delivered(self, row: OutboxRow, message_id: int) -> None:
        """Record a delivery; it is never sent again, so a failure to record it is retried
        here rather than by re-queueing the row."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                newer = await mark_sent(self._db, row, message_id, self._clock())
                break
            except Exception:
                log.exception("outbox %d: delivered, not recorded (try %d)", row.id, attempt)
                await asyncio.sleep(attempt)
        else:
            return  # the database is failing: a restart re-sends this one row
        if newer is not None:
            try:
                await self._edit(row, message_id, newer)
            except Exception:  # the delivery stands; only the late change is missing
                log.exception("outbox %d: update in flight not applied", row.id)

    async def _edit(self, row: OutboxRow, message_id: int, payload: dict[str, Any]) -> None:
        """Bring a just-delivered message up to date with a change made while it was in flight."""
        error = await edit_to(self._bot, row.chat_id, message_id, payload)
        if error is not None:
            log.info("outbox %d: update in flight not applied: %s", row.id, error)
