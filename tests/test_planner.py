"""The plan follows every change, through the production dispatcher with the clock moved by hand:
what a manager sees in /week, /today and the morning plan after a fact changes."""

from __future__ import annotations

import sqlite3
from datetime import date

from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup

from domain import tunables
from storage import Database
from storage.forget import erase_contact
from tests.conftest import OWNER_ID
from tests.harness import Harness, button_data, replies
from tests.helpers.cadence import at, sends
from tests.helpers.contacts import Staff
from tests.helpers.sale import SaleBot, add_manager
from tests.helpers.survey import MANAGER_ID
from views.texts import plain

ANNA = "Анна Смирнова"


async def sale(h: Harness, db: Database, birthday: str | None = None) -> None:
    """The manager records a sale of Анна Смирнова (Friday 20.11, 10:00)."""
    await add_manager(h, db)
    m = SaleBot(h)
    await m.fill(name=ANNA, phone="+79161234567", birthday=birthday)
    await m.press("Сохранить")


def week_days(text: str) -> dict[str, list[str]]:
    """/week as {"07.12.2026": [items]}."""
    days: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("<b>") and line.endswith("</b>") and line[3:5].isdigit():
            current = days.setdefault(line[3:-4], [])
        elif current is not None and line.strip():
            current.append(line)
    return days


def seen(message: SendMessage) -> str:
    """The plan as the manager sees it: its text and the labels of its buttons."""
    labels = []
    if isinstance(message.reply_markup, InlineKeyboardMarkup):
        labels = [b.text for row in message.reply_markup.inline_keyboard for b in row]
    return "\n".join([message.text or "", *labels])


def item(kind: str) -> str:
    return plain("ru", f"item.{kind}", name=ANNA)


async def rows(db: Database, sql: str, *params: object) -> list[tuple]:
    async with db.read() as conn:
        return [tuple(r) for r in await conn.execute_fetchall(sql, params)]


async def test_a_sale_plans_its_next_day_call_in_its_own_transaction(
    harness: Harness, db: Database
) -> None:
    """No tick and no planning call by the handler: the transaction that saves the deal plans
    the call (Friday's sale: Monday), so it is in /week the moment the link is out."""
    await sale(harness, db)
    assert await rows(db, "SELECT status, due_date FROM tasks WHERE kind = 'call'") == [
        ("pending", "2026-11-23")
    ]
    week = week_days((await Staff(harness, MANAGER_ID).say("/week"))[0])
    assert item("call") in week["23.11.2026"]


async def test_a_corrected_birthday_moves_its_reminders(harness: Harness, db: Database) -> None:
    await sale(harness, db, birthday="10.12")
    at(harness, 2026, 12, 4)  # Friday: the heads-up (07.12) and the day (10.12) are planned
    await harness.tick()
    m = Staff(harness, MANAGER_ID)
    week = week_days((await m.say("/week"))[0])
    assert item("birthday_lead") in week["07.12.2026"] and item("birthday") in week["10.12.2026"]

    await m.say("/find Смирнова")
    await m.press("день рождения")
    assert "День рождения: 14.12" in (await m.say("14.12"))[0]

    week = week_days((await m.say("/week"))[0])
    assert "07.12.2026" not in week and "10.12.2026" not in week
    assert week["11.12.2026"] == [item("birthday_lead")]
    # the old ones are cancelled (history), not deleted
    assert await rows(
        db, "SELECT kind, status FROM tasks WHERE idem_key LIKE 'bday%2026-12-10' ORDER BY kind"
    ) == [("birthday", "cancelled"), ("birthday_lead", "cancelled")]

    at(harness, 2026, 12, 14)  # Monday: the birthday is in the morning plan
    (plan,) = sends(await harness.tick(), MANAGER_ID)
    assert item("birthday") in seen(plan)


async def test_a_birthday_corrected_back_brings_its_reminders_back(
    harness: Harness, db: Database
) -> None:
    await sale(harness, db, birthday="25.11")
    m = Staff(harness, MANAGER_ID)
    await m.say("/find Смирнова")
    await m.press("день рождения")
    await m.say("27.11")
    await m.press("день рождения")
    await m.say("25.11")
    week = week_days((await m.say("/week"))[0])
    assert week["25.11.2026"] == [item("birthday")] and "27.11.2026" not in week
    assert await rows(
        db, "SELECT status FROM tasks WHERE idem_key LIKE 'bday:%' ORDER BY idem_key"
    ) == [("pending",), ("cancelled",)]  # 2026-11-25 back, 2026-11-27 gone


async def test_a_birthday_set_from_the_card_shows_in_week_at_once(
    harness: Harness, db: Database
) -> None:
    await sale(harness, db)
    m = Staff(harness, MANAGER_ID)
    assert not any("день рождения" in line for line in (await m.say("/week"))[0].splitlines())
    await m.say("/find Смирнова")
    await m.press("день рождения")
    await m.say("25.11")
    week = week_days((await m.say("/week"))[0])  # no tick, no new day: at once
    assert week["22.11.2026"] == [item("birthday_lead")]
    assert week["25.11.2026"] == [item("birthday")]


