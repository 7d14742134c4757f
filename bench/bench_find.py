"""How fast /find answers on a large base (issue 13 target: 50 ms at 1,000,000 contacts), and what
the FTS5 index costs: the migration that fills it, its size, and the merge after a forget.

    cp --reflink=auto /work/bench1m/db.sqlite3 /tmp/find/db.sqlite3
    nice -n 10 python -m bench.bench_find /tmp/find/db.sqlite3

Run it on a COPY: opening the file runs the pending migrations (their time is printed: the FTS
fill is most of it), and the first run adds a little test data to the copy (`prepare`): every
tenth contact gets an organisation, five get a rare surname, and a new manager gets 40 contacts
(a manager with few matches of a common name is the slow case without the `mgr` token). Each
query goes through `search_contacts`, the function /find calls, once to warm the cache and then
REPEAT times; the median and the worst are printed. `--forget` then erases one contact the way an
owner does and prints how long the FTS merge and the checkpoint took (it changes the copy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage import Database
from storage.contacts import search_contacts
from storage.forget import erase_contact

REPEAT = 5
TARGET_MS = 50.0
MANAGER = 1001
NEWCOMER = 999  # the manager `prepare` adds, with few contacts
ORGS = ["ООО «Берёзка»", "ИП Кузнецова", "АО «Стройматериалы»", "ООО «Ромашка»", "Мебель-Сервис"]
RARE = "Воскресенская"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class TimedDatabase(Database):
    """Notes how long each write transaction holds the connection (what a tap waits behind)."""

    holds: list[float]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with super().transaction() as conn:
            start = time.perf_counter()
            try:
                yield conn
            finally:
                self.holds.append(time.perf_counter() - start)


def prepare(path: Path) -> None:
    """Organisations, a rare surname and a newcomer manager, once per copy (through the triggers,
    as the bot's own writes would go)."""
    conn = sqlite3.connect(path)
    try:
        if conn.execute("SELECT 1 FROM staff WHERE user_id = ?", (NEWCOMER,)).fetchone():
            return
        start = time.perf_counter()
        with conn:
            conn.execute(
                "INSERT INTO staff VALUES (?, 'manager', 'Новый Менеджер', NULL, 'ru', 1, NULL, "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00')",
                (NEWCOMER,),
            )
            for n, org in enumerate(ORGS):
                conn.execute(
                    "UPDATE contacts SET organization = ? WHERE id % 50 = ?", (f"{org} {n}", n * 10)
                )
            conn.execute(
                "UPDATE contacts SET full_name = ? || ' Ольга ' || id "
                "WHERE id BETWEEN 500000 AND 500004",
                (RARE,),
            )
            conn.execute(
                "UPDATE contacts SET manager_id = ? WHERE id % 25000 = 7", (NEWCOMER,)
            )  # 40 contacts
        print(json.dumps({"prepare_s": round(time.perf_counter() - start, 1)}))
    finally:
        conn.close()


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    result = await fn()
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = await fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000, max(runs) * 1000, result


async def run(path: Path, forget: bool) -> None:
    before = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    db = Database(path)
    start = time.perf_counter()
    await db.open()
    opened = time.perf_counter() - start
    after = await db.schema_version()
    if after != before:
        print(json.dumps({"migrated": f"{before}->{after}", "seconds": round(opened, 1)}))
    await db.close()
    prepare(path)
    db = Database(path)
    await db.open()
    async with db.read() as conn:
        size = 0
        for table in ("contacts_fts_data", "contacts_fts_idx"):
            row = await (
                await conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (table,))
            ).fetchone()
            size += row[0] or 0
        contacts = (await (await conn.execute("SELECT count(*) FROM contacts")).fetchone())[0]
    print(json.dumps({"contacts": contacts, "fts_mib": round(size / 2**20, 1)}))
    queries: list[tuple[str, int | None, str]] = [
        ("common name, owner", None, "анна"),
        ("name + surname of common trigrams, no match, owner", None, "анна смирнова"),
        ("rare surname, owner", None, RARE.lower()),
        ("organisation, owner", None, "берёзка"),
        ("common name, manager", MANAGER, "анна"),
        ("common name, newcomer manager", NEWCOMER, "анна"),
        ("rare surname, manager", MANAGER, RARE.lower()),
        ("2-letter query", None, "ан"),
        ("common name + 2-letter word, owner", None, "анна ва"),
    ]
    for label, viewer, text in queries:

        async def call(viewer: int | None = viewer, text: str = text) -> Any:
            return await search_contacts(db, viewer, text=text)

        median, worst, found = await timed(call)
        total = f">{found.total}" if found.more else str(found.total)
        line = {"query": label, "text": text, "found": total}
        line |= {"median_ms": round(median, 1), "worst_ms": round(worst, 1)}
        line["within_target"] = worst <= TARGET_MS
        print(json.dumps(line, ensure_ascii=False))
    await db.close()
    if forget:
        timed_db = TimedDatabase(path)
        timed_db.holds = []
        await timed_db.open()
        start = time.perf_counter()
        victim = (await search_contacts(timed_db, None, text=RARE.lower())).contacts[0].id
        await erase_contact(timed_db, victim, NOW, by="bench")
        holds = timed_db.holds
        line = {"forget_with_merge_s": round(time.perf_counter() - start, 2)}
        line |= {"erase_tx_ms": round(holds[0] * 1000, 1), "merge_steps": len(holds) - 1}
        line["merge_step_median_ms"] = round(statistics.median(holds[1:]) * 1000, 1)
        line["merge_step_worst_ms"] = round(max(holds[1:]) * 1000, 1)
        line["merge_total_s"] = round(sum(holds[1:]), 2)
        print(json.dumps(line))
        await timed_db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a COPY of a bench database")
    parser.add_argument("--forget", action="store_true", help="also time one erasure")
    args = parser.parse_args()
    asyncio.run(run(args.path, args.forget))


if __name__ == "__main__":
    main()
