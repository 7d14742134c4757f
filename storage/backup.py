"""Online backups with SQLite's backup API — never a file copy: the `-wal` file holds recent
commits that a copy of the main file would miss, and a copy taken mid-write can be torn.

The backup is written to a temporary name and renamed, so a half-written backup never carries a
real backup's name. Daily backups go to `<database folder>/backups/bot-YYYY-MM-DD.sqlite3` and
only the newest BACKUP_KEEP are kept.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

PREFIX = "bot-"
SUFFIX = ".sqlite3"


def backup_file(source: Path, target: Path) -> Path:
    """A consistent copy of the live database `source` at `target` (replaced if it exists)."""
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # a self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    partial.replace(target)
    return target


def backup_folder(database: Path) -> Path:
    return database.parent / "backups"


def daily_backup(database: Path, day: date, keep: int) -> Path | None:
    """Today's backup if not made yet; then only the newest `keep` are kept."""
    folder = backup_folder(database)
    target = folder / f"{PREFIX}{day.isoformat()}{SUFFIX}"
    made = None
    if not target.exists():
        made = backup_file(database, target)
    rotate(folder, keep)
    return made


def rotate(folder: Path, keep: int) -> list[Path]:
    backups = sorted(folder.glob(f"{PREFIX}????-??-??{SUFFIX}"))
    removed = backups[:-keep] if keep > 0 else []
    for old in removed:
        old.unlink(missing_ok=True)
    return removed
