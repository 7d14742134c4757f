"""Talking to a CRM over HTTP: one limiter per portal or account, and what a failure means.

The non-obvious decision: a failure is sorted into what the caller does next, not by status
code. AUTH (401, a revoked webhook or token) waits for the owner; BUSY (Bitrix24's
QUERY_LIMIT_EXCEEDED, amoCRM's 429) is retried here after a back-off, in the same limiter slot
order; TEMPORARY (5xx, a timeout, a connection refused, an error page instead of JSON) puts the
work back in its table for later; REFUSED (another 4xx, a deal that is gone) ends that piece of
work with its reason. Secrets (the webhook URL's code, the token) never reach an exception
message: errors name the account and the method only.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

# Bitrix24 allows about 2 requests a second per portal, amoCRM 7 per account. The bot keeps a
# margin under both (0.55 s, 0.17 s between request starts): a request delayed on its way
# arrives closer to the next one than it left, and the CRM counts arrivals.
BITRIX_LIMIT, AMO_LIMIT = 0.5, 1 / 7
BITRIX_INTERVAL = 0.55
AMO_INTERVAL = 0.17
REQUEST_TIMEOUT = 20.0
BUSY_RETRIES = 4  # back-offs of 1, 2, 4, 8 s (times `backoff`) before giving the work back


class Failure(enum.Enum):
    AUTH = "auth"
    BUSY = "busy"
    TEMPORARY = "temporary"
    REFUSED = "refused"


class CrmError(Exception):
    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


class Limiter:
    """Requests of one portal start at least `interval` seconds apart (across every task)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = self._clock()
            if now < self._next:
                await asyncio.sleep(self._next - now)
                now = self._clock()
            self._next = now + self.interval

    def hold(self, seconds: float) -> None:
        """After a "too many requests": nobody on this portal asks again for `seconds`."""
        self._next = max(self._next, self._clock() + seconds)


class Transport:
    """One aiohttp session for every CRM; one `Limiter` per account key."""

    def __init__(self, *, backoff: float = 1.0, timeout: float = REQUEST_TIMEOUT) -> None:
        self.backoff = backoff
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._limiters: dict[str, Limiter] = {}

    def limiter(self, key: str, interval: float) -> Limiter:
        limiter = self._limiters.get(key)
        if limiter is None or limiter.interval != interval:
            limiter = self._limiters[key] = Limiter(interval)
        return limiter

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        limiter: Limiter,
        what: str,
        method: str,
        url: str,
        classify: Callable[[int, Any], CrmError | None],
        **kwargs: Any,
    ) -> Any:
        """The decoded JSON answer (None for an empty one); `classify` turns a status and body
        into the `CrmError` to raise, or None for a success. BUSY is retried here."""
        for attempt in range(BUSY_RETRIES + 1):
            await limiter.wait()
            try:
                status, body = await self._once(method, url, **kwargs)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise CrmError(Failure.TEMPORARY, f"{what}: {type(exc).__name__}") from None
            error = classify(status, body)
            if error is None:
                return body
            if error.failure is not Failure.BUSY or attempt == BUSY_RETRIES:
                if error.failure is Failure.BUSY:
                    error.failure = Failure.TEMPORARY
                raise error
            pause = self.backoff * 2**attempt
            limiter.hold(pause)
            log.info("%s: %s; waiting %.1f s", what, error, pause)
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        session = self._open()
        async with session.request(method, url, allow_redirects=False, **kwargs) as response:
            raw = await response.read()
            if not raw.strip():
                return response.status, None
            try:
                return response.status, json.loads(raw)
            except ValueError:  # an error page of a proxy, or a truncated answer
                if response.status < 400:
                    return 599, None  # unreadable: temporary, never taken as a success
                return response.status, None
