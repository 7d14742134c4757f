"""What confirming updates only after handling them costs: updates per second, with and without.

    python -m bench.bench_polling                  # 1,000 updates from 100 people, 3 runs each
    python -m bench.bench_polling --updates 2000 --people 50 --runs 5

Both variants run the production dispatcher (`create_dispatcher`: every router, middleware and
per-chat isolation) against the fake Bot API (`tests/fakes/bot_api.py`) in the same process, on
a fresh database, with the same workload: the updates are queued at once, each a /help from a
person the bot does not know (a database read for the role, one reply) — the lightest real
handler, so the journal's two writes per update weigh as much as they ever will.

- "aiogram default": `dp.start_polling` (each update a background task, the next getUpdates at
  once, confirming updates nobody has handled yet) and no update journal;
- "confirm after handling": `bot.polling.Poller` (a batch handled to the end before the next
  getUpdates confirms it, people in parallel) with the journal noting each update begun and
  finished.

The figure is updates handled per second, from the first getUpdates to the last reply, median of
the runs (the fake server shares the process and its CPU, equally in both variants).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiogram import Dispatcher as AiogramDispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import create_bot, create_dispatcher
from bot.clock import system_clock
from bot.polling import Poller
from domain.settings import Settings
from scheduler.sender import Sender
from storage import Database
from tests.fakes.bot_api import FakeBotAPI

TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
BOT_ID = 123456789


async def one_run(confirm_after: bool, updates: int, people: int) -> float:
    async with FakeBotAPI(TOKEN, bot_id=BOT_ID) as api:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                bot_token=TOKEN,
                owner_ids=frozenset({111}),
                database_path=Path(folder) / "bot.sqlite3",
                telegram_api_url=api.url,
            )
            db = Database(settings.database_path)
            await db.open()
            bot = create_bot(settings, AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
            sender = Sender(bot, db, system_clock, rate=0, per_chat_interval=0)
            dp = create_dispatcher(settings, db, sender)
            dp.startup.handlers.clear()  # menus, scheduler, catch-up: not what is measured
            dp.shutdown.handlers.clear()
            users = [api.user(500_000 + n, f"Гость {n}") for n in range(people)]
            for n in range(updates):
                await users[n % people].send("/help")
            started = time.perf_counter()
            if confirm_after:
                poller = Poller(dp, bot)
                task = asyncio.create_task(poller.run())
            else:
                # aiogram as it comes: no journal (the base class's feed_update), tasks
                dp.feed_update = _plain_feed_update(dp)  # type: ignore[method-assign]
                task = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
            await api.wait_until(
                lambda: len(api.calls("sendMessage")) >= updates, timeout=600, description="replies"
            )
            elapsed = time.perf_counter() - started
            if confirm_after:
                poller.stop.set()
                await task
            else:
                await dp.stop_polling()
                await task
            await bot.session.close()
            await db.close()
    return updates / elapsed


def _plain_feed_update(dp: AiogramDispatcher) -> Any:
    async def feed_update(bot: Any, update: Any, **kwargs: Any) -> Any:
        return await AiogramDispatcher.feed_update(dp, bot, update, **kwargs)

    return feed_update


async def main_async(updates: int, people: int, runs: int) -> None:
    results: dict[str, list[float]] = {"aiogram default": [], "confirm after handling": []}
    await one_run(True, min(updates, 100), people)  # warm-up: imports, first connections
    for _ in range(runs):
        for name, confirm_after in (("aiogram default", False), ("confirm after handling", True)):
            results[name].append(await one_run(confirm_after, updates, people))
    print(f"{updates} updates from {people} people, median of {runs} runs:")
    for name, rates in results.items():
        spread = f"{min(rates):.0f}–{max(rates):.0f}"
        print(f"  {name:24} {statistics.median(rates):7.0f} updates/s   ({spread})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main_async(args.updates, args.people, args.runs))


if __name__ == "__main__":
    main()
