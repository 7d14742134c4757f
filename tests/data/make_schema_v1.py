"""Made `schema_v1.sqlite3`: a database file as the first schema version wrote it, with rows.

Kept for the record; the committed file must not be regenerated after migration 1 shipped, since
its whole point is to be what an old installation has on disk.
Run: python -m tests.data.make_schema_v1
"""

import asyncio
import sqlite3
from pathlib import Path

from storage import Database

OUT = Path(__file__).with_name("schema_v1.sqlite3")


async def main() -> None:
    OUT.unlink(missing_ok=True)
    db = Database(OUT)
    await db.open(migrate_to=1)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO staff VALUES (111, 'owner', 'Ольга', NULL, 'ru', 1, NULL, "
            "'2026-01-10 09:00:00', '2026-01-10 09:00:00')"
        )
        await conn.execute(
            "INSERT INTO staff VALUES (222, 'manager', 'Пётр', 'petr', 'ru', 1, 111, "
            "'2026-01-11 09:00:00', '2026-01-11 09:00:00')"
        )
        await conn.execute(
            "INSERT INTO invites (token, created_by, created_at, expires_at, used_by, used_at) "
            "VALUES ('oldtoken', 111, '2026-01-10 09:00:00', '2026-01-17 09:00:00', 222, "
            "'2026-01-11 09:00:00')"
        )
        await conn.execute(
            "INSERT INTO fsm_states VALUES ('fsm:123456789:222:222:default', 'Sale:name', "
            "'{\"kind\": \"client\"}', '2026-01-11 09:05:00')"
        )
    await db.close()
    with sqlite3.connect(OUT) as conn:  # a self-contained file: no -wal beside it
        conn.execute("PRAGMA journal_mode = DELETE")


if __name__ == "__main__":
    asyncio.run(main())
