"""The planner in the database thread (storage/tasks.py, scheduler/followup.py), on a real file.

What is provoked here: re-planning wakes the event loop once per transaction, however many
statements it runs (re-planning one person, each batch of "re-plan everyone", each chunk of the
daily run), instead of twice per statement; the re-plan a change implies still commits with it or
not at all; what the planner writes is what it wrote before (birthday tasks for the people of an
active manager, handed to the owner when the manager loses access); and a survey's change
re-plans its person exactly when it changes what the rules read (a detractor's score or a
finished answer costs no re-plan; opening the link or a promoter's score does).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest

from domain.settings import Settings
from scheduler.followup import FollowUp
from storage import Database
from tests.conftest import OWNER_ID, START
from tests.harness import FakeClock

MANAGER_ID = 222
PEOPLE = 5
STAMP = "2026-01-01 00:00:00"


class _Sender:
    def kick(self) -> None:
        pass


@pytest.fixture
async def followup(db: Database, settings: Settings) -> AsyncIterator[FollowUp]:
    planner = FollowUp(db, settings, FakeClock(START), _Sender())  # type: ignore[arg-type]
    await planner.live.get()
    yield planner
    await planner.stop()


@contextmanager
def wake_ups() -> Iterator[list[int]]:
    """How often the database's threads hand a result back to the event loop (aiosqlite does
    it with `call_soon_threadsafe`, once per job)."""
    loop = asyncio.get_running_loop()
    count = [0]
    original = loop.call_soon_threadsafe

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        count[0] += 1
        return original(*args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        yield count
    finally:
        loop.call_soon_threadsafe = original  # type: ignore[method-assign]


def _people(conn: sqlite3.Connection) -> list[int]:
    """A manager and five people with birthdays within the week (20.11 is the clock's day)."""
    for user_id, role in ((OWNER_ID, "owner"), (MANAGER_ID, "manager")):
        conn.execute(
            "INSERT INTO staff (user_id, role, full_name, created_at, updated_at) "
            "VALUES (?, ?, 'X', ?, ?)",
            (user_id, role, STAMP, STAMP),
        )
    return [
        conn.execute(
            "INSERT INTO contacts (kind, full_name, birth_day, birth_month, manager_id, "
            "created_at, updated_at) VALUES ('client', ?, ?, 11, ?, ?, ?) RETURNING id",
            (f"К{n}", 22 + n, MANAGER_ID, STAMP, STAMP),
        ).fetchone()[0]
        for n in range(PEOPLE)
    ]


def _birthdays(conn: sqlite3.Connection) -> list[tuple[int, int, str]]:
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT contact_id, manager_id, status FROM tasks WHERE kind = 'birthday' "
            "ORDER BY contact_id"
        )
    ]


async def test_a_change_is_planned_in_its_own_transaction(db: Database, followup: FollowUp) -> None:
    ids = await db.write(_people)
    birthdays = await db.fetch(_birthdays)
    assert birthdays == [(i, MANAGER_ID, "pending") for i in ids]

    def new_person_then_fail(conn: sqlite3.Connection) -> None:
        _people_more(conn)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.write(new_person_then_fail)
    assert await db.fetch(_birthdays) == birthdays  # the failed change planned nothing

    # The manager loses access: their people's tasks go to the owner, in the same job (a bulk
    # write: in the database thread, one wake-up when it is done).
    with wake_ups() as count:
        await db.write_bulk(
            lambda conn: conn.execute(
                "UPDATE staff SET active = 0 WHERE user_id = ?", (MANAGER_ID,)
            )
        )
    assert count[0] == 1
    assert await db.fetch(_birthdays) == [(i, OWNER_ID, "pending") for i in ids]


