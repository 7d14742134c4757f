"""The follow-up cadence through the production dispatcher, with the clock moved by hand."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
)
from aiogram.types import Update

from domain.planning import offer_offset
from storage import Database
from storage.followup import watched_cases
from storage.sale import SaleInput, record_sale
from storage.tasks import close_task
from storage.timefmt import ts
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, buttons, replies
from tests.helpers.cadence import at, open_card, record, sends, tasks
from tests.helpers.replay import Crash, crash_on, feed
from tests.helpers.sale import add_manager
from tests.helpers.survey import CLIENT_ID, MANAGER_ID, Respondent, setup_sale


async def morning_plan(h: Harness, db: Database) -> SendMessage:
    await record(h, db)  # Friday 20.11, 10:00
    at(h, 2026, 11, 23)  # Monday 09:00
    digest = sends(await h.tick(), MANAGER_ID)
    assert len(digest) == 1
    return digest[0]


async def test_sale_gives_one_morning_plan_with_the_call(harness: Harness, db: Database) -> None:
    await record(harness, db)
    assert ("call", "2026-11-23", "pending", None, "call:1") in await tasks(db)
    assert sends(await harness.tick(), MANAGER_ID) == []  # Friday: nothing due yet
    at(harness, 2026, 11, 21)  # Saturday: no plan on days off
    assert sends(await harness.tick(), MANAGER_ID) == []
    at(harness, 2026, 11, 23, 8, 59)
    assert sends(await harness.tick(), MANAGER_ID) == []
    at(harness, 2026, 11, 23, 9, 0)
    plan = sends(await harness.tick(), MANAGER_ID)
    assert len(plan) == 1
    assert plan[0].text.splitlines() == [
        "📋 План на 23.11.2026: 1 дело",
        "",
        "<b>Звонки после покупки</b>",
        "📞 Анна Смирнова, Кухонный гарнитур",
        "",
        "Нажмите на дело, чтобы открыть его и записать результат.",
    ]
    assert [b[0] for b in buttons(plan[0])] == ["📞 Звонок после покупки: Анна Смирнова"]
    at(harness, 2026, 11, 23, 9, 1)
    assert sends(await harness.tick(), MANAGER_ID) == []  # once a day

    card = await open_card(harness, plan[0], "Звонок")
    assert "Спросите, пользуется ли уже покупкой" in card.text
    assert "Кухонный гарнитур, 20.11.2026" in card.text and "+7 916 123-45-67" in card.text
    assert [b[0] for b in buttons(card)] == [
        "👍 Пользуется, нравится",
        "⏳ Ещё не пользуется",
        "👎 Не подошло",
        "📵 Не дозвонились",
        "⏰ Отложить",
        "◀ К плану",
    ]


async def test_downtime_across_the_digest_sends_it_once(harness: Harness, db: Database) -> None:
    await record(harness, db)
    at(harness, 2026, 11, 23, 8, 55)
    assert sends(await harness.tick(), MANAGER_ID) == []
    # the bot is down from 08:55 to 11:00; the first tick after start sends the plan, once
    at(harness, 2026, 11, 23, 11, 0)
    assert len(sends(await harness.tick(), MANAGER_ID)) == 1
    assert sends(await harness.tick(), MANAGER_ID) == []


async def test_not_used_yet_calls_back_after_the_start(harness: Harness, db: Database) -> None:
    plan = await morning_plan(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    card = await open_card(harness, plan, "Звонок")
    sent = await harness.tap(user, button_data(card, "Ещё не пользуется"), as_message(plan))
    menu = next(r for r in sent if isinstance(r, EditMessageText))
    assert menu.text == "Когда клиент начнёт пользоваться?"
    sent = await harness.tap(user, button_data(menu, "Через 3 дня"), as_message(plan))
    answer = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert answer.text == "Перезвоните 27.11.2026: задача в плане."  # starts Thu 26 → call Fri 27
    back = next(r for r in sent if isinstance(r, EditMessageText))
    assert back.text == "📋 План на 23.11.2026\n\nНа сегодня дел нет. Хорошего дня!"
    assert ("call_back", "2026-11-27", "pending", None, "callback:1") in await tasks(db)
    at(harness, 2026, 11, 27)
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    card = await open_card(harness, plan, "Перезвонить")
    assert "Договорились, что клиент начнёт пользоваться 26.11.2026." in card.text


async def test_typed_start_date(harness: Harness, db: Database) -> None:
    plan = await morning_plan(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    card = await open_card(harness, plan, "Звонок")
    await harness.tap(user, button_data(card, "Ещё не пользуется"), as_message(plan))
    menu = EditMessageText(text="", reply_markup=None)
    sent = await harness.tap(user, "ta:1:stdate:0", as_message(plan))
    assert "Напишите дату" in replies(sent)[0]
    assert "Не получилось прочитать дату" in replies(await harness.send(user, "вчера"))[0]
    assert "Не получилось" in replies(await harness.send(user, "01.01.2020"))[0]
    sent = await harness.send(user, "4.12")
    assert replies(sent)[0] == "Перезвоните 07.12.2026: задача в плане."  # Fri 4 → Mon 7
    del menu


async def test_likes_and_call_again_tomorrow(harness: Harness, db: Database) -> None:
    plan = await morning_plan(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    card = await open_card(harness, plan, "Звонок")
    sent = await harness.tap(user, button_data(card, "нравится"), as_message(plan))
    menu = next(r for r in sent if isinstance(r, EditMessageText))
    assert "Позвонить ещё завтра" in menu.text
    sent = await harness.tap(user, button_data(menu, "Позвонить ещё завтра"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Перезвоните 24.11.2026: задача в плане."
    )
    rows = await tasks(db)
    assert ("call", "2026-11-23", "done", "likes", "call:1") in rows
    assert ("call_back", "2026-11-24", "pending", None, "callback:1:likes") in rows
    # a double tap on "call again" adds nothing
    await harness.tap(user, button_data(menu, "Позвонить ещё завтра"), as_message(plan))
    assert len(await tasks(db)) == len(rows)


async def test_not_suitable_opens_a_case_and_a_meeting(harness: Harness, db: Database) -> None:
    plan = await morning_plan(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    card = await open_card(harness, plan, "Звонок")
    sent = await harness.tap(user, button_data(card, "Не подошло"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Создана срочная встреча на сегодня и случай №1."
    )
    back = next(r for r in sent if isinstance(r, EditMessageText))
    assert [b[0] for b in buttons(back)] == ["🤝 Срочно встретиться: Анна Смирнова"]
    async with db.read() as conn:
        case = await (await conn.execute("SELECT source, status, owner_id FROM cases")).fetchone()
    assert tuple(case) == ("call", "taken", MANAGER_ID)
    # the same button again records nothing more
    sent = await harness.tap(user, button_data(card, "Не подошло"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Эта задача уже закрыта."
    )


async def test_no_answer_tries_three_times(harness: Harness, db: Database) -> None:
    plan = await morning_plan(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    expected = ["Попробуем снова 24.11.2026.", "Попробуем снова 25.11.2026."]
    for day, note in zip((23, 24), expected, strict=True):
        at(harness, 2026, 11, day)
        sent = await harness.send(user, "/today")
        plan = sends(sent, MANAGER_ID)[0]
        card = await open_card(harness, plan, "Звонок")
        if day == 24:
            assert "Попытка 2 из 3." in card.text
        sent = await harness.tap(user, button_data(card, "Не дозвонились"), as_message(plan))
        assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == note
    at(harness, 2026, 11, 25)
    plan = sends(await harness.send(user, "/today"), MANAGER_ID)[0]
    card = await open_card(harness, plan, "Звонок")
    sent = await harness.tap(user, button_data(card, "Не дозвонились"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Не удалось дозвониться 3 раза — задача закрыта."
    )
    assert [r[2] for r in await tasks(db) if r[0] == "call"] == ["done", "done", "done"]


async def test_snooze_an_hour_brings_a_reminder_at_its_hour(harness: Harness, db: Database) -> None:
    plan = await morning_plan(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    card = await open_card(harness, plan, "Звонок")
    sent = await harness.tap(user, button_data(card, "Отложить"), as_message(plan))
    menu = next(r for r in sent if isinstance(r, EditMessageText))
    sent = await harness.tap(user, button_data(menu, "На 1 час"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Отложено до 23.11.2026 10:00."
    )
    back = next(r for r in sent if isinstance(r, EditMessageText)).text
    assert "На сегодня дел нет" in back and "Анна" not in back
    at(harness, 2026, 11, 23, 9, 59)
    assert sends(await harness.tick(), MANAGER_ID) == []
    at(harness, 2026, 11, 23, 10, 0)
    reminder = sends(await harness.tick(), MANAGER_ID)
    assert len(reminder) == 1 and reminder[0].text.startswith("⏰ <b>Напоминание</b>")
    assert "Пользуется, нравится" in buttons(reminder[0])[0][0]
    assert sends(await harness.tick(), MANAGER_ID) == []  # once


async def test_forged_task_button(harness: Harness, db: Database) -> None:
    await morning_plan(harness, db)
    other = harness.user(OWNER_ID, "Ольга")
    sent = await harness.tap(other, "ta:1:done:0")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Эта кнопка больше не действует."
    )
    assert (await tasks(db))[0][2] == "pending"
    stranger = harness.user(4242, "Чужой")
    sent = await harness.tap(stranger, "ta:1:done:0")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).show_alert


async def test_week_and_today(harness: Harness, db: Database) -> None:
    await record(harness, db)
    user = harness.user(MANAGER_ID, "Пётр")
    week = replies(await harness.send(user, "/week"))[0]
    assert "<b>23.11.2026</b>" in week and "📞 Звонок после покупки: Анна Смирнова" in week
    assert "На сегодня дел нет" in replies(await harness.send(user, "/today"))[0]


async def test_unopened_link_becomes_a_resend_task(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    at(harness, 2026, 11, 23, 9, 0)  # Monday; the link was made on Friday 20.11
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    card = await open_card(harness, plan, "Переслать опрос")
    assert f"start={payload}" in card.text


async def test_one_gentle_nudge_for_an_unfinished_survey(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("8")
    harness.clock.advance(hours=23)
    assert sends(await harness.tick(), CLIENT_ID) == []
    harness.clock.advance(hours=2)
    nudge = sends(await harness.tick(), CLIENT_ID)
    assert len(nudge) == 1 and "Найдётся минутка" in nudge[0].text
    assert sends(await harness.tick(), CLIENT_ID) == []  # one nudge, never a second
    sent = await harness.tap(anna.user, button_data(nudge[0], "Продолжить"), as_message(nudge[0]))
    assert "чтобы в следующий раз вы поставили 10" in replies(sent)[0]


@pytest.mark.parametrize(("away_days", "nudged"), [(3, True), (16, False)])
async def test_a_nudge_held_back_longer_than_two_weeks_is_dropped(
    harness: Harness, db: Database, away_days: int, nudged: bool
) -> None:
    """A person who said /stop and comes back with /start gets the nudge of their unfinished
    survey, unless it is two weeks late (and the tick stops reading that survey)."""
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    await anna.tap("8")
    await anna.send("/stop")
    harness.clock.advance(days=away_days)
    assert sends(await harness.tick(), CLIENT_ID) == []
    await anna.send("/start")
    nudge = [m for m in sends(await harness.tick(), CLIENT_ID) if "минутка" in m.text]
    assert len(nudge) == (1 if nudged else 0)


async def test_stop_means_no_nudge(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("8")
    assert "не будем писать вам первыми" in (await anna.send("/stop"))[0]
    harness.clock.advance(hours=25)
    assert sends(await harness.tick(), CLIENT_ID) == []
    assert "С возвращением" in (await anna.send("/start"))[0]


async def test_case_deadlines_in_working_time(harness: Harness, db: Database) -> None:
    at(harness, 2026, 11, 20, 16, 0)  # Friday 16:00
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("2")
    await harness.drain()
    at(harness, 2026, 11, 23, 10, 59)  # 3 h 59 working minutes later
    assert not [m for m in sends(await harness.tick(), MANAGER_ID) if "Случай №1" in m.text]
    at(harness, 2026, 11, 23, 11, 0)
    reminder = [m for m in sends(await harness.tick(), MANAGER_ID) if "Случай №1" in m.text]
    assert len(reminder) == 1 and "никто не взял за 4 рабочих часа" in reminder[0].text
    assert buttons(reminder[0]) == [("🙋 Беру случай", "ct:1"), ("📁 Открыть случай", "ko:1:0")]
    at(harness, 2026, 11, 24, 16, 0)  # two working days
    escalation = [m for m in sends(await harness.tick(), OWNER_ID) if "не решён" in m.text]
    assert len(escalation) == 1 and "Ответственный: никто" in escalation[0].text
    at(harness, 2026, 11, 25, 9, 30)
    later = await harness.tick()
    assert not [
        m for m in sends(later, OWNER_ID) + sends(later, MANAGER_ID) if "Случай №1" in m.text
    ]


async def test_a_case_taken_at_once_is_escalated_once_and_then_left_alone(
    harness: Harness, db: Database
) -> None:
    """A taken case is never reminded; it used to stay in every tick's read for ever."""
    at(harness, 2026, 11, 20, 16, 0)
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("2")
    await harness.drain()
    await harness.tap(harness.user(MANAGER_ID, "Пётр"), "ct:1")
    at(harness, 2026, 11, 23, 11, 0)  # the reminder's hour: a taken case gets none
    assert [c.case_id for c in await watched_cases(db, harness.clock(), harness.clock())] == [1]
    assert not [m for m in sends(await harness.tick(), MANAGER_ID) if "Случай №1" in m.text]
    at(harness, 2026, 11, 24, 16, 0)  # two working days
    escalation = [m for m in sends(await harness.tick(), OWNER_ID) if "🚨" in m.text]
    assert len(escalation) == 1 and "Ответственный: Пётр Иванов" in escalation[0].text
    # From now on the tick does not read this case at all, and says nothing more about it.
    far = harness.clock() + timedelta(days=365)
    assert await watched_cases(db, far, far) == []
    at(harness, 2026, 12, 1, 9, 30)
    later = await harness.tick()
    assert not [m for m in sends(later, OWNER_ID) + sends(later, MANAGER_ID) if "№1" in m.text]


