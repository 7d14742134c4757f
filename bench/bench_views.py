"""How fast each owner and manager view answers on a large database (issue 13's target: every view
within a second at 1,000,000 contacts and 3,000,000 answers, /find within 50 ms).

    python -m bench.bench_views data/bench.sqlite3         # a file made by bench.generate
    python -m bench.bench_views --size 1m                  # data/bench-1m.sqlite3, made if missing

Each view is called through the same function its handler calls (query and rendering), once to
warm the cache and then REPEAT times; the median and the worst are printed against the target,
with the process's peak memory. /comments page 50 is reached as the owner reaches it: by tapping
"next" 49 times, following whatever the buttons carry (an offset today, an anchor with keyset
paging), and then that last page is timed. Parts that exist only once other work lands (the
per-day figures: their rebuild and the check that they agree with the raw answers) are timed
when present and reported as absent otherwise. Planning (which writes tasks) runs last, on a copy
made with SQLite's backup API, only with `--planning`.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import handlers  # noqa: F401  (first, as the bot imports it)
from bench.figures_hook import rebuild, rebuild_function
from domain.settings import Settings
from handlers.comments import render as render_comments
from handlers.owner import _managers_view, build_nps
from scheduler.followup import FollowUp
from storage import Database
from storage.cases import list_cases
from storage.contacts import search_contacts
from storage.reports import last_months, monthly_nps
from storage.tasks import due_tasks
from views.callbacks import CommentsView

TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # bench.generate's "now"
REPEAT = 5
VIEW_TARGET = 1.0
FIND_TARGET = 0.05
SIZES = {"100k": (100_000, 300_000), "300k": (300_000, 900_000), "1m": (1_000_000, 3_000_000)}
MANAGER = 1001
KINDS = ("client", "supplier", "contractor", "partner")


def clock() -> datetime:
    return NOW


Row = tuple[str, float, float, float]  # name, median, worst, target (s); worst 0: timed once


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    await fn()
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), max(runs)


ALIASES = {"number": "page"}  # a render parameter named differently from the callback field


def _call_with(fn: Callable[..., Any], given: dict[str, Any], view: object) -> Any:
    """Call a handler's render with what it asks for: known objects by name, the rest from the
    callback data's fields (or the callback data itself), so the bench follows a new signature."""
    kwargs = {}
    for name, param in inspect.signature(fn).parameters.items():
        if name in given:
            kwargs[name] = given[name]
        elif hasattr(view, name):
            kwargs[name] = getattr(view, name)
        elif name in ALIASES and hasattr(view, ALIASES[name]):
            kwargs[name] = getattr(view, ALIASES[name])
        elif param.default is inspect.Parameter.empty:
            kwargs[name] = view
    return fn(**kwargs)


def _next_page(markup: Any, view: CommentsView) -> CommentsView | None:
    """The "next" button of a /comments page: the same filter, one page on, forwards."""
    page = getattr(view, "page", None)
    for row in getattr(markup, "inline_keyboard", None) or []:
        for button in row:
            data = button.callback_data or ""
            if not data.startswith(f"{CommentsView.__prefix__}:"):
                continue
            candidate = CommentsView.unpack(data)
            if (candidate.category, candidate.kind) != (view.category, view.kind):
                continue
            if getattr(candidate, "back", False):
                continue
            if page is not None and getattr(candidate, "page", None) != page + 1:
                continue
            return candidate
    return None


async def comments_page(
    db: Database, settings: Settings, category: str, pages: int
) -> tuple[CommentsView, float, str]:
    """Tap "next" until page `pages` (1-based); the callback data of that page, the walk's time,
    and how the pages are addressed."""
    given = {"db": db, "settings": settings, "lang": "ru"}
    first = CommentsView.model_construct(
        **{
            name: value
            for name, value in {
                "category": category,
                "kind": "all",
                "page": 0,
                "anchor": 0,
                "back": False,
            }.items()
            if name in CommentsView.model_fields
        }
    )
    view = first
    start = time.perf_counter()
    for _ in range(pages - 1):
        built = await _call_with(render_comments, given, view)
        if built is None:
            raise RuntimeError(f"/comments refused {view.pack()}")
        following = _next_page(built[1], view)
        if following is None:
            raise RuntimeError(f"no 'next' button after {view.pack()}")
        view = following
    walk = time.perf_counter() - start
    if getattr(view, "page", pages - 1) != pages - 1:
        raise RuntimeError(f"the walk ended on {view.pack()}, not page {pages}")
    how = "keyset (anchor)" if "anchor" in CommentsView.model_fields else "offset"
    return view, walk, how


