"""Deals per second through POST /api/v1/deals (single and batch), and what that does to a
respondent's tap latency meanwhile.

    nice -n 10 python -m bench.bench_api                       # base 5,000, 150 surveys a phase
    python -m bench.bench_api --base 20000 --surveys 200 --writers 8 --batch 500

One real bot (`python -m bot`, long polling against bench/fake_api.py, its HTTP API on a local
port: API_PORT) on a database of `--base` recorded sales plus the survey links the respondents
open. Three phases on the same process, each with a fresh crowd of `--surveys` respondents
(bench/bench_updates.py's Crowd: `--in-flight` at a time, each answering the moment a question
arrives): (1) taps alone, the baseline; (2) the same while `--writers` HTTP clients post single
deals back to back (each a new person with a new phone and its own external_id); (3) the same
while one client posts batches of `--batch` deals. Printed per phase: deals recorded, deals/s
over the crowd's span, tap latency p50/p95 (from offering an update to the call carrying the next
question reaching the fake), and at the end a check that the database holds exactly the deals
the API answered 201 for.

The one non-obvious decision: the HTTP clients run in this process beside the fake Bot API and
the respondents (as bench_updates's driver), and the bot has the other core; the driver's CPU
share is printed, so a driver that became the bottleneck is visible rather than mistaken for
the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.bench_updates import (
    OWNER_ID,
    TOKEN,
    Crowd,
    _bot_env,
    _wait,
    copy_database,
    make_database,
    respondents,
)
from bench.fake_api import FastFakeAPI

ROOT = Path(__file__).resolve().parents[1]
API_TOKEN = "fb_bench-token-for-timing-only-0123456789abcdef"


@dataclass
class Phase:
    name: str
    deals: int = 0
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    driver_cpu: float = 0.0
    errors: dict[int, int] = field(default_factory=dict)

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _add_token(database: Path) -> None:
    digest = hashlib.sha256(API_TOKEN.encode()).hexdigest()
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO api_tokens (name, scope, digest, created_by, created_at) "
            "VALUES ('bench', 'deals:write', ?, ?, '2026-11-21 09:00:00')",
            (digest, OWNER_ID),
        )
    conn.close()


_numbers = itertools.count(1)


def _deal() -> dict[str, Any]:
    n = next(_numbers)
    return {
        "external_id": f"bench-{n}",
        "person": {"name": f"Покупатель {n}", "phone": f"+7925{n:07d}"},
        "product": "Кухонный гарнитур",
        "date": "2026-11-20",
    }


async def _writer(
    session: aiohttp.ClientSession, url: str, batch: int, phase: Phase, stop: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    while not stop.is_set():
        if batch:
            payload: Any = {"deals": [_deal() for _ in range(batch)]}
            target = url + "/batch"
        else:
            payload, target = _deal(), url
        async with session.post(target, json=payload, headers=headers) as r:
            await r.read()
            phase.requests += 1
            if r.status == 201:
                phase.deals += batch or 1
            else:
                phase.errors[r.status] = phase.errors.get(r.status, 0) + 1


async def run(args: argparse.Namespace) -> list[Phase]:
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        template = folder / "template.sqlite3"
        print(f"making a base of {args.base} sales + {3 * args.surveys} links …", flush=True)
        tokens = await make_database(template, args.base + 3 * args.surveys)
        database = folder / "run" / "data" / "bot.sqlite3"
        copy_database(template, database)
        _add_token(database)
        crowd_tokens = tokens[args.base :]
        holder: list[Crowd] = []
        api = FastFakeAPI(TOKEN, on_call=lambda call: holder[0].on_call(call) if holder else None)
        port = _free_port()
        phases: list[Phase] = []
        async with api:
            env = _bot_env(api.url, database, ROOT)
            env.update({"API_PORT": str(port), "API_RATE": "10000", "LOG_LEVEL": "WARNING"})
            log = (folder / "run" / "bot.log").open("ab")
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=folder / "run", env=env, stdout=log, stderr=log
            )
            log.close()
            try:
                await _wait(lambda: api.polls > 0 or proc.returncode is not None, 120, "a poll")
                if proc.returncode is not None:
                    raise RuntimeError((folder / "run" / "bot.log").read_text())
                await asyncio.sleep(1.0)
                url = f"http://127.0.0.1:{port}/api/v1/deals"
                plan = (("taps alone", None), ("taps + single deals", 0))
                plan += (("taps + batches", args.batch),)
                async with aiohttp.ClientSession() as session:
                    for index, (name, batch) in enumerate(plan):
                        part = crowd_tokens[index * args.surveys : (index + 1) * args.surveys]
                        phase = Phase(name)
                        crowd = Crowd(api, respondents(part, seed=index), args.in_flight)
                        holder[:] = [crowd]
                        stop = asyncio.Event()
                        writers = []
                        if batch is not None:
                            count = 1 if batch else args.writers
                            writers = [
                                asyncio.ensure_future(_writer(session, url, batch, phase, stop))
                                for _ in range(count)
                            ]
                        cpu = time.process_time()
                        started = time.monotonic()
                        crowd.begin()
                        await asyncio.wait_for(crowd.finished.wait(), args.timeout)
                        stop.set()
                        phase.seconds = time.monotonic() - started
                        await asyncio.gather(*writers)
                        phase.driver_cpu = (time.process_time() - cpu) / phase.seconds
                        if crowd.error:
                            raise RuntimeError(crowd.error)
                        phase.latencies = crowd.latencies
                        phases.append(phase)
                        print(_line(phase), flush=True)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(proc.wait(), 60)
        with sqlite3.connect(database) as conn:
            stored = conn.execute("SELECT count(*) FROM deal_keys WHERE source = 'api'").fetchone()[
                0
            ]
        conn.close()
        answered = sum(p.deals for p in phases)
        print(f"check: {answered} deals answered 201, {stored} recorded", flush=True)
        if stored != answered:
            raise SystemExit("the database does not hold what the API answered")
        return phases
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _line(p: Phase) -> str:
    rate = p.deals / p.seconds if p.seconds else 0.0
    errors = f", errors {p.errors}" if p.errors else ""
    return (
        f"{p.name:22} {p.deals:6d} deals in {p.seconds:5.1f} s = {rate:7.1f} deals/s; "
        f"tap p50 {1000 * statistics.median(p.latencies):5.0f} ms, p95 "
        f"{1000 * p.pct(0.95):5.0f} ms ({len(p.latencies)} taps); driver CPU "
        f"{p.driver_cpu:.2f}{errors}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=5000, help="sales in the base before")
    parser.add_argument("--surveys", type=int, default=150, help="respondents per phase")
    parser.add_argument("--in-flight", type=int, default=5)
    parser.add_argument("--writers", type=int, default=8, help="clients posting single deals")
    parser.add_argument("--batch", type=int, default=500, help="deals per batch request")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    os.nice(10)
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    asyncio.run(run(args))
    print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