async def _case_to_escalation(
    harness: Harness, db: Database, owner_lang: str = "ru", take_first: bool = False
) -> tuple[SendMessage, SendMessage]:
    """A detractor's case on Friday 16:00; its reminder (Monday 11:00) and escalation (Tuesday
    16:00). The owner has used the bot in `owner_lang`; with `take_first` the manager takes
    the case from the reminder before the escalation is due."""
    at(harness, 2026, 11, 20, 16, 0)
    await harness.send(harness.user(OWNER_ID, "Ольга", lang=owner_lang), "/cases")
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("2")
    await harness.drain()
    at(harness, 2026, 11, 23, 11, 0)
    [reminder] = [m for m in sends(await harness.tick(), MANAGER_ID) if "Случай №1" in m.text]
    if take_first:
        petr = harness.user(MANAGER_ID, "Пётр")
        await harness.tap(petr, button_data(reminder, "Беру"), as_message(reminder, 70))
    at(harness, 2026, 11, 24, 16, 0)  # two working days
    [escalation] = [m for m in sends(await harness.tick(), OWNER_ID) if "🚨" in m.text]
    return reminder, escalation


def _answers(requests: list) -> list[str | None]:
    return [r.text for r in requests if isinstance(r, AnswerCallbackQuery)]


def _markups(requests: list) -> list[tuple[int | None, list[tuple[str, str | None]]]]:
    """Buttons replaced on a message: (message id, the buttons left)."""
    return [(r.message_id, buttons(r)) for r in requests if isinstance(r, EditMessageReplyMarkup)]


