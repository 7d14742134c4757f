"""How fast the outbox sender drains against a fake Bot API that enforces Telegram's limits:

    nice -n 10 .venv/bin/python -m bench.bench_sender [--scenario a b c] [--rtt 0.1] [--rate R]

The fake (bench/fake_limits.py, its own process) answers 429 with `retry_after` beyond 30
messages in any second overall or a second message to a chat within 1 s. The bot is the
production one (`create_bot`: the retry middleware included), the sender the production
`Sender` at `SEND_RATE`'s default unless `--rate` is given, the database a real SQLite file.

Scenarios (each on a fresh database, every message queued before the sender starts):
  a  1,500 messages to 500 chats, a realistic mix (300 chats get one, 150 four, 40 ten, 10
     twenty; queued in shuffled order), with `--rtt` (default 100 ms) to Telegram;
  b  a burst of 300 alerts to 10 staff chats (30 each, in shuffled order), same round trip;
  c  1,500 messages to 500 chats round-robin, no round trip (the easy case, for comparison).

Printed per scenario: messages per second (the fake's first to last receipt), 429s (global /
per chat), lost (queued but never received, or not recorded as sent), duplicates (received more
than once), chats whose messages arrived out of order, the smallest gap between two messages to
one chat as the fake saw it, and the most requests the fake had in flight at once. It uses only
the API the sender has had all along, so the same file measures an older commit too.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import create_bot
from bot.clock import system_clock
from domain.settings import Settings
from scheduler.sender import Sender
from storage import Database
from storage.outbox import enqueue

TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"


def realistic_mix() -> list[int]:
    counts = [20] * 10 + [10] * 40 + [4] * 150 + [1] * 300
    chats = [100_000 + n for n, k in enumerate(counts) for _ in range(k)]
    random.Random(14).shuffle(chats)
    return chats


def staff_burst() -> list[int]:
    chats = [900_000 + n for n in range(10) for _ in range(30)]
    random.Random(14).shuffle(chats)
    return chats


def round_robin() -> list[int]:
    return [100_000 + n for _ in range(3) for n in range(500)]


SCENARIOS = {"a": realistic_mix, "b": staff_burst, "c": round_robin}


async def start_fake(rtt: float) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fake_limits", "--rtt", str(rtt), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await proc.stdout.readline()).decode().split()
    return proc, f"http://127.0.0.1:{line[1]}"


async def run(scenario: str, rtt: float, rate: float | None, timeout: float) -> dict[str, Any]:
    chats = SCENARIOS[scenario]()
    proc, url = await start_fake(rtt)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            bot_token=TOKEN, database_path=Path(tmp) / "bench.sqlite3", telegram_api_url=url
        )
        db = Database(settings.database_path)
        await db.open()
        bot = create_bot(settings)
        texts: dict[str, tuple[int, int]] = {}
        seq: Counter[int] = Counter()
        now = system_clock()
        async with db.transaction() as conn:
            for n, chat in enumerate(chats):
                text = f"{chat} #{seq[chat]} ({n})"
                texts[text] = (chat, seq[chat])
                seq[chat] += 1
                await enqueue(conn, chat_id=chat, purpose="bench", payload={"text": text}, now=now)
        sender = Sender(bot, db, system_clock, rate=rate if rate else settings.send_rate)
        started = time.monotonic()
        await sender.start()
        sender.kick()
        timed_out = False
        while True:
            await asyncio.sleep(0.25)
            async with db.read() as conn:
                cur = await conn.execute(
                    "SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed')"
                )
                (waiting,) = await cur.fetchone()  # type: ignore[misc]
            if not waiting:
                break
            if time.monotonic() - started > timeout:
                timed_out = True
                break
        await sender.stop()
        async with db.read() as conn:
            cur = await conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            statuses = dict(await cur.fetchall())  # type: ignore[arg-type]
        await bot.session.close()
        await db.close()
    async with aiohttp.ClientSession() as http, http.get(f"{url}/stats") as response:
        stats = json.loads(await response.text())
    proc.terminate()
    await proc.wait()
    return summarise(scenario, rtt, texts, statuses, stats, timed_out)


def summarise(
    scenario: str,
    rtt: float,
    texts: dict[str, tuple[int, int]],
    statuses: dict[str, int],
    stats: dict[str, Any],
    timed_out: bool,
) -> dict[str, Any]:
    accepted = stats["accepted"]
    received = Counter(text for _, text, _ in accepted)
    by_chat: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for chat, text, at in accepted:
        by_chat[chat].append((at, texts[text][1]))
    out_of_order = sum(
        1
        for arrivals in by_chat.values()
        if [s for _, s in arrivals] != sorted(s for _, s in arrivals)
    )
    gaps = [b[0] - a[0] for arrivals in by_chat.values() for a, b in itertools.pairwise(arrivals)]
    times = [at for _, _, at in accepted]
    span = max(times) - min(times) if len(times) > 1 else 0.0
    refused = Counter(kind for _, kind, _ in stats["refused"])
    return {
        "scenario": scenario,
        "rtt": rtt,
        "messages": len(texts),
        "per_second": (len(received) - 1) / span if span else 0.0,
        "global_429": refused["global"],
        "chat_429": refused["chat"],
        "lost": sum(1 for text in texts if text not in received)
        + sum(n for status, n in statuses.items() if status != "sent"),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "out_of_order": out_of_order,
        "min_chat_gap": min(gaps) if gaps else None,
        "max_in_flight": stats["max_in_flight"],
        "timed_out": timed_out,
    }


def line(r: dict[str, Any]) -> str:
    gap = f"{r['min_chat_gap']:.3f} s" if r["min_chat_gap"] is not None else "-"
    return (
        f"{r['scenario']}: {r['messages']} msgs, rtt {r['rtt'] * 1000:.0f} ms: "
        f"{r['per_second']:.1f} msg/s; 429 global {r['global_429']}, per chat {r['chat_429']}; "
        f"lost {r['lost']}, duplicates {r['duplicates']}, chats out of order {r['out_of_order']}; "
        f"min gap in a chat {gap}; max in flight {r['max_in_flight']}"
        + ("; TIMED OUT" if r["timed_out"] else "")
    )


async def main_async(args: argparse.Namespace) -> None:
    for scenario in args.scenario:
        rtt = 0.0 if scenario == "c" else args.rtt
        result = await run(scenario, rtt, args.rate, args.timeout)
        print(line(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", nargs="+", choices=sorted(SCENARIOS), default=["a", "b", "c"])
    parser.add_argument("--rtt", type=float, default=0.1, help="round trip in a and b, seconds")
    parser.add_argument("--rate", type=float, default=None, help="SEND_RATE (default: its default)")
    parser.add_argument("--timeout", type=float, default=900, help="give up a scenario after this")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
