"""What a minute's nudge tick costs when the contact budget holds many nudges back.

A held-back nudge stays due and is looked at again on every tick (in the respondents' daytime),
so its cost per tick must stay small. This builds a fresh database with N respondents who each
left a survey unfinished two days ago and got a bot message yesterday (so the budget holds every
nudge back), plus N people who opted out (left out by the query itself), and times
`queue_nudges`, which queues nothing here:

    python -m bench.bench_nudges --people 1000 10000 100000

It also times rendering a 200-item plan page (`plan_message`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from storage import Database
from storage.followup import queue_nudges
from storage.tasks import TaskView
from storage.timefmt import ts
from views.tasks import KIND_EMOJI, plan_message, telegram_length

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
REPEAT = 5


async def build(path: Path, people: int) -> Database:
    db = Database(path)
    await db.open()
    opened, wrote = ts(NOW - timedelta(days=2)), ts(NOW - timedelta(days=1))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, kind, tg_user_id, opted_out_at, created_at, updated_at) "
            "VALUES (?, 'client', ?, ?, ?, ?)",
            [
                (i, 10_000_000 + i, opened if i > people else None, opened, opened)
                for i in range(1, 2 * people + 1)
            ],
        )
        await conn.executemany(
            "INSERT INTO surveys (id, token, contact_id, kind, status, respondent_tg_id, "
            "created_at, opened_at) VALUES (?, ?, ?, 'client', 'opened', ?, ?, ?)",
            [(i, f"t{i}", i, 10_000_000 + i, opened, opened) for i in range(1, 2 * people + 1)],
        )
        await conn.executemany(
            "INSERT INTO contact_log (contact_id, at, channel, purpose, initiated) "
            "VALUES (?, ?, 'bot', 'greeting', 1)",
            [(i, wrote) for i in range(1, people + 1)],
        )
    return db


async def tick_cost(people: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        db = await build(Path(folder) / "nudges.sqlite3", people)
        try:
            runs = []
            for _ in range(REPEAT + 1):
                start = time.perf_counter()
                queued = await queue_nudges(db, NOW, 24, 7, lambda s, lang, kind: {"text": "x"})
                runs.append(time.perf_counter() - start)
                assert queued == 0
        finally:
            await db.close()
    runs = runs[1:]  # the first warms the cache
    return statistics.median(runs), max(runs)


def plan_cost() -> tuple[float, int]:
    kinds = list(KIND_EMOJI)
    tasks = [
        TaskView(
            id=i,
            kind=kinds[i % len(kinds)],
            status="pending",
            contact_id=i,
            contact_name=f"Анна Смирнова {i}",
            organization="ООО «Берёзка»",
            phone=None,
            contact_kind="client",
            birth_day=14,
            birth_month=12,
            tg_linked=False,
            consent=False,
            manager_id=1,
            deal_id=i,
            deal_description="Кухонный гарнитур",
            deal_date=date(2026, 11, 19),
            survey_id=None,
            survey_token=None,
            survey_score=10,
            survey_reason=None,
            case_id=None,
            due_date=date(2026, 11, 19),
            due_at=None,
            attempts=0,
            meta={},
        )
        for i in range(200)
    ]
    runs = []
    for _ in range(50):
        start = time.perf_counter()
        text, _ = plan_message(tasks, 0, "ru", date(2026, 11, 20))
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), telegram_length(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    print("held-back nudges | opted out | queue_nudges median | worst")
    for people in args.people:
        median, worst = asyncio.run(tick_cost(people))
        print(f"{people:>16,} | {people:>9,} | {median * 1000:>16.1f} ms | {worst * 1000:.1f} ms")
    median, length = plan_cost()
    print(f"plan_message, 200 items, one page: {median * 1000:.2f} ms, {length} characters")


if __name__ == "__main__":
    main()
