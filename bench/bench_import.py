"""How fast a client base imports, and whether memory stays flat (issue target: 100,000 rows in
under 30 seconds on a 2-core machine, streaming the file).

    python -m bench.bench_import            # CSV and XLSX, 10,000 and 100,000 rows
    python -m bench.bench_import --rows 100000 --formats xlsx

Each step runs in a fresh process (peak RSS is per process): the file is made by
`bench.import_files`, then imported into a new database through the same `run_import` the
handler calls, in a process that loads nothing else. Also measured while importing: the longest
the event loop was blocked, and the longest another request waited for the database (what a
manager using the bot during an import would feel). As in the bot, a planner is attached to the
database, so every chunk's transaction also plans its people: the import time includes planning.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.importing.rows import Managers
from domain.settings import Settings
from scheduler.importing.runner import ImportContext, run_import
from storage import Database
from storage.staff import list_active_staff, touch_owner

TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
OWNER = 111


def clock() -> datetime:
    return NOW


class _Sender:
    def kick(self) -> None:
        pass


async def _watch_loop(stalls: list[float]) -> None:
    while True:
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - start - 0.01)


async def _watch_db(db: Database, waits: list[float]) -> None:
    while True:
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        async with db.read() as conn:
            await conn.execute("SELECT 1")
        waits.append(time.perf_counter() - start)


async def _python_peak(path: Path, fmt: str, folder: Path) -> float:
    """The import once more, into a fresh database, with tracemalloc on: the Python heap's peak
    in MiB (RSS also counts SQLite's page cache and the memory-mapped database file)."""
    db = Database(folder / "traced.sqlite3")
    await db.open()
    _attach_planner(db)
    await touch_owner(db, OWNER, "Ольга", None, "ru", NOW)
    context = ImportContext(db, Managers([]), OWNER, NOW.date(), NOW, "RU", "ru")

    async def progress(phase: str, done: int, total: int | None, share: float) -> None:
        pass

    tracemalloc.start()
    await run_import(path, fmt, folder, context, progress)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    await db.close()
    return peak / 2**20


def _attach_planner(db: Database) -> None:
    """What the bot's FollowUp does when it is created: every transaction plans its people."""
    import handlers.imports  # noqa: F401  (the routers and their imports load first)
    from scheduler.followup import FollowUp

    FollowUp(db, Settings(bot_token=TOKEN, database_path=db.path), clock, _Sender())  # type: ignore[arg-type]


async def import_file(path: Path, fmt: str, db_path: Path) -> dict[str, Any]:
    db = Database(db_path)
    await db.open()
    _attach_planner(db)
    await touch_owner(db, OWNER, "Ольга", None, "ru", NOW)
    context = ImportContext(
        db=db,
        managers=Managers(await list_active_staff(db)),
        importer_id=OWNER,
        today=NOW.astimezone(Settings(bot_token=TOKEN).timezone).date(),
        now=NOW,
        region="RU",
        lang="ru",
    )
    phases: dict[str, float] = {}

    async def progress(phase: str, done: int, total: int | None, share: float) -> None:
        phases[phase] = time.perf_counter()

    stalls: list[float] = []
    waits: list[float] = []
    watchers = [
        asyncio.create_task(_watch_loop(stalls)),
        asyncio.create_task(_watch_db(db, waits)),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        start = time.perf_counter()
        report = await run_import(path, fmt, Path(folder), context, progress)
        elapsed = time.perf_counter() - start
    for task in watchers:
        task.cancel()
    async with db.read() as conn:
        row = await (await conn.execute("SELECT count(*) FROM tasks")).fetchone()
    await db.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="bench-traced-") as folder:
        python_peak = await _python_peak(path, fmt, Path(folder))
    return {
        "rows": report.rows,
        "seconds": elapsed,
        "check_seconds": phases.get("check", start) - start,
        "created": report.counts.created,
        "merged": report.counts.merged,
        "duplicates": report.counts.duplicates,
        "rejected": report.rejected,
        "deals": report.counts.deals,
        "tasks": int(row[0]) if row else 0,
        "max_loop_stall_ms": max(stalls, default=0) * 1000,
        "max_db_wait_ms": max(waits, default=0) * 1000,
        "peak_rss_mib": rss,
        "python_peak_mib": python_peak,
    }


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_import", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(fmt: str, rows: int, folder: Path) -> dict[str, Any]:
    path = folder / f"base-{rows}.{fmt}"
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "bench.import_files", str(path), "--rows", str(rows)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    db_path = folder / f"bot-{fmt}-{rows}.sqlite3"
    result = _child("--import", fmt, str(path), str(db_path))
    result["file_mb"] = path.stat().st_size / 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="*", default=["csv", "xlsx"])
    parser.add_argument("--import", nargs=3, dest="one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        fmt, path, db_path = args.one
        print(json.dumps(asyncio.run(import_file(Path(path), fmt, Path(db_path)))))
        return
    print(
        "| file | size, MB | rows | import, s | rows/s | check pass, s | longest loop stall, ms "
        "| longest DB wait, ms | peak RSS, MiB | Python heap peak, MiB | tasks planned |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-files-") as folder:
        for fmt in args.formats:
            for rows in args.rows:
                r = measure(fmt, rows, Path(folder))
                print(
                    f"| {fmt.upper()} | {r['file_mb']:.1f} | {r['rows']:,} | {r['seconds']:.1f} "
                    f"| {r['rows'] / r['seconds']:,.0f} | {r['check_seconds']:.1f} "
                    f"| {r['max_loop_stall_ms']:.0f} | {r['max_db_wait_ms']:.0f} "
                    f"| {r['peak_rss_mib']:.0f} | {r['python_peak_mib']:.1f} "
                    f"| {r['tasks']:,} |",
                    flush=True,
                )
                print(
                    f"<!-- {fmt} {rows}: created {r['created']}, merged {r['merged']}, "
                    f"duplicates {r['duplicates']}, rejected {r['rejected']}, "
                    f"deals {r['deals']} -->",
                    flush=True,
                )


if __name__ == "__main__":
    main()