async def test_stale_items_leave_the_plan(harness: Harness, db: Database) -> None:
    await sale(harness, db, birthday="11.12")
    at(harness, 2026, 12, 8)  # Tuesday: the heads-up of 08.12 and the birthday ahead
    (plan,) = sends(await harness.tick(), MANAGER_ID)
    assert item("birthday_lead") in seen(plan)
    # Nobody does them. On 3 February they are long gone from the plan, and counted as missed.
    at(harness, 2027, 2, 3)
    for plan in sends(await harness.tick(), MANAGER_ID):  # nothing else is due: maybe no plan
        assert item("birthday_lead") not in seen(plan) and item("birthday") not in seen(plan)
    m = Staff(harness, MANAGER_ID)
    sent = await harness.send(m.user, "/today")
    (today,) = [r for r in sent if isinstance(r, SendMessage)]
    assert item("birthday_lead") not in seen(today) and item("birthday") not in seen(today)
    assert await rows(
        db, "SELECT kind, status, outcome FROM tasks WHERE kind LIKE 'birthday%' ORDER BY kind"
    ) == [("birthday", "missed", "lapsed"), ("birthday_lead", "missed", "lapsed")]
    owner = Staff(harness, OWNER_ID)
    managers = (await owner.say("/managers"))[0]
    # the two birthdays within these 30 days (the call and the resend lapsed in November)
    assert "упущено 2" in managers


async def test_missed_tasks_are_counted_per_manager(harness: Harness, db: Database) -> None:
    await sale(harness, db)
    at(harness, 2026, 12, 1)  # the next-day call (23.11) lapsed on 26.11, the resend on 30.11
    await harness.tick()
    assert await rows(db, "SELECT kind, status FROM tasks ORDER BY id") == [
        ("call", "missed"),
        ("resend", "missed"),
    ]
    owner = Staff(harness, OWNER_ID)
    assert "упущено 2" in (await owner.say("/managers"))[0]


async def test_a_removed_managers_contacts_go_to_the_owners_plan(
    harness: Harness, db: Database
) -> None:
    await sale(harness, db)
    owner = Staff(harness, OWNER_ID, lang="ru")
    await owner.say("/start")
    await owner.say("/managers")
    await owner.tap(button_data(owner.last, "Отключить"))  # type: ignore[arg-type]
    week = week_days((await owner.say("/week"))[0])
    assert plain("ru", "item.call", name=ANNA) in week["23.11.2026"]
    assert await rows(db, "SELECT DISTINCT manager_id FROM tasks WHERE status = 'pending'") == [
        (OWNER_ID,)
    ]
    # access back: the tasks go back to the manager
    await owner.say("/managers")
    await owner.tap(button_data(owner.last, "Вернуть"))  # type: ignore[arg-type]
    assert await rows(db, "SELECT DISTINCT manager_id FROM tasks WHERE status = 'pending'") == [
        (MANAGER_ID,)
    ]


async def test_a_new_birthday_lead_time_moves_the_heads_ups(harness: Harness, db: Database) -> None:
    await sale(harness, db, birthday="27.11")
    m = Staff(harness, MANAGER_ID)
    assert item("birthday_lead") in week_days((await m.say("/week"))[0])["24.11.2026"]
    live = harness.dp["live_settings"]
    await live.set(tunables.BIRTHDAY, "5", OWNER_ID, harness.clock())
    await harness.dp["followup"].wait_background()  # everyone is re-planned in the background
    week = week_days((await m.say("/week"))[0])
    assert "24.11.2026" not in week and week["22.11.2026"] == [item("birthday_lead")]


async def test_forget_cancels_the_persons_plan(harness: Harness, db: Database) -> None:
    await sale(harness, db, birthday="25.11")
    m = Staff(harness, MANAGER_ID)
    assert week_days((await m.say("/week"))[0])
    await erase_contact(db, 1, harness.clock(), by="test")
    assert "23.11.2026" not in (await m.say("/week"))[0]
    assert await rows(db, "SELECT count(*) FROM tasks WHERE status = 'pending'") == [(0,)]
    assert await rows(db, "SELECT next_plan_on FROM contacts") == [("9999-12-31",)]


async def test_start_up_answers_before_planning_is_done(
    harness: Harness, db: Database, settings
) -> None:
    # A base of 6,000 people waiting to be planned (as right after the upgrade), written by
    # another connection so that nothing plans them yet.
    raw = sqlite3.connect(settings.database_path)
    raw.execute(
        "INSERT INTO staff (user_id, role, full_name, created_at, updated_at) "
        "VALUES (?, 'manager', 'М', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        (MANAGER_ID,),
    )
    raw.executemany(
        "INSERT INTO contacts (kind, full_name, birth_day, birth_month, manager_id, created_at, "
        "updated_at) VALUES ('client', ?, ?, 11, ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        [(f"К{n}", 21 + n % 7, MANAGER_ID) for n in range(6000)],
    )
    raw.commit()
    raw.close()
    dp = harness.dp
    await dp.emit_startup(bot=harness.bot, dispatcher=dp, bots=[harness.bot], **dp.workflow_data)
    try:
        followup = harness.dp["followup"]
        assert followup._background  # the catch-up is still running...
        sent = await harness.send(harness.user(OWNER_ID, "Ольга"), "/start")
        assert replies(sent)  # ...and the owner is answered meanwhile
        await followup.wait_background()
        assert await rows(db, "SELECT count(*) FROM contacts WHERE next_plan_on = ''") == [(0,)]
        planned = await rows(db, "SELECT count(*) FROM tasks WHERE kind = 'birthday'")
        assert planned[0][0] > 0
    finally:
        await dp.emit_shutdown(bot=harness.bot, dispatcher=dp, **dp.workflow_data)


def test_dates_in_week_parse() -> None:
    assert week_days("Неделя\n\n<b>07.12.2026</b>\nx\ny") == {"07.12.2026": ["x", "y"]}
    assert date(2026, 12, 7).strftime("%d.%m.%Y") == "07.12.2026"
