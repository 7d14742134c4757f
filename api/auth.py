"""Who is calling: the bearer token, its scope, and its share of requests.

`Authorization: Bearer <token>`; anything else is 401. A route declares the scope it needs
(`deals:write` or `read`); a valid token of the other scope gets 403. Each token may make at most
API_RATE requests a second (a token bucket holding one second's worth, so a short burst passes):
beyond it 429 with `Retry-After`. Log lines name the token (its name and id), never its text.

The non-obvious decision: the bucket is taken before the body is read or the database written,
and a refused request costs one token lookup only, so a client hammering past its limit cannot
slow the respondents' taps.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from storage import Database
from storage.api_tokens import ApiToken, check_token

log = logging.getLogger(__name__)

TOKEN_KEY = web.AppKey("api_token", ApiToken)


@dataclass
class Bucket:
    rate: float
    level: float
    at: float


@dataclass
class RateLimiter:
    """A token bucket per API token: `rate` a second, holding at most `rate` (at least 1)."""

    rate: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, Bucket] = field(default_factory=dict)

    def take(self, token_id: int) -> float:
        """0 if the request may go now, else the seconds until it may."""
        now = self.clock()
        size = max(self.rate, 1.0)
        bucket = self._buckets.get(token_id)
        if bucket is None:
            bucket = self._buckets[token_id] = Bucket(self.rate, size, now)
        bucket.level = min(size, bucket.level + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.level >= 1.0:
            bucket.level -= 1.0
            return 0.0
        return (1.0 - bucket.level) / self.rate


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"error": code, "message": message, "errors": []}, status=status, headers=headers
    )


async def authorize(
    request: web.Request, db: Database, limiter: RateLimiter, scopes: tuple[str, ...]
) -> ApiToken | web.Response:
    """The caller's token, or the refusal to answer with."""
    header = request.headers.get("Authorization", "")
    kind, _, presented = header.partition(" ")
    presented = presented.strip()
    if kind.lower() != "bearer" or not presented or len(presented) > 200:
        return error(401, "unauthorized", "send Authorization: Bearer <token> (made in /api)")
    token = await check_token(db, presented)
    if token is None:
        log.warning("api: %s %s refused: unknown or revoked token", request.method, request.path)
        return error(401, "unauthorized", "unknown or revoked token")
    if token.scope not in scopes:
        log.warning(
            "api: token %r (id %d, %s) refused for %s %s (needs %s)",
            token.name,
            token.id,
            token.scope,
            request.method,
            request.path,
            " or ".join(scopes),
        )
        needed = " or ".join(scopes)
        return error(403, "forbidden", f"this token's scope is {token.scope}; {needed} is needed")
    wait = limiter.take(token.id)
    if wait > 0:
        return error(
            429,
            "rate_limited",
            f"at most {limiter.rate:g} requests a second per token",
            **{"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return token
