"""Long jobs started by an update and run outside it (an import, an export): kept referenced,
awaitable by tests, and given a short grace at shutdown before they are cancelled.

One class for both features: handlers/imports.py and handlers/reports.py each keep their own
instance in the dispatcher's workflow data."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

SHUTDOWN_GRACE = 3.0  # seconds a stopping bot gives running imports (Docker allows 10 in all)


class BackgroundJobs:
    """Per dispatcher: who is importing (or exporting) now, one file at a time per person, and the
    running jobs (kept referenced, and awaitable by tests)."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.background: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def wait_idle(self) -> None:
        while self.background:
            await asyncio.gather(*self.background)

    async def stop(self, grace: float) -> None:
        """Let running imports finish for `grace` seconds, then cancel the rest (each tells its
        person to send the file again)."""
        if not self.background:
            return
        _, pending = await asyncio.wait(set(self.background), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