async def test_escalation_has_open_and_take_buttons_and_take_works(
    harness: Harness, db: Database
) -> None:
    reminder, escalation = await _case_to_escalation(harness, db)
    assert buttons(reminder) == [("🙋 Беру случай", "ct:1"), ("📁 Открыть случай", "ko:1:0")]
    assert "Ответственный: никто" in escalation.text
    assert buttons(escalation) == [("🙋 Беру случай", "ct:1"), ("📁 Открыть случай", "ko:1:0")]
    olga = harness.user(OWNER_ID, "Ольга")
    # "Open the case" shows its card in place of the escalation.
    opened = await harness.tap(olga, button_data(escalation, "Открыть"), as_message(escalation, 80))
    [card] = [r for r in opened if isinstance(r, EditMessageText)]
    assert card.text.startswith("📁 <b>Случай №1</b> · никто не взял") and card.message_id == 80
    # "Take it" takes the case as the alert's button does, and the alerts say who has it.
    taken = await harness.tap(olga, button_data(escalation, "Беру"), as_message(escalation, 81))
    assert _answers(taken) == ["Случай №1 ваш. Свяжитесь с человеком как можно скорее."]
    edited = [r.text for r in taken if isinstance(r, EditMessageText)]
    assert edited and all("✅ В работе, ответственный: Ольга" in text for text in edited)
    # The escalation keeps "open" and loses "take".
    assert _markups(taken) == [(81, [("📁 Открыть случай", "ko:1:0")])]
    async with db.read() as conn:
        row = await (await conn.execute("SELECT status, owner_id FROM cases")).fetchone()
    assert tuple(row) == ("taken", OWNER_ID)
    # The manager, late, taps the reminder's "take": the polite answer, nothing changes.
    petr = harness.user(MANAGER_ID, "Пётр")
    late = await harness.tap(petr, button_data(reminder, "Беру"), as_message(reminder, 82))
    assert _answers(late) == ["Случай уже в работе, ответственный: Ольга."]
    assert _markups(late) == [(82, [("📁 Открыть случай", "ko:1:0")])]
    async with db.read() as conn:
        row = await (await conn.execute("SELECT status, owner_id FROM cases")).fetchone()
    assert tuple(row) == ("taken", OWNER_ID)


