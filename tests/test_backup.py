"""Online backups: taken while the bot's connection is open, restorable, rotated, and on the
command line (`python -m bot backup PATH`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from storage import Database
from storage.backup import backup_file, daily_backup
from storage.staff import create_invite, list_managers, redeem_invite
from tests.harness import FakeClock

ROOT = Path(__file__).resolve().parent.parent


async def _with_manager(db: Database, clock: FakeClock) -> None:
    invite = await create_invite(db, 111, clock())
    await redeem_invite(db, invite.token, 222, "Пётр", None, "ru", clock())


async def test_backup_while_running_restores_the_data(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await _with_manager(db, clock)  # committed, and still in the -wal file
    target = backup_file(db.path, tmp_path / "backups" / "copy.sqlite3")
    # restore: the bot is stopped, the backup is put in place of the database, the bot starts
    restored = tmp_path / "restored" / "bot.sqlite3"
    restored.parent.mkdir()
    shutil.copy(target, restored)
    assert not Path(f"{target}-wal").exists()  # the backup is self-contained
    again = Database(restored)
    await again.open()
    try:
        assert [m.full_name for m in await list_managers(again)] == ["Пётр"]
    finally:
        await again.close()


async def test_daily_backups_once_a_day_and_rotated(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await _with_manager(db, clock)
    for day in range(1, 6):
        assert daily_backup(db.path, date(2026, 11, day), keep=3) is not None
    assert daily_backup(db.path, date(2026, 11, 5), keep=3) is None  # already made today
    names = sorted(p.name for p in (db.path.parent / "backups").iterdir())
    assert names == ["bot-2026-11-03.sqlite3", "bot-2026-11-04.sqlite3", "bot-2026-11-05.sqlite3"]


async def test_backup_command(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    await _with_manager(db, clock)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(DATABASE_PATH=str(db.path), PYTHONPATH=str(ROOT))
    out = tmp_path / "manual.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"written to {out}" in result.stdout
    copy = Database(out)
    await copy.open()
    try:
        assert [m.full_name for m in await list_managers(copy)] == ["Пётр"]
    finally:
        await copy.close()
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(out)],
        cwd=tmp_path,
        env={**env, "DATABASE_PATH": str(tmp_path / "none.sqlite3")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "Backup failed: no database at" in missing.stderr
