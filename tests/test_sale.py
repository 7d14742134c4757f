"""/sale as a manager uses it: every step, every bad input, edit, cancel, double tap, merge."""

from __future__ import annotations

import re

import pytest
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import Update

from storage import Database
from tests.conftest import OWNER_ID
from tests.harness import BOT_USERNAME, Harness, as_message, button_data, buttons, replies
from tests.helpers.replay import Crash, crash_on, feed
from tests.helpers.sale import MANAGER_ID, SaleBot, add_manager
from views.qr import qr_png

LINK_RE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=s_([A-Za-z0-9_-]+)")


async def test_full_sale_gives_link_and_qr(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    texts = await m.say("/sale")
    assert "Новая сделка" in texts[0]
    assert [b[0] for b in buttons(m.last)] == [
        "Клиент",
        "Поставщик",
        "Подрядчик",
        "Партнёр",
        "❌ Отмена",
    ]
    await m.press("Клиент")
    assert "Имя и фамилия" in m.last.text
    await m.say("  Анна   Смирнова ")
    assert "Организация" in m.last.text
    await m.say("ООО «Берёзка»")
    assert "Телефон" in m.last.text
    await m.say("8 (916) 123-45-67")
    assert "День рождения" in m.last.text
    await m.say("05.03.1985")
    assert "Что продано" in m.last.text
    await m.say("Кухонный гарнитур «Классика»")
    assert "Дата сделки" in m.last.text
    assert [b[0] for b in buttons(m.last)][:2] == ["Сегодня, 20.11", "Вчера, 19.11"]
    await m.press("Вчера")
    summary = m.last.text
    for part in (
        "Кто: Клиент",
        "Имя: Анна Смирнова",
        "Организация: ООО «Берёзка»",
        "Телефон: +7 916 123-45-67",
        "День рождения: 05.03.1985",
        "Сделка: Кухонный гарнитур «Классика»",
        "Дата: 19.11.2026",
    ):
        assert part in summary, part

    sent = await m.press("Сохранить")
    saved = next(r for r in sent if isinstance(r, SendMessage))
    assert (
        "Сделка сохранена." in saved.text
        and "Ссылка на опрос — клиент: Анна Смирнова\n" in saved.text
    )
    token = LINK_RE.search(saved.text).group(1)  # type: ignore[union-attr]
    assert len(token) >= 22 and len("s_" + token) <= 64
    photo = next(r for r in sent if isinstance(r, SendPhoto))
    assert "Спасибо, что выбрали «Ромашка»" in photo.caption
    assert f"https://t.me/{BOT_USERNAME}?start=s_{token}" in photo.caption
    data = photo.photo.data  # type: ignore[union-attr]
    assert data.startswith(b"\x89PNG") and data == qr_png(
        f"https://t.me/{BOT_USERNAME}?start=s_{token}"
    )

    async with db.read() as conn:
        contact = await (await conn.execute("SELECT * FROM contacts")).fetchone()
        deal = await (await conn.execute("SELECT * FROM deals")).fetchone()
        survey = await (await conn.execute("SELECT * FROM surveys")).fetchone()
    assert contact["full_name"] == "Анна Смирнова" and contact["phone"] == "+79161234567"
    assert (contact["birth_day"], contact["birth_month"], contact["birth_year"]) == (5, 3, 1985)
    assert contact["organization"] == "ООО «Берёзка»" and contact["manager_id"] == MANAGER_ID
    assert deal["deal_date"] == "2026-11-19" and deal["description"].startswith("Кухонный")
    assert survey["token"] == token and survey["kind"] == "client" and survey["status"] == "created"
    # the conversation is over
    assert "Я не понял" in (await m.say("ещё текст"))[0]


async def test_supplier_gets_partner_invitation(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill(kind="Поставщик", phone=None, birthday=None, product="Поставка пиломатериалов")
    sent = await m.press("Сохранить")
    photo = next(r for r in sent if isinstance(r, SendPhoto))
    assert "Мы ценим сотрудничество с вами" in photo.caption


async def test_bad_inputs_are_asked_again(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    assert (
        replies(await harness.send_sticker(m.user))[0]
        == "Пожалуйста, ответьте текстом или кнопкой."
    )
    assert "Имя и фамилия" in m.h.last_text(MANAGER_ID)
    assert "от 2 до 200" in (await m.say("x" * 5000))[0]
    assert "от 2 до 200" in (await m.say("Я"))[0]
    await m.say("Анна")
    await m.say("x" * 201)
    assert "до 200 символов" in m.h.last_text(MANAGER_ID)
    await m.press("Пропустить")
    for bad in ("123", "телефон", "+7 000", "1" * 45):
        assert "Не получилось распознать номер" in (await m.say(bad))[0], bad
    await m.say("+47 412 34 567")  # a Norwegian number is fine
    for bad in ("31.02", "29.02.2023", "12.2026", "01.01.2030", "завтра"):
        assert "Такой даты нет" in (await m.say(bad))[0], bad
    await m.say("29.02")
    await m.say("о")
    assert "от 2 до 500" in m.h.last_text(MANAGER_ID)
    await m.say("Диван")
    for bad in ("21.11.2026", "31.11.2026", "01.01.2001", "вчера"):
        assert "ДД.ММ.ГГГГ" in (await m.say(bad))[0], bad
    await m.say("18.11.2026")
    assert "Телефон: +47 41 23 45 67" in m.last.text
    assert "День рождения: 29.02" in m.last.text and "Дата: 18.11.2026" in m.last.text


async def test_sale_takes_what_import_takes(harness: Harness, db: Database) -> None:
    """One table of field limits (domain.vocabulary.LIMITS): /sale refused a 101-character name
    that /import stored, now both take up to 200 (organisation 200, product 500) and refuse one
    character more, saying the limit."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    assert "от 2 до 200 символов" in (await m.say("Я" * 201))[0]
    await m.say("Я" * 200)
    assert "Организация" in m.last.text
    assert "до 200 символов" in (await m.say("О" * 201))[0]
    await m.say("О" * 200)
    await m.press("Пропустить")  # phone
    await m.press("Пропустить")  # birthday
    assert "до 500 символов" in m.last.text  # the question names the limit
    assert "от 2 до 500 символов" in (await m.say("П" * 501))[0]
    await m.say("П" * 500)
    await m.press("Сегодня")
    await m.press("Сохранить")
    async with db.read() as conn:
        contact = await (await conn.execute("SELECT * FROM contacts")).fetchone()
        deal = await (await conn.execute("SELECT * FROM deals")).fetchone()
    assert contact["full_name"] == "Я" * 200 and contact["organization"] == "О" * 200
    assert deal["description"] == "П" * 500


async def test_limits_are_named_in_english_too(harness: Harness, db: Database) -> None:
    await add_manager(harness, db, lang="en")
    m = SaleBot(harness, lang="en")
    await m.say("/sale")
    await m.press("Client")
    assert "2 to 200 characters" in (await m.say("x" * 201))[0]


async def test_cancel_at_any_step(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    await m.say("Анна")
    assert (await m.say("/cancel")) == ["Отменено. Ничего не сохранено."]
    assert (await m.say("/cancel")) == ["Сейчас нечего отменять."]
    # the button works too
    await m.say("/sale")
    sent = await m.press("Отмена")
    assert replies(sent) == ["Отменено. Ничего не сохранено."]
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0] == 0


async def test_edit_from_confirmation(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    await m.press("✏️ Имя")
    assert "Имя и фамилия" in m.last.text
    await m.say("Анна Петрова")
    assert "Имя: Анна Петрова" in m.last.text and "Проверьте" in m.last.text
    await m.press("✏️ Телефон")
    await m.press("Пропустить")
    assert "Телефон: —" in m.last.text
    assert confirm is not m.last
    sent = await m.press("Сохранить")
    assert any("опрос — клиент: Анна Петрова\n" in text for text in replies(sent))


async def test_double_tap_on_save_records_one_deal(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    first = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    second = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    assert any(isinstance(r, SendPhoto) for r in first)
    assert not [r for r in second if isinstance(r, SendMessage | SendPhoto)]
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0] == 1
        assert (await (await conn.execute("SELECT count(*) FROM surveys")).fetchone())[0] == 1


async def test_same_phone_gets_new_deal_not_duplicate(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill(phone="+7 916 123-45-67", birthday=None)
    await m.press("Сохранить")
    await m.fill(name="Анна С.", phone="89161234567", birthday="05.03", product="Стол")
    sent = await m.press("Сохранить")
    assert "уже есть в базе" in replies(sent)[0]
    async with db.read() as conn:
        contacts = await (await conn.execute("SELECT * FROM contacts")).fetchall()
        deals = await (await conn.execute("SELECT contact_id FROM deals")).fetchall()
    assert len(contacts) == 1 and [d[0] for d in deals] == [contacts[0]["id"]] * 2
    assert contacts[0]["full_name"] == "Анна Смирнова"  # the first name stays
    assert (contacts[0]["birth_day"], contacts[0]["birth_month"]) == (5, 3)  # new info is kept


async def test_attached_telegram_contact_links_and_merges(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    await m.say("Анна")
    await m.press("Пропустить")
    await m.contact("79161234567", owner_id=5555)
    assert "День рождения" in harness.last_text(MANAGER_ID)
    await m.press("Пропустить")
    await m.say("Диван")
    await m.press("Сегодня")
    await m.press("Сохранить")
    async with db.read() as conn:
        row = await (await conn.execute("SELECT tg_user_id, phone FROM contacts")).fetchone()
    assert tuple(row) == (5555, "+79161234567")


async def test_strangers_and_english(harness: Harness, db: Database) -> None:
    stranger = harness.user(999, "Чужой")
    assert "недоступна" in replies(await harness.send(stranger, "/sale"))[0]
    await add_manager(harness, db, user_id=224, lang="en")
    m = SaleBot(harness, user_id=224, lang="en")
    assert "New deal" in (await m.say("/sale"))[0]
    assert next(b[0] for b in buttons(m.last)) == "Client"


@pytest.mark.parametrize("who", [OWNER_ID, MANAGER_ID])
async def test_owner_and_manager_may_record(harness: Harness, db: Database, who: int) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness, user_id=who)
    await m.fill()
    sent = await m.press("Сохранить")
    assert any(isinstance(r, SendPhoto) for r in sent)


async def test_old_skip_button_does_nothing(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    await m.say("Анна")
    org_question = m.last
    await m.press("Пропустить")  # organisation skipped; now at phone
    sent = await harness.tap(
        m.user, button_data(org_question, "Пропустить"), as_message(org_question)
    )
    assert replies(sent) == []  # a stale button neither skips the phone nor errors
    assert "Телефон" in harness.last_text(MANAGER_ID)


async def test_a_timed_out_saved_message_does_not_stop_the_qr(
    harness: Harness, db: Database
) -> None:
    """The "deal saved" send times out (it may have arrived, so it is not repeated): the QR
    photo with the link still goes, the conversation ends, and the deal is stored once."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    harness.session.time_out_next("SendMessage", chat_id=MANAGER_ID)
    sent = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    assert "Сделка сохранена." in replies(sent)[0]  # it went out, its answer never came
    photo = next(r for r in sent if isinstance(r, SendPhoto))
    assert LINK_RE.search(photo.caption or "")
    assert not any("что-то пошло не так" in text for text in replies(sent))
    again = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    assert not [r for r in again if isinstance(r, SendMessage | SendPhoto)]
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0] == 1
        assert (await (await conn.execute("SELECT count(*) FROM surveys")).fetchone())[0] == 1
    assert "Я не понял" in (await m.say("ещё текст"))[0]


@pytest.mark.parametrize("crash", ["after the last write", "before the question went"])
async def test_a_replayed_answer_is_not_taken_for_the_next_question(
    harness: Harness, db: Database, crash: str
) -> None:
    """The name, handled again after a crash, is not stored as the organisation; the
    organisation question is sent once: again only if it had not gone out."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    if crash == "after the last write":
        await m.say("Анна Смирнова")
        async with db.transaction() as conn:  # the journal never noted the end
            await conn.execute("UPDATE handled_updates SET done_at = NULL")
    else:
        asks_org = lambda r: isinstance(r, SendMessage) and "Организация" in r.text  # noqa: E731
        crash_on(harness, asks_org, delivered=False)
        with pytest.raises(Crash):
            await m.say("Анна Смирнова")
    update = Update.model_validate(harness.last_update, context={"bot": harness.bot})
    texts = await feed(harness, update)
    if crash == "after the last write":
        assert texts == []
    else:
        assert len(texts) == 1 and texts[0].startswith("Организация")
    assert len([t for t in harness.texts(MANAGER_ID) if t.startswith("Организация")]) == 1
    assert await feed(harness, update) == []  # finished now: skipped
    m.last = harness.sent(MANAGER_ID)[-1]  # type: ignore[assignment]
    await m.say("ООО «Берёзка»")  # the organisation question is the one being answered
    assert "Телефон" in m.last.text  # type: ignore[union-attr]
    state = await harness.dp.fsm.get_context(harness.bot, MANAGER_ID, MANAGER_ID).get_data()
    assert (state["name"], state["org"]) == ("Анна Смирнова", "ООО «Берёзка»")
