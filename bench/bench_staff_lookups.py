"""What the per-update middleware (bot/middlewares.py) costs in SQL: statements per update for an
owner, an active manager and a stranger (a respondent), counted with sqlite3's trace callback on
every connection of the database, plus the wall time per update.

    python -m bench.bench_staff_lookups            # 1,000 updates of each kind of person

It runs the real `ContextMiddleware` with a handler that does nothing, on a fresh database file,
so the figures are the middleware's alone. SQLite reports a statement again at the start of each
trigger program it runs: a write repeating the statement just reported is not counted (a read
fires no trigger, so every read counts). It uses only what every commit since the middleware
exists has, so the same command measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram.types import User

from bot.middlewares import ContextMiddleware
from domain.settings import Settings
from storage import Database
from storage.settings import LiveSettings

NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
OWNER, MANAGER, STRANGER = 111, 222, 333


async def _nothing(event: object, data: dict[str, Any]) -> None:
    return None


async def measure(updates: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-staff-") as folder:
        path = Path(folder) / "bot.sqlite3"
        db = Database(path)
        await db.open()
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO staff (user_id, role, full_name, language, active, created_at, "
                "updated_at) VALUES (?, 'manager', 'Пётр', 'ru', 1, '2026-01-01', '2026-01-01')",
                (MANAGER,),
            )
        settings = Settings(bot_token="0:bench", owner_ids=frozenset({OWNER}), database_path=path)
        live = LiveSettings(settings, db)
        statements: list[str] = []

        def trace(sql: str) -> None:
            if sql.startswith("SELECT") or not statements or statements[-1] != sql:
                statements.append(sql)

        connections = [c for c in (db.conn, db._reader, getattr(db, "_fast", None)) if c]
        for conn in connections:
            await conn.set_trace_callback(trace)
        if getattr(db, "_inline", None) is not None:  # `fetch`'s plain connection (the loop's)
            db._inline.set_trace_callback(trace)
        middleware = ContextMiddleware()
        result: dict[str, Any] = {"updates": updates}
        for name, user in (
            ("owner", User(id=OWNER, is_bot=False, first_name="Ольга", language_code="ru")),
            ("manager", User(id=MANAGER, is_bot=False, first_name="Пётр", language_code="ru")),
            ("stranger", User(id=STRANGER, is_bot=False, first_name="Иван", language_code="ru")),
        ):
            statements.clear()
            start = time.perf_counter()
            for _ in range(updates):
                data = {
                    "event_from_user": user,
                    "live_settings": live,
                    "db": db,
                    "clock": lambda: NOW,
                }
                await middleware(_nothing, object(), data)  # type: ignore[arg-type]
            seconds = time.perf_counter() - start
            result[f"{name}_statements_per_update"] = round(len(statements) / updates, 3)
            result[f"{name}_staff_reads"] = sum("FROM staff" in s for s in statements)
            result[f"{name}_staff_writes"] = sum("INTO staff" in s for s in statements)
            result[f"{name}_us_per_update"] = round(seconds / updates * 1e6)
        for conn in connections:
            await conn.set_trace_callback(None)
        await db.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.updates)), ensure_ascii=False))


if __name__ == "__main__":
    main()
