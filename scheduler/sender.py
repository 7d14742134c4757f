"""The one sender for everything the bot writes first: drains the outbox within Telegram's limits.

Limits: a global rate (`SEND_RATE` per second, Telegram allows about 30) and about one message per
second per chat. A 429 pauses all sending for `retry_after` and re-queues the row. A 403 (blocked,
deactivated) fails the row and marks the person unreachable. A connection error is retried with
back-off; a timeout is not, because the message may have been delivered and Telegram has no
idempotency key (a duplicate alert is worse than the one missing message the log reports).

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
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup

from bot.clock import Clock
from bot.logs import log_context
from storage import Database
from storage.contacts import mark_unreachable
from storage.outbox import (
    OutboxRow,
    claim_due,
    mark_failed,
    mark_retry,
    mark_sent,
    recover_claimed,
    still_claimed,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
IDLE_WAKEUP_SECONDS = 5.0


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


def _is_timeout(exc: TelegramNetworkError) -> bool:
    return "timeout" in exc.message.lower()


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
    except (TelegramAPIError, TelegramNetworkError) as exc:
        return str(exc)
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
                if self._stopping:
                    await mark_retry(self._db, row, self._clock(), "stopped before sending")
                    continue
                with log_context(f"outbox {row.id}"):
                    delivered += await self._send(row)
        return delivered

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
        except TelegramRetryAfter as exc:
            self._paused_until = time.monotonic() + exc.retry_after
            log.warning("outbox %d: flood control, retry in %ss", row.id, exc.retry_after)
            when = self._clock() + timedelta(seconds=exc.retry_after)
            await mark_retry(self._db, row, when, f"429 retry after {exc.retry_after}s")
            return 0
        except TelegramForbiddenError as exc:
            log.warning("outbox %d: chat %d unreachable: %s", row.id, row.chat_id, exc.message)
            await mark_failed(self._db, row, f"403 {exc.message}")
            if row.contact_id is not None:
                await mark_unreachable(self._db, row.contact_id, self._clock())
            return 0
        except TelegramServerError as exc:  # Telegram's 5xx: it did not take the message
            when = self._clock() + _retry_delay(row.attempts)
            if row.attempts >= MAX_ATTEMPTS:
                await mark_failed(self._db, row, f"server: {exc.message}")
            else:
                log.warning("outbox %d: Telegram server error, retry at %s", row.id, when)
                await mark_retry(self._db, row, when, f"server: {exc.message}")
            return 0
        except TelegramNetworkError as exc:
            if _is_timeout(exc) or row.attempts >= MAX_ATTEMPTS:
                log.error("outbox %d: not retried (%s); it may have been delivered", row.id, exc)
                await mark_failed(self._db, row, f"network: {exc.message}")
            else:
                when = self._clock() + _retry_delay(row.attempts)
                log.warning("outbox %d: connection failed, retry at %s: %s", row.id, when, exc)
                await mark_retry(self._db, row, when, f"network: {exc.message}")
            return 0
        except TelegramAPIError as exc:
            log.error("outbox %d: refused by Telegram: %s", row.id, exc.message)
            await mark_failed(self._db, row, exc.message)
            return 0
        newer = await mark_sent(self._db, row, message.message_id, self._clock())
        if newer is not None:
            await self._edit(row, message.message_id, newer)
        return 1

    async def _edit(self, row: OutboxRow, message_id: int, payload: dict[str, Any]) -> None:
        """Bring a just-delivered message up to date with a change made while it was in flight."""
        error = await edit_to(self._bot, row.chat_id, message_id, payload)
        if error is not None:
            log.info("outbox %d: update in flight not applied: %s", row.id, error)
