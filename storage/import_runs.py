"""Background jobs in progress (imports and exports), kept in the database so that one cut short
by a crash is known at the next start: its owner is told to send the file again (an import is
idempotent) or to ask for the export again, instead of the progress message staying at "20%" or
"preparing…" forever. A clean stop of an import tells the sender itself; an export stopped by a
shutdown is left open on purpose, so the next start tells the owner the same way.

`file_name` is what the notice names: the file of an import, the period of an export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import ts

IMPORT = "import"
EXPORT = "export"


@dataclass(frozen=True, slots=True)
class ImportRun:
    id: int
    user_id: int
    message_id: int
    file_name: str
    language: str
    kind: str = IMPORT


async def start_run(
    db: Database,
    user_id: int,
    message_id: int,
    file_name: str,
    language: str,
    now: datetime,
    kind: str = IMPORT,
) -> int:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO import_runs (user_id, message_id, file_name, language, started_at, kind) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, message_id, file_name, language, ts(now), kind),
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
            "SELECT id, user_id, message_id, file_name, language, kind FROM import_runs "
            "WHERE ended_at IS NULL ORDER BY id"
        )
        return [ImportRun(*row) for row in await cur.fetchall()]
