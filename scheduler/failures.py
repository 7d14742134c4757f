"""What a failed Bot API request tells: not sent, may have arrived, carried out, a flood wait, a
refusal. The retry middleware (bot/retries.py), the sender and the handlers' replies all decide
by it.

One decision: a timeout on a request that creates a message counts as "may have arrived"
(MAYBE_DONE), never as "not sent": Telegram has no idempotency key, so repeating it could
deliver twice."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import Enum

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiohttp import client_exceptions

# aiohttp errors raised before any answer could exist: connection refused or timed out while
# connecting, the upload aborted, the connection reset or closed without a reply (some names
# are missing from older aiohttp releases).
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = tuple(
    getattr(client_exceptions, name)
    for name in (
        "ConnectionTimeoutError",
        "ClientConnectorError",
        "UploadAbortedError",
        "ServerDisconnectedError",
        "ClientConnectionResetError",
        "ClientOSError",
    )
    if hasattr(client_exceptions, name)
)


class Failure(Enum):
    """What a failed attempt tells about the request."""

    FLOOD = "429"
    SERVER = "5xx"  # Telegram (or a proxy in front of it) did not take the request
    NOT_SENT = "not sent"  # failed before any answer could exist
    MAYBE_DONE = "timeout"  # the request may have been carried out
    DONE = "done"  # carried out, but the answer could not be read
    FINAL = "final"  # a real refusal (400, 403 ...) or a bug: retrying cannot help


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, TelegramRetryAfter):
        return Failure.FLOOD
    if isinstance(exc, TelegramServerError):
        return Failure.SERVER
    if isinstance(exc, ClientDecodeError):
        data = exc.data
        if isinstance(data, dict) and data.get("ok") is True:
            return Failure.DONE
        return Failure.SERVER
    if isinstance(exc, TelegramNetworkError):
        cause = exc.__cause__
        if isinstance(cause, _NOT_SENT_ERRORS):
            return Failure.NOT_SENT
        if cause is None and "timeout" not in exc.message.lower():
            return Failure.NOT_SENT
        return Failure.MAYBE_DONE  # a read timeout, a reply cut off, anything unclear
    return Failure.FINAL


def describe(exc: BaseException) -> str:
    """One short line about a failure (a proxy's error page is not copied into the log)."""
    if isinstance(exc, ClientDecodeError):
        content = " ".join(str(exc.data).split())
        return f"unreadable answer: {content[:80]}"
    if isinstance(exc, TelegramRetryAfter):
        return f"retry after {exc.retry_after} s"
    if isinstance(exc, TelegramAPIError):
        return f"{type(exc).__name__}: {exc.message.splitlines()[0]}"
    return f"{type(exc).__name__}: {exc}"


_skip_flood_waits: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "skip_flood_waits", default=False
)
_before_retry: contextvars.ContextVar[Callable[[], Awaitable[None]] | None] = (
    contextvars.ContextVar("before_retry", default=None)
)


@contextmanager
def no_flood_waits(before_retry: Callable[[], Awaitable[None]] | None = None) -> Iterator[None]:
    """Inside, the retry middleware raises a 429 at once instead of waiting it out (its other
    retries stay): for the outbox sender, which pauses only the chat, or everybody, that the 429
    was about. `before_retry` is awaited before each of those other retries (the sender takes
    a token for it: a repeat is one more request to Telegram)."""
    token = _skip_flood_waits.set(True)
    hook = _before_retry.set(before_retry)
    try:
        yield
    finally:
        _before_retry.reset(hook)
        _skip_flood_waits.reset(token)


def flood_waits_skipped() -> bool:
    return _skip_flood_waits.get()


def before_retry() -> Callable[[], Awaitable[None]] | None:
    """What to await before the retry middleware repeats a request (see `no_flood_waits`)."""
    return _before_retry.get()
