"""Fill a database with realistic data: managers, contacts of every kind, deals, survey links and
answers over two years, comments, cases for detractors, follow-up tasks.

    python -m bench.generate data/bench.sqlite3 --contacts 100000 --answers 300000

The schema comes from the project's migrations; rows go in with executemany in large
transactions (a few seconds for the default size). Scores follow a plausible distribution
(about a third promoters, a fifth detractors), answers follow sales by hours to days, and
managers differ in how diligently their clients answer, so /managers has problems to show.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import Database
from storage.migrations import MIGRATIONS, reconciled_plan
from storage.timefmt import ts

KINDS = ["client"] * 7 + ["supplier", "contractor", "partner"]
FIRST = ["Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий", "Наталья"]
LAST = ["Смирнов", "Иванов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов"]
PRODUCTS = ["Кухонный гарнитур", "Диван", "Шкаф-купе", "Монтаж", "Поставка ЛДСП", "Доставка"]
REASONS = [
    "Быстро и вежливо",
    "Долго ждали доставку",
    "Всё понравилось, спасибо мастеру",
    "Цена выше, чем у конкурентов",
    "Не перезвонили, как обещали",
    "Отличное качество",
]
CHUNK = 100_000  # rows per transaction: memory stays flat up to a million contacts
SCORES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
WEIGHTS = [1, 1, 1, 2, 2, 4, 6, 10, 14, 22, 20]


def build(
    path: Path, contacts: int, answers: int, managers: int, seed: int, schema: int | None = None
) -> dict[str, float]:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def migrate() -> None:
        db = Database(path)
        await db.open(migrate_to=schema)  # an older schema: to time the upgrade of a big file
        await db.close()

    asyncio.run(migrate())
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    start = now - timedelta(days=730)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    t0 = time.perf_counter()
    stamp = ts(start)
    manager_ids = list(range(1001, 1001 + managers))
    diligence = {m: rng.uniform(0.35, 0.95) for m in manager_ids}
    with conn:
        conn.executemany(
            "INSERT INTO staff VALUES (?, 'manager', ?, NULL, 'ru', 1, NULL, ?, ?)",
            [
                (m, f"{rng.choice(FIRST)} {rng.choice(LAST)} #{m}", stamp, stamp)
                for m in manager_ids
            ],
        )
        conn.execute(
            "INSERT INTO staff VALUES (1, 'owner', 'Владелец', NULL, 'ru', 1, NULL, ?, ?)",
            (stamp, stamp),
        )
        kinds: list[str] = [""]  # by contact id (lists: a million entries stay small)
        managers_of: list[int] = [0]
        for first in range(1, contacts + 1, CHUNK):
            rows = []
            for cid in range(first, min(first + CHUNK, contacts + 1)):
                bday = rng.random() < 0.6
                rows.append(
                    (
                        cid,
                        rng.choice(KINDS),
                        f"{rng.choice(FIRST)} {rng.choice(LAST)} {cid}",
                        f"+7916{cid:07d}",
                        rng.randint(1, 28) if bday else None,
                        rng.randint(1, 12) if bday else None,
                        rng.choice(manager_ids),
                        stamp,
                        stamp,
                    )
                )
                kinds.append(rows[-1][1])
                managers_of.append(rows[-1][6])
            conn.executemany(
                "INSERT INTO contacts (id, kind, full_name, phone, birth_day, birth_month, "
                "manager_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        del rows
    deals, surveys, comments, cases = [], [], [], []
    unanswered = int(answers * 0.35)  # links never answered, more of them for careless managers
    links = answers + unanswered
    sid = 0
    answered_count = cases_count = 0

    def flush() -> None:
        with conn:
            conn.executemany(
                "INSERT INTO deals (id, contact_id, manager_id, description, deal_date, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                deals,
            )
            conn.executemany(
                "INSERT INTO surveys (id, token, contact_id, deal_id, manager_id, kind, status, "
                "respondent_tg_id, created_at, opened_at, score, scored_at, reason, reason_at, "
                "consent, answered_at, answer_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                surveys,
            )
            conn.executemany(
                "INSERT INTO comments (contact_id, source, text, created_at) "
                "VALUES (?, 'survey', ?, ?)",
                comments,
            )
            conn.executemany(
                "INSERT INTO cases (contact_id, survey_id, deal_id, status, opened_at, "
                "resolved_at, alerted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                cases,
            )
        deals.clear()
        surveys.clear()
        comments.clear()
        cases.clear()

    while sid < links:
        cid = rng.randint(1, contacts)
        manager = managers_of[cid]
        answered = sid < answers
        if not answered and rng.random() < diligence[manager]:
            continue
        sid += 1
        made = start + timedelta(seconds=rng.randint(0, 730 * 86400))
        deals.append((sid, cid, manager, rng.choice(PRODUCTS), made.date().isoformat(), ts(made)))
        score = scored = reason = None
        opened = ts(made + timedelta(hours=rng.randint(1, 48))) if answered else None
        if answered:
            answered_count += 1
            score = rng.choices(SCORES, WEIGHTS)[0]
            scored = ts(made + timedelta(hours=rng.randint(1, 24 * 10)))
            if rng.random() < 0.45:
                reason = rng.choice(REASONS)
                comments.append((cid, reason, scored))
        surveys.append(
            (
                sid,
                f"tok{sid}",
                cid,
                sid,
                manager,
                kinds[cid],
                "answered" if answered else "created",
                cid if answered else None,
                ts(made),
                opened,
                score,
                scored,
                reason,
                scored if answered else None,
                1 if answered and rng.random() < 0.6 else (0 if answered else None),
                scored,
                int((from_text(scored) - made).total_seconds()) if scored else None,
            )
        )
        if score is not None and score <= 6:
            resolved = rng.random() < 0.7
            cases_count += 1
            cases.append(
                (
                    cid,
                    sid,
                    sid,
                    "resolved" if resolved else "open",
                    scored,
                    ts(from_text(scored) + timedelta(hours=rng.randint(2, 120)))
                    if resolved
                    else None,
                    scored,
                )
            )
        if len(surveys) >= CHUNK:
            flush()
    flush()
    with conn:
        today = now.date()
        conn.executemany(
            "INSERT INTO tasks (idem_key, kind, contact_id, manager_id, due_date, created_at) "
            "VALUES (?, 'offer', ?, ?, ?, ?)",
            [
                (
                    f"offer:{cid}:bench",
                    cid,
                    managers_of[cid],
                    (today + timedelta(days=rng.randint(-20, 40))).isoformat(),
                    stamp,
                )
                for cid in range(1, contacts + 1, 3)
            ],
        )
    conn.execute("ANALYZE")
    conn.close()
    return {
        "seconds": time.perf_counter() - t0,
        "contacts": contacts,
        "links": links,
        "answers": answered_count,
        "cases": cases_count,
    }


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=Path("data/bench.sqlite3"))
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=300_000)
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--schema", type=int, default=None, help="stop at this schema version")
    parser.add_argument(
        "--before-planner",
        action="store_true",
        help="the schema before the planner's migration (to time that upgrade)",
    )
    args = parser.parse_args()
    if args.before_planner:
        args.schema = MIGRATIONS.index(reconciled_plan)
    result = build(args.path, args.contacts, args.answers, args.managers, args.seed, args.schema)
    print(
        f"{args.path}: {result['contacts']:,} contacts, {result['links']:,} survey links, "
        f"{result['answers']:,} answers, {result['cases']:,} cases in {result['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
