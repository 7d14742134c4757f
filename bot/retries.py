"""Retrying Telegram's transient errors for every Bot API call (a request middleware on the
bot's session, registered by `create_bot`, so handlers, the sender and the tests all get it).

aiogram does not retry (its open enhancement #1875), so one 429, one 502 page from a proxy or
one dropped connection used to lose a reply for good. Here a call is repeated, with back-off,
until it succeeds or its time budget (`TELEGRAM_RETRY_SECONDS`) is spent, when it failed:

* with 429 Too Many Requests: after Telegram's `retry_after` (at once raised if that is beyond
  the budget, so the outbox re-queues the row instead of blocking);
* with a 5xx, or an answer that is not Telegram's JSON at all (`ClientDecodeError`: an HTML error
  page of a proxy) — Telegram did not take the request;
* before an answer could exist: connection refused, connect timeout, upload aborted, connection
  reset or closed without a reply.

The one non-obvious decision: a *read timeout* (and a reply cut off half-way) of a method that
creates a message (`send*`, `copyMessage`, `forwardMessage` …) is never retried, because the
request may have been carried out and Telegram has no idempotency key: a duplicate alert or
question is worse than the one reply the log reports. Idempotent methods (edits, callback
answers, getUpdates, getMe, setMyCommands …) are retried after a timeout too, and a retry that
Telegram refuses because the first attempt did land ("query is too old", "message to delete not
found", "message is not modified") counts as success. Likewise a well-formed `ok: true` answer
our models cannot read means the request *was* carried out: it is never repeated.

Each retry is logged at WARNING with the method name and the reason; never the token (the URL
is not logged, and `bot.logs` redacts whatever else might contain it).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramRetryAfter,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from scheduler.failures import Failure, before_retry, classify, describe, flood_waits_skipped

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 30.0
FIRST_DELAY = 0.5
MAX_DELAY = 5.0

# Methods that create something each time they are carried out: a timeout may hide a success.
_CREATING_PREFIXES = ("send", "copymessage", "forwardmessage", "createchatinvitelink")

# Refusals that, after an attempt that may have landed, mean it did.
_ALREADY_DONE = {
    "answercallbackquery": ("query is too old", "query id is invalid"),
    "deletemessage": ("message to delete not found",),
    "editmessagetext": ("message is not modified",),
    "editmessagecaption": ("message is not modified",),
    "editmessagereplymarkup": ("message is not modified",),
}


_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar("retries_disabled", default=False)


@contextmanager
def no_retries() -> Iterator[None]:
    """Calls made inside are tried once: for a caller with its own retry loop and log line (the
    start-up check of the token)."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def creates_message(method: TelegramMethod[Any]) -> bool:
    return method.__api_method__.lower().startswith(_CREATING_PREFIXES)


def _already_done(method: TelegramMethod[Any], exc: BaseException) -> bool:
    phrases = _ALREADY_DONE.get(method.__api_method__.lower(), ())
    return isinstance(exc, TelegramBadRequest) and any(p in exc.message for p in phrases)


class RetryMiddleware(BaseRequestMiddleware):
    """Retries one Bot API call within `budget` seconds; see the module docstring."""

    def __init__(
        self,
        budget: float = DEFAULT_BUDGET_SECONDS,
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._monotonic = monotonic

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _disabled.get():
            return await make_request(bot, method)
        name = method.__api_method__
        deadline = self._monotonic() + self.budget
        delay = self._first_delay
        attempt = 1
        maybe_landed = False  # an earlier attempt may have been carried out
        while True:
            try:
                return await make_request(bot, method)
            except Exception as exc:
                if maybe_landed and _already_done(method, exc):
                    log.info("%s: done by the earlier attempt (%s)", name, describe(exc))
                    return True  # type: ignore[return-value]  # what these methods return
                failure = classify(exc)
                if failure in (Failure.FINAL, Failure.DONE):
                    raise
                if failure is Failure.FLOOD and flood_waits_skipped():
                    raise
                if failure is Failure.MAYBE_DONE:
                    if creates_message(method):
                        log.warning(
                            "%s: %s; not repeated, it may have arrived", name, describe(exc)
                        )
                        raise
                    maybe_landed = True
                wait = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else delay
                left = deadline - self._monotonic()
                if wait > left:
                    log.warning(
                        "%s failed (%s, %s); giving up after %d attempts",
                        name,
                        failure.value,
                        describe(exc),
                        attempt,
                    )
                    raise
                log.warning(
                    "%s failed (%s, %s); attempt %d in %.1f s",
                    name,
                    failure.value,
                    describe(exc),
                    attempt + 1,
                    wait,
                )
                await self._sleep(wait)
                hook = before_retry()
                if hook is not None:  # the outbox sender: a repeat takes a token too
                    await hook()
                if not isinstance(exc, TelegramRetryAfter):
                    delay = min(delay * 2, self._max_delay)
                attempt += 1


def install(session: Any, budget: float) -> RetryMiddleware:
    """Register the retry middleware on `session` once (a session shared by tests keeps one)."""
    for existing in session.middleware:
        if isinstance(existing, RetryMiddleware):
            existing.budget = budget
            return existing
    middleware = RetryMiddleware(budget)
    session.middleware(middleware)
    return middleware
