"""The SQLite layer: pragmas, transactions, migrations of old files, FSM persistence, indexes."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from storage import Database
from storage.forget import erase_contact
from storage.fsm import SQLiteStorage
from storage.migrations import MIGRATIONS, V_CASE_SLICES
from storage.sale import SaleInput, record_sale
from storage.staff import get_member, list_managers
from storage.stats import case_stats
from storage.surveys import open_survey, record_score
from tests.harness import FakeClock

V1_FILE = Path(__file__).parent / "data" / "schema_v1.sqlite3"
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
KEY = StorageKey(bot_id=123456789, chat_id=500, user_id=500)


async def test_pragmas_and_fresh_schema(db: Database) -> None:
    async with db.read_locked() as conn:  # the writer's pragmas
        assert (await (await conn.execute("PRAGMA journal_mode")).fetchone())[0] == "wal"
        assert (await (await conn.execute("PRAGMA foreign_keys")).fetchone())[0] == 1
        assert (await (await conn.execute("PRAGMA busy_timeout")).fetchone())[0] >= 1000
        cur = await conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in await cur.fetchall()}
    assert await db.schema_version() == len(MIGRATIONS)
    assert {
        "staff",
        "invites",
        "fsm_states",
        "contacts",
        "deals",
        "surveys",
        "cases",
        "case_events",
        "comments",
        "tasks",
        "outbox",
        "contact_log",
        "settings",
    } <= tables


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO staff VALUES (1, 'manager', 'X', NULL, NULL, 1, NULL, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
            raise RuntimeError("boom")
    assert await get_member(db, 1) is None
    async with db.transaction() as conn:  # the connection is usable afterwards
        await conn.execute(
            "INSERT INTO staff VALUES (1, 'manager', 'X', NULL, NULL, 1, NULL, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    assert await get_member(db, 1) is not None


async def test_v1_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(V1_FILE, path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    db = Database(path)
    await db.open()
    try:
        assert await db.schema_version() == len(MIGRATIONS)
        managers = await list_managers(db)
        assert [(m.user_id, m.full_name, m.active) for m in managers] == [(222, "Пётр", True)]
        async with db.read_locked() as conn:
            cur = await conn.execute("SELECT state, data FROM fsm_states")
            assert tuple(await cur.fetchone()) == ("Sale:name", '{"kind": "client"}')
            # a v2 table is there and usable, with its constraints
            await conn.execute(
                "INSERT INTO contacts (kind, full_name, created_at, updated_at) "
                "VALUES ('client', 'Анна', 'x', 'x')"
            )
            with pytest.raises(sqlite3.IntegrityError):
                await conn.execute(
                    "INSERT INTO contacts (kind, created_at, updated_at) VALUES ('alien', 'x', 'x')"
                )
    finally:
        await db.close()
    # opening again is a no-op
    db = Database(path)
    await db.open()
    assert await db.schema_version() == len(MIGRATIONS)
    await db.close()


async def test_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db = Database(path)
    with pytest.raises(RuntimeError, match="newer version"):
        await db.open()
    await db.close()


async def test_database_folder_is_created(tmp_path: Path) -> None:
    db = Database(tmp_path / "a" / "b" / "bot.sqlite3")
    await db.open()
    await db.close()
    assert (tmp_path / "a" / "b" / "bot.sqlite3").exists()


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("SELECT id FROM contacts WHERE phone = '+79161234567'", "contacts_phone"),
        ("SELECT id FROM contacts WHERE tg_user_id = 5", "contacts_tg_user"),
        ("SELECT id FROM contacts WHERE referral_code = 'ABC'", "contacts_referral_code"),
        ("SELECT id FROM contacts WHERE birth_month = 3 AND birth_day = 1", "contacts_birthday"),
        ("SELECT id FROM surveys WHERE token = 'x'", "sqlite_autoindex_surveys_1"),
        ("SELECT id FROM deals WHERE contact_id = 1 ORDER BY deal_date DESC", "deals_contact"),
        (
            "SELECT id FROM tasks WHERE manager_id = 1 AND status = 'pending' "
            "AND due_date <= '2026-01-01'",
            "tasks_manager_due",
        ),
        (
            "SELECT id FROM outbox WHERE status = 'pending' AND not_before <= 'x'",
            "outbox_due",
        ),
        ("SELECT id FROM cases WHERE status = 'open' ORDER BY opened_at", "cases_status"),
        (
            "SELECT count(*) FROM contact_log WHERE contact_id = 1 AND at > 'x'",
            "contact_log_contact",
        ),
    ],
)
async def test_lookups_use_indexes(db: Database, query: str, index: str) -> None:
    async with db.read() as conn:
        plan = " ".join(
            str(tuple(r))
            for r in await (await conn.execute(f"EXPLAIN QUERY PLAN {query}")).fetchall()
        )
    assert index in plan, plan


async def test_fsm_state_survives_restart(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    path = tmp_path / "fsm.sqlite3"
    db = Database(path)
    await db.open()
    storage = SQLiteStorage(db, clock)
    await storage.set_state(KEY, "Survey:reason")
    await storage.set_data(KEY, {"survey_id": 7, "name": "Анна"})
    await db.close()

    db = Database(path)
    await db.open()
    storage = SQLiteStorage(db, clock)
    assert await storage.get_state(KEY) == "Survey:reason"
    assert await storage.get_data(KEY) == {"survey_id": 7, "name": "Анна"}
    assert await storage.get_state(StorageKey(bot_id=123456789, chat_id=1, user_id=1)) is None
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM fsm_states")).fetchone())[0] == 0
    await db.close()


async def test_fsm_concurrent_updates_lose_nothing(db: Database, clock: FakeClock) -> None:
    storage = SQLiteStorage(db, clock)
    await asyncio.gather(*(storage.update_data(KEY, {f"k{i}": i}) for i in range(50)))
    assert await storage.get_data(KEY) == {f"k{i}": i for i in range(50)}


async def test_the_urgent_lane_goes_before_everybody_waiting(db: Database) -> None:
    order: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with db.read_locked():
            order.append("holder")
            await release.wait()

    async def reader(name: str) -> None:
        async with db.read_locked():
            order.append(name)

    async def urgent() -> None:
        async with db.urgent():
            order.append("urgent")

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(reader(f"r{n}")) for n in range(3)]
    await asyncio.sleep(0)
    fast = asyncio.create_task(urgent())
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(reader("cancelled"))
    await asyncio.sleep(0)
    cancelled.cancel()
    release.set()
    await asyncio.gather(first, fast, *waiting, return_exceptions=True)
    assert order == ["holder", "urgent", "r0", "r1", "r2"]
    async with db.read_locked():  # and the lock is free again
        pass


# --- the read-only connection for reports ------------------------------------------------------


async def _sale(db: Database, n: int = 1) -> int:
    """A manager and a deal with its survey link; returns the survey's id."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO staff (user_id, role, full_name, active, created_at, "
            "updated_at) VALUES (222, 'manager', 'Пётр', 1, 'x', 'x')"
        )
    sale = await record_sale(
        db,
        SaleInput(
            idem_key=f"sale-{n}",
            manager_id=222,
            kind="client",
            full_name=f"Анна Смирнова {n}",
            organization=None,
            phone=f"+7916123456{n}",
            contact_tg_id=None,
            birthday=None,
            description="Кухня",
            deal_date=date(2026, 11, 19),
        ),
        NOW,
    )
    _, survey = await open_survey(db, sale.survey_token, 9000 + n, "ru", NOW)
    assert survey is not None
    return survey.id


