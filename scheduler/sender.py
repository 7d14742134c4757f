"""The one sender for everything the bot writes first: drains the outbox within Telegram's limits.

Limits: a global rate (`SEND_RATE` per second, Telegram allows about 30) and about one message per
second per chat. Each request already goes through the bot's retry middleware (bot/retries.py:
429, 5xx and lost connections retried for `TELEGRAM_RETRY_SECONDS`); what still fails lands here,
row by row, and no exception leaves a row "claimed":

* 429 beyond the middleware's budget: all sending pauses for `retry_after`, the row is re-queued;
* 403 (blocked, deactivated): the row fails and the person is marked unreachable;
* a timeout, or an answer that says "done" but cannot be read: the row fails at once, never
  repeated, because the message may have arrived and Telegram has no idempotency key (a duplicate
  alert is worse than the one missing message the log and the owners' daily line report);
* another refusal (400 ...) or a payload that cannot be built: the row fails;
* anything else (5xx, a lost connection, an unexpected exception): re-queued with back-off, and
  given up ("expired") a day after its first failure.

Handlers never send through here synchronously: they enqueue in their own transaction and `kick()`
the loop, so a fan-out to many people never delays the person in front of the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup
from pydantic import ValidationError

from domain.clock import Clock
from domain.log_context import log_context
from scheduler.failures import Failure, classify, describe
from storage import Database
from storage.outbox import (
    BLOCKED,
    EXPIRED,
    REFUSED,
    TIMEOUT,
    UNREADABLE,
    OutboxRow,
    claim_due,
    mark_failed,
    mark_retry,
    mark_sent,
    recover_claimed,
    release,
    still_claimed,
)
from storage.sale import mark_unreachable

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=1)
IDLE_WAKEUP_SECONDS = 5.0
RECORD_ATTEMPTS = 3


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


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


class Sender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Clock,
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
    ) -> None:
        self._bot = bot
        self._db = db
        self._clock = clock
        self._min_gap = 1.0 / rate if rate > 0 else 0.0
        self._per_chat = per_chat_interval
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_last: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def bot(self) -> Bot:
        return self._bot

    def kick(self) -> None:
        """Something was enqueued: look at the outbox now instead of at the next tick."""
        self._wake.set()

    async def start(self) -> None:
        recovered = await recover_claimed(self._db)
        if recovered:
            log.warning("outbox: %d interrupted sends re-queued", recovered)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
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
                await asyncio.wait_for(self._wake.wait(), timeout=IDLE_WAKEUP_SECONDS)

    async def drain_once(self) -> int:
        """Send everything that is due now; returns how many messages were delivered."""
        delivered = 0
        while not self._stopping:
            rows = await claim_due(self._db, self._clock(), limit=50)
            if not rows:
                break
            for row in rows:
                with log_context(f"outbox {row.id}"):
                    if self._stopping:
                        await mark_retry(self._db, row, self._clock(), "stopped before sending")
                        continue
                    try:
                        delivered += await self._send(row)
                    except Exception as exc:  # the sender's own step failed (the database?)
                        log.exception("outbox %d: send step failed; re-queued", row.id)
                        await self._release(row, exc)
                    except asyncio.CancelledError:  # stopped mid-retry: as a restart would
                        log.warning("outbox %d: stopped while sending; re-queued", row.id)
                        await mark_retry(self._db, row, self._clock(), "stopped while sending")
                        raise
        return delivered

    async def _release(self, row: OutboxRow, exc: Exception) -> None:
        try:
            when = self._clock() + _retry_delay(row.attempts)
            await release(self._db, row, when, f"sender: {describe(exc)}")
        except Exception:  # nothing more to do here; the next start re-queues claimed rows
            log.exception("outbox %d: could not be re-queued", row.id)

    async def _wait_for_slot(self, chat_id: int) -> None:
        now = time.monotonic()
        ready = max(
            self._next_slot,
            self._paused_until,
            self._chat_last.get(chat_id, -1e9) + self._per_chat,
        )
        if ready > now:
            await asyncio.sleep(ready - now)
        now = time.monotonic()
        self._next_slot = now + self._min_gap
        self._chat_last[chat_id] = now

    async def _send(self, row: OutboxRow) -> int:
        await self._wait_for_slot(row.chat_id)
        if not await still_claimed(self._db, row):
            log.info("outbox %d: dropped while waiting, not sent", row.id)
            return 0
        try:
            message = await self._bot(build_method(row.chat_id, row.payload))
        except Exception as exc:
            await self._failed(row, exc)
            return 0
        await self._delivered(row, message.message_id)
        return 1

    async def _failed(self, row: OutboxRow, exc: Exception) -> None:
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
        if isinstance(exc, TelegramRetryAfter):
            self._paused_until = time.monotonic() + exc.retry_after
            when = now + timedelta(seconds=exc.retry_after)
            log.warning("outbox %d: flood control, retry in %ss", row.id, exc.retry_after)
        else:
            when = now + _retry_delay(row.attempts)
            if failure is Failure.FINAL:  # not Telegram's: a bug or the unexpected
                log.error("outbox %d: failed, retry at %s", row.id, when, exc_info=exc)
            else:
                log.warning("outbox %d: %s, retry at %s", row.id, describe(exc), when)
        await mark_retry(self._db, row, when, describe(exc), failed_at=now)

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
