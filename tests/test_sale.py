"""/sale as a manager uses it: every step, every bad input, edit, cancel, double tap, merge.

The chat the manager ends up with is asserted through `tests.helpers.chat`: one card edited
from the first question to the saved deal, then the QR photo, and never more than one message
with /sale buttons.
"""

from __future__ import annotations

import re

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SendPhoto
from aiogram.types import Update

from storage import Database
from tests.conftest import OWNER_ID
from tests.harness import BOT_USERNAME, Harness, as_message, button_data, replies
from tests.helpers.chat import assert_one_live_set, bot_messages, describe
from tests.helpers.replay import Crash, crash_on, feed
from tests.helpers.sale import MANAGER_ID, SaleBot, add_manager
from views.qr import qr_png

LINK_RE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=s_([A-Za-z0-9_-]+)")


async def step(m: SaleBot, action: str, value: str) -> None:
    """Type or tap, then check the chat still has one set of /sale buttons."""
    if action == "say":
        await m.say(value)
    else:
        await m.press(value)
    assert_one_live_set(m.chat)


async def test_full_sale_gives_link_and_qr(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    texts = await m.say("/sale")
    assert "Новая сделка" in texts[0]
    assert m.card.labels == ["Клиент", "Поставщик", "Подрядчик", "Партнёр", "❌ Отмена"]
    await step(m, "press", "Клиент")
    assert "Имя и фамилия" in m.card.text
    await step(m, "say", "  Анна   Смирнова ")
    assert "Что продано" in m.card.text and "Имя: Анна Смирнова" in m.card.text
    await step(m, "say", "Кухонный гарнитур «Классика»")
    assert "Дата сделки" in m.card.text
    assert m.card.labels[:2] == ["Сегодня, 20.11", "Вчера, 19.11"]
    await step(m, "press", "Вчера")
    assert "Организация" in m.card.text
    assert m.card.labels == ["Пропустить ➡️", "✅ Сохранить без остального", "❌ Отмена"]
    await step(m, "say", "ООО «Берёзка»")
    assert "Телефон" in m.card.text
    await step(m, "say", "8 (916) 123-45-67")
    assert "День рождения" in m.card.text
    await step(m, "say", "05.03.1985")
    summary = m.card.text
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
    saved = next(r for r in sent if isinstance(r, EditMessageText))
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
    # The whole deal left two messages of the bot: the card, now the saved deal, and the QR.
    chat = bot_messages(m.chat)
    assert [message.kind for message in chat] == ["message", "photo"], describe(m.chat)
    assert chat[0].text.startswith("Кто: Клиент\nИмя: Анна Смирнова")
    assert "Сделка сохранена." in chat[0].text and chat[0].labels == []
    assert assert_one_live_set(m.chat) is None

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


async def test_save_without_the_rest(harness: Harness, db: Database) -> None:
    """Who, what and when given, one tap saves the deal: the optional questions are skipped
    (three "Skip" taps before), and the chat is the card and the QR photo."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await step(m, "press", "Клиент")
    await step(m, "say", "Анна Смирнова")
    await step(m, "say", "Диван")
    await step(m, "press", "Сегодня")
    sent = await m.press("Сохранить без остального")
    assert any(isinstance(r, SendPhoto) for r in sent)
    chat = bot_messages(m.chat)
    assert [message.kind for message in chat] == ["message", "photo"], describe(m.chat)
    assert "Сделка сохранена." in chat[0].text and "Организация" not in chat[0].text
    assert assert_one_live_set(m.chat) is None
    async with db.read() as conn:
        contact = await (await conn.execute("SELECT * FROM contacts")).fetchone()
        deals = (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0]
    assert deals == 1
    assert (contact["full_name"], contact["organization"], contact["phone"]) == (
        "Анна Смирнова",
        None,
        None,
    )
    # The card is done: its old buttons say so instead of doing anything.
    answered = await harness.tap(m.user, "sa:rest", chat[0].as_message())
    (reply,) = [r for r in answered if isinstance(r, AnswerCallbackQuery)]
    assert reply.text == "Этот шаг уже пройден."


async def test_save_without_the_rest_after_the_phone(harness: Harness, db: Database) -> None:
    await add_manager(harness, db, lang="en")
    m = SaleBot(harness, lang="en")
    await m.say("/sale")
    await m.press("Client")
    await m.say("Anna Smith")
    await m.say("Sofa")
    await m.press("Today")
    await m.press("Skip")  # organisation
    await m.say("+7 916 123-45-67")
    assert m.card.labels == ["Skip ➡️", "✅ Save, skip the rest", "❌ Cancel"]
    await m.press("Save, skip the rest")
    async with db.read() as conn:
        contact = await (await conn.execute("SELECT * FROM contacts")).fetchone()
    assert (contact["phone"], contact["birth_day"]) == ("+79161234567", None)
    assert len(bot_messages(m.chat)) == 2


async def test_supplier_gets_partner_invitation(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill(kind="Поставщик", phone=None, birthday=None, product="Поставка пиломатериалов")
    sent = await m.press("Сохранить")
    photo = next(r for r in sent if isinstance(r, SendPhoto))
    assert "Мы ценим сотрудничество с вами" in photo.caption


async def test_bad_inputs_are_said_on_the_card(harness: Harness, db: Database) -> None:
    """What was wrong is a line on the card, under the same question: no new message while the
    card is in sight; once five messages lie below it, it comes down (the old one loses its
    buttons)."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    assert replies(await harness.send_sticker(m.user)) == [m.card.text]  # the card, edited
    assert "Пожалуйста, ответьте текстом или кнопкой." in m.card.text
    assert "Имя и фамилия" in m.card.text
    assert "от 2 до 200" in (await m.say("x" * 5000))[0]
    assert "от 2 до 200" in (await m.say("Я"))[0]
    assert len(bot_messages(m.chat)) == 1  # all of it on the one card
    await m.say("Анна")
    assert "⚠️" not in m.card.text  # the right answer clears the warning
    await m.say("о")
    assert "от 2 до 500" in m.card.text
    assert len(bot_messages(m.chat)) == 1  # four messages below the card: still in sight
    await m.say("Диван")  # five below: the card comes down to the bottom
    chat = bot_messages(m.chat)
    assert len(chat) == 2 and chat[0].labels == [] and chat[1].labels, describe(m.chat)
    assert "Дата сделки" in chat[1].text
    for bad in ("21.11.2026", "31.11.2026", "01.01.2001", "вчера"):
        assert "ДД.ММ.ГГГГ" in (await m.say(bad))[0], bad
        assert_one_live_set(m.chat, exactly=True)
    await m.say("18.11.2026")
    await m.say("x" * 201)
    assert "до 200 символов" in m.card.text
    await m.press("Пропустить")
    for bad in ("123", "телефон", "+7 000", "1" * 45):
        assert "Не получилось распознать номер" in (await m.say(bad))[0], bad
    await m.say("+47 412 34 567")  # a Norwegian number is fine
    for bad in ("31.02", "29.02.2023", "12.2026", "01.01.2030", "завтра"):
        assert "Такой даты нет" in (await m.say(bad))[0], bad
    await m.say("29.02")
    assert "Телефон: +47 41 23 45 67" in m.card.text
    assert "День рождения: 29.02" in m.card.text and "Дата: 18.11.2026" in m.card.text
    assert_one_live_set(m.chat, exactly=True)


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
    assert "до 500 символов" in m.card.text  # the question names the limit
    assert "от 2 до 500 символов" in (await m.say("П" * 501))[0]
    await m.say("П" * 500)
    await m.press("Сегодня")
    assert "Организация" in m.card.text
    assert "до 200 символов" in (await m.say("О" * 201))[0]
    await m.say("О" * 200)
    await m.press("Сохранить без остального")
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
    card = m.card
    assert (await m.say("/cancel")) == ["Отменено. Ничего не сохранено."]
    assert assert_one_live_set(m.chat) is None  # the card lost its buttons
    assert (await m.say("/cancel")) == ["Сейчас нечего отменять."]
    # its old buttons say the step is over (and do nothing)
    sent = await harness.tap(m.user, card.data("Отмена"), card.as_message())
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == ["Этот шаг уже пройден."]
    # the button works too: the card itself says so
    await m.say("/sale")
    sent = await m.press("Отмена")
    assert replies(sent) == ["Отменено. Ничего не сохранено."]
    assert bot_messages(m.chat)[-1].text == "Отменено. Ничего не сохранено."
    assert assert_one_live_set(m.chat) is None
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0] == 0