async def figures_rows(db: Database) -> list[Row]:
    """Whether the per-day figures' sums equal the raw counts (as kept so far, then after a
    rebuild), and how long the rebuild takes."""
    fn = rebuild_function()
    if fn is None:
        return [("figures rebuild: absent (storage/figures.py not on this branch)", 0, 0, 0)]
    rows = await agree_rows(db, "as kept")
    start = time.perf_counter()
    await rebuild(fn, db)
    took = time.perf_counter() - start
    rows.append(("figures rebuilt from the raw rows (once, holds the writer)", took, 0, 0))
    rows.extend(await agree_rows(db, "after the rebuild"))
    return rows


async def agree_rows(db: Database, when: str) -> list[Row]:
    rows: list[Row] = []
    async with db.read() as conn:
        for name, sums, raw in AGREE:
            try:
                got = await (await conn.execute(sums)).fetchone()
                want = await (await conn.execute(raw)).fetchone()
            except Exception as exc:  # a table or column named differently than planned
                rows.append((f"agree check, {name}, {when}: not run ({exc})", 0, 0, 0))
                continue
            same = tuple(got) == tuple(want)
            verdict = "equal" if same else f"DIFFER {tuple(got)} != {tuple(want)}"
            rows.append((f"agree check, {name}, {when}: {verdict}", 0, 0, 0))
    return rows


# The per-day tables' sums against the raw rows (docs/plans/issue-13-owner.md §2.2).
AGREE = [
    (
        "answers by category",
        "SELECT sum(promoters), sum(passives), sum(detractors) FROM answer_days",
        "SELECT count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score BETWEEN 7 AND 8), "
        "count(*) FILTER (WHERE score <= 6) FROM surveys WHERE score IS NOT NULL",
    ),
    (
        "links, opened, answered",
        "SELECT sum(links), sum(opened), sum(answered) FROM link_days",
        "SELECT count(*), count(opened_at), count(score) FROM surveys",
    ),
    (
        "cases opened, resolved",
        "SELECT sum(opened), sum(resolved) FROM case_days",
        "SELECT count(*), count(*) FILTER (WHERE status = 'resolved') FROM cases",
    ),
    ("deals", "SELECT sum(deals) FROM deal_days", "SELECT count(*) FROM deals"),
]


