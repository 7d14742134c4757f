"""Does a report make a respondent wait? Survey taps timed while the heaviest reports run.

    python -m bench.bench_contention data/bench-1m.sqlite3   # reports as the bot runs them
    python -m bench.bench_contention data/bench-1m.sqlite3 --reports-on-writer   # the old way

Within one process, as in the bot: 200 taps (open, score, reason, consent of 50 fresh links) go
through the storage functions the survey handlers call, one every 50 ms, each in its own task,
while an all-time /nps, a /managers for the year (the functions their handlers call) and an
all-time /export (through the real dispatcher, as the owner taps it, files written to a temp
folder and "uploaded" to a recording session that only counts their bytes) run. Printed: the taps'
latency (median, p95, worst, from the moment each was due), each report's time, the export's
rows per second, files and sizes, and the process's peak RSS while it ran (sampled every 100 ms
from /proc, beside ru_maxrss).

`--reports-on-writer` maps `Database.report()` onto `read()`, the writer's own lock, which is how
every report ran before issue 13; on a branch without `report()` both modes are the same and the
output says so. The taps write, so the bench works on a copy of the file (`--in-place` to skip
the copy) which it deletes afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram.methods import SendDocument, TelegramMethod
from aiogram.types import BufferedInputFile, InputFile, User

import handlers  # noqa: F401  (first, as the bot imports it)
from bot.app import create_bot, create_dispatcher
from domain.settings import Settings
from handlers.owner import _managers_view, build_nps
from handlers.reports import export_jobs
from scheduler.sender import Sender
from storage import Database
from storage.surveys import open_survey, record_consent, record_reason, record_score
from storage.timefmt import ts
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, TOKEN, FakeClock, Harness
from views.callbacks import ExportPeriod

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # bench.generate's "now"
OWNER = 1  # the owner bench.generate makes
TAPS = 200
STEPS = 4  # open, score, reason, consent
INTERVAL = 0.05
SCORES = [10, 9, 3, 8, 6, 10, 7, 2, 9, 10]


class CountingSession(RecordingSession):
    """Records calls like the test session, but an uploaded file is read through (as a real
    upload streams it) and only its size kept, so the bench's RSS is the bot's, not the file's."""

    def __init__(self) -> None:
        super().__init__(BOT_USERNAME)
        self.files_sent: list[tuple[str, int]] = []

    async def make_request(
        self, bot: Any, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, SendDocument) and isinstance(method.document, InputFile):
            size = 0
            async for chunk in method.document.read(bot):
                size += len(chunk)
            name = method.document.filename or "file"
            self.files_sent.append((name, size))
            method = method.model_copy(update={"document": BufferedInputFile(b"-", name)})
        return await super().make_request(bot, method, timeout)


