"""How fast each owner and manager view answers on a large database (issue target: under a second
on 100,000 contacts and 300,000 answers). Run after `python -m bench.generate`:

    python -m bench.bench_views data/bench.sqlite3

Each view is called through the same function its handler calls (query and rendering), once to
warm the cache and then REPEAT times; the median and the worst are printed, with the process's
peak memory. Planning (which writes tasks) runs last, on a copy made with SQLite's backup API.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.settings import Settings
from handlers.comments import render as render_comments
from handlers.owner import _managers_view, build_nps
from scheduler.followup import FollowUp
from storage import Database
from storage.cases import list_cases
from storage.contacts import search_contacts
from storage.reports import last_months, monthly_nps
from storage.tasks import due_tasks

TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
REPEAT = 5


def clock() -> datetime:
    return NOW


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    await fn()
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), max(runs)


async def run(path: Path) -> list[tuple[str, float, float]]:
    settings = Settings(bot_token=TOKEN, database_path=path)
    db = Database(path)
    await db.open()
    manager = 1001
    results = []
    views: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("/nps, 30 days, all groups", lambda: build_nps(db, settings, clock, "ru", "30", "all", 0)),
        (
            "/nps, all time, all groups",
            lambda: build_nps(db, settings, clock, "ru", "all", "all", 0),
        ),
        (
            "/nps, this year, suppliers",
            lambda: build_nps(db, settings, clock, "ru", "y", "supplier", 0),
        ),
        (
            "/nps, 90 days, one manager",
            lambda: build_nps(db, settings, clock, "ru", "90", "all", manager),
        ),
        ("/managers, 30 days", lambda: _managers_view(db, settings, clock, "ru", "30")),
        ("/managers, this year", lambda: _managers_view(db, settings, clock, "ru", "y")),
        ("/comments, first page", lambda: render_comments(db, settings, "ru", "all", "all", 0)),
        (
            "/comments, detractors, page 50",
            lambda: render_comments(db, settings, "ru", "detractor", "all", 49),
        ),
        ("/trend data, 12 months", lambda: monthly_nps(db, last_months(NOW, settings.timezone))),
        ("/cases, owner, first page", lambda: list_cases(db, None, 0)),
        ("/find by name (owner)", lambda: search_contacts(db, None, text="анна")),
        ("/find by phone", lambda: search_contacts(db, None, phone="+79160012345")),
        ("/today for a manager", lambda: due_tasks(db, manager, NOW.date(), NOW)),
    ]
    for name, fn in views:
        median, worst = await timed(fn)
        results.append((name, median, worst))
    await db.close()

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "plan.sqlite3"
        with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        db = Database(copy)
        await db.open()

        class _Sender:
            def kick(self) -> None:
                pass

        followup = FollowUp(db, settings, clock, _Sender())  # type: ignore[arg-type]
        start = time.perf_counter()
        created = await followup.plan()
        results.append(
            (f"daily planning, all contacts ({created:,} tasks)", time.perf_counter() - start, 0.0)
        )
        start = time.perf_counter()
        await followup.plan()
        results.append(("daily planning again (idempotent)", time.perf_counter() - start, 0.0))
        await db.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path, nargs="?", default=Path("data/bench.sqlite3"))
    args = parser.parse_args()
    with sqlite3.connect(args.path) as conn:
        contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
        answers = conn.execute("SELECT count(*) FROM surveys WHERE score IS NOT NULL").fetchone()[0]
    results = asyncio.run(run(args.path))
    print(f"{contacts:,} contacts, {answers:,} answers; median and worst of {REPEAT} runs")
    print("| view | median, ms | worst, ms |")
    print("|---|---:|---:|")
    for name, median, worst in results:
        print(
            f"| {name} | {median * 1000:.0f} | {worst * 1000:.0f} |"
            if worst
            else f"| {name} | {median * 1000:.0f} | |"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
