"""The bot's contact budget and its daytime window, through the production dispatcher with the
clock moved by hand: what the bot writes first to a respondent (nudges, greetings, "was it
resolved?") is counted and timed; a manager's call is human contact and counts for nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.methods import AnswerCallbackQuery, SendMessage

from domain.daytime import respondent_moment
from domain.settings import Cadence
from storage import Database
from storage.migrations import MIGRATIONS, V5_HELD_NUDGES
from storage.timefmt import ts
from tests.harness import Harness, as_message, button_data
from tests.helpers.cadence import at, open_card, sends
from tests.helpers.cases import add_manager, detractor, question_to, take_and_resolve
from tests.helpers.survey import CLIENT_ID, MANAGER_ID, Respondent, setup_sale


async def survey_row(db: Database, survey_id: int) -> tuple:
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT nudged_at, answered_at FROM surveys WHERE id = ?", (survey_id,)
            )
        ).fetchone()
    return tuple(row)


def nudges(requests: list) -> list[SendMessage]:
    return [m for m in sends(requests, CLIENT_ID) if "Найдётся минутка" in m.text]


async def test_a_managers_call_does_not_cancel_the_clients_survey_nudge(
    harness: Harness, db: Database
) -> None:
    at(harness, 2026, 11, 19, 14, 0)  # Thursday afternoon: the sale, the link opened, one answer
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("8")

    at(harness, 2026, 11, 20, 9, 0)  # Friday morning: the next-day call is in the plan
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    card = await open_card(harness, plan, "Звонок")
    peter = harness.user(MANAGER_ID, "Пётр")
    at(harness, 2026, 11, 20, 9, 30)
    sent = await harness.tap(peter, button_data(card, "Пользуется"), as_message(plan))
    assert any(isinstance(r, AnswerCallbackQuery) for r in sent)
    async with db.read() as conn:
        calls = await (
            await conn.execute("SELECT channel, purpose FROM contact_log ORDER BY id")
        ).fetchall()
    assert [tuple(r) for r in calls] == [("call", "likes")]  # the call is on the record
    assert nudges(await harness.tick()) == []  # not yet 24 hours since she opened it

    at(harness, 2026, 11, 20, 14, 1)  # 24 hours after she stopped
    nudge = nudges(await harness.tick())
    assert len(nudge) == 1
    assert button_data(nudge[0], "Продолжить") == "sr:1"
    assert (await survey_row(db, 1))[0] is not None
    assert nudges(await harness.tick()) == []  # one nudge, never a second


async def test_a_nudge_held_back_by_the_budget_goes_later(harness: Harness, db: Database) -> None:
    # The first purchase: opened, one answer, and the nudge a day later (the bot wrote first).
    payload = await setup_sale(harness, db)  # Friday 20.11 10:00
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("8")
    at(harness, 2026, 11, 21, 10, 30)
    assert len(nudges(await harness.tick())) == 1

    # A second purchase the same day; its survey is opened and left unfinished too.
    at(harness, 2026, 11, 21, 11, 0)
    second = await setup_sale(harness, db)
    await anna.open(second)
    await anna.tap("9")
    at(harness, 2026, 11, 22, 11, 30)  # its nudge is due, but the bot wrote yesterday
    assert nudges(await harness.tick()) == []
    assert await survey_row(db, 2) == (None, None)  # waiting, not marked as nudged
    at(harness, 2026, 11, 28, 10, 29)  # still inside the 7 days since the first nudge
    assert nudges(await harness.tick()) == []

    at(harness, 2026, 11, 28, 10, 31)
    later = nudges(await harness.tick())
    assert len(later) == 1 and button_data(later[0], "Продолжить") == "sr:2"
    assert (await survey_row(db, 2))[0] is not None
    at(harness, 2026, 12, 6, 11, 0)
    assert nudges(await harness.tick()) == []  # and only once


async def test_a_nudge_due_at_night_goes_in_the_morning(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    at(harness, 2026, 11, 20, 23, 40)  # Friday, late: opened and left after one answer
    await anna.open(payload)
    await anna.tap("7")

    at(harness, 2026, 11, 21, 23, 41)  # due since 23:40: night
    assert nudges(await harness.tick()) == []
    at(harness, 2026, 11, 22, 9, 59)
    assert nudges(await harness.tick()) == []
    assert await survey_row(db, 1) == (None, None)  # still due, not dropped
    at(harness, 2026, 11, 22, 10, 0)
    morning = nudges(await harness.tick())
    assert len(morning) == 1 and morning[0].chat_id == CLIENT_ID


async def test_staff_messages_are_not_held_to_the_daytime(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    at(harness, 2026, 11, 20, 23, 0)  # a low score late at night: the manager hears at once
    await detractor(harness, db)
    alert = [m for m in sends(await harness.tick(), MANAGER_ID) if "Случай №1" in m.text]
    assert len(alert) == 1


async def test_a_greeting_tapped_before_the_day_begins_goes_at_ten(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("10")
    await anna.tap("Пропустить")
    await anna.tap("Да")  # agreed to be contacted
    async with db.transaction() as conn:
        await conn.execute("UPDATE contacts SET birth_day = 24, birth_month = 11")
    at(harness, 2026, 11, 24, 9, 0)
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    card = await open_card(harness, plan, "День рождения")
    peter = harness.user(MANAGER_ID, "Пётр")
    sent = await harness.tap(peter, button_data(card, "Поздравить от бота"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Поздравление уйдёт 24.11.2026 10:00: бот пишет клиентам с 10:00 до 20:00."
    )
    at(harness, 2026, 11, 24, 9, 59)
    assert sends(await harness.drain(), CLIENT_ID) == []
    at(harness, 2026, 11, 24, 10, 0)
    greeting = sends(await harness.drain(), CLIENT_ID)
    assert len(greeting) == 1 and "Анна, с днём рождения!" in greeting[0].text


async def test_was_it_resolved_asked_at_night_goes_in_the_morning(
    harness: Harness, db: Database
) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    at(harness, 2026, 11, 20, 22, 15)  # the manager resolves it late in the evening
    sent = await take_and_resolve(harness, MANAGER_ID)
    told = [m.text for m in sends(sent, MANAGER_ID)]
    assert any(
        "Бот спросит клиента, решена ли проблема, 21.11.2026 10:00 (клиентам он пишет с 10:00 "
        "до 20:00)" in text
        for text in told
    ), told
    assert sends(await harness.drain(), CLIENT_ID) == []
    at(harness, 2026, 11, 21, 10, 0)
    assert (await question_to(harness)).chat_id == CLIENT_ID


def test_the_respondents_daytime_window() -> None:
    msk = ZoneInfo("Europe/Moscow")
    cadence = Cadence()  # 10:00-20:00

    def moment(h: int, m: int) -> datetime:
        now = datetime(2026, 11, 20, h, m, tzinfo=msk).astimezone(UTC)
        return respondent_moment(now, cadence, msk).astimezone(msk).replace(tzinfo=None)

    assert moment(9, 59) == datetime(2026, 11, 20, 10, 0)
    assert moment(10, 0) == datetime(2026, 11, 20, 10, 0)
    assert moment(19, 59) == datetime(2026, 11, 20, 19, 59)
    assert moment(20, 0) == datetime(2026, 11, 21, 10, 0)
    assert moment(23, 40) == datetime(2026, 11, 21, 10, 0)


async def test_upgrade_brings_back_recent_nudges_the_budget_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(migrate_to=MIGRATIONS.index(V5_HELD_NUDGES))  # the schema before the fix
    now = datetime.now(UTC)  # the migration compares with SQLite's own clock
    recent, old = ts(now - timedelta(days=2)), ts(now - timedelta(days=30))
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, kind, tg_user_id, created_at, updated_at) "
            "VALUES (1, 'client', 5001, ?, ?)",
            (old, old),
        )
        for survey_id, opened in ((1, recent), (2, recent), (3, old)):
            await conn.execute(
                "INSERT INTO surveys (id, token, contact_id, kind, status, respondent_tg_id, "
                "created_at, opened_at, nudged_at) VALUES (?, ?, 1, 'client', 'opened', 5001, "
                "?, ?, ?)",
                (survey_id, f"t{survey_id}", opened, opened, opened),
            )
        # survey 2's nudge really was queued (and sent)
        await conn.execute(
            "INSERT INTO outbox (idem_key, chat_id, contact_id, purpose, payload, status, "
            "not_before, created_at) VALUES ('nudge:2', 5001, 1, 'nudge', '{}', 'sent', ?, ?)",
            (recent, recent),
        )
    await db.close()
    db = Database(path)
    await db.open()
    try:
        async with db.read() as conn:
            rows = await (
                await conn.execute("SELECT id, nudged_at IS NULL FROM surveys ORDER BY id")
            ).fetchall()
        # only the recent one whose nudge never went is due again
        assert [tuple(r) for r in rows] == [(1, 1), (2, 0), (3, 0)]
    finally:
        await db.close()
