"""Planning at scale: re-planning everyone (a settings change, or the first run after the upgrade)
with a respondent tapping meanwhile, the daily run, and re-planning one person after a change.

    python -m bench.generate data/bench.sqlite3 --contacts 100000 --answers 300000
    python -m bench.bench_planning data/bench.sqlite3            # all three, each in a new process
    python -m bench.bench_planning data/bench.sqlite3 --mode daily --day 1   # one of them

A file generated with `--before-planner` is upgraded first, timed.

Each mode runs in its own process (so its peak RSS is its own) through the production code: the
`FollowUp` the bot runs, the database with its re-planning triggers, the storage functions the
handlers call. Modes run in order on the same file: `everyone` plans the generated base from
scratch on the generator's day, `daily` is the morning run of the following days, `one` changes
birthdays of random people (the card's "set birthday") and times each change with its re-plan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import handlers  # noqa: F401  (first, as the bot imports it: views.tasks and handlers import each other)
from domain.settings import Settings
from scheduler.followup import FollowUp
from storage import Database
from storage.contacts import set_birthday
from storage.migrations import MIGRATIONS
from storage.surveys import open_survey, record_score

GENERATED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # bench.generate's "now"


class _Sender:
    """The planner needs a sender only to kick it after a tick; nothing is sent here."""

    def kick(self) -> None:
        pass


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory() -> dict[str, int]:
    """Now: the process's anonymous memory (Python, SQLite's cache) and file pages (the
    memory-mapped database file, shared with the page cache), in MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) // 1024
    return {"rss_anon_mib": fields.get("RssAnon", 0), "rss_file_mib": fields.get("RssFile", 0)}


async def _open(path: Path, day: int) -> tuple[Database, FollowUp]:
    db = Database(path)
    await db.open()
    settings = Settings(bot_token="0:bench", owner_ids=frozenset({1}), database_path=path)
    moment = GENERATED_AT + timedelta(days=day)
    followup = FollowUp(db, settings, lambda: moment, _Sender())  # type: ignore[arg-type]
    return db, followup


async def _counts(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        contacts = (await (await conn.execute("SELECT count(*) FROM contacts")).fetchone())[0]
        pending = (
            await (
                await conn.execute("SELECT count(*) FROM tasks WHERE status = 'pending'")
            ).fetchone()
        )[0]
    return {"contacts": contacts, "pending": pending}


async def everyone(path: Path, batch: int = 200) -> dict[str, Any]:
    """Re-plan the whole base while a respondent taps an answer every 50 ms."""
    db, followup = await _open(path, 0)
    async with db.read() as conn:
        tokens = [
            r[0]
            for r in await conn.execute_fetchall(
                "SELECT token FROM surveys WHERE status = 'created' ORDER BY random() LIMIT 2000"
            )
        ]
    taps: list[float] = []
    stalls: list[float] = []
    done = asyncio.Event()

    async def respondent() -> None:
        tg_id = 900_000_000
        for token in tokens:
            if done.is_set():
                return
            tg_id += 1
            now = GENERATED_AT
            _, survey = await open_survey(db, token, tg_id, "ru", now)
            if survey is None:
                continue
            start = time.perf_counter()
            await record_score(db, survey.id, tg_id, random.randint(0, 10), now)  # the tap
            taps.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)

    async def loop_watch() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - start - 0.01)

    tapping = asyncio.create_task(respondent())
    watching = asyncio.create_task(loop_watch())
    cpu = time.process_time()
    start = time.perf_counter()
    created = await followup.replan_everyone(batch)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu  # with the respondent's taps: they are few
    done.set()
    await asyncio.gather(tapping, watching)
    result = {
        "mode": "everyone",
        "batch": batch,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 2),
        "created": created,
        "taps": len(taps),
        "tap_median_ms": round(statistics.median(taps) * 1000, 1) if taps else None,
        "tap_worst_ms": round(max(taps) * 1000, 1) if taps else None,
        "loop_stall_worst_ms": round(max(stalls) * 1000, 1) if stalls else None,
        **await _counts(db),
        "peak_rss_mib": round(_rss_mib()),
    }
    await db.close()
    return result