async def test_escalation_of_a_taken_case_has_only_open(harness: Harness, db: Database) -> None:
    _, escalation = await _case_to_escalation(harness, db, take_first=True)
    assert "Ответственный: Пётр Иванов" in escalation.text
    assert buttons(escalation) == [("📁 Открыть случай", "ko:1:0")]
    olga = harness.user(OWNER_ID, "Ольга")
    opened = await harness.tap(olga, button_data(escalation, "Открыть"), as_message(escalation, 80))
    [card] = [r for r in opened if isinstance(r, EditMessageText)]
    assert card.text.startswith("📁 <b>Случай №1</b> · в работе, ответственный: Пётр Иванов")


async def test_escalation_buttons_in_english(harness: Harness, db: Database) -> None:
    _, escalation = await _case_to_escalation(harness, db, owner_lang="en")
    assert "Owner: nobody." in escalation.text
    assert buttons(escalation) == [("🙋 I'll take it", "ct:1"), ("📁 Open the case", "ko:1:0")]
    olga = harness.user(OWNER_ID, "Olga", lang="en")
    taken = await harness.tap(olga, button_data(escalation, "take"), as_message(escalation, 80))
    assert _answers(taken) == ["Case #1 is yours. Contact the person as soon as possible."]
    opened = await harness.tap(olga, button_data(escalation, "Open"), as_message(escalation, 81))
    [card] = [r for r in opened if isinstance(r, EditMessageText)]
    assert card.text.startswith("📁 <b>Case #1</b> · Olga is on it")


