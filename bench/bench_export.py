"""How fast /export writes its files, and how much memory it takes (issue 13: at least 5 times
faster for XLSX, memory flat). Run after `python -m bench.generate`:

    nice -n 10 python -m bench.bench_export data/bench.sqlite3

Each measurement runs in a fresh process (so its peak RSS is its own): all answers of all time,
then every contact, through the same code /export runs, into a temporary folder; each part is
"sent" by checking that it fits Telegram's upload limit (zipping a CSV that does not, as /export
does) and is then removed. `--formats` picks XLSX only, CSV only, or both side by side (what the
owner gets). Printed: rows, seconds, rows/s, peak RSS, parts and the largest file.

The same file runs against the code before the streaming writer (openpyxl's write-only mode:
check out an older commit in a temporary worktree, copy this file into its bench/ and run it
there): it finds the older `write_table` and measures that, a format left out by patching its
writer.

`--local-times` also times the one choice storage/reports.py makes: local times computed in SQL
(strftime/julianday with the zone's offsets) against UTC text converted in Python per cell.
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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Moscow")
LANG = "ru"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process, all threads: on a shared machine, wall time mostly measures
    the neighbours."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Timer:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), _cpu()

    def done(self, rows: int) -> tuple[int, float, float]:
        return rows, time.perf_counter() - self.wall, _cpu() - self.cpu


async def _new(db: Any, folder: Path, formats: list[str]) -> dict[str, Any]:
    from domain.periods import resolve
    from handlers.reports import answers_source, contacts_source
    from views.exports import Written, export_table, fit_for_upload

    today = NOW.astimezone(TZ).date()
    period = resolve("all", today, TZ)
    assert period is not None
    sizes: list[int] = []
    pieces = 0

    async def deliver(written: Written, can_split: bool) -> frozenset[Any]:
        nonlocal pieces
        pieces += 1
        too_big = set()
        for fmt, path in (("csv", written.csv), ("xlsx", written.xlsx)):
            if path is None:
                continue
            sizes.append(path.stat().st_size)
            upload = fit_for_upload(path)
            if upload is None and can_split:
                too_big.add(fmt)
        return frozenset(too_big)

    out: dict[str, Any] = {}
    timer = _Timer()
    answers = await answers_source(db, period, today, TZ, LANG)
    rows = await export_table(answers, folder, deliver, formats=formats)  # type: ignore[arg-type]
    out["answers"] = timer.done(rows)
    timer = _Timer()
    contacts = await contacts_source(db, today, TZ, LANG, NOW)
    rows = await export_table(contacts, folder, deliver, formats=formats)  # type: ignore[arg-type]
    out["contacts"] = timer.done(rows)
    out["pieces"] = pieces
    out["largest_mib"] = max(sizes) / 2**20 if sizes else 0
    return out


async def _old(db: Any, folder: Path, formats: list[str]) -> dict[str, Any]:
    import views.exports as ex
    from storage.reports import iter_answers, iter_contacts

    original = ex.TableWriter.__init__

    class _Nowhere:
        def writerow(self, row: Any) -> None:
            pass

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if "csv" not in formats:
            self._csv = _Nowhere()
            ex._csv_value = lambda value, kind: ""  # type: ignore[attr-defined]
        if "xlsx" not in formats:
            self._sheet.append = lambda row: None
            self._xlsx_value = lambda value: None

    ex.TableWriter.__init__ = init  # type: ignore[method-assign]
    out: dict[str, Any] = {}
    timer = _Timer()
    table = await ex.write_table(  # type: ignore[attr-defined]
        folder,
        "answers",
        "Ответы",
        ex.answer_columns(LANG),
        iter_answers(db, None, NOW),
        ex.answer_cells,
        LANG,
        TZ,
    )
    out["answers"] = timer.done(table.rows)
    sizes = [table.csv.stat().st_size, table.xlsx.stat().st_size]
    timer = _Timer()
    table = await ex.write_table(  # type: ignore[attr-defined]
        folder,
        "contacts",
        "Контакты",
        ex.contact_columns(LANG),
        iter_contacts(db),
        ex.contact_cells,
        LANG,
        TZ,
    )
    out["contacts"] = timer.done(table.rows)
    sizes += [table.csv.stat().st_size, table.xlsx.stat().st_size]
    out["pieces"] = 2
    out["largest_mib"] = max(sizes) / 2**20
    return out


async def child(path: Path, formats: list[str]) -> dict[str, Any]:
    import views.exports
    from storage import Database

    new = hasattr(views.exports, "export_table")
    if new:
        import handlers.reports  # noqa: F401  (aiogram and the rest, as in the running bot)
    db = Database(path)
    await db.open()
    base = _peak_mib()  # what the code and an open database take before any export
    try:
        with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
            run = _new if new else _old
            out = await run(db, Path(folder), formats)
            out["code"] = "xlsx_stream" if new else "openpyxl"
    finally:
        await db.close()
    out["peak_rss_mib"] = _peak_mib()
    out["base_rss_mib"] = base
    return out


def local_times(path: Path, rows: int = 100_000) -> None:
    """Local times of three stamp columns: SQL's strftime/julianday against Python per cell."""
    import sqlite3

    from storage.reports import _local_columns
    from storage.timefmt import from_ts

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    plain = "SELECT s.scored_at, s.created_at, s.opened_at FROM surveys s LIMIT ?"
    local = (
        f"SELECT {_local_columns('s.scored_at', 'a', TZ, NOW)}, "
        f"{_local_columns('s.created_at', 'b', TZ, NOW)}, "
        f"{_local_columns('s.opened_at', 'c', TZ, NOW)} FROM surveys s LIMIT ?"
    )
    zero = datetime(1899, 12, 30)

    def in_python() -> None:
        for row in conn.execute(plain, (rows,)):
            for stamp in row:
                if stamp is None:
                    continue
                moment = from_ts(stamp).astimezone(TZ).replace(tzinfo=None)
                _ = ((moment - zero).total_seconds() / 86400, moment.strftime("%d.%m.%Y %H:%M"))

    def in_sql() -> None:
        for _ in conn.execute(local, (rows,)):
            pass

    def in_sql_berlin() -> None:  # a zone with two changes a year: the CASE has 94 branches
        berlin = ZoneInfo("Europe/Berlin")
        sql = (
            f"SELECT {_local_columns('s.scored_at', 'a', berlin, NOW)}, "
            f"{_local_columns('s.created_at', 'b', berlin, NOW)}, "
            f"{_local_columns('s.opened_at', 'c', berlin, NOW)} FROM surveys s LIMIT ?"
        )
        for _ in conn.execute(sql, (rows,)):
            pass

    def read_only() -> None:
        for _ in conn.execute(plain, (rows,)):
            pass

    for name, fn in (
        ("read UTC text only", read_only),
        ("+ local in Python", in_python),
        ("local in SQL (Moscow)", in_sql),
        ("local in SQL (Berlin)", in_sql_berlin),
    ):
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - start)
        print(f"{name:24} {min(runs) * 1000:8.0f} ms per {rows:,} rows (best of 3)")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--formats", nargs="+", default=["xlsx", "csv", "both"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--local-times", action="store_true")
    args = parser.parse_args()
    if args.child:
        formats = ["csv", "xlsx"] if args.child == "both" else [args.child]
        print(json.dumps(asyncio.run(child(args.path, formats))))
        return
    if args.local_times:
        local_times(args.path)
        return
    print(f"{args.path} ({date.today()}), load {_load()}", flush=True)
    for fmt in args.formats:
        run = subprocess.run(
            [sys.executable, "-m", "bench.bench_export", str(args.path), "--child", fmt],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            print(run.stderr)
            continue
        out = json.loads(run.stdout)
        for table in ("answers", "contacts"):
            rows, seconds, cpu = out[table]
            print(
                f"{out['code']:10} {fmt:4} {table:8} {rows:9,} rows {seconds:7.1f} s wall "
                f"{rows / seconds:7,.0f} rows/s; {cpu:6.1f} s CPU {rows / cpu:7,.0f} rows/CPU-s"
            )
        print(
            f"{'':15} peak RSS {out['peak_rss_mib']:.0f} MiB "
            f"({out['peak_rss_mib'] - out['base_rss_mib']:+.0f} MiB over the open database), "
            f"{out['pieces']} pieces, "
            f"largest file {out['largest_mib']:.1f} MiB, load {_load()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