async def test_a_new_sale_takes_the_buttons_off_the_old_card(
    harness: Harness, db: Database
) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    old = m.card
    await m.say("/sale")
    assert "Новая сделка" in m.card.text and m.card.message_id != old.message_id
    assert_one_live_set(m.chat, exactly=True)
    sent = await harness.tap(m.user, old.data("Отмена"), old.as_message())
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == ["Этот шаг уже пройден."]
    assert "Новая сделка" in m.card.text  # the new one is untouched


async def test_edit_from_confirmation(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    assert "Проверьте" in m.card.text
    await m.press("✏️ Имя")
    assert "Имя и фамилия" in m.card.text
    await m.say("Анна Петрова")
    assert "Имя: Анна Петрова" in m.card.text and "Проверьте" in m.card.text
    await m.press("✏️ Телефон")
    await m.press("Пропустить")
    assert "Телефон: —" in m.card.text
    sent = await m.press("Сохранить")
    assert any("опрос — клиент: Анна Петрова\n" in text for text in replies(sent))
    assert assert_one_live_set(m.chat) is None


async def test_double_tap_on_save_records_one_deal(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.card
    first = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    second = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    assert any(isinstance(r, SendPhoto) for r in first)
    assert not [r for r in second if isinstance(r, SendMessage | SendPhoto | EditMessageText)]
    assert [r.text for r in second if isinstance(r, AnswerCallbackQuery)] == [
        "Этот шаг уже пройден."
    ]
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
    assert any("уже есть в базе" in text for text in replies(sent))
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
    await m.say("Диван")
    await m.press("Сегодня")
    await m.press("Пропустить")
    await m.contact("79161234567", owner_id=5555)
    assert "День рождения" in m.card.text
    await m.press("Пропустить")
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
    assert m.card.labels[0] == "Client"


@pytest.mark.parametrize("who", [OWNER_ID, MANAGER_ID])
async def test_owner_and_manager_may_record(harness: Harness, db: Database, who: int) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness, user_id=who)
    await m.fill()
    sent = await m.press("Сохранить")
    assert any(isinstance(r, SendPhoto) for r in sent)


async def test_a_finished_step_says_so(harness: Harness, db: Database) -> None:
    """A button of a step already done (a double tap, or a card from an old conversation) does
    nothing and says why, in the manager's language."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    await m.say("Анна")
    await m.say("Диван")
    await m.press("Сегодня")
    org_question = m.card
    await m.press("Пропустить")  # organisation skipped; now at phone
    sent = await harness.tap(
        m.user, button_data(org_question, "Пропустить"), as_message(org_question)
    )
    assert replies(sent) == []  # a stale button neither skips the phone nor errors
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == ["Этот шаг уже пройден."]
    assert "Телефон" in m.card.text
    # a kind button on the card at the phone question: the kind was chosen long ago
    sent = await harness.tap(m.user, "sk:partner", m.card.as_message())
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == ["Этот шаг уже пройден."]
    assert "Кто: Клиент" in m.card.text


async def test_a_finished_step_says_so_in_english(harness: Harness, db: Database) -> None:
    await add_manager(harness, db, lang="en")
    m = SaleBot(harness, lang="en")
    await m.say("/sale")
    old = m.card
    await m.press("Client")
    sent = await harness.tap(m.user, old.data("Client"), old.as_message())
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == [
        "This step is already done."
    ]


async def test_a_timed_out_qr_does_not_stop_the_saved_card(harness: Harness, db: Database) -> None:
    """The QR photo's send times out (it may have arrived, so it is not repeated): the card
    still becomes the saved deal with the link, the conversation ends, and the deal is stored
    once."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.card
    harness.session.time_out_next("SendPhoto", chat_id=MANAGER_ID)
    sent = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    photo = next(r for r in sent if isinstance(r, SendPhoto))  # it went, its answer never came
    assert LINK_RE.search(photo.caption or "")
    assert "Сделка сохранена." in bot_messages(m.chat)[-1].text
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
    """The name, handled again after a crash, is not stored as the product; the product
    question is shown once: again only if it had not been."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.say("/sale")
    await m.press("Клиент")
    if crash == "after the last write":
        await m.say("Анна Смирнова")
        async with db.transaction() as conn:  # the journal never noted the end
            await conn.execute("UPDATE handled_updates SET done_at = NULL")
    else:
        asks = lambda r: isinstance(r, EditMessageText) and "Что продано" in r.text  # noqa: E731
        crash_on(harness, asks, delivered=False)
        with pytest.raises(Crash):
            await m.say("Анна Смирнова")
    update = Update.model_validate(harness.last_update, context={"bot": harness.bot})
    texts = await feed(harness, update)
    if crash == "after the last write":
        assert texts == []
    else:
        assert len(texts) == 1 and "Что продано" in texts[0]
    assert await feed(harness, update) == []  # finished now: skipped
    await m.say("Диван")  # the product question is the one being answered
    assert "Дата сделки" in m.card.text
    assert len(bot_messages(m.chat)) == 1
    state = await harness.dp.fsm.get_context(harness.bot, MANAGER_ID, MANAGER_ID).get_data()
    assert (state["name"], state["product"]) == ("Анна Смирнова", "Диван")