def _people_more(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO contacts (kind, full_name, birth_day, birth_month, manager_id, created_at, "
        "updated_at) VALUES ('client', 'Новый', 21, 11, ?, ?, ?)",
        (MANAGER_ID, STAMP, STAMP),
    )


async def test_re_planning_one_person_never_wakes_the_loop(
    db: Database, followup: FollowUp
) -> None:
    """A few people are re-planned in the loop's own thread; a crowd in the database thread."""
    ids = await db.write(_people)
    await db.write(lambda conn: conn.execute("DELETE FROM tasks WHERE contact_id = ?", (ids[0],)))
    with wake_ups() as count:
        created = await followup.plan([ids[0]])
    assert created == 2  # the birthday and the reminder the day before, back
    assert count[0] == 0


async def test_re_planning_everyone_is_one_job_per_batch(db: Database, followup: FollowUp) -> None:
    await db.write(_people)
    await db.write(lambda conn: conn.execute("DELETE FROM tasks"))
    with wake_ups() as count:
        created = await followup.replan_everyone(batch=2)
    assert created == 2 * PEOPLE
    assert count[0] == 4  # [1, 2], [3, 4], [5], and the empty one that stores the fingerprint
    stored = await db.fetch(
        lambda conn: conn.execute(
            "SELECT value FROM planner_state WHERE key = 'settings'"
        ).fetchone()[0]
    )
    assert stored == followup.fingerprint()


async def test_the_daily_run_is_one_job_per_chunk(db: Database, followup: FollowUp) -> None:
    await db.write(_people)
    await db.write(lambda conn: conn.execute("UPDATE contacts SET next_plan_on = '2026-01-01'"))
    with wake_ups() as count:
        await followup.plan()
    # nothing lapsed (one sweep), one chunk of five people due, then none left
    assert count[0] == 3
    due = await db.fetch(
        lambda conn: conn.execute(
            "SELECT count(*) FROM contacts WHERE next_plan_on <= '2026-11-20'"
        ).fetchone()[0]
    )
    assert due == 0


# Each change of a survey, and whether the rules read it (storage/tasks.load_facts reads a survey
# only while unopened, by `created_at`, and as a promoter's answer, by `scored_at`).
SURVEY_CHANGES = [
    ("status = 'opened', opened_at = '2026-11-20 07:00:00'", True),  # no longer unopened
    ("score = 3, scored_at = '2026-11-20 07:01:00'", False),  # a detractor's score
    ("reason = 'дверца', status = 'answered'", False),  # the answer finished
    ("score = 9", True),  # now a promoter's answer
    ("score = 10", False),  # still one, of the same moment
    ("scored_at = '2026-11-21 07:00:00'", True),  # the promoter's answer moved
    ("score = 6", True),  # no longer a promoter's answer
]


@pytest.mark.parametrize(("change", "re_plans"), SURVEY_CHANGES)
async def test_a_survey_change_re_plans_only_when_the_rules_read_it(
    db: Database, change: str, re_plans: bool
) -> None:
    planned: list[list[int]] = []
    db.attach_planner(lambda conn, ids: planned.append(ids))

    def survey(conn: sqlite3.Connection) -> int:
        conn.execute(
            "INSERT INTO contacts (id, kind, full_name, created_at, updated_at) "
            "VALUES (7, 'client', 'Анна', ?, ?)",
            (STAMP, STAMP),
        )
        return conn.execute(
            "INSERT INTO surveys (token, contact_id, kind, created_at) "
            "VALUES ('t', 7, 'client', ?) RETURNING id",
            (STAMP,),
        ).fetchone()[0]

    survey_id = await db.write(survey)
    for earlier, _ in SURVEY_CHANGES[: SURVEY_CHANGES.index((change, re_plans))]:
        await db.write(lambda conn, c=earlier: conn.execute(f"UPDATE surveys SET {c}"))
    planned.clear()
    await db.write(
        lambda conn: conn.execute(f"UPDATE surveys SET {change} WHERE id = ?", (survey_id,))
    )
    assert planned == ([[7]] if re_plans else [])