class RssSampler:
    """The process's resident memory, sampled from /proc every 100 ms in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_kib() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.now_kib())

    def __enter__(self) -> RssSampler:
        self.peak = self.now_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def make_links(db: Database, count: int, tag: str) -> list[tuple[str, int]]:
    """Fresh links for contacts the bot has never talked to: (token, respondent's Telegram id)."""
    async with db.transaction() as conn:
        rows = await (
            await conn.execute(
                "SELECT id, kind, manager_id FROM contacts WHERE tg_user_id IS NULL "
                "AND forgotten_at IS NULL AND id % 997 = ? ORDER BY id LIMIT ?",
                (len(tag) + 11, count),
            )
        ).fetchall()
        links = []
        for i, (contact, kind, manager) in enumerate(rows):
            token = f"bench-{tag}-{i}"
            await conn.execute(
                "INSERT INTO surveys (token, contact_id, manager_id, kind, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (token, contact, manager, kind, ts(NOW - timedelta(hours=2))),
            )
            links.append((token, 9_000_000_000 + contact))
    return links


async def tap(
    db: Database, step: int, token: str, tg: int, number: int, ids: dict[str, int]
) -> None:
    now = NOW + timedelta(seconds=number)
    if step == 0:
        _, survey = await open_survey(db, token, tg, "ru", now)
        assert survey is not None, token
        ids[token] = survey.id
    elif step == 1:
        await record_score(db, ids[token], tg, SCORES[number % len(SCORES)], now)
    elif step == 2:
        await record_reason(db, ids[token], tg, "Всё хорошо, но доставку ждали долго", now)
    else:
        await record_consent(db, ids[token], tg, False, now)


async def run_taps(db: Database, links: list[tuple[str, int]]) -> list[float]:
    """Tap k is due at k × 50 ms, respondent k mod 50, step k div 50; each tap is its own task,
    so a slow one does not delay the next one's start. Latency counts from when it was due."""
    ids: dict[str, int] = {}
    latencies: list[float] = [0.0] * TAPS
    done: dict[tuple[int, int], asyncio.Event] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(k: int) -> None:
        respondent, step = k % len(links), k // len(links)
        due = start + k * INTERVAL
        await asyncio.sleep(max(0.0, due - loop.time()))
        if step:  # the same person's previous answer must be stored first
            await done[(respondent, step - 1)].wait()
        token, tg = links[respondent]
        await tap(db, step, token, tg, k, ids)
        latencies[k] = loop.time() - due
        done[(respondent, step)].set()

    for k in range(TAPS):
        done[(k % len(links), k // len(links))] = asyncio.Event()
    await asyncio.gather(*(one(k) for k in range(TAPS)))
    return latencies


@contextlib.contextmanager
def reports_on_writer(db: Database, enabled: bool) -> Iterator[str]:
    if not hasattr(db, "report"):
        yield "no report() on this branch: every report runs on the writer's lock"
        return
    if not enabled:
        yield "reports on their own read-only connection (Database.report)"
        return
    db.report = db.read  # type: ignore[method-assign]
    try:
        yield "reports on the writer's lock (report() mapped to read(): the old behaviour)"
    finally:
        del db.report


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def run(path: Path, on_writer: bool, export_timeout: float) -> None:
    settings = Settings(bot_token=TOKEN, database_path=path, owner_ids=frozenset({OWNER}))
    db = Database(path)
    await db.open()
    clock = FakeClock(NOW)
    session = CountingSession()
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    dp = create_dispatcher(settings, db, sender, clock)
    harness = Harness(bot=bot, dp=dp, session=session, clock=clock, sender=sender)
    owner = harness.user(OWNER, "Владелец")
    async with db.read() as conn:
        answers = (
            await (
                await conn.execute("SELECT count(*) FROM surveys WHERE score IS NOT NULL")
            ).fetchone()
        )[0]
        contacts = (
            await (
                await conn.execute("SELECT count(*) FROM contacts WHERE forgotten_at IS NULL")
            ).fetchone()
        )[0]
    tag = f"{'w' if on_writer else 'r'}{int(time.time())}"
    links = await make_links(db, TAPS // STEPS, tag)
    with reports_on_writer(db, on_writer) as mode:
        print(f"mode: {mode}", flush=True)
        rss_before = RssSampler.now_kib()
        with RssSampler() as rss:
            export_start = time.perf_counter()
            export = asyncio.create_task(harness.tap(owner, ExportPeriod(period="all").pack()))
            nps = asyncio.create_task(
                timed(lambda: build_nps(db, settings, clock, "ru", "all", "all", 0))
            )
            managers = asyncio.create_task(
                timed(lambda: _managers_view(db, settings, clock, "ru", "y"))
            )
            await asyncio.sleep(0.3)  # the reports are under way when the first tap comes
            latencies = await run_taps(db, links)
            nps_s, managers_s = await nps, await managers
            await export
            finished = True
            try:
                await asyncio.wait_for(export_jobs(dp).wait_idle(), export_timeout)
            except TimeoutError:
                finished = False
                await export_jobs(dp).stop(5)
            export_s = time.perf_counter() - export_start
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    median = statistics.median(ordered)
    print(
        f"taps ({TAPS}, one every {INTERVAL * 1000:.0f} ms): median {median * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, worst {ordered[-1] * 1000:.0f} ms"
    )
    print(f"/nps all time: {nps_s:.1f} s; /managers this year: {managers_s:.1f} s")
    rows = answers + contacts
    if finished:
        sizes = ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in session.files_sent)
        print(
            f"/export all time: {export_s:.1f} s for {answers:,} answers + {contacts:,} contacts "
            f"= {rows / export_s:,.0f} rows/s; {len(session.files_sent)} files: {sizes}"
        )
    else:
        print(f"/export all time: not finished in {export_timeout:.0f} s (stopped)")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"RSS: {rss_before / 1024:.0f} MiB before the reports, peak {rss.peak / 1024:.0f} MiB "
        f"while they ran (ru_maxrss {maxrss:.0f} MiB)"
    )
    await dp["followup"].stop()
    await bot.session.close()
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--reports-on-writer", action="store_true")
    parser.add_argument("--in-place", action="store_true", help="tap on the file itself")
    parser.add_argument(
        "--export-timeout", type=float, default=1800, help="stop waiting for /export after this"
    )
    args = parser.parse_args()
    if args.in_place:
        asyncio.run(run(args.path, args.reports_on_writer, args.export_timeout))
        return
    with tempfile.TemporaryDirectory(dir=args.path.parent, prefix="contention-") as folder:
        copy = Path(folder) / args.path.name
        start = time.perf_counter()
        shutil.copyfile(args.path, copy)  # a closed WAL file: nothing is in a -wal beside it
        print(f"copied the base in {time.perf_counter() - start:.0f} s", flush=True)
        asyncio.run(run(copy, args.reports_on_writer, args.export_timeout))


if __name__ == "__main__":
    main()