async def test_birthday_greeting_within_the_contact_budget(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("10")
    await anna.tap("Пропустить")
    await anna.tap("Да")  # agreed to be contacted
    async with db.transaction() as conn:
        await conn.execute("UPDATE contacts SET birth_day = 24, birth_month = 11")
    at(harness, 2026, 11, 24)
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    assert "🎂 День рождения: Анна Смирнова" in [b[0] for b in buttons(plan)]
    card = await open_card(harness, plan, "День рождения")
    user = harness.user(MANAGER_ID, "Пётр")
    at(harness, 2026, 11, 24, 10, 30)  # in the respondents' daytime: it goes at once
    sent = await harness.tap(user, button_data(card, "Поздравить от бота"), as_message(plan))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Поздравление отправлено."
    )
    greeting = sends(await harness.drain(), CLIENT_ID)
    assert len(greeting) == 1 and "Анна, с днём рождения!" in greeting[0].text
    async with db.read() as conn:
        logged = await (
            await conn.execute("SELECT purpose FROM contact_log WHERE channel = 'bot'")
        ).fetchall()
    assert [r[0] for r in logged] == ["greeting"]


async def test_blocked_person_is_reported_to_the_manager_once(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("8")
    harness.clock.advance(hours=25)
    harness.session.fail_next(
        "SendMessage",
        error_code=403,
        description="Forbidden: bot was blocked by the user",
        chat_id=CLIENT_ID,
    )
    await harness.tick()  # the nudge hits the block
    notice = [m for m in sends(await harness.tick(), MANAGER_ID) if "⚠️" in m.text]
    assert len(notice) == 1 and "больше не может писать" in notice[0].text
    assert "+7 916 123-45-67" in notice[0].text
    assert not [m for m in sends(await harness.tick(), MANAGER_ID) if "⚠️" in m.text]


async def test_a_simulated_year(harness: Harness, db: Database, settings) -> None:
    """Deals, calls on working days, offers 30–60 days apart, 29.02 birthday, refresh, passive."""
    await add_manager(harness, db)
    now = harness.clock()
    result = await record_sale(
        db,
        SaleInput(
            idem_key="y1",
            manager_id=MANAGER_ID,
            kind="client",
            full_name="Вера",
            organization=None,
            phone="+79161112233",
            contact_tg_id=None,
            birthday=(29, 2, None),
            description="Диван",
            deal_date=date(2026, 11, 20),
        ),
        now,
    )
    async with db.transaction() as conn:  # a promoter answer on the same day
        await conn.execute(
            "UPDATE surveys SET score = 10, scored_at = ?, reason_at = ?, consent = 1, "
            "answered_at = ?, status = 'answered', respondent_tg_id = 9001",
            (ts(now), ts(now), ts(now)),
        )
    plans: dict[date, int] = {}
    day = date(2026, 11, 20)
    offers_done: list[date] = []
    while day <= date(2027, 11, 30):
        at(harness, day.year, day.month, day.day, 9, 0)
        digest = sends(await harness.tick(), MANAGER_ID)
        if digest:
            plans[day] = len(digest)
        async with db.read() as conn:
            due = await (
                await conn.execute(
                    "SELECT id, kind FROM tasks WHERE status = 'pending' AND due_date <= ?",
                    (day.isoformat(),),
                )
            ).fetchall()
        for task_id, kind in due:  # the manager does everything the plan says, the same day
            await close_task(db, task_id, MANAGER_ID, "done", "done", harness.clock())
            if kind == "offer":
                offers_done.append(day)
        day += timedelta(days=1)
    created = {(k, d) for k, d, *_ in await tasks(db)}
    assert ("call", "2026-11-23") in created
    assert ("birthday_lead", "2027-02-25") in created and ("birthday", "2027-02-28") in created
    assert ("refresh", "2027-05-19") in created
    assert ("passive", "2027-05-19") in created
    first_offer = date(2026, 11, 20) + timedelta(
        days=offer_offset(result.contact_id, settings.cadence)
    )
    assert offers_done[0] >= first_offer
    gaps = [(b - a).days for a, b in itertools.pairwise(offers_done)]
    assert len(offers_done) >= 6 and all(30 <= g <= 62 for g in gaps), gaps
    # one plan a day at most, and only on working days
    assert all(count == 1 for count in plans.values())
    assert all(d.weekday() < 5 for d in plans)


def test_offer_card_fits_telegram_even_for_a_long_history(settings) -> None:
    from storage.tasks import TaskView
    from views.tasks import task_card

    task = TaskView(
        id=1,
        kind="offer",
        status="pending",
        contact_id=1,
        contact_name="Анна " * 20,
        organization="ООО " * 30,
        phone="+79161234567",
        contact_kind="client",
        birth_day=None,
        birth_month=None,
        tg_linked=True,
        consent=True,
        manager_id=222,
        deal_id=None,
        deal_description=None,
        deal_date=None,
        survey_id=None,
        survey_token=None,
        survey_score=None,
        survey_reason=None,
        case_id=None,
        due_date=date(2026, 11, 23),
        due_at=None,
        attempts=0,
        meta={},
    )
    text, _ = task_card(
        task,
        "ru",
        settings,
        date(2026, 11, 23),
        purchases=[(date(2026, 11, 20), "<Кухонный гарнитур> " * 30)] * 10,
        comments=["Очень долго & дорого " * 60] * 10,
    )
    assert len(text) < 4096 and text.count("• ") == 10


async def test_the_plan_is_decided_once_in_the_morning(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    at(harness, 2026, 11, 20, 9, 0)  # Friday, nothing due: the day is decided (empty)
    assert sends(await harness.tick(), MANAGER_ID) == []
    await record(harness, db)
    async with db.transaction() as conn:  # something becomes due today at noon
        await conn.execute("UPDATE tasks SET due_date = '2026-11-20'")
    at(harness, 2026, 11, 20, 14, 0)
    assert sends(await harness.tick(), MANAGER_ID) == []  # no "morning" plan in the afternoon
    user = harness.user(MANAGER_ID, "Пётр")
    today = replies(await harness.send(user, "/today"))[0]  # but /today shows it
    assert "1 дело" in today and "📞 Анна Смирнова, Кухонный гарнитур" in today


# --- detractor alerts after the person goes quiet (issue 13, D5 and D5b) -------------------


def _edits(requests: list) -> list[EditMessageText]:
    return [r for r in requests if isinstance(r, EditMessageText)]


def _staff_sends(requests: list) -> list[SendMessage]:
    """Messages to staff about case №1 (the day's plan is not one of them)."""
    staff = sends(requests, MANAGER_ID) + sends(requests, OWNER_ID)
    return [m for m in staff if "№1" in m.text or "#1" in m.text]


async def _tick(harness: Harness) -> list:
    """A tick's own requests (the alerts it edits) and what the sender then delivers."""
    before = len(harness.session.requests)
    await harness.tick()
    return harness.session.requests[before:]


async def _detractor(harness: Harness, db: Database, phone: str | None = "+79161234567"):
    """A detractor gives the score 3; both alerts go out at once, "still answering"."""
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db, phone=phone))
    await anna.tap("3")
    alerts = _staff_sends(await harness.drain())
    assert sorted(a.chat_id for a in alerts) == [OWNER_ID, MANAGER_ID]
    assert all("ещё отвечает на опрос…" in a.text or "still answering" in a.text for a in alerts)
    return anna


