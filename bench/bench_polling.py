"""Our long polling against aiogram's own: updates per second, and how long a person waits.

    nice -n 10 python -m bench.bench_polling        # both measurements, 3 runs each
    python -m bench.bench_polling --updates 2000 --people 50 --runs 5

Both variants run the production dispatcher (`create_dispatcher`: every router, middleware and
per-chat isolation) against the fake Bot API (`tests/fakes/bot_api.py`) in the same process, on
a fresh database, with the same workload: the updates are queued at once, each a /help from a
person the bot does not know (a database read for the role, one reply) — the lightest real
handler, so the journal's two writes per update weigh as much as they ever will.

- "aiogram default": `dp.start_polling` (each update a background task, the next getUpdates at
  once, confirming updates nobody has handled yet) and no update journal;
- "bot.polling": `bot.polling.Poller` with the update journal (nothing lost, nothing twice).

Throughput: every update queued at once; updates handled per second, from the first getUpdates to
the last reply, median of the runs (the fake server shares the process and its CPU, equally in
both variants).

Waiting: `--inflight` people (50) each send /help, wait for the reply and send again, `--rounds`
times, while one more person's replies take `--slow` seconds at the fake API (a slow update: a
big photo, a slow network to one chat). The figure is p50/p95 of the time from queueing an update
to the reply reaching the fake, over the fast people's updates: what head-of-line blocking costs
(a design that handles a batch to the end makes everyone in the slow person's batch wait).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


class TimedAPI(FakeBotAPI):
    """The fake Bot API noting when each chat's reply arrives, and slow to answer `slow` chats."""

    def __init__(self, *args: Any, slow: dict[int, float] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slow = slow or {}
        self.waiting: dict[int, asyncio.Future[float]] = {}

    async def _execute(self, call: Any) -> Any:
        if call.name == "sendmessage" and call.chat_id in self.slow:
            await asyncio.sleep(self.slow[call.chat_id])
        result = await super()._execute(call)
        if call.name == "sendmessage":
            waiter = self.waiting.pop(call.chat_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())
        return result

    async def ask(self, user_id: int) -> float:
        """The person sends /help; seconds until the bot's reply reaches this server."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[user_id] = waiter
        started = time.perf_counter()
        await self.users[user_id].send("/help")
        return await asyncio.wait_for(waiter, 120) - started


@asynccontextmanager
async def running_bot(api: FakeBotAPI, ours: bool) -> AsyncIterator[None]:
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
        if ours:
            poller = Poller(dp, bot)
            task = asyncio.create_task(poller.run())
        else:
            # aiogram as it comes: no journal (the base class's feed_update), tasks
            dp.feed_update = _plain_feed_update(dp)  # type: ignore[method-assign]
            task = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
        try:
            yield
        finally:
            if ours:
                poller.stop.set()
            else:
                await dp.stop_polling()
            await task
            await bot.session.close()
            await db.close()


async def one_run(ours: bool, updates: int, people: int) -> float:
    async with FakeBotAPI(TOKEN, bot_id=BOT_ID) as api:
        users = [api.user(500_000 + n, f"Гость {n}") for n in range(people)]
        for n in range(updates):
            await users[n % people].send("/help")
        started = time.perf_counter()
        async with running_bot(api, ours):
            await api.wait_until(
                lambda: len(api.calls("sendMessage")) >= updates, timeout=600, description="replies"
            )
            elapsed = time.perf_counter() - started
    return updates / elapsed


async def waiting_run(ours: bool, inflight: int, rounds: int, slow: float) -> list[float]:
    """Seconds each fast person's update waited for its reply, with one slow person alongside."""
    slow_id = 600_000
    async with TimedAPI(TOKEN, bot_id=BOT_ID, slow={slow_id: slow}) as api:
        fast = [api.user(500_000 + n, f"Гость {n}").id for n in range(inflight)]
        api.user(slow_id, "Медленный")
        waits: list[float] = []
        async with running_bot(api, ours):
            await api.wait_polling(timeout=60)
            done = asyncio.Event()

            async def slow_person() -> None:
                while not done.is_set():
                    await api.ask(slow_id)

            async def person(user_id: int) -> None:
                for _ in range(rounds):
                    waits.append(await api.ask(user_id))

            slow_task = asyncio.create_task(slow_person())
            await asyncio.gather(*(person(user_id) for user_id in fast))
            done.set()
            await slow_task
    return waits


def _plain_feed_update(dp: AiogramDispatcher) -> Any:
    async def feed_update(bot: Any, update: Any, **kwargs: Any) -> Any:
        return await AiogramDispatcher.feed_update(dp, bot, update, **kwargs)

    return feed_update


VARIANTS = (("aiogram default", False), ("bot.polling", True))


async def main_async(args: argparse.Namespace) -> None:
    results: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
    waits: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
    await one_run(True, min(args.updates, 100), args.people)  # warm-up: imports, connections
    for _ in range(args.runs):
        for name, ours in VARIANTS:
            results[name].append(await one_run(ours, args.updates, args.people))
            waits[name].extend(await waiting_run(ours, args.inflight, args.rounds, args.slow))
    print(f"{args.updates} updates from {args.people} people, median of {args.runs} runs:")
    for name, rates in results.items():
        spread = f"{min(rates):.0f}–{max(rates):.0f}"
        print(f"  {name:24} {statistics.median(rates):7.0f} updates/s   ({spread})")
    print(
        f"{args.inflight} people in flight x {args.rounds} rounds, one more person's replies "
        f"{args.slow:g} s slow; update to reply over {args.runs} runs:"
    )
    for name, seconds in waits.items():
        cuts = statistics.quantiles(seconds, n=20)
        print(f"  {name:24} p50 {cuts[9]:.3f} s   p95 {cuts[18]:.3f} s   max {max(seconds):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--slow", type=float, default=0.5)
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
