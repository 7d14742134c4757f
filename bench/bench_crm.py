"""The CRM connectors under a burst, against the fake Bitrix24 on 127.0.0.1:

    nice -n 10 python -m bench.bench_crm [--deals 200] [--updates 5]

Bitrix24 sends an ONCRMDEALUPDATE for every edit of a deal. A burst of `deals` won deals, each
updated `updates` times, is posted to the bot's event address (20 at a time), while the worker
runs at the real pace (one call every 0.55 s per portal). Measured: how fast events are taken
(events a second, p50/p95 of the 200 answer: what Bitrix24 waits for), how many reads of the
portal the burst cost (a pending event per deal absorbs the repeats), and, for the first 10
deals, the time until their timeline comment. The fake runs in the same process and loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from crm import store
from crm.http import Transport
from crm.service import CrmService
from crm.web import add_routes
from domain.settings import Settings
from storage import Database
from storage.settings import LiveSettings
from storage.staff import touch_owner
from tests.fakes.bitrix24 import APP_TOKEN, FakeBitrix24

OWNER = 111


class _Me:
    username = "bench_bot"


class _Bot:
    async def me(self) -> _Me:
        return _Me()


async def main(deals: int, updates: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            bot_token="1:x", owner_ids=frozenset({OWNER}), database_path=Path(tmp) / "b.sqlite3"
        )
        db = Database(settings.database_path)
        await db.open()
        live = LiveSettings(settings, db)
        await live.get()
        now = datetime.now(UTC)
        await touch_owner(db, OWNER, "Owner", None, "ru", now)
        service = CrmService(db, live, lambda: datetime.now(UTC), transport=Transport())
        async with FakeBitrix24() as fake:
            for deal in range(1, deals + 1):
                phone = f"+7 916 {deal // 10000:03d}-{deal // 100 % 100:02d}-{deal % 100:02d}"
                fake.won(deal, contact={"NAME": f"Client {deal}", "PHONE": [{"VALUE": phone}]},
                         assigned="1")  # fmt: skip
            connection = await store.save_connection(
                db, kind="bitrix24", account=fake.account, base_url=fake.url, token=None,
                created_by=OWNER, now=now,
            )  # fmt: skip
            app = aiohttp.web.Application()
            add_routes(app, service)
            runner = aiohttp.web.AppRunner(app, access_log=None)
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            where = f"http://127.0.0.1:{port}/crm/bitrix24/{connection.path_secret}"
            await service.start(_Bot())
            queue = [d for _ in range(updates) for d in range(1, deals + 1)]
            latencies: list[float] = []
            commented: dict[int, float] = {}
            began = time.perf_counter()

            async def poster(session: aiohttp.ClientSession, items: list[int]) -> None:
                for deal in items:
                    form = {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": str(deal),
                            "auth[application_token]": APP_TOKEN}  # fmt: skip
                    t0 = time.perf_counter()
                    async with session.post(where, data=form) as r:
                        assert r.status == 200, r.status
                    latencies.append(time.perf_counter() - t0)

            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(poster(session, queue[i::20]) for i in range(20)))
            posted = time.perf_counter() - began
            while len(commented) < min(10, deals):
                for deal_id, _ in fake.comments:
                    commented.setdefault(deal_id, time.perf_counter() - began)
                await asyncio.sleep(0.05)
            reads = len(fake.calls("crm.deal.get"))
            await service.stop()
            await runner.cleanup()
        await db.close()
    q = statistics.quantiles(latencies, n=20)
    print(f"{len(queue)} events ({deals} deals x {updates} updates) taken in {posted:.2f} s: "
          f"{len(queue) / posted:.0f} events/s, answer p50 {q[9] * 1000:.1f} ms, "
          f"p95 {q[18] * 1000:.1f} ms")  # fmt: skip
    print(f"crm.deal.get calls during the burst and after: {reads} (events: {len(queue)})")
    first = sorted(commented.values())[: min(10, deals)]
    print(f"first 10 deals on the timeline after: {', '.join(f'{s:.1f}' for s in first)} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=200)
    parser.add_argument("--updates", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.deals, args.updates))