async def test_alert_of_a_detractor_who_stops_after_the_score_says_no_reason_and_not_asked_after_15_minutes(  # noqa: E501
    harness: Harness, db: Database
) -> None:
    await _detractor(harness, db)
    harness.clock.advance(minutes=14)
    assert _edits(await _tick(harness)) == []  # still "still answering…"
    card = await harness.send(harness.user(OWNER_ID, "Ольга"), "/cases")
    harness.clock.advance(minutes=1)
    sent = await _tick(harness)
    edits = _edits(sent)
    assert sorted(e.chat_id for e in edits) == [OWNER_ID, MANAGER_ID]
    for edit in edits:
        assert "ещё отвечает" not in edit.text
        assert "Причина: не указана\nСвязь: о связи не спрашивали" in edit.text
        assert buttons(edit) == [("🙋 Беру случай", "ct:1")]
    assert _staff_sends(sent) == []  # nothing was said after the alert: nothing to tell
    assert _edits(await _tick(harness)) == []  # settled once
    del card


async def test_alert_of_a_person_who_stops_at_the_contact_question_says_did_not_answer(
    harness: Harness, db: Database
) -> None:
    anna = await _detractor(harness, db)
    harness.clock.advance(minutes=2)
    await anna.send("Привезли не тот цвет")
    assert _staff_sends(await harness.drain()) == []  # gathered until the case settles
    harness.clock.advance(minutes=15)
    sent = await _tick(harness)
    for edit in _edits(sent):
        assert "Причина: «Привезли не тот цвет»\nСвязь: на вопрос о связи ответа нет" in (edit.text)
    told = _staff_sends(sent)
    assert sorted(m.chat_id for m in told) == [OWNER_ID, MANAGER_ID]
    assert {m.text for m in told} == {"✍️ Случай №1, Анна Смирнова: причина «Привезли не тот цвет»"}