async def test_reports_connection_refuses_writes(db: Database) -> None:
    async with db.report() as conn:
        assert (await (await conn.execute("PRAGMA query_only")).fetchone())[0] == 1
        for sql in (
            "INSERT INTO settings (key, value) VALUES ('x', 'y')",
            "CREATE TABLE sneaky (x)",
        ):
            with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
                await conn.execute(sql)
    async with db.read() as conn:
        names = await (await conn.execute("SELECT name FROM sqlite_master")).fetchall()
        assert "sneaky" not in {r[0] for r in names}


async def test_a_respondents_score_is_stored_while_a_report_read_is_held_open(
    db: Database,
) -> None:
    survey_id = await _sale(db)
    holding, scored = asyncio.Event(), asyncio.Event()
    seen: list[object] = []

    async def report() -> None:
        async with db.report() as conn:
            holding.set()
            await scored.wait()  # a long report: the respondent must not wait for it
            row = await (
                await conn.execute("SELECT score FROM surveys WHERE id = ?", (survey_id,))
            ).fetchone()
            seen.append(row[0])

    task = asyncio.create_task(report())
    await holding.wait()
    # On one shared lock this would wait for the report, which waits for it: a deadlock that
    # the generous guard turns into a failure.
    try:
        stored = await asyncio.wait_for(record_score(db, survey_id, 9001, 3, NOW), 60)
    finally:
        scored.set()
    await task
    assert stored is not None and stored.id == survey_id
    assert seen == [3]  # the report reads what was committed before it asked (read-after-commit)


