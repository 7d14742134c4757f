"""A webhook receiver in the test process (aiohttp on 127.0.0.1): records what it gets and
answers as told (200, 500, slowly, or not before the deliverer's timeout)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`status` is what it answers; with `hold` set, each request waits for `release` first."""

    status: int = 200
    hold: bool = False
    fail_first: int = 0  # answer 500 to this many requests first
    received: list[Received] = field(default_factory=list)
    concurrent: int = 0
    most_concurrent: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    two_waiting: asyncio.Event = field(default_factory=asyncio.Event)  # two requests held at once
    _runner: web.AppRunner | None = None
    url: str = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Received(dict(request.headers), body))
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        self.arrived.set()
        if self.concurrent >= 2:
            self.two_waiting.set()
        try:
            if self.hold:
                await self.release.wait()
            if self.fail_first > 0:
                self.fail_first -= 1
                return web.Response(status=500, text="<html>oops</html>")
            return web.Response(status=self.status, text="ok")
        finally:
            self.concurrent -= 1

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hooks/in?key=abc"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def types(self) -> list[str]:
        return [r.event["type"] for r in self.received]


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Callable[..., bool]:
    """The verification snippet of the README, run as it is written there."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- webhook-verify -->", 1)[1].split("```python", 1)[1]
    code = block.split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), scope)
    return scope["verify"]
