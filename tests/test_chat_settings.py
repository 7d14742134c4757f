"""`/settings`: the owner changes settings in the chat; they apply at once and survive a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import AnswerCallbackQuery

from bot.app import create_dispatcher
from domain import tunables
from domain.settings import Settings
from storage import Database
from tests.harness import Harness, buttons, replies
from tests.helpers.cadence import at, record, sends, tasks
from tests.helpers.chat_settings import Owner, stored
from tests.helpers.survey import MANAGER_ID, Respondent, setup_sale
from views.callbacks import SettingDay, SettingPick, SettingReset

MSK = ZoneInfo("Europe/Moscow")


def alert(sent: list) -> str | None:
    return next(r.text for r in sent if isinstance(r, AnswerCallbackQuery))


async def test_the_card_shows_every_setting_and_where_it_comes_from(harness: Harness) -> None:
    owner = Owner(harness)
    card = await owner.settings()
    assert card.text.splitlines()[2:10] == [
        "Название компании: «Ромашка»",
        "Название по-английски: не задано, в английских текстах — «Ромашка»",
        "План менеджерам: в 09:00 (Europe/Moscow), по рабочим дням",
        "Рабочие дни: пн–пт",
        "Предложение клиенту: раз в 30–60 дней",
        "Напоминание о дне рождения: за 3 дня",
        "Бот пишет человеку первым: не чаще раза в 7 дней",
        "Язык по умолчанию: русский",
    ]
    assert "✏️" not in card.text.split("\n\n")[1]  # nothing changed in the chat yet
    assert [b[0] for b in buttons(card)][:3] == [
        "Название компании",
        "Название по-английски",
        "План менеджерам",
    ]

    editor = await owner.open("Рабочие дни")
    assert [b[0] for b in buttons(editor)] == [
        "✅ пн", "✅ вт", "✅ ср", "✅ чт", "✅ пт", "▫️ сб", "▫️ вс", "⬅️ К настройкам",
    ]  # fmt: skip


async def test_only_owners_may_change_settings(harness: Harness, db: Database) -> None:
    await setup_sale(harness, db)
    manager = harness.user(MANAGER_ID, "Пётр")
    assert replies(await harness.send(manager, "/settings")) == [
        "Команда /settings вам недоступна: она только для владельца бота. /help — что вы можете."
    ]
    # a forged button from a manager changes nothing
    sent = await harness.tap(manager, SettingPick(key="digest_time", value="08.00").pack())
    assert alert(sent) == "Эта кнопка больше не действует."
    stranger = harness.user(999, "Чужой")
    sent = await harness.tap(stranger, SettingReset(key="company_name").pack())
    assert alert(sent) == "Эта кнопка больше не действует."
    assert await stored(db) == {}


async def test_plan_time_changed_in_the_chat_moves_the_plan(harness: Harness, db: Database) -> None:
    await record(harness, db)  # a sale on Friday 20.11: a call on Monday
    owner = Owner(harness)
    editor = await owner.open("План менеджерам")
    assert "Сейчас: в 09:00 (Europe/Moscow)" in editor.text
    assert [b[0] for b in buttons(editor)] == ["08:00", "09:00", "10:00", "⬅️ К настройкам"]
    saved = await owner.type("10.30")
    assert saved.text.startswith("✅ Сохранено: План менеджерам — в 10:30 (Europe/Moscow)")
    assert "✏️ План менеджерам: в 10:30" in saved.text

    at(harness, 2026, 11, 23, 9, 0)
    assert sends(await harness.tick(), MANAGER_ID) == []  # not at the .env time any more
    at(harness, 2026, 11, 23, 10, 29)
    assert sends(await harness.tick(), MANAGER_ID) == []
    at(harness, 2026, 11, 23, 10, 30)
    plan = sends(await harness.tick(), MANAGER_ID)
    assert len(plan) == 1 and plan[0].text.startswith("📋 План на 23.11.2026")


async def test_the_scheduler_job_moves_without_a_restart(harness: Harness) -> None:
    dp = harness.dp
    await dp.emit_startup(bot=harness.bot, dispatcher=dp, **dp.workflow_data)
    try:
        job = dp["scheduler"].get_job("digest")
        assert str(job.trigger.fields[5]) == "9" and str(job.trigger.fields[6]) == "0"
        owner = Owner(harness)
        await owner.open("План менеджерам")
        await owner.tap(SettingPick(key="digest_time", value="08.00").pack())
        job = dp["scheduler"].get_job("digest")
        assert str(job.trigger.fields[5]) == "8" and str(job.trigger.fields[6]) == "0"
        local = job.next_run_time.astimezone(MSK)
        assert local.time() == time(8, 0)
    finally:
        await dp.emit_shutdown(bot=harness.bot, dispatcher=dp, **dp.workflow_data)


async def test_working_days_change_who_gets_a_plan_on_saturday(
    harness: Harness, db: Database
) -> None:
    owner = Owner(harness)
    await owner.open("Рабочие дни")
    await owner.tap(SettingDay(day=5, on=True).pack())  # Saturday on
    assert [b[0] for b in buttons(owner.view)][5] == "✅ сб"
    # A sale on Friday: the next-day call is now on Saturday, and Saturday has a plan.
    await record(harness, db)
    at(harness, 2026, 11, 21, 9, 0)
    plan = sends(await harness.tick(), MANAGER_ID)
    assert len(plan) == 1 and plan[0].text.startswith("📋 План на 21.11.2026")
    # Switching every day off is refused, and the last day stays on.
    for day in (0, 1, 2, 3, 4):
        await owner.tap(SettingDay(day=day, on=False).pack())
    sent = await owner.tap(SettingDay(day=5, on=False).pack())
    assert alert(sent) == "Должен остаться хотя бы один рабочий день."
    assert harness.dp["live_settings"].current.cadence.workdays == frozenset({5})


@pytest.mark.parametrize(
    ("setting", "typed", "answer"),
    [
        ("План менеджерам", "25:00", "Не похоже на время. Напишите часы и минуты, например 09:30."),
        ("План менеджерам", "утром", "Не похоже на время. Напишите часы и минуты, например 09:30."),
        (
            "Предложение клиенту",
            "60-30",
            "Первое число должно быть не больше второго, например 30-60.",
        ),
        (
            "Предложение клиенту",
            "2-1000",
            "Напишите два числа дней через дефис, каждое от 7 до 365, например 30-60.",
        ),
        ("Напоминание о дне рождения", "45", "Напишите целое число от 0 до 30."),
        ("Бот пишет человеку первым", "-1", "Напишите целое число от 0 до 90."),
        ("Название компании", "x" * 150, "Слишком длинно: 150 символов, можно до 100."),
    ],
)
async def test_a_wrong_value_gets_the_rule_and_changes_nothing(
    harness: Harness, db: Database, setting: str, typed: str, answer: str
) -> None:
    owner = Owner(harness)
    editor = await owner.open(setting)
    reply = await owner.type(typed)
    assert reply.text.startswith(answer)
    assert buttons(reply) == buttons(editor)  # the same choices again
    assert await stored(db) == {}
    # still waiting for a value: a correct one now goes through
    if setting == "План менеджерам":
        assert (await owner.type("7:05")).text.startswith("✅ Сохранено")


async def test_a_sticker_instead_of_a_value(harness: Harness) -> None:
    owner = Owner(harness)
    await owner.open("Название компании")
    sent = await harness.send_sticker(owner.user)
    assert replies(sent) == ["Напишите значение текстом или нажмите кнопку."]


async def test_company_name_reaches_clients_and_survives_a_restart(
    harness: Harness, db: Database, settings: Settings
) -> None:
    owner = Owner(harness)
    await owner.open("Название компании")
    saved = await owner.type("  Лютик & Co  ")
    assert saved.text.startswith("✅ Сохранено: Название компании — «Лютик &amp; Co».")

    # a restart: a new dispatcher on the same database file
    harness.dp = create_dispatcher(settings, db, harness.sender, harness.clock)
    card = await Owner(harness).settings()
    assert "✏️ Название компании: «Лютик &amp; Co»" in card.text
    payload = await setup_sale(harness, db)
    greeting = await Respondent(harness).open(payload)
    assert greeting[0].startswith("Здравствуйте! Это «Лютик &amp; Co».")

    # back to the .env value
    await Owner(harness).open("Название компании")
    sent = await harness.tap(owner.user, SettingReset(key="company_name").pack())
    assert replies(sent)[0].startswith("↩️ Возвращено значение из .env: Название компании")
    assert await stored(db) == {}


async def test_default_language_for_people_of_other_languages(harness: Harness) -> None:
    guest = harness.user(555, "Hans", lang="de")
    assert replies(await harness.send(guest, "/help"))[0].startswith("Этот бот собирает отзывы")
    owner = Owner(harness)
    await owner.open("Язык по умолчанию")
    sent = await owner.tap(SettingPick(key="default_language", value="en").pack())
    assert "✅ Сохранено: Язык по умолчанию — английский." in replies(sent)[0]
    assert replies(await harness.send(guest, "/help"))[0].startswith(
        "This bot collects feedback from the clients and partners of Ромашка."
    )
    # the owner's own language (Russian in Telegram) is unchanged
    assert (await owner.settings()).text.startswith("⚙️ <b>Настройки</b>")


async def test_offer_interval_and_birthday_lead_feed_planning(
    harness: Harness, db: Database
) -> None:
    await record(harness, db)  # deal on 20.11
    assert not [t for t in await tasks(db) if t[0] == "offer"]  # 30–60 days: beyond a week
    owner = Owner(harness)
    await owner.open("Предложение клиенту")
    await owner.type("7-7")
    await harness.tick()
    offers = [t for t in await tasks(db) if t[0] == "offer"]
    assert [(kind, due) for kind, due, *_ in offers] == [("offer", "2026-11-27")]


async def test_values_are_validated_where_they_are_parsed() -> None:
    assert tunables.parse("digest_time", "9") == "09:00"
    assert tunables.parse("digest_time", "18.45") == "18:45"
    assert tunables.parse("offer_interval", "30 – 60") == "30-60"
    assert tunables.parse("offer_interval", "от 30 до 60") == "30-60"
    assert tunables.parse("workdays", "4,0,1") == "0,1,4"
    for key, raw in [
        ("digest_time", "9:5"),
        ("offer_interval", "30-60-90"),
        ("contact_min_days", "7 дней!"),
        ("company_name", "two\nlines"),
        ("default_language", "de"),
        ("workdays", ""),
        ("workdays", "²"),
        ("workdays", "9999999999999999999999"),
        ("nope", "1"),
    ]:
        with pytest.raises(tunables.InvalidValue):
            tunables.parse(key, raw)


async def test_a_stored_value_that_no_longer_fits_falls_back_to_env(
    harness: Harness, db: Database
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ('birthday_lead_days', '99', ?)",
            (datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S"),),
        )
    card = await Owner(harness).settings()
    assert "Напоминание о дне рождения: за 3 дня" in card.text


async def test_another_command_or_a_late_message_ends_the_prompt(harness: Harness) -> None:
    owner = Owner(harness)
    await owner.open("Название компании")
    # another command is answered as usual and closes the prompt
    reply = replies(await harness.send(owner.user, "/help"))
    assert reply and reply[0].startswith("Здравствуйте, Ольга!")
    assert replies(await harness.send(owner.user, "Позвони Иванову завтра")) == [
        "Я не понял сообщение. Посмотрите /help — там всё, что я умею для вас."
    ]
    # a prompt left open for a day does not take the next text as the company name
    await owner.open("Название компании")
    harness.clock.advance(days=1)
    await harness.send(owner.user, "Позвони Иванову завтра")
    assert harness.dp["live_settings"].current.company_name == "Ромашка"


async def test_two_quick_taps_on_working_days_both_count(harness: Harness) -> None:
    owner = Owner(harness)
    await owner.open("Рабочие дни")
    await asyncio.gather(
        owner.tap(SettingDay(day=5, on=True).pack()),
        owner.tap(SettingDay(day=6, on=True).pack()),
        owner.tap(SettingDay(day=6, on=True).pack()),  # a double tap
    )
    assert harness.dp["live_settings"].current.cadence.workdays == frozenset(range(7))
