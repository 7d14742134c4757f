"""What the minute tick costs the database on a large base: the time the one connection is held.

    python -m bench.generate data/bench.sqlite3 --contacts 100000 --answers 300000
    nice -n 10 python -m bench.bench_tick data/bench.sqlite3            # 20 ticks, day 4

The tick (`FollowUp.tick()`, what the minute job runs) holds the connection's lock while it
reads; a respondent's tap waits behind it. `TimedDatabase` adds up the time each lock is held,
so the figure is the database time of a tick, whatever else the process does meanwhile. The file
is changed (it is a bench copy): opened with this code it is upgraded first (timed), then brought
to the state a running bot keeps it in (old cases reminded, escalated and settled long ago, every
queued message delivered), then one tick plans the day (the daily run, timed apart), then 20 ticks a
minute apart are timed. Each tick's requests to Telegram go to a fake sender and bot.

Target (issue 13): at most 20 ms of database time per tick at 1,000,000 contacts.

Measured 29.11.2026 on the 2-core development machine shared with other sessions (load 9-16),
`nice -n 10`, 20 ticks, day 4 (Tuesday 24.11, 13:00 Moscow). The held time includes waiting for
a core while holding the lock, so it swings with the load; the CPU time does not.

- 1,000,000 contacts (a copy of the 1M bench file, schema 10), code before issue 13 (c0ff6a5),
  5 ticks: 5,251 ms held median, 5,546 worst.
- The same after (main merged, schema 13), fresh copy: 13.1 ms held median, 44 worst at load 14
  (2.8 / 13 after the first tick at load 10); the first tick reads 5 reminders' rows from disk.
  The upgrade 10 → 13 took 25.8 s at load 16 (the two tick migrations alone 9.3-16.8 s).
- The same file, day 5 (warm): 6.0 ms held median, 21.9 worst at load 14; CPU 2.2 / 5.8 ms.
- 100,000 contacts (`bench.generate --contacts 100000 --answers 300000`): 1.3 ms held median,
  13.3 worst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import handlers  # noqa: F401  (first, as the bot imports it: views.tasks and handlers import each other)
from domain.settings import Settings
from scheduler.followup import FollowUp
from storage import Database
from storage.migrations import MIGRATIONS
from storage.timefmt import ts

GENERATED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # bench.generate's "now"
TICKS = 20


class TimedDatabase(Database):
    """The production database, adding up how long each use of the connection holds its lock."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path)
        self.held = 0.0
        self.holds = 0

    @asynccontextmanager
    async def _locked(self, *, urgent: bool = False) -> AsyncIterator[None]:
        async with super()._locked(urgent=urgent):
            start = time.perf_counter()
            try:
                yield
            finally:
                self.held += time.perf_counter() - start
                self.holds += 1


class _Bot:
    async def me(self) -> Any:
        return SimpleNamespace(username="bench_bot")


class _Sender:
    """Nothing is sent: what a tick queues stays in the outbox (and is marked sent between
    ticks, as the real sender would have done)."""

    bot = _Bot()

    def kick(self) -> None:
        pass


def _steady_state(path: Path, now: datetime) -> dict[str, int]:
    """What a bot that has been running keeps true: cases older than their deadlines were
    reminded and escalated (the generator does not mark them), and every message queued went
    out. Without this the first tick escalates every old open case of two years."""
    conn = sqlite3.connect(path)
    with conn:
        old = ts(now - timedelta(days=7))
        cases = conn.execute(
            "UPDATE cases SET reminded_at = coalesce(reminded_at, opened_at), "
            "escalated_at = opened_at WHERE escalated_at IS NULL AND status != 'resolved' "
            "AND opened_at < ?",
            (old,),
        ).rowcount
        alerted = conn.execute(
            "UPDATE cases SET alerted_at = opened_at WHERE alerted_at IS NULL AND opened_at < ?",
            (old,),
        ).rowcount
        # A file generated at the current schema has cases the generator made without
        # settled_at; the bot settles every case within ALERT_QUIET_MINUTES of the last answer.
        columns = {row[1] for row in conn.execute("PRAGMA table_info(cases)")}
        if "settled_at" not in columns:  # the code before issue 13 (to time it the same way)
            return {"cases_marked_escalated": cases, "cases_marked_alerted": alerted}
        settled = conn.execute(
            "UPDATE cases SET settled_at = coalesce((SELECT coalesce(s.answered_at, "
            "s.consent_at, s.reason_at, s.scored_at) FROM surveys s WHERE s.id = cases.survey_id), "
            "opened_at) WHERE settled_at IS NULL AND opened_at < ?",
            (ts(now - timedelta(days=1)),),
        ).rowcount
    conn.close()
    return {
        "cases_marked_escalated": cases,
        "cases_marked_alerted": alerted,
        "cases_marked_settled": settled,
    }


