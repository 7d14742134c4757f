"""What the retry middleware costs and what it buys, against the fake Bot API on 127.0.0.1:

    python -m bench.bench_retries [--calls 500]

1. The cost on a healthy API: sendMessage calls per second with and without the middleware.
2. What it buys: the same calls while one in three fails (429 with retry_after=1, 5xx as JSON
   and as HTML, dropped connections; timeouts are left out, they take the whole client timeout):
   how many calls succeeded, how many attempts were made, and the time per call.
The fake server runs in the same process and event loop, so absolute figures include it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.retries import RetryMiddleware
from tests.fakes.bot_api import FakeBotAPI

TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
CHAT = 4001


async def run(api: FakeBotAPI, calls: int, *, retries: bool) -> dict[str, Any]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.url), timeout=10)
    if retries:
        session.middleware(RetryMiddleware(60))
    bot = Bot(TOKEN, session=session)
    before = len(api.requests)
    durations: list[float] = []
    ok = 0
    start = time.perf_counter()
    try:
        for n in range(calls):
            began = time.perf_counter()
            try:
                await bot.send_message(CHAT + n % 10, f"message {n}")
                ok += 1
            except Exception:  # counted as not delivered
                pass
            durations.append(time.perf_counter() - began)
    finally:
        await session.close()
    total = time.perf_counter() - start
    return {
        "ok": ok,
        "attempts": len(api.requests) - before,
        "per_second": calls / total,
        "median_ms": statistics.median(durations) * 1000,
        "worst_ms": max(durations) * 1000,
    }


def show(figures: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
    )


async def main(calls: int) -> None:
    logging.disable(logging.WARNING)  # one line per retry would drown the figures
    async with FakeBotAPI(TOKEN) as api:
        for retries in (False, True, False, True):  # twice each, interleaved: the noise shows
            figures = await run(api, calls, retries=retries)
            print(f"healthy API, middleware {'on ' if retries else 'off'}: {show(figures)}")
        kinds = ("429", "5xx_json", "5xx_html", "drop")
        for retries in (False, True):
            api.chaos(1 / 3, seed=1, kinds=kinds)
            figures = await run(api, calls // 5, retries=retries)
            api.calm()
            print(f"1 in 3 failing, middleware {'on ' if retries else 'off'}: {show(figures)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    asyncio.run(main(parser.parse_args().calls))
