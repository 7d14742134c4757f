"""Imports in progress, kept in the database so that one cut short by a crash is known at the
next start: its sender is told to send the file again (the import itself is idempotent), instead
of the progress message staying at "20%" forever. A clean stop tells the sender itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import ts


@dataclass(frozen=True, slots=True)
class ImportRun:
    id: int
    user_id: int
    message_id: int
    file_name: str
    language: str


async def start_run(
    db: Database, user_id: int, message_id: int, file_name: str, language: str, now: datetime
) -> int:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO import_runs (user_id, message_id, file_name, language, started_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (user_id, message_id, file_name, language, ts(now)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid


async def end_run(db: Database, run_id: int, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE import_runs SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            (ts(now), run_id),
        )


async def unfinished_runs(db: Database) -> list[ImportRun]:
    """Runs a crash cut short (at start-up nothing is running yet)."""
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT id, user_id, message_id, file_name, language FROM import_runs "
            "WHERE ended_at IS NULL ORDER BY id"
        )
        return [ImportRun(*row) for row in await cur.fetchall()]