async def run(path: Path, planning: bool, only: list[str] | None = None) -> list[Row]:
    def wanted(name: str) -> bool:
        return not only or any(word in name for word in only)

    settings = Settings(bot_token=TOKEN, database_path=path)
    db = Database(path)
    await db.open()
    has_report = hasattr(db, "report")
    print(f"report connection (Database.report): {'yes' if has_report else 'no'}", flush=True)
    results: list[Row] = []
    month = "m2026-10"

    def nps(period: str, kind: str = "all", manager: int = 0) -> Callable[[], Awaitable[Any]]:
        return lambda: build_nps(db, settings, clock, "ru", period, kind, manager)

    def find(text: str, viewer: int | None = None) -> Callable[[], Awaitable[Any]]:
        return lambda: search_contacts(db, viewer, text=text)

    views: list[tuple[str, Callable[[], Awaitable[Any]], float]] = [
        ("/nps, 30 days, all groups", nps("30"), VIEW_TARGET),
        ("/nps, this year, all groups", nps("y"), VIEW_TARGET),
        ("/nps, all time, all groups", nps("all"), VIEW_TARGET),
        *[(f"/nps, all time, {kind}s", nps("all", kind), VIEW_TARGET) for kind in KINDS],
        ("/nps, one month (October 2026)", nps(month), VIEW_TARGET),
        ("/nps, all time, one manager", nps("all", "all", MANAGER), VIEW_TARGET),
        ("/nps, 90 days, one manager", nps("90", "all", MANAGER), VIEW_TARGET),
        (
            "/managers, 30 days",
            lambda: _managers_view(db, settings, clock, "ru", "30"),
            VIEW_TARGET,
        ),
        (
            "/managers, this year",
            lambda: _managers_view(db, settings, clock, "ru", "y"),
            VIEW_TARGET,
        ),
        (
            "/managers, all time",
            lambda: _managers_view(db, settings, clock, "ru", "all"),
            VIEW_TARGET,
        ),
        (
            "/comments, first page",
            lambda: _call_with(
                render_comments,
                {"db": db, "settings": settings, "lang": "ru"},
                CommentsView.model_construct(
                    **{
                        k: v
                        for k, v in {
                            "category": "all",
                            "kind": "all",
                            "page": 0,
                            "anchor": 0,
                            "back": False,
                        }.items()
                        if k in CommentsView.model_fields
                    }
                ),
            ),
            VIEW_TARGET,
        ),
        (
            "/trend data, 12 months",
            lambda: monthly_nps(db, last_months(NOW, settings.timezone)),
            VIEW_TARGET,
        ),
        ("/cases, owner, first page", lambda: list_cases(db, None, 0), VIEW_TARGET),
        ("/cases, owner, page 10", lambda: list_cases(db, None, 9), VIEW_TARGET),
        ("/cases, one manager, first page", lambda: list_cases(db, MANAGER, 0), VIEW_TARGET),
        ("/find 'анна' (a common name, owner)", find("анна"), FIND_TARGET),
        ("/find 'смирнов 12345' (two words)", find("смирнов 12345"), FIND_TARGET),
        ("/find 'елкин' (a rare name, ё written е)", find("елкин"), FIND_TARGET),
        ("/find 'ромашка' (an organisation)", find("ромашка"), FIND_TARGET),
        ("/find 'анна' (one manager's contacts)", find("анна", MANAGER), FIND_TARGET),
        ("/find 'ан' (2 letters)", find("ан"), FIND_TARGET),
        ("/find by phone", lambda: search_contacts(db, None, phone="+79160012345"), FIND_TARGET),
        ("/today for a manager", lambda: due_tasks(db, MANAGER, NOW.date(), NOW), VIEW_TARGET),
    ]
    for name, fn, target in views:
        if not wanted(name):
            continue
        try:
            median, worst = await timed(fn)
        except Exception as exc:
            print(f"  {name}: failed: {exc!r}", flush=True)
            results.append((f"{name}: failed ({type(exc).__name__})", 0, 0, target))
            continue
        print(f"  {name}: {median * 1000:.0f} / {worst * 1000:.0f} ms", flush=True)
        results.append((name, median, worst, target))

    for category in ("detractor", "all") if wanted("/comments, page 50") else ():
        try:
            view, walk, how = await comments_page(db, settings, category, 50)
        except Exception as exc:
            results.append((f"/comments, {category}, page 50: failed ({exc})", 0, 0, VIEW_TARGET))
            continue
        median, worst = await timed(
            lambda v=view: _call_with(
                render_comments, {"db": db, "settings": settings, "lang": "ru"}, v
            )
        )
        results.append(
            (f"/comments, {category} answers, page 50 by {how}", median, worst, VIEW_TARGET)
        )
        results.append(("  … the 49 taps to get there, in all", walk, 0, 0))
    if wanted("figures"):
        results.extend(await figures_rows(db))
    await db.close()

    if planning:
        with tempfile.TemporaryDirectory(dir=path.parent) as folder:
            copy = Path(folder) / "plan.sqlite3"
            with sqlite3.connect(path) as source, sqlite3.connect(copy) as target_file:
                source.backup(target_file)
            db = Database(copy)
            await db.open()

            class _Sender:
                def kick(self) -> None:
                    pass

            followup = FollowUp(db, settings, clock, _Sender())  # type: ignore[arg-type]
            start = time.perf_counter()
            created = await followup.plan()
            results.append(
                (
                    f"daily planning, all contacts ({created:,} tasks)",
                    time.perf_counter() - start,
                    0,
                    0,
                )
            )
            start = time.perf_counter()
            await followup.plan()
            results.append(("daily planning again (idempotent)", time.perf_counter() - start, 0, 0))
            await db.close()
    return results


def ensure_file(path: Path, size: str) -> None:
    if path.exists():
        return
    from bench.generate import build

    contacts, answers = SIZES[size]
    print(f"{path} is missing: generating {contacts:,} contacts, {answers:,} answers", flush=True)
    build(path, contacts, answers, managers=20, seed=7)


def main() -> None:
    global REPEAT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=None)
    parser.add_argument("--size", choices=sorted(SIZES), default="100k")
    parser.add_argument("--planning", action="store_true", help="also time daily planning")
    parser.add_argument(
        "--only", action="append", help="only the views whose name contains this (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed runs after a warm-up")
    args = parser.parse_args()
    REPEAT = args.repeat
    path = args.path or Path(f"data/bench-{args.size}.sqlite3")
    if args.path is None:
        ensure_file(path, args.size)
    conn = sqlite3.connect(path)
    contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
    answers = conn.execute("SELECT count(*) FROM surveys WHERE score IS NOT NULL").fetchone()[0]
    conn.close()
    results = asyncio.run(run(path, args.planning, args.only))
    print(f"\n{contacts:,} contacts, {answers:,} answers; median and worst of {REPEAT} runs")
    print("| view | median, ms | worst, ms | target, ms |")
    print("|---|---:|---:|---:|")
    for name, median, worst, target in results:
        cells = [
            f"{median * 1000:.0f}" if median else "",
            f"{worst * 1000:.0f}" if worst else "",
            "" if not target else f"{target * 1000:.0f}" + (" **over**" if worst > target else ""),
        ]
        print(f"| {name} | {' | '.join(cells)} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
