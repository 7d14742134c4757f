"""Fill a database with realistic data: managers, contacts of every kind, deals, survey links and
answers over two years, comments, cases for detractors, follow-up tasks, the outbox's history.

    python -m bench.generate data/bench.sqlite3 --contacts 100000 --answers 300000

Scores follow a plausible distribution (about a third promoters, a fifth detractors), answers
follow sales by hours to days, and managers differ in how diligently their clients answer, so
/managers has problems to show. Old open cases were already reminded and escalated, 1% of people
blocked the bot, 30% of unanswered links were opened (and nudged), 0.1% of reasons run to
thousands of characters, and about one sent message per link sits in the outbox.

Fast at a million contacts: the file is disposable, so the rows go in with no journal and a 1 GB
page cache, with every secondary index and trigger dropped and the rows in key order (links by
time); each index is then built with one sort.

The one non-obvious decision: the rows are written for the schema this generator knows
(`DATA_SCHEMA`, the migrations up to `V10_SOURCE_KEYS`), and any later migration runs afterwards
on the full file exactly as it would on a user's upgrade: its backfills, the /find index and
whatever else it fills are the project's own code, not a copy here. Then, if the project has
per-day figures (`storage.figures.rebuild_figures`), they are rebuilt from the raw rows. Each
phase's time is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import aiosqlite

from bench.figures_hook import rebuild, rebuild_function, rebuild_on, wants_database
from storage import Database
from storage.migrations import MIGRATIONS, V10_SOURCE_KEYS, apply_migrations, reconciled_plan

KINDS = ["client"] * 7 + ["supplier", "contractor", "partner"]
FIRST = ["Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий", "Наталья"]
LAST = ["Смирнов", "Иванов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов"]
RARE_LAST = ["Ёлкин", "Шереметьев", "Цыбульский"]  # about 1 in 10,000 people: /find's rare names
ORGS = ["Ромашка", "Вектор", "СтройМаркет", "Лесторг", "Мебель-Сервис", "Альфа-Дизайн"]
PRODUCTS = ["Кухонный гарнитур", "Диван", "Шкаф-купе", "Монтаж", "Поставка ЛДСП", "Доставка"]
REASONS = [
    "Быстро и вежливо",
    "Долго ждали доставку",
    "Всё понравилось, спасибо мастеру",
    "Цена выше, чем у конкурентов",
    "Не перезвонили, как обещали",
    "Отличное качество",
]
PURPOSES = ["alert", "nudge", "reminder", "greeting", "digest"]
CHUNK = 100_000  # rows per batch: memory stays flat up to a million contacts
SCORES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
WEIGHTS = [1, 1, 1, 2, 2, 4, 6, 10, 14, 22, 20]
REASON_LIMIT = 1000  # what surveys.reason keeps; the full text is the comment (storage/surveys.py)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the benches' "now"
DAYS = 730
# The schema the rows below are written for; later migrations run on the filled file.
DATA_SCHEMA = MIGRATIONS.index(V10_SOURCE_KEYS) + 1


class Stamps:
    """Epoch seconds → `YYYY-MM-DD HH:MM:SS` through two tables (days, times of day): strftime
    for 10 million timestamps was a minute on its own."""

    def __init__(self, first_day: date, days: int) -> None:
        self.base = int(
            datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp()
        )
        self.days = [(first_day + timedelta(days=d)).isoformat() + " " for d in range(days)]
        self.tod = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]

    def __call__(self, epoch: int) -> str:
        offset = epoch - self.base
        return self.days[offset // 86400] + self.tod[offset % 86400]

    def day(self, epoch: int) -> str:
        return self.days[(epoch - self.base) // 86400][:10]


@contextmanager
def phase(name: str, times: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    times[name] = time.perf_counter() - start
    print(f"  {name}: {times[name]:.1f} s", flush=True)


class Table:
    """An INSERT for the columns this schema has: rows are built for the newest known schema and
    narrowed for an older one (`--before-planner`)."""

    def __init__(self, conn: sqlite3.Connection, table: str, columns: Sequence[str]) -> None:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        keep = [i for i, c in enumerate(columns) if c in have]
        names = [columns[i] for i in keep]
        self.sql = (
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        )
        self.pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = (
            None if len(keep) == len(columns) else itemgetter(*keep)  # type: ignore[assignment]
        )
        self.conn = conn

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(self.sql, rows if self.pick is None else map(self.pick, rows))


def build(
    path: Path, contacts: int, answers: int, managers: int, seed: int, schema: int | None = None
) -> dict[str, float]:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    target = len(MIGRATIONS) if schema is None else schema
    times: dict[str, float] = {}
    t0 = time.perf_counter()

    async def migrate(to: int) -> None:
        db = Database(path)
        await db.open(migrate_to=to)
        await db.close()

    with phase("schema", times):
        asyncio.run(migrate(min(target, DATA_SCHEMA)))
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode = OFF",  # the file is disposable: no journal, no WAL, no checkpoint
        "synchronous = OFF",
        "cache_size = -1000000",  # about 1 GB
        "temp_store = MEMORY",
        "locking_mode = EXCLUSIVE",
    ):
        conn.execute(f"PRAGMA {pragma}")
    saved = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, name"
    ).fetchall()
    for kind, name, _ in saved:
        conn.execute(f"DROP {kind.upper()} {name}")
    counts: dict[str, float] = {}
    with phase("rows", times):
        conn.execute("BEGIN")
        counts = fill(conn, rng, contacts, answers, managers)
        conn.execute("COMMIT")
    with phase("indexes", times):
        conn.execute("BEGIN")
        for kind, _, sql in saved:
            if kind == "index":
                conn.execute(sql)
        conn.execute("COMMIT")
    for kind, _, sql in saved:
        if kind == "trigger":
            conn.execute(sql)
    conn.close()
    finish(path, target, times)
    counts["seconds"] = time.perf_counter() - t0
    counts.update({f"phase {k}": v for k, v in times.items()})
    return counts


def finish(path: Path, target: int, times: dict[str, float]) -> None:
    """Run the migrations the file lacks, rebuild the figures, ANALYZE, switch to WAL."""
    conn = sqlite3.connect(path)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    if target > version:
        with phase(f"upgrade {version} → {target} (later migrations on the full file)", times):
            asyncio.run(upgrade(path, target))
    if target == len(MIGRATIONS):
        rebuild_figures = rebuild_function()
        if rebuild_figures is not None:
            with phase("figures rebuilt from the raw rows", times):
                asyncio.run(run_rebuild(path, rebuild_figures))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -1000000")
    with phase("ANALYZE", times):
        conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    if target == len(MIGRATIONS):
        with phase("first open by the bot's Database", times):
            asyncio.run(open_once(path))


async def open_once(path: Path) -> None:
    db = Database(path)
    await db.open()
    await db.close()


async def _connect(path: Path, journal: str = "OFF") -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in (f"journal_mode = {journal}", "synchronous = OFF", "cache_size = -1000000"):
        await conn.execute(f"PRAGMA {pragma}")
    await conn.execute("PRAGMA temp_store = MEMORY")
    from storage import db as storage_db

    casefold = getattr(storage_db, "_casefold", None)
    if casefold is not None:
        await conn.create_function("casefold", 1, casefold, deterministic=True)
    return conn


async def upgrade(path: Path, target: int) -> None:
    """The later migrations on a fast connection (journal in memory, so a failed step still rolls
    back); one that needs a function only the bot's `Database` registers is left to it."""
    conn = await _connect(path, journal="MEMORY")
    try:
        await apply_migrations(conn, target)
    except sqlite3.OperationalError as exc:
        print(f"  (the rest of the upgrade runs through the bot's Database: {exc})", flush=True)
    else:
        return
    finally:
        await conn.close()
    await open_once(path)