async def test_alert_settles_in_english_too(harness: Harness, db: Database) -> None:
    await harness.send(harness.user(OWNER_ID, "Olga", lang="en"), "/cases")
    await _detractor(harness, db)
    harness.clock.advance(minutes=15)
    [edit] = [e for e in _edits(await _tick(harness)) if e.chat_id == OWNER_ID]
    assert "Reason: not given\nContact: not asked about contact" in edit.text


async def test_a_reason_given_after_the_alert_reaches_the_case_owner_as_a_new_message(
    harness: Harness, db: Database
) -> None:
    anna = await _detractor(harness, db)
    await harness.tap(harness.user(MANAGER_ID, "Пётр"), "ct:1")
    harness.clock.advance(minutes=20)
    await _tick(harness)  # settled: nothing said yet
    sent = await anna.send("Долго везли, никто не звонил")
    assert all("«Долго везли, никто не звонил»" in e.text for e in _edits(sent))
    told = _staff_sends(await harness.drain())
    assert [(m.chat_id, m.text) for m in told] == [
        (MANAGER_ID, "✍️ Случай №1, Анна Смирнова: причина «Долго везли, никто не звонил»")
    ]
    assert buttons(told[0]) == [("📁 Открыть случай", "ko:1:0")]


async def test_a_phone_left_after_the_quiet_period_reaches_the_managers_when_nobody_took_the_case(
    harness: Harness, db: Database
) -> None:
    anna = await _detractor(harness, db, phone=None)
    await anna.tap("Пропустить")
    await anna.tap("Да")
    assert "Оставьте, пожалуйста, номер телефона" in anna.question.text
    harness.clock.advance(minutes=15)
    sent = await _tick(harness)
    assert all("связаться можно, телефона нет" in e.text for e in _edits(sent))
    assert _staff_sends(sent) == []  # a skipped reason is nothing to tell
    harness.clock.advance(minutes=30)
    await harness.send_contact(anna.user, "79161234567", owner_id=CLIENT_ID)
    told = _staff_sends(await harness.drain())
    assert sorted(m.chat_id for m in told) == [OWNER_ID, MANAGER_ID]
    assert {m.text for m in told} == {"✍️ Случай №1, Анна Смирнова: телефон +7 916 123-45-67"}
    assert _staff_sends(await _tick(harness)) == []


async def test_a_replayed_reason_sends_no_second_message(harness: Harness, db: Database) -> None:
    anna = await _detractor(harness, db)
    harness.clock.advance(minutes=20)
    await _tick(harness)
    update = Update(
        update_id=next(harness._update_ids),
        message=harness._msg(anna.user, text="Сломали дверцу"),
    )
    # The process dies while the alerts are being edited, after the message was queued.
    crash_on(harness, lambda m: isinstance(m, EditMessageText), delivered=True)
    with pytest.raises(Crash):
        await feed(harness, update)
    await feed(harness, update)  # delivered again after the restart
    await feed(harness, update)
    told = _staff_sends(await harness.drain())
    assert sorted(m.chat_id for m in told) == [OWNER_ID, MANAGER_ID]
    assert all("причина «Сломали дверцу»" in m.text for m in told)
    assert _staff_sends(await _tick(harness)) == []


