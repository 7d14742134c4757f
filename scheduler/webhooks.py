"""The deliverer of signed webhooks: drains the queue storage/events.py fills, in the background.

Each delivery is one POST of the event's JSON with `X-Followup-Signature: t=<unix>,v1=<hex>`,
the HMAC-SHA256 of `f"{t}.{body}"` under the endpoint's secret (Stripe's scheme: the timestamp
is signed too, so a receiver can refuse an old replay), and `X-Followup-Event-Id`. A 2xx ends it;
a 410 Gone pauses the endpoint at once (the owners told once, the event held, not retried);
anything else (another status, 4xx included, a refused connection, no answer within `timeout`)
is tried again after an exponential back-off with jitter (`BASE_DELAY` doubling up to
`MAX_DELAY`, each wait between half and all of it), for a day after the first failure; then it
is given up. An endpoint without a success for a day is paused and the owners are told once
(storage/webhooks.py). Unless `allow_private`, a request goes only to public addresses, checked
after the lookup (scheduler/hooks_guard.py); an internal one is a failure like a refused
connection. Events held by a paused endpoint for `HOLD_FOR` are dropped in the hourly clean-up.

The one non-obvious decision: the deliverer never holds anything the bot's users wait for. It
has its own aiohttp session, at most `max_in_flight` requests out (a slow receiver holds a
slot, never the event loop or the database), each bounded by `timeout`; the database is touched
only in short writes before and after a request, never across one. A crash or SIGKILL leaves
claimed rows, which the next start puts back: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from domain.clock import Clock
from domain.hooks import private_url
from scheduler.hooks_guard import GuardedResolver, Refused
from storage import Database
from storage.webhooks import (
    Delivery,
    NoticeRender,
    any_due,
    claim_due,
    drop_held,
    mark_delivered,
    mark_failed,
    mark_gone,
    next_due,
    prune,
    recover_claimed,
    release,
)

log = logging.getLogger(__name__)

BASE_DELAY = 10.0  # seconds before the first retry (at most; jitter takes up to half off)
MAX_DELAY = 3600.0
IDLE_SECONDS = 1.0  # how often an idle deliverer looks for new events
PRUNE_SECONDS = 3600.0  # how often old finished deliveries, and over-held ones, are dropped
STOP_SECONDS = 2.0  # then the requests still out are cancelled and sent again after the restart
SIGNATURE_HEADER = "X-Followup-Signature"
EVENT_ID_HEADER = "X-Followup-Event-Id"
USER_AGENT = "followup-bot-webhooks/1"
GONE = 410  # the receiver says the URL is gone: pause it, do not retry
INTERNAL = "refused: an internal address (set HOOKS_ALLOW_PRIVATE=1 to allow)"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for this body at this instant."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def retry_delay(attempts: int, jitter: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt; `jitter` in [0, 1) takes up to half off
    (so receivers recovering from an outage are not hit by every sender at once)."""
    full = min(MAX_DELAY, BASE_DELAY * 2 ** min(max(attempts, 1) - 1, 20))
    return timedelta(seconds=full * (1 - jitter / 2))


def host_of(url: str) -> str:
    """What the log names: the host, never the path (a receiver's path may hold a token)."""
    return urlsplit(url).hostname or "?"