async def test_forget_checkpoint_waits_for_a_running_report(db: Database) -> None:
    survey_id = await _sale(db)
    await record_score(db, survey_id, 9001, 3, NOW)
    secret = "Анна Смирнова 1".encode()
    release = asyncio.Event()
    order: list[str] = []

    async def report() -> None:
        async with db.report() as conn:
            # A report in the middle of a read: it holds its snapshot, so the WAL cannot be reset.
            await conn.execute("BEGIN")
            await (await conn.execute("SELECT count(*) FROM surveys")).fetchall()
            await release.wait()
            await conn.execute("COMMIT")
            order.append("report")

    reading = asyncio.create_task(report())
    await asyncio.sleep(0)
    async with db.read() as conn:
        contact_id = (await (await conn.execute("SELECT contact_id FROM surveys")).fetchone())[0]
    erasing = asyncio.create_task(erase_contact(db, contact_id, NOW, by="owner"))
    try:
        for _ in range(6000):  # the erasure commits, then its checkpoint waits for the report
            if db._report_lock._waiters or erasing.done():
                break
            await asyncio.sleep(0.01)
        assert not erasing.done()
    finally:
        release.set()
    await asyncio.wait_for(erasing, 60)
    order.append("forget")
    await reading
    assert order == ["report", "forget"]
    wal = db.path.with_name(db.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # emptied: the old pages left the disk
    assert secret not in db.path.read_bytes()


# --- cases carry their kind and manager ---------------------------------------------------------


async def test_cases_get_the_kind_and_manager_they_were_opened_for_and_keep_them(
    tmp_path: Path,
) -> None:
    """Old cases are backfilled by the migration (the survey's kind and manager, else the
    contact's); new ones get theirs at open; a contact moving to another manager later moves
    none of them."""
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    await db.open(migrate_to=MIGRATIONS.index(V_CASE_SLICES))
    staff = "INSERT INTO staff (user_id, role, full_name, active, created_at, updated_at) "
    async with db.transaction() as conn:
        for user_id in (1, 2, 3):
            await conn.execute(staff + "VALUES (?, 'manager', 'M', 1, 'x', 'x')", (user_id,))
        await conn.execute(
            "INSERT INTO contacts (id, kind, manager_id, created_at, updated_at) "
            "VALUES (1, 'client', 2, 'x', 'x')"
        )
        await conn.execute(
            "INSERT INTO surveys (id, token, contact_id, manager_id, kind, created_at) "
            "VALUES (1, 't1', 1, 1, 'supplier', '2026-11-01 10:00:00')"
        )
        await conn.execute(
            "INSERT INTO cases (contact_id, survey_id, status, opened_at, resolved_at) "
            "VALUES (1, 1, 'resolved', '2026-11-01 10:00:00', '2026-11-02 12:30:00')"
        )
        await conn.execute(
            "INSERT INTO cases (contact_id, source, opened_at) "
            "VALUES (1, 'call', '2026-11-01 10:00:00')"
        )
    await db.close()
    db = Database(path)
    await db.open()
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO cases (contact_id, source, opened_at) "
                "VALUES (1, 'call', '2026-11-03 10:00:00')"
            )
            await conn.execute(
                "INSERT INTO cases (contact_id, source, opened_at, kind, manager_id) "
                "VALUES (1, 'call', '2026-11-03 10:00:00', 'partner', 3)"
            )
            await conn.execute("UPDATE contacts SET manager_id = 3, kind = 'partner'")
            await conn.execute(
                "INSERT INTO cases (contact_id, source, opened_at) "
                "VALUES (1, 'call', '2026-11-04 10:00:00')"
            )
            rows = await (
                await conn.execute(
                    "SELECT id, kind, manager_id, resolve_seconds FROM cases ORDER BY id"
                )
            ).fetchall()
        assert [tuple(r) for r in rows] == [
            (1, "supplier", 1, 26 * 3600 + 1800),  # the survey's, backfilled
            (2, "client", 2, None),  # a call case: the contact's, backfilled
            (3, "client", 2, None),  # copied at open
            (4, "partner", 3, None),  # a writer that says keeps what it said
            (5, "partner", 3, None),  # opened after the contact changed hands
        ]
        assert (await case_stats(db, None, None, "client", 2)).opened == 2
        assert (await case_stats(db, None, None, None, 3)).opened == 2
        supplier = await case_stats(db, None, None, "supplier", None)
        assert (supplier.opened, supplier.resolved, supplier.median_hours_to_resolve) == (
            1,
            1,
            26.5,
        )
    finally:
        await db.close()


async def test_managers_open_cases_read_an_index_not_every_case(db: Database) -> None:
    async with db.report() as conn:
        plan = [
            r[3]
            for r in await conn.execute_fetchall(
                "EXPLAIN QUERY PLAN SELECT manager_id, count(*) FROM cases "
                "WHERE status != 'resolved' GROUP BY 1"
            )
        ]
    assert any("COVERING INDEX cases_open_manager" in p for p in plan), plan