async def daily(path: Path, day: int) -> dict[str, Any]:
    """The morning run `day` days after the generator's day."""
    db, followup = await _open(path, day)
    today = followup.today()
    async with db.read() as conn:
        due = (
            await (
                await conn.execute(
                    "SELECT count(*) FROM contacts WHERE next_plan_on <= ?", (today.isoformat(),)
                )
            ).fetchone()
        )[0]
        lapsing = (
            await (
                await conn.execute(
                    "SELECT count(*) FROM tasks WHERE status = 'pending' AND lapses_on < ?",
                    (today.isoformat(),),
                )
            ).fetchone()
        )[0]
    rss_before = _rss_mib()
    cpu = time.process_time()
    start = time.perf_counter()
    created = await followup.plan()
    seconds = time.perf_counter() - start
    result = {
        "mode": "daily",
        "day": today.isoformat(),
        "people_due": due,
        "lapsed": lapsing,
        "created": created,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "rss_before_mib": round(rss_before),
        "peak_rss_mib": round(_rss_mib()),
        **_memory(),
        **await _counts(db),
    }
    await db.close()
    return result


async def one(path: Path, day: int, samples: int = 300) -> dict[str, Any]:
    """A birthday set from the card: the change and its re-plan, one transaction, per person."""
    db, followup = await _open(path, day)
    now = followup.clock()
    async with db.read() as conn:
        ids = [
            r[0]
            for r in await conn.execute_fetchall(
                "SELECT id FROM contacts ORDER BY random() LIMIT ?", (samples,)
            )
        ]
    rng = random.Random(1)
    changes, replans = [], []
    for contact_id in ids:
        soon = followup.today() + timedelta(days=rng.randint(0, 20))
        start = time.perf_counter()
        await set_birthday(db, contact_id, None, (soon.day, soon.month, None), now)
        changes.append(time.perf_counter() - start)
        start = time.perf_counter()
        await followup.plan([contact_id])  # the re-plan alone (nothing changed: reconciles)
        replans.append(time.perf_counter() - start)
    result = {
        "mode": "one",
        "samples": len(ids),
        "change_with_replan_median_ms": round(statistics.median(changes) * 1000, 2),
        "change_with_replan_worst_ms": round(max(changes) * 1000, 2),
        "replan_median_ms": round(statistics.median(replans) * 1000, 2),
        "replan_worst_ms": round(max(replans) * 1000, 2),
    }
    await db.close()
    return result


async def migrate(path: Path) -> dict[str, Any]:
    """Open a file made at an older schema (`bench.generate --before-planner`): the upgrade runs in
    `Database.open`, before the bot polls (the one thing start-up waits for, once)."""
    start = time.perf_counter()
    db = Database(path)
    await db.open()
    seconds = time.perf_counter() - start
    result = {"mode": "migrate", "seconds": round(seconds, 1), **await _counts(db)}
    result["peak_rss_mib"] = round(_rss_mib())
    await db.close()
    return result


def _child(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_planning", str(path), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=Path("data/bench.sqlite3"))
    parser.add_argument(
        "--mode", choices=["all", "migrate", "everyone", "daily", "one"], default="all"
    )
    parser.add_argument("--day", type=int, default=1)
    parser.add_argument("--days", type=int, default=3, help="daily runs after `everyone`")
    args = parser.parse_args()
    if args.mode == "all":
        with sqlite3.connect(args.path) as conn:
            old = conn.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS)
        if old:
            _child(args.path, "--mode", "migrate")
        _child(args.path, "--mode", "everyone")
        for day in range(1, args.days + 1):
            _child(args.path, "--mode", "daily", "--day", str(day))
        _child(args.path, "--mode", "one", "--day", str(args.days))
        return
    if args.mode == "migrate":
        result = asyncio.run(migrate(args.path))
    elif args.mode == "everyone":
        result = asyncio.run(everyone(args.path))
    elif args.mode == "daily":
        result = asyncio.run(daily(args.path, args.day))
    else:
        result = asyncio.run(one(args.path, args.day))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
