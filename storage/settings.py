"""The owner's settings changed in the chat (`settings` table): canonical text values by key.

Values are validated before they get here (`domain.tunables`); this module only stores them,
with who changed them and when, so `/settings` can say which values differ from the `.env` defaults.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.timefmt import ts


async def load_overrides(db: Database) -> dict[str, str]:
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT key, value FROM settings")).fetchall()
    return {key: value for key, value in rows}


async def save_override(
    db: Database,
    key: str,
    value: str,
    by: int,
    now: datetime,
    source_key: str | None = None,
) -> None:
    """Store a value; `source_key` names the typed message it came from (None for a tap)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO settings (key, value, updated_by, updated_at, source_key) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at, "
            "source_key = excluded.source_key",
            (key, value, by, ts(now), source_key),
        )


async def delete_override(db: Database, key: str) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM settings WHERE key = ?", (key,))