class Webhooks:
    """One per process: `start()` at start-up, `stop()` at shutdown; tests call `drain_once()`."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        owner_ids: frozenset[int],
        notice: NoticeRender,
        timeout: float = 10.0,
        max_in_flight: int = 4,
        jitter: Callable[[], float] = random.random,
        allow_private: bool = False,
        resolver: Callable[[], AbstractResolver] | None = None,
    ) -> None:
        """`allow_private` lets requests go to internal addresses (HOOKS_ALLOW_PRIVATE, for a
        receiver on the same network); `resolver` makes the DNS resolver (tests pass a fake)."""
        self._db = db
        self._clock = clock
        self._owner_ids = owner_ids
        self._notice = notice
        self._timeout = timeout
        self._max_in_flight = max(1, max_in_flight)
        self._jitter = jitter
        self._allow_private = allow_private
        self._resolver = resolver or DefaultResolver
        self._session: aiohttp.ClientSession | None = None
        self._dns: AbstractResolver | None = None  # the session's (its connector does not own it)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self.in_flight = 0

    def kick(self) -> None:
        self._wake.set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._dns = self._resolver()
            if not self._allow_private:  # the connector connects only to what it yields
                self._dns = GuardedResolver(self._dns)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=self._dns),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def start(self) -> None:
        recovered = await recover_claimed(self._db)
        if recovered:
            log.warning("webhooks: %d interrupted deliveries will be sent again", recovered)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, timeout=STOP_SECONDS)
            self._task = None
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._dns is not None:
            await self._dns.close()
            self._dns = None

    async def _run(self) -> None:
        pruned_at = -PRUNE_SECONDS
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            try:
                if loop.time() - pruned_at >= PRUNE_SECONDS:
                    pruned_at = loop.time()
                    await prune(self._db, self._clock())
                    await drop_held(self._db, self._clock(), self._owner_ids, self._notice)
                await self.drain_once()
            except Exception:  # never let the loop die; the rows stay queued
                log.exception("webhooks: drain failed")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._idle())

    async def _idle(self) -> float:
        try:
            due = await next_due(self._db)
        except Exception:  # a failed read must not end the loop: look again in a while
            log.exception("webhooks: reading the next due delivery failed")
            return IDLE_SECONDS
        if due is None:
            return IDLE_SECONDS
        return min(IDLE_SECONDS, max(0.05, (due - self._clock()).total_seconds()))

    async def drain_once(self) -> int:
        """Send what is due now, at most `max_in_flight` at once, until nothing more is due
        (deliveries it retries fall due later); returns how many were delivered."""
        tasks: set[asyncio.Task[bool]] = set()
        delivered = 0
        try:
            while True:
                free = self._max_in_flight - len(tasks)
                claimed: list[Delivery] = []
                # Looked at first without the writer's lock: an idle deliverer never writes.
                if free > 0 and not self._stopping and await any_due(self._db, self._clock()):
                    claimed = await claim_due(self._db, self._clock(), free)
                    for delivery in claimed:
                        tasks.add(asyncio.create_task(self._deliver(delivery)))
                if not tasks:
                    return delivered
                if claimed and len(claimed) == free:
                    continue  # the slots are full: wait for one below
                # With a slot free, a new event need not wait for a slow receiver's answer.
                timeout = IDLE_SECONDS if len(tasks) < self._max_in_flight else None
                done, _ = await asyncio.wait(
                    tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    tasks.discard(task)
                    delivered += task.result()
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _deliver(self, delivery: Delivery) -> bool:
        self.in_flight += 1
        try:
            error, status = await self._post(delivery)
        except asyncio.CancelledError:
            # Stopped mid-request: as a restart would, it goes again (at least once).
            with contextlib.suppress(Exception):
                await release(self._db, delivery)
            raise
        finally:
            self.in_flight -= 1
        try:
            if error is None:
                await mark_delivered(self._db, delivery, self._clock())
                return True
            if status == GONE:
                await self._gone(delivery)
                return False
            await self._failed(delivery, error)
        except Exception:  # the database failed: the row stays claimed, the next start re-sends
            log.exception("webhook delivery %d: outcome not recorded", delivery.id)
        return False

    async def _post(self, delivery: Delivery) -> tuple[str | None, int | None]:
        """One attempt: (None if the receiver took it (2xx), else what went wrong; its status)."""
        if not self._allow_private and private_url(delivery.url):
            return INTERNAL, None  # an IP literal: aiohttp asks no resolver about it
        stamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(delivery.secret, stamp, delivery.body),
            EVENT_ID_HEADER: delivery.event_uid,
        }
        try:
            async with self._client().post(
                delivery.url, data=delivery.body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return None, response.status
                return f"HTTP {response.status}", response.status
        except TimeoutError:
            return f"no answer within {self._timeout:g} s", None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, Refused):
                return INTERNAL, None
            return f"{type(exc).__name__}", None
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}", None
        except ValueError as exc:  # an URL aiohttp cannot use
            return f"bad URL: {type(exc).__name__}", None
        except Exception as exc:  # never leave the row claimed: it is a failure like any other
            log.exception("webhook delivery %d: unexpected failure", delivery.id)
            return f"unexpected: {type(exc).__name__}", None

    async def _gone(self, delivery: Delivery) -> None:
        paused = await mark_gone(self._db, delivery, self._clock(), self._owner_ids, self._notice)
        log.error(
            "webhook endpoint %d (%s) answered 410 Gone%s",
            delivery.endpoint_id,
            host_of(delivery.url),
            ": paused" if paused else "",
        )

    async def _failed(self, delivery: Delivery, error: str) -> None:
        now = self._clock()
        when = now + retry_delay(delivery.attempts, self._jitter())
        outcome = await mark_failed(
            self._db, delivery, error, now, when, self._owner_ids, self._notice
        )
        where = host_of(delivery.url)
        if outcome.gave_up:
            log.error(
                "webhook delivery %d to %s given up after a day: %s", delivery.id, where, error
            )
        else:
            log.warning(
                "webhook delivery %d to %s failed (%s); attempt %d at %s",
                delivery.id,
                where,
                error,
                delivery.attempts + 1,
                when,
            )
        if outcome.paused:
            log.error(
                "webhook endpoint %d (%s) paused: a day of failures", delivery.endpoint_id, where
            )