async def run_rebuild(path: Path, fn: Callable[..., Any]) -> None:
    if wants_database(fn):
        db = Database(path)
        await db.open()
        try:
            await rebuild(fn, db)
        finally:
            await db.close()
        return
    conn = await _connect(path)
    try:
        await rebuild_on(fn, conn)
    finally:
        await conn.close()


def fill(
    conn: sqlite3.Connection, rng: random.Random, contacts: int, answers: int, managers: int
) -> dict[str, float]:
    start = NOW - timedelta(days=DAYS)
    first = int(start.timestamp())
    last = int(NOW.timestamp())
    at = Stamps(start.date(), DAYS + 60)
    stamp = at(first)
    manager_ids = list(range(1001, 1001 + managers))
    diligence = {m: rng.uniform(0.35, 0.95) for m in manager_ids}
    mean_diligence = sum(diligence.values()) / len(diligence)
    conn.executemany(
        "INSERT INTO staff VALUES (?, 'manager', ?, NULL, 'ru', 1, NULL, ?, ?)",
        [(m, f"{rng.choice(FIRST)} {rng.choice(LAST)} #{m}", stamp, stamp) for m in manager_ids],
    )
    conn.execute(
        "INSERT INTO staff VALUES (1, 'owner', 'Владелец', NULL, 'ru', 1, NULL, ?, ?)",
        (stamp, stamp),
    )
    contact_table = Table(
        conn,
        "contacts",
        (
            "id", "kind", "full_name", "organization", "phone", "birth_day", "birth_month",
            "manager_id", "unreachable_at", "created_at", "updated_at",
        ),
    )  # fmt: skip
    kinds: list[str] = [""]  # by contact id (lists: a million entries stay small)
    managers_of: list[int] = [0]
    for low in range(1, contacts + 1, CHUNK):
        ids = range(low, min(low + CHUNK, contacts + 1))
        n = len(ids)
        chunk_kinds = rng.choices(KINDS, k=n)
        chunk_managers = rng.choices(manager_ids, k=n)
        firsts = rng.choices(FIRST, k=n)
        lasts = rng.choices(LAST, k=n)
        rows = []
        for i, cid in enumerate(ids):
            kind = chunk_kinds[i]
            last_name = rng.choice(RARE_LAST) if rng.random() < 0.0001 else lasts[i]
            org = None
            if kind != "client" or rng.random() < 0.1:
                org = f"ООО «{rng.choice(ORGS)}-{cid % 997}»"
            bday = rng.random() < 0.6
            rows.append(
                (
                    cid,
                    kind,
                    f"{firsts[i]} {last_name} {cid}",
                    org,
                    f"+7916{cid:07d}",
                    rng.randint(1, 28) if bday else None,
                    rng.randint(1, 12) if bday else None,
                    chunk_managers[i],
                    at(rng.randint(last - 300 * 86400, last)) if rng.random() < 0.01 else None,
                    stamp,
                    stamp,
                )
            )
        contact_table.insert(rows)
        kinds.extend(chunk_kinds)
        managers_of.extend(chunk_managers)
    del rows

    deal_table = Table(
        conn,
        "deals",
        ("id", "contact_id", "manager_id", "description", "deal_date", "created_at"),
    )
    survey_table = Table(
        conn,
        "surveys",
        (
            "id", "token", "contact_id", "deal_id", "manager_id", "kind", "status",
            "respondent_tg_id", "created_at", "opened_at", "score", "scored_at", "reason",
            "reason_at", "consent", "consent_at", "answered_at", "answer_seconds", "nudged_at",
        ),
    )  # fmt: skip
    comment_table = Table(conn, "comments", ("contact_id", "source", "text", "created_at"))
    case_table = Table(
        conn,
        "cases",
        (
            "id", "contact_id", "survey_id", "deal_id", "status", "owner_id", "opened_at",
            "taken_at", "resolved_at", "alerted_at", "reminded_at", "escalated_at",
        ),
    )  # fmt: skip
    outbox_table = Table(
        conn,
        "outbox",
        (
            "id", "idem_key", "chat_id", "contact_id", "purpose", "ref", "payload", "status",
            "not_before", "attempts", "claimed_at", "sent_at", "message_id", "created_at",
        ),
    )  # fmt: skip
    links = answers + int(answers * 0.35)  # some never answered, more for careless managers
    to_answer = answers
    answered_count = cases_count = long_reasons = opened_unanswered = 0
    sid = case_id = 0
    span = (last - first) / math.ceil(links / CHUNK)
    chunk_no = 0
    while sid < links:
        n = min(CHUNK, links - sid)
        low = first + int(chunk_no * span)
        made_times = sorted(rng.randint(low, int(low + span) - 1) for _ in range(n))
        chunk_no += 1
        cids = rng.choices(range(1, contacts + 1), k=n)
        deals, surveys, comments, cases, outbox = [], [], [], [], []
        for made, cid in zip(made_times, cids, strict=True):
            sid += 1
            manager = managers_of[cid]
            left = links - sid + 1
            chance = to_answer / left * diligence[manager] / mean_diligence
            answered = to_answer > 0 and (
                to_answer >= left or (made < last - 3600 and rng.random() < chance)
            )
            made_at = at(made)
            deals.append((sid, cid, manager, rng.choice(PRODUCTS), at.day(made), made_at))
            score = scored = reason = opened = consent = nudged = None
            if answered:
                to_answer -= 1
                answered_count += 1
                scored_epoch = max(made + 60, min(made + rng.randint(1, 240) * 3600, last - 60))
                opened = at(max(made + 60, scored_epoch - rng.randint(60, 3600)))
                scored = at(scored_epoch)
                score = rng.choices(SCORES, WEIGHTS)[0]
                consent = 1 if rng.random() < 0.6 else 0
                if rng.random() < 0.45:
                    text = rng.choice(REASONS)
                    if rng.random() < 0.001:
                        long_reasons += 1
                        text = (text + ". ") * rng.randint(50, 4000 // (len(text) + 2))
                    reason = text[:REASON_LIMIT]
                    comments.append((cid, "survey", text, scored))
            elif rng.random() < 0.3:
                opened_unanswered += 1
                opened_epoch = min(made + rng.randint(1, 48) * 3600, last - 60)
                opened = at(opened_epoch)
                if opened_epoch < last - 2 * 86400:
                    nudged = at(opened_epoch + 86400)
            surveys.append(
                (
                    sid, f"t{sid:09d}", cid, sid, manager, kinds[cid],
                    "answered" if answered else ("opened" if opened else "created"),
                    cid if opened else None, made_at, opened, score, scored, reason,
                    scored, consent, scored, scored,
                    scored_epoch - made if answered else None, nudged,
                )
            )  # fmt: skip
            outbox.append(
                (
                    sid, f"b:{sid:08d}", manager, cid, PURPOSES[sid % 5], f"survey:{sid}",
                    '{"method": "sendMessage", "text": "Клиент ответил на опрос: оценка и '
                    'причина, подробности в карточке"}',
                    "sent", made_at, 1, made_at, made_at, sid, made_at,
                )
            )  # fmt: skip
            if score is not None and score <= 6:
                case_id += 1
                cases_count += 1
                fate = rng.random()
                opened_epoch = scored_epoch
                resolved = taken = reminded = escalated = None
                owner = None
                if fate < 0.7:
                    resolved = at(min(opened_epoch + rng.randint(2, 120) * 3600, last - 30))
                    owner = manager
                    taken = at(opened_epoch + 1800)
                elif fate < 0.85:
                    owner = manager
                    taken = at(opened_epoch + 1800)
                if resolved is None and opened_epoch < last - 3 * 86400:
                    reminded = at(opened_epoch + 86400)
                    escalated = at(opened_epoch + 2 * 86400)
                cases.append(
                    (
                        case_id, cid, sid, sid,
                        "resolved" if resolved else ("taken" if taken else "open"),
                        owner, scored, taken, resolved, scored, reminded, escalated,
                    )
                )  # fmt: skip
        deal_table.insert(deals)
        survey_table.insert(surveys)
        comment_table.insert(comments)
        case_table.insert(cases)
        outbox_table.insert(outbox)
    today = NOW.date()
    task_table = Table(
        conn,
        "tasks",
        (
            "idem_key", "kind", "contact_id", "manager_id", "due_date", "due_at", "status",
            "created_at", "closed_at",
        ),
    )  # fmt: skip
    task_table.insert(
        [
            (
                f"offer:{cid}:bench",
                "offer",
                cid,
                managers_of[cid],
                (today + timedelta(days=rng.randint(-20, 40))).isoformat(),
                None,
                "pending",
                stamp,
                None,
            )
            for cid in range(1, contacts + 1, 3)
        ]
    )
    # Time-bound call-backs (due_at): done in the past, pending around now, for the minute tick.
    timed = []
    for i, cid in enumerate(rng.choices(range(1, contacts + 1), k=max(1, contacts // 20))):
        due = rng.randint(last - 60 * 86400, last + 14 * 86400)
        done = due < last - 86400
        timed.append(
            (
                f"call_back:{cid}:{i}", "call_back", cid, managers_of[cid], at.day(due), at(due),
                "done" if done else "pending", stamp, at(due + 600) if done else None,
            )
        )  # fmt: skip
    task_table.insert(timed)
    return {
        "contacts": contacts,
        "links": links,
        "answers": answered_count,
        "cases": cases_count,
        "long reasons": long_reasons,
        "opened, unanswered": opened_unanswered,
        "timed tasks": len(timed),
    }


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
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="bring an existing generated file up to this code's schema instead (timed)",
    )
    args = parser.parse_args()
    if args.upgrade:
        start = time.perf_counter()
        finish(args.path, len(MIGRATIONS), {})
        print(f"{args.path}: upgraded in {time.perf_counter() - start:.1f} s")
        return
    if args.before_planner:
        args.schema = MIGRATIONS.index(reconciled_plan)
    result = build(args.path, args.contacts, args.answers, args.managers, args.seed, args.schema)
    print(
        f"{args.path}: {result['contacts']:,} contacts, {result['links']:,} survey links, "
        f"{result['answers']:,} answers, {result['cases']:,} cases in {result['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
