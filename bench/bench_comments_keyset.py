"""/comments by offset (the old query) against by key (storage/comments.py), on N answers.

Builds (once, in --path) a database of N answers, 45% with a reason, and times, median of 5:
the old OFFSET page at page 50 and at page 5,000, the old count(*) of the total, and the keyset
page 1 and page 50 (reached by following the anchors, as ◀ ▶ do) with the stand-in total:

    nice -n 10 python -m bench.bench_comments_keyset --answers 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from storage import Database
from storage.comments import comment_page, comment_total

OLD = (
    "SELECT s.scored_at, s.score, s.reason, s.kind, "
    "CASE WHEN c.forgotten_at IS NULL THEN c.full_name END, m.full_name "
    "FROM surveys s JOIN contacts c ON c.id = s.contact_id "
    "LEFT JOIN staff m ON m.user_id = s.manager_id "
    "WHERE s.reason IS NOT NULL AND {cat} ORDER BY s.scored_at DESC, s.id DESC LIMIT 5 OFFSET ?"
)
CATEGORIES = {"all": "1", "detractor": "s.score <= 6"}
KINDS = ["client", "supplier", "contractor", "partner"]


async def build(path: Path, answers: int) -> None:
    db = Database(path)
    await db.open()
    await db.close()
    conn = sqlite3.connect(path)
    rnd = random.Random(1)
    stamp = "2024-01-01 00:00:00"
    people = answers // 3 + 1
    conn.executemany(
        "INSERT INTO contacts (id, kind, full_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        ((i, rnd.choice(KINDS), f"Клиент {i}", stamp, stamp) for i in range(1, people + 1)),
    )

    def rows():  # type: ignore[no-untyped-def]
        for i in range(1, answers + 1):
            at = time.strftime(
                "%Y-%m-%d %H:%M:%S", time.gmtime(1_700_000_000 + i * 60 + rnd.randint(0, 59))
            )
            reason = f"Причина {i} " * rnd.randint(1, 8) if rnd.random() < 0.45 else None
            kind = rnd.choice(KINDS)
            contact = rnd.randint(1, people)
            score = rnd.randint(0, 10)
            yield (i, f"t{i}", contact, kind, at, score, at, reason, at if reason else None)

    conn.executemany(
        "INSERT INTO surveys (id, token, contact_id, kind, created_at, score, scored_at, reason, "
        "reason_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def median_ms(run: Callable[[], object], times: int = 5) -> float:
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        taken.append(time.perf_counter() - start)
    return statistics.median(taken) * 1000


async def amedian_ms(run: Callable[[], object], times: int = 5) -> float:
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        await run()  # type: ignore[misc]
        taken.append(time.perf_counter() - start)
    return statistics.median(taken) * 1000


async def measure(args: argparse.Namespace) -> None:
    conn = sqlite3.connect(args.path)
    db = Database(args.path)
    await db.open()
    try:
        for cat, sql in CATEGORIES.items():
            old = OLD.format(cat=sql)
            count = f"SELECT count(*) FROM surveys s WHERE s.reason IS NOT NULL AND {sql}"
            at50 = median_ms(lambda: conn.execute(old, (245,)).fetchall())  # noqa: B023
            at5000 = median_ms(lambda: conn.execute(old, (24995,)).fetchall())  # noqa: B023
            counted = median_ms(lambda: conn.execute(count).fetchone())  # noqa: B023
            print(
                f"{cat}: offset page 50 {at50:.1f} ms, page 5000 {at5000:.1f} ms, "
                f"count {counted:.1f} ms"
            )
            anchor = 0
            for _ in range(49):
                page = await comment_page(db, cat, "all", 5, anchor)
                assert page is not None
                anchor = page.items[-1].survey_id
            first = await amedian_ms(lambda: comment_page(db, cat, "all", 5))  # noqa: B023
            fifty = await amedian_ms(lambda: comment_page(db, cat, "all", 5, anchor))  # noqa: B023
            total = await amedian_ms(lambda: comment_total(db, cat, "all"))  # noqa: B023
            print(
                f"{cat}: keyset page 1 {first:.1f} ms, page 50 {fifty:.1f} ms, "
                f"stand-in total {total:.1f} ms"
            )
    finally:
        await db.close()
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/bench_comments.sqlite3"))
    args = parser.parse_args()
    if not args.path.exists():  # built once: delete it to build another size
        asyncio.run(build(args.path, args.answers))
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
