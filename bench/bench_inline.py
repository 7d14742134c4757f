"""What an inline query costs (the invitation in one tap, handlers/inline.py): the time from the
update to the answer, and the SQL statements, through the production dispatcher.

    python -m bench.bench_inline                    # 2,000 surveys, 1,000 queries of each kind
    python -m bench.bench_inline --surveys 20000 --queries 2000

A fresh database with one manager and `--surveys` recorded sales (through `record_sale`, as /sale
does), then `--queries` inline queries of each kind fed as real `Update`s to the dispatcher that
`create_dispatcher` builds, answered by a recording session (no network): the manager's own
unopened links (one card each), another manager's links and garbage (an empty answer each).
Statements are counted with sqlite3's trace callback on every connection (BEGIN and COMMIT
included; the first query also reads the settings, staff and FSM caches once), and among them the
survey look-ups and the update journal's writes (`handled_updates`); times are wall times per
update (median, p95, worst).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiogram.methods import AnswerInlineQuery
from aiogram.types import InlineQuery, Update, User

import handlers  # noqa: F401  (first, as the bot imports it)
from bot.app import create_bot, create_dispatcher
from domain.deeplinks import LinkKind, make_payload
from domain.settings import Settings
from scheduler.sender import Sender
from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, TOKEN

NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
OWNER, MANAGER, OTHER = 111, 222, 333


async def _staff(db: Database, user_id: int, name: str) -> None:
    invite = await create_invite(db, OWNER, NOW)
    await redeem_invite(db, invite.token, user_id, name, None, "ru", NOW)


async def _sales(db: Database, count: int) -> tuple[list[str], list[str]]:
    """Tokens of the manager's surveys and of the other manager's (one in ten)."""
    mine: list[str] = []
    theirs: list[str] = []
    for n in range(count):
        manager = OTHER if n % 10 == 0 else MANAGER
        result = await record_sale(
            db,
            SaleInput(
                idem_key=f"bench{n}",
                manager_id=manager,
                kind="client",
                full_name=f"Клиент {n}",
                organization=None,
                phone=None,
                contact_tg_id=None,
                birthday=None,
                description="Товар",
                deal_date=date(2026, 11, 19),
            ),
            NOW,
        )
        (theirs if manager == OTHER else mine).append(result.survey_token)
    return mine, theirs


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(surveys: int, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-inline-") as folder:
        path = Path(folder) / "bot.sqlite3"
        settings = Settings(
            bot_token=TOKEN,
            owner_ids=frozenset({OWNER}),
            database_path=path,
            company_name="Ромашка",
        )
        db = Database(path)
        await db.open()
        await _staff(db, MANAGER, "Пётр")
        await _staff(db, OTHER, "Мария")
        mine, theirs = await _sales(db, surveys)
        session = RecordingSession(BOT_USERNAME, supports_inline_queries=True)
        bot = create_bot(settings, session=session)
        bot._me = User(
            id=bot.id,
            is_bot=True,
            first_name="Bot",
            username=BOT_USERNAME,
            supports_inline_queries=True,
        )
        sender = Sender(bot, db, lambda: NOW, rate=0, per_chat_interval=0)
        dp = create_dispatcher(settings, db, sender, lambda: NOW)
        statements: list[str] = []

        def trace(sql: str) -> None:
            if sql.startswith("SELECT") or not statements or statements[-1] != sql:
                statements.append(sql)

        connections = [c for c in (db.conn, db._reader, getattr(db, "_fast", None)) if c]
        for conn in connections:
            await conn.set_trace_callback(trace)
        if getattr(db, "_inline", None) is not None:  # `fetch`'s plain connection (the loop's)
            db._inline.set_trace_callback(trace)
        rng = random.Random(16)
        manager = User(id=MANAGER, is_bot=False, first_name="Пётр", language_code="ru")
        kinds = {
            "own_link": lambda: make_payload(LinkKind.SURVEY, rng.choice(mine)),
            "other_managers_link": lambda: make_payload(LinkKind.SURVEY, rng.choice(theirs)),
            "garbage": lambda: "s_" + "".join(rng.choices("abcdef0123456789", k=24)),
        }
        ids = itertools.count(1)
        result: dict[str, Any] = {"surveys": surveys, "queries_each": queries}
        for name, query in kinds.items():
            times: list[float] = []
            statements.clear()
            answered = cards = 0
            for _ in range(queries):
                update_id = next(ids)
                update = Update(
                    update_id=update_id,
                    inline_query=InlineQuery(
                        id=str(update_id),
                        from_user=manager,
                        query=query(),
                        offset="",
                        chat_type="private",
                    ),
                )
                before = len(session.requests)
                start = time.perf_counter()
                await dp.feed_update(bot, update)
                times.append(time.perf_counter() - start)
                for request in session.requests[before:]:
                    if isinstance(request, AnswerInlineQuery):
                        answered += 1
                        cards += len(request.results)
            journal = sum("handled_updates" in s for s in statements)
            lookups = sum("FROM surveys" in s for s in statements)
            result[name] = {
                "answered": answered,
                "cards": cards,
                "ms_median": round(statistics.median(times) * 1000, 2),
                "ms_p95": round(_percentile(times, 0.95) * 1000, 2),
                "ms_worst": round(max(times) * 1000, 2),
                "statements_per_query": round(len(statements) / queries, 2),
                "survey_lookups_per_query": round(lookups / queries, 2),
                "journal_writes_per_query": round(journal / queries, 2),
            }
        for conn in connections:
            await conn.set_trace_callback(None)
        await dp["followup"].stop()
        await bot.session.close()
        await db.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surveys", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.surveys, args.queries)), ensure_ascii=False))


if __name__ == "__main__":
    main()