async def _deliver(db: Database, now: datetime) -> int:
    """What the sender would have done by the next minute: every queued message went out.
    Through the same connection, so its page cache stays as warm as a running bot's."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ? WHERE status IN ('pending', 'claimed')",
            (ts(now),),
        )
        return cur.rowcount


async def run(path: Path, day: int, ticks: int) -> dict[str, Any]:
    now = GENERATED_AT + timedelta(days=day, hours=1)  # 13:00 in Moscow: nudges run too
    with sqlite3.connect(path) as conn:
        before = conn.execute("PRAGMA user_version").fetchone()[0]
    result: dict[str, Any] = {"file": str(path), "schema_before": before, "now": now.isoformat()}
    db = TimedDatabase(path)
    start = time.perf_counter()
    await db.open()
    result["upgrade_s"] = round(time.perf_counter() - start, 2)
    result["schema_after"] = len(MIGRATIONS)
    await db.close()
    result.update(_steady_state(path, now))

    db = TimedDatabase(path)
    await db.open()
    moment = [now]
    settings = Settings(bot_token="0:bench", owner_ids=frozenset({1}), database_path=path)
    followup = FollowUp(db, settings, lambda: moment[0], _Sender())  # type: ignore[arg-type]
    try:
        start = time.perf_counter()
        db.held = 0.0
        first = await followup.tick()  # the day's first tick: the daily planning run
        result["first_tick_s"] = round(time.perf_counter() - start, 2)
        result["first_tick_db_s"] = round(db.held, 2)
        result["first_tick_queued"] = first
        result["delivered_between"] = await _deliver(db, now)
        # The preparation wrote hundreds of thousands of rows: their checkpoint would land on
        # the first timed tick's COMMIT. A running bot checkpoints as it goes.
        async with db.read() as conn:
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        held, wall, cpu, queued, holds, per_tick = [], [], [], 0, [], []
        for n in range(1, ticks + 1):
            moment[0] = now + timedelta(minutes=n)
            db.held, db.holds = 0.0, 0
            start, start_cpu = time.perf_counter(), time.process_time()
            queued_now = await followup.tick()
            cpu.append(time.process_time() - start_cpu)
            queued += queued_now
            per_tick.append(queued_now)
            wall.append(time.perf_counter() - start)
            held.append(db.held)
            holds.append(db.holds)
        result.update(
            ticks=ticks,
            tick_db_ms_median=round(statistics.median(held) * 1000, 2),
            tick_db_ms_worst=round(max(held) * 1000, 2),
            tick_wall_ms_median=round(statistics.median(wall) * 1000, 2),
            tick_wall_ms_worst=round(max(wall) * 1000, 2),
            # CPU of the whole process (both threads) per tick: what the tick costs whatever
            # the machine's load, where the held time includes waiting for a core
            tick_cpu_ms_median=round(statistics.median(cpu) * 1000, 2),
            tick_cpu_ms_worst=round(max(cpu) * 1000, 2),
            lock_holds_per_tick=statistics.median(holds),
            queued_in_timed_ticks=queued,
            # each tick: DB ms and messages queued (a tick with work due costs more)
            per_tick=[[round(h * 1000, 1), q] for h, q in zip(held, per_tick, strict=True)],
        )
    finally:
        await db.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--day", type=int, default=4, help="days after the generator's now")
    parser.add_argument("--ticks", type=int, default=TICKS)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.path, args.day, args.ticks)), ensure_ascii=False))


if __name__ == "__main__":
    main()
