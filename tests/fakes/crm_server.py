"""What both fake CRMs share: an aiohttp server on a free port of 127.0.0.1, the log of requests
with their arrival times (to measure the spacing the bot keeps), and injected faults: down (a
proxy's 503 HTML page, as when the CRM is unreachable behind its balancer), garbage (200 with a
body that is not JSON), revoked credentials (401)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Seen:
    at: float  # time.monotonic() on arrival
    what: str  # method or path
    answered: int  # HTTP status


class FakeCRM:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.down = False
        self.garbage = False
        self.revoked = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> FakeCRM:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fault(self) -> web.Response | None:
        """The injected fault's answer, if one is on."""
        if self.down:
            return web.Response(
                status=503,
                text="<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                content_type="text/html",
            )
        if self.garbage:
            return web.Response(status=200, text="<html>oops", content_type="text/html")
        return None

    def note(self, what: str, status: int) -> None:
        self.seen.append(Seen(time.monotonic(), what, status))

    def calls(self, what: str) -> list[Seen]:
        return [s for s in self.seen if s.what == what]

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests, as they arrived."""
        return [b.at - a.at for a, b in zip(self.seen, self.seen[1:], strict=False)]
