"""Staff records in memory (storage/staff.py `StaffCache`), through the production dispatcher and
on a real SQLite file, with sqlite3's trace callback counting what reaches the database.

What is provoked here: a manager whose access is removed (by the owner's button, by any other
write to `staff`, even one this module does not know of) is refused on the very next update; a
person who became staff (an invite, a raw INSERT) is recognised on the next update although they
were cached as nobody; an owner's unchanged row is neither written nor locked for, and a new name
is written once; a respondent's updates cost one staff read in all, and that one does not wait
for the writer's lock; a read issued while a staff write is still open never caches what was
there before it; a reopened database starts afresh; and the cache keeps at most its limit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from storage import Database
from storage.staff import (
    create_invite,
    get_member,
    redeem_invite,
    set_manager_active,
    staff_cache,
    touch_owner,
)
from tests.conftest import OWNER_ID, START
from tests.harness import Harness, as_message, button_data, replies

MANAGER_ID = 222
STRANGER_ID = 333
REFUSAL = (
    "Команда /week вам недоступна: она только для сотрудников компании. /help — что вы можете."
)
ADD_MANAGER = (
    "INSERT INTO staff (user_id, role, full_name, active, created_at, updated_at) "
    "VALUES (?, 'manager', 'Пётр', 1, '2026-01-01', '2026-01-01')"
)


@asynccontextmanager
async def traced(db: Database) -> AsyncIterator[list[str]]:
    """Every statement any connection of `db` runs meanwhile (a write SQLite reports again at
    the start of each trigger program it runs is listed once; a read fires no trigger)."""
    statements: list[str] = []

    def note(sql: str) -> None:
        if sql.startswith("SELECT") or not statements or statements[-1] != sql:
            statements.append(sql)

    connections = [db.conn, db._reader, db._fast]
    inline = db._inline  # `fetch`'s, a plain sqlite3 connection of the loop's thread
    assert inline is not None
    for conn in connections:
        assert conn is not None
        await conn.set_trace_callback(note)
    inline.set_trace_callback(note)
    try:
        yield statements
    finally:
        for conn in connections:
            assert conn is not None
            await conn.set_trace_callback(None)
        inline.set_trace_callback(None)


def staff_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT * FROM staff WHERE user_id")]


async def manager_is_served(h: Harness) -> bool:
    """/week is a manager's command: a stranger (or a removed manager) is refused it."""
    return replies(await h.send(h.user(MANAGER_ID, "Пётр"), "/week")) != [REFUSAL]


async def register(h: Harness, db: Database) -> None:
    invite = await create_invite(db, OWNER_ID, h.clock())
    sent = await h.send(h.user(MANAGER_ID, "Пётр"), f"/start i_{invite.token}")
    assert "зарегистрированы как менеджер" in replies(sent)[0]


async def test_a_manager_switched_off_by_the_owner_is_refused_on_the_next_update(
    harness: Harness, db: Database
) -> None:
    h = harness
    assert not await manager_is_served(h)  # cached as nobody...
    await register(h, db)
    assert await manager_is_served(h)  # ...and a manager on the update after the invite
    owner = h.user(OWNER_ID, "Ольга")
    listing = (await h.send(owner, "/managers"))[0]
    sent = await h.tap(owner, button_data(listing, "Отключить: Пётр"), as_message(listing))  # type: ignore[arg-type]
    assert "доступ отключён" in str(sent)
    assert not await manager_is_served(h)
    await set_manager_active(db, MANAGER_ID, True, h.clock())
    assert await manager_is_served(h)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE staff SET active = 0 WHERE user_id = ?",
        "UPDATE staff SET role = 'owner' WHERE user_id = ?",
        "DELETE FROM staff WHERE user_id = ?",
    ],
)
async def test_any_write_to_staff_takes_access_away_at_once(
    harness: Harness, db: Database, sql: str
) -> None:
    """A write path this module does not know of (raw SQL, old-style transaction or one hop)."""
    await db.write(lambda conn: conn.execute(ADD_MANAGER, (MANAGER_ID,)))
    assert await manager_is_served(harness)
    async with db.transaction() as conn:
        await conn.execute(sql, (MANAGER_ID,))
    assert not await manager_is_served(harness)


async def test_a_person_cached_as_nobody_who_becomes_staff_is_recognised_at_once(
    db: Database,
) -> None:
    assert await get_member(db, MANAGER_ID) is None
    assert await get_member(db, MANAGER_ID) is None
    await db.write(lambda conn: conn.execute(ADD_MANAGER, (MANAGER_ID,)))
    member = await get_member(db, MANAGER_ID)
    assert member is not None and member.role == "manager" and member.active


async def test_redeeming_an_invite_again_after_removal_gives_access_back(db: Database) -> None:
    invite = await create_invite(db, OWNER_ID, START)
    await redeem_invite(db, invite.token, MANAGER_ID, "Пётр", None, "ru", START)
    assert (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]
    await set_manager_active(db, MANAGER_ID, False, START)
    assert not (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]
    again = await create_invite(db, OWNER_ID, START)
    await redeem_invite(db, again.token, MANAGER_ID, "Пётр", None, "ru", START)
    assert (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]