async def test_a_reason_stored_just_before_a_crash_reaches_the_managers_once_after_restart(
    harness: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The short message telling the reason is queued in the reason's own transaction: a crash
    right after it (before the alerts are edited, the next question sent) loses nothing, and
    the update handled again after the restart tells nothing twice."""
    import handlers.survey

    anna = await _detractor(harness, db)
    harness.clock.advance(minutes=20)
    await _tick(harness)
    real = handlers.survey.edit_alerts
    calls = 0

    async def dies_first(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Crash  # the reason is stored; nothing was edited, no question sent
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(handlers.survey, "edit_alerts", dies_first)
    update = Update(
        update_id=next(harness._update_ids),
        message=harness._msg(anna.user, text="Сломали дверцу"),
    )
    with pytest.raises(Crash):
        await feed(harness, update)
    told = _staff_sends(await harness.drain())
    assert sorted(m.chat_id for m in told) == [OWNER_ID, MANAGER_ID]
    assert all("причина «Сломали дверцу»" in m.text for m in told)
    await feed(harness, update)  # delivered again after the restart
    assert _staff_sends(await harness.drain()) == []
    assert "Можно ли связаться с вами" in harness.last_text(anna.user.id)
    await feed(harness, update)
    assert _staff_sends(await harness.drain()) == []


async def test_the_upgrade_settles_finished_cases_and_leaves_live_stale_alerts_to_the_tick(
    tmp_path,
) -> None:
    """Cases from before `settled_at`: finished and call cases are settled by the migration; an
    unfinished one whose alert is live stays for the first tick, which corrects its "still
    answering…" once; an unfinished one with no live alert has nothing to correct."""
    from storage.migrations import MIGRATIONS, SETTLED_CASES

    old = Database(tmp_path / "old.sqlite3")
    await old.open(migrate_to=MIGRATIONS.index(SETTLED_CASES))
    t0, t1 = "2026-11-01 10:00:00", "2026-11-01 10:03:00"
    async with old.transaction() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, kind, created_at, updated_at) VALUES (1, 'client', ?, ?)",
            (t0, t0),
        )
        for sid, answered in ((1, t1), (2, None), (3, None)):
            await conn.execute(
                "INSERT INTO surveys (id, token, contact_id, kind, created_at, score, scored_at, "
                "answered_at) VALUES (?, ?, 1, 'client', ?, 2, ?, ?)",
                (sid, f"t{sid}", t0, t0, answered),
            )
        for cid, sid, source in ((1, 1, "survey"), (2, 2, "survey"), (3, 3, "survey")):
            await conn.execute(
                "INSERT INTO cases (id, contact_id, survey_id, source, opened_at, alerted_at) "
                "VALUES (?, 1, ?, ?, ?, ?)",
                (cid, sid, source, t0, t0),
            )
        await conn.execute(
            "INSERT INTO cases (id, contact_id, source, status, opened_at) "
            "VALUES (4, 1, 'call', 'taken', ?)",
            (t0,),
        )
        await conn.execute(
            "INSERT INTO outbox (idem_key, chat_id, purpose, ref, payload, status, not_before, "
            "created_at, sent_at, message_id) VALUES "
            "('case_alert:2:111', 111, 'case_alert', 'case:2', '{}', 'sent', ?, ?, ?, 9)",
            (t0, t0, t0),
        )
    await old.close()
    db = Database(tmp_path / "old.sqlite3")
    await db.open()
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT id, settled_at FROM cases ORDER BY id")).fetchall()
    await db.close()
    assert [tuple(r) for r in rows] == [(1, t1), (2, None), (3, t0), (4, t0)]


async def test_after_the_upgrade_an_old_unfinished_case_is_edited_but_its_reason_is_not_news(
    tmp_path,
) -> None:
    """An unfinished case from before settling whose reason came after its (delivered) alert:
    the first tick settles it and edits its alert, but does not send its months-old reason as a
    new message. A case of the last minutes, in the same state, does get the message."""
    from datetime import UTC, datetime

    from storage.cases import alert_messages
    from storage.migrations import MIGRATIONS, SETTLED_CASES

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    old_times = ("2026-09-01 10:00:00", "2026-09-01 10:01:00")  # alert sent, then the reason
    new_times = (ts(now - timedelta(minutes=30)), ts(now - timedelta(minutes=20)))
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(migrate_to=MIGRATIONS.index(SETTLED_CASES))
    async with old.transaction() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, kind, created_at, updated_at) VALUES (1, 'client', ?, ?)",
            (old_times[0], old_times[0]),
        )
        for case_id, (sent, reason_at) in ((1, old_times), (2, new_times)):
            await conn.execute(
                "INSERT INTO surveys (id, token, contact_id, kind, created_at, score, scored_at, "
                "reason, reason_at) VALUES (?, ?, 1, 'client', ?, 2, ?, 'долго везли', ?)",
                (case_id, f"t{case_id}", sent, sent, reason_at),
            )
            await conn.execute(
                "INSERT INTO cases (id, contact_id, survey_id, source, opened_at, alerted_at) "
                "VALUES (?, 1, ?, 'survey', ?, ?)",
                (case_id, case_id, sent, sent),
            )
            await conn.execute(
                "INSERT INTO outbox (idem_key, chat_id, purpose, ref, payload, status, "
                "not_before, created_at, sent_at, message_id) VALUES "
                "(?, 111, 'case_alert', ?, '{}', 'sent', ?, ?, ?, 9)",
                (f"case_alert:{case_id}:111", f"case:{case_id}", sent, sent, sent),
            )
    await old.close()
    db = Database(path)
    await db.open()
    try:
        told = {}
        for case_id in (1, 2):
            update = await alert_messages(
                db,
                case_id,
                lambda card, recipient: {"text": "alert"},
                now=now,
                late=lambda card, reason, phone, lang: {"text": f"late: {reason}"},
                owner_ids=[OWNER_ID],
                settle_quiet=now - timedelta(minutes=15),
            )
            assert update.to_edit, case_id  # the alert is brought to its final form
            told[case_id] = update.told
        async with db.read() as conn:
            settled = await (
                await conn.execute("SELECT id FROM cases WHERE settled_at IS NOT NULL")
            ).fetchall()
    finally:
        await db.close()
    assert {r[0] for r in settled} == {1, 2}
    assert told[1] == 0
    assert told[2] > 0
