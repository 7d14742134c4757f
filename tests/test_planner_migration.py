"""A database made before the reconciling planner upgrades in place: pending tasks carried over
under their new keys (same rows, same ids), stale ones closed as missed, and nothing a manager
already got (a task done, a plan sent, a reminder) comes again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.methods import SendMessage
from aiogram.types import User

from bot.app import create_bot, create_dispatcher
from domain.planning import offer_offset
from domain.settings import Cadence
from scheduler.sender import Sender
from storage import Database
from storage.migrations import MIGRATIONS, reconciled_plan
from tests.conftest import OWNER_ID, make_settings
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, FakeClock, Harness

MANAGER = 222
STAMP = "2026-11-20 07:00:00"
TODAY = "2026-12-04"  # a Friday; the old planner already ran this morning and sent the plan
OFFER_DUE = date(2026, 11, 20) + timedelta(days=offer_offset(1, Cadence()))

OLD_TASKS = [
    # idem_key, kind, contact, due_date, status, due_at, notified_at
    ("call:1", "call", 1, "2026-11-23", "done", None, None),
    ("bday_lead:1:2026", "birthday_lead", 1, "2026-12-07", "pending", None, None),
    ("bday:1:2026", "birthday", 1, "2026-12-10", "pending", None, None),
    ("bday:1:2025", "birthday", 1, "2025-12-10", "done", None, None),
    ("offer:1:2026-11-20", "offer", 1, OFFER_DUE.isoformat(), "pending", None, None),
    # Борис: last year's birthday still pending ("Birthday · since 11.12" in every plan)
    ("bday:2:2025", "birthday", 2, "2025-12-11", "pending", None, None),
    ("bday_lead:2:2025", "birthday_lead", 2, "2025-12-08", "pending", None, None),
    # a task snoozed to an hour today, whose reminder was already sent
    ("callback:1", "call_back", 2, TODAY, "pending", "2026-12-04 06:00:00", "2026-12-04 06:00:00"),
]


def old_database(path: Path) -> None:
    """What today's code made: schema up to the step before the planner's, and its tasks."""
    import sqlite3

    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    raw.executemany(
        "INSERT INTO staff (user_id, role, full_name, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(OWNER_ID, "owner", "Ольга", STAMP, STAMP), (MANAGER, "manager", "Пётр", STAMP, STAMP)],
    )
    raw.executemany(
        "INSERT INTO contacts (id, kind, full_name, birth_day, birth_month, manager_id, "
        "created_at, updated_at) VALUES (?, 'client', ?, ?, 12, ?, ?, ?)",
        [(1, "Анна", 10, MANAGER, STAMP, STAMP), (2, "Борис", 11, MANAGER, STAMP, STAMP)],
    )
    raw.execute(
        "INSERT INTO deals (id, contact_id, manager_id, description, deal_date, created_at) "
        "VALUES (1, 1, ?, 'Кухня', '2026-11-20', ?)",
        (MANAGER, STAMP),
    )
    raw.execute(
        "INSERT INTO surveys (token, contact_id, deal_id, manager_id, kind, status, created_at, "
        "opened_at) VALUES ('tok', 1, 1, ?, 'client', 'opened', ?, ?)",
        (MANAGER, STAMP, STAMP),
    )
    raw.executemany(
        "INSERT INTO tasks (idem_key, kind, contact_id, manager_id, due_date, status, due_at, "
        "notified_at, created_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "CASE WHEN ? = 'done' THEN ? END)",
        [
            (key, kind, contact, MANAGER, due, status, due_at, notified, STAMP, status, STAMP)
            for key, kind, contact, due, status, due_at, notified in OLD_TASKS
        ],
    )
    raw.execute(
        "INSERT INTO outbox (idem_key, chat_id, purpose, payload, status, not_before, sent_at, "
        "created_at) VALUES (?, ?, 'digest', '{}', 'sent', ?, ?, ?)",
        (f"digest:{MANAGER}:{TODAY}", MANAGER, STAMP, STAMP, STAMP),
    )
    raw.commit()
    raw.close()


@pytest.fixture
async def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    await db.open(migrate_to=MIGRATIONS.index(reconciled_plan))
    await db.close()
    old_database(path)
    return path


async def rows(db: Database, sql: str) -> list[tuple]:
    async with db.read() as conn:
        return [tuple(r) for r in await conn.execute_fetchall(sql)]


async def test_an_old_database_upgrades_and_nothing_is_sent_twice(
    old_file: Path, tmp_path: Path
) -> None:
    async with _opened(old_file) as before:
        ids_before = dict(await rows(before, "SELECT idem_key, id FROM tasks"))
    db = Database(old_file)
    await db.open()
    settings = make_settings(tmp_path)
    clock = FakeClock(datetime(2026, 12, 4, 7, 30, tzinfo=UTC))  # 10:30 in Moscow, same day
    session = RecordingSession(BOT_USERNAME)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    h = Harness(bot, create_dispatcher(settings, db, sender, clock), session, clock, sender)
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await rows(db, "PRAGMA foreign_key_check") == []
        fk = await (await db.conn.execute("PRAGMA foreign_keys")).fetchone()  # the writer's
        assert tuple(fk) == (1,)
        sent = await h.tick()  # the first run after the upgrade
        assert not [r for r in sent if isinstance(r, SendMessage)]  # no plan, no reminder again

        tasks = {
            key: (task_id, status)
            for task_id, key, status in await rows(db, "SELECT id, idem_key, status FROM tasks")
        }
        # the same rows under their new keys
        assert tasks["bday_lead:1:2026-12-10"] == (ids_before["bday_lead:1:2026"], "pending")
        assert tasks["bday:1:2026-12-10"] == (ids_before["bday:1:2026"], "pending")
        assert tasks["bday:1:2025-12-10"] == (ids_before["bday:1:2025"], "done")
        assert tasks["offer:1:2026-11-20"] == (ids_before["offer:1:2026-11-20"], "pending")
        assert tasks["call:1"] == (ids_before["call:1"], "done")
        assert tasks["callback:1"] == (ids_before["callback:1"], "pending")
        # last year's stale birthday is closed as missed, not planned again
        assert tasks["bday:2:2025-12-11"][1] == "missed"
        assert tasks["bday_lead:2:2025-12-11"][1] == "missed"
        # and the planner made no second task for anything that already had one
        # + Борис's heads-up (08.12) and birthday (11.12) of this year, both within the week
        assert len(tasks) == len(OLD_TASKS) + 2
        assert tasks["bday_lead:2:2026-12-11"][1] == tasks["bday:2:2026-12-11"][1] == "pending"
        assert await rows(db, "SELECT count(*) FROM contacts WHERE next_plan_on = ''") == [(0,)]

        # the rest of the day, and the next morning: each thing once
        clock.advance(hours=3)
        assert not [r for r in await h.tick() if isinstance(r, SendMessage)]
        clock.now = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday 09:00
        plans = [r for r in await h.tick() if isinstance(r, SendMessage)]
        assert [p.chat_id for p in plans] == [MANAGER]
        assert await rows(
            db, f"SELECT count(*) FROM outbox WHERE purpose = 'digest' AND chat_id = {MANAGER}"
        ) == [(2,)]
        with pytest.raises(Exception, match="CHECK"):  # the new status exists, others don't
            async with db.transaction() as conn:
                await conn.execute("UPDATE tasks SET status = 'lost' WHERE id = 1")
        async with db.transaction() as conn:
            await conn.execute("UPDATE tasks SET status = 'missed' WHERE idem_key = 'call:1'")
    finally:
        await h.dp["followup"].stop()
        await bot.session.close()
        await db.close()


class _opened:
    """The old file opened without upgrading it (to read it as it was)."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path)

    async def __aenter__(self) -> Database:
        await self.db.open(migrate_to=MIGRATIONS.index(reconciled_plan))
        return self.db

    async def __aexit__(self, *exc: object) -> None:
        await self.db.close()
