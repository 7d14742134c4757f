"""What signed webhooks cost the bot, and how fast they go out:

    nice -n 10 .venv/bin/python -m bench.bench_webhooks [--sales 300] [--events 1000]

On a real SQLite file, with the production storage and deliverer (scheduler/webhooks.py):
  1. a sale recorded (`record_sale`: contact, deal, survey link and now its deal.created event)
     with no URL registered, 1 and 3 URLs subscribed: milliseconds per sale, median and p95;
  2. `--events` events delivered to a local aiohttp receiver that answers 200 at once
     (HOOKS_MAX_IN_FLIGHT 4): deliveries per second, each signed and recorded;
  3. the same against a receiver that answers after 2 s, while sales are recorded meanwhile:
     their median and p95 against (1) with 1 URL, so a slow receiver's effect on the bot shows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from aiohttp import web

from scheduler.webhooks import Webhooks
from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import touch_owner
from storage.webhooks import add_endpoint

OWNER = 111
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)


def _sale(n: int) -> SaleInput:
    return SaleInput(
        idem_key=f"b{n}",
        manager_id=OWNER,
        kind="client",
        full_name=f"Клиент {n}",
        organization="ООО «Берёзка»",
        phone=f"+7916{n:07d}",
        contact_tg_id=None,
        birthday=None,
        description="Кухонный гарнитур",
        deal_date=date(2026, 11, 19),
    )


async def _open(folder: Path, name: str) -> Database:
    db = Database(folder / f"{name}.sqlite3")
    await db.open()
    await touch_owner(db, OWNER, "Ольга", None, "ru", NOW)
    return db


async def _sales(db: Database, first: int, count: int) -> list[float]:
    times = []
    for n in range(first, first + count):
        start = time.perf_counter()
        await record_sale(db, _sale(n), NOW)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _line(name: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1]
    return f"{name}: median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms ({len(times)})"


async def _receiver(delay: float) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/in", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/in"


def _deliverer(db: Database) -> Webhooks:
    return Webhooks(
        db,
        lambda: NOW,
        owner_ids=frozenset({OWNER}),
        notice=lambda kind, url, lang: {"text": url},
        timeout=10,
        max_in_flight=4,
        allow_private=True,  # the bench's receiver is on 127.0.0.1
    )


async def main(sales: int, events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = await _open(folder, "plain")
        await _sales(plain, 0, 20)  # warm-up
        print(_line("sale, no URL", await _sales(plain, 20, sales)))
        await plain.close()

        runner, url = await _receiver(0)
        for count in (1, 3):
            hooked = await _open(folder, f"hooked{count}")
            for _ in range(count):
                await add_endpoint(hooked, url, OWNER, NOW)
            await _sales(hooked, 0, 20)
            print(_line(f"sale, {count} URL(s) subscribed", await _sales(hooked, 20, sales)))
            await hooked.close()

        fast = await _open(folder, "fast")
        await add_endpoint(fast, url, OWNER, NOW)
        await _sales(fast, 0, events)
        hooks = _deliverer(fast)
        start = time.perf_counter()
        delivered = await hooks.drain_once()
        took = time.perf_counter() - start
        await hooks.close()
        print(f"deliveries to a 200-at-once receiver: {delivered} in {took:.2f} s, "
              f"{delivered / took:.0f}/s")  # fmt: skip
        await fast.close()
        await runner.cleanup()

        slow = await _open(folder, "slow")
        runner, url = await _receiver(2.0)
        await add_endpoint(slow, url, OWNER, NOW)
        await _sales(slow, 0, 40)
        hooks = _deliverer(slow)
        drain = asyncio.create_task(hooks.drain_once())
        await asyncio.sleep(0.2)
        meanwhile = await _sales(slow, 1000, sales)
        print(_line(f"sale, 1 URL, while {hooks.in_flight} deliveries wait 2 s each", meanwhile))
        drain.cancel()  # the rest would take minutes; cancelled deliveries go back to the queue
        await asyncio.gather(drain, return_exceptions=True)
        await hooks.close()
        await slow.close()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=300)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.sales, args.events))