async def test_an_owners_row_is_written_once_per_change_and_never_locked_for_otherwise(
    harness: Harness, db: Database
) -> None:
    h = harness
    async with traced(db) as statements:
        for _ in range(5):
            await h.send(h.user(OWNER_ID, "Ольга"), "/help")
        for _ in range(5):
            await h.send(h.user(OWNER_ID, "Ольга", last_name="Петрова"), "/help")
    writes = [s for s in statements if s.startswith("INSERT INTO staff")]
    assert len(writes) == 2  # the row made at the first update, the new name at the sixth
    member = await get_member(db, OWNER_ID)
    assert member is not None and member.full_name == "Ольга Петрова"
    # Nobody yet at the first update; the row just made; the row with the new name. No more.
    assert len(staff_reads(statements)) == 3
    # Unchanged: not a statement, not even BEGIN (the writer's lock is not taken).
    async with traced(db) as statements:
        assert not await touch_owner(db, OWNER_ID, "Ольга Петрова", None, "ru", START)
    assert statements == []


async def test_a_respondents_updates_cost_one_staff_read_in_all(
    harness: Harness, db: Database
) -> None:
    stranger = harness.user(STRANGER_ID, "Гость")
    async with traced(db) as statements:
        for minute in range(10):
            answered = replies(await harness.send(stranger, "привет"))
            assert answered if minute % 5 == 0 else not answered  # greeting, then a short line
            harness.clock.advance(minutes=1)
    assert staff_reads(statements) == [f"SELECT * FROM staff WHERE user_id = {STRANGER_ID}"]


async def test_a_read_while_a_staff_write_is_open_does_not_cache_the_old_row(
    db: Database,
) -> None:
    """The trap: a lock-free read of the last committed row, taken while the change is noted but
    not yet committed, would be cached and keep a removed manager in for good."""
    await db.write(lambda conn: conn.execute(ADD_MANAGER, (MANAGER_ID,)))
    assert await get_member(db, OWNER_ID) is None  # the cache is set up, the manager not cached
    async with db.transaction() as conn:
        await conn.execute("UPDATE staff SET active = 0 WHERE user_id = ?", (MANAGER_ID,))
        reading = asyncio.create_task(get_member(db, MANAGER_ID))
        await asyncio.sleep(0.05)
    first = await reading
    assert first is not None and not first.active
    again = await get_member(db, MANAGER_ID)
    assert again is not None and not again.active


async def test_a_newcomers_look_up_does_not_wait_for_the_writer(db: Database) -> None:
    """A respondent's first update while a long transaction (an import chunk, a re-plan) holds
    the writer: their record is read on the lock-free connection, once nothing about staff is
    being written."""
    await db.write(lambda conn: conn.execute(ADD_MANAGER, (MANAGER_ID,)))
    assert await get_member(db, MANAGER_ID) is not None  # settles the write above
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO contacts (kind, full_name, created_at, updated_at) "
            "VALUES ('client', 'Анна', '2026-01-01', '2026-01-01')"
        )
        # The writer's lock is held right now: a look-up that took it would hang here.
        assert await asyncio.wait_for(get_member(db, STRANGER_ID), timeout=5) is None
    reads = staff_cache(db).reads
    assert await get_member(db, STRANGER_ID) is None
    assert staff_cache(db).reads == reads  # and it was kept


async def test_a_failed_write_leaves_the_cache_right(db: Database) -> None:
    await db.write(lambda conn: conn.execute(ADD_MANAGER, (MANAGER_ID,)))
    assert (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]

    def switch_off_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE staff SET active = 0 WHERE user_id = ?", (MANAGER_ID,))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.write(switch_off_then_fail)
    assert (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]


async def test_a_reopened_database_is_read_afresh(db: Database) -> None:
    await db.write(lambda conn: conn.execute(ADD_MANAGER, (MANAGER_ID,)))
    assert (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]
    await db.close()
    raw = sqlite3.connect(db.path)  # changed while the bot was down
    raw.execute("UPDATE staff SET active = 0 WHERE user_id = ?", (MANAGER_ID,))
    raw.commit()
    raw.close()
    await db.open()
    assert not (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]
    # and the triggers are back on the new connection
    await set_manager_active(db, MANAGER_ID, True, START)
    assert (await get_member(db, MANAGER_ID)).active  # type: ignore[union-attr]


async def test_the_cache_keeps_at_most_its_limit(db: Database) -> None:
    cache = staff_cache(db)
    cache.limit = 3
    for user_id in range(1000, 1005):
        assert await get_member(db, user_id) is None
    assert len(cache._entries) == 3
    reads = cache.reads
    await get_member(db, 1004)  # the most recent: still in memory
    assert cache.reads == reads
    await get_member(db, 1000)  # the oldest went first: read again
    assert cache.reads == reads + 1
