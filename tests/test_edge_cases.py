"""Edge cases found in review: concurrent taps, group chats, inaccessible messages, a failed link
send, alerts routed by the deal's manager, shared phones, deactivated staff, long lists."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto
from aiogram.types import CallbackQuery, Chat, InaccessibleMessage, Message, User

from domain.parsing import parse_shared_phone
from storage import Database
from storage.staff import create_invite, redeem_invite, set_manager_active
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, replies
from tests.helpers.sale import SaleBot, add_manager
from tests.helpers.survey import MANAGER_ID, Respondent, setup_sale


async def test_concurrent_double_tap_on_score_records_one(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    q1 = anna.question
    before = len(harness.session.requests)
    await asyncio.gather(
        harness.tap(anna.user, button_data(q1, "10"), as_message(q1)),
        harness.tap(anna.user, button_data(q1, "2"), as_message(q1)),
    )
    # (concurrent feeds overlap in the harness's per-call slices: count on the session)
    asked = [t for t in replies(harness.session.requests[before:]) if t.startswith("2 из 3")]
    assert len(asked) == 1
    async with db.read() as conn:
        score = (await (await conn.execute("SELECT score FROM surveys")).fetchone())[0]
        cases = (await (await conn.execute("SELECT count(*) FROM cases")).fetchone())[0]
    assert (score, cases) in ((10, 0), (2, 1))


async def test_concurrent_double_tap_on_save_sends_one_link(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    data = button_data(confirm, "Сохранить")
    before = len(harness.session.requests)
    await asyncio.gather(
        harness.tap(m.user, data, as_message(confirm)),
        harness.tap(m.user, data, as_message(confirm)),
    )
    photos = [r for r in harness.session.requests[before:] if isinstance(r, SendPhoto)]
    assert len(photos) == 1
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0] == 1


async def test_a_502_on_the_link_is_retried_at_once(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    harness.session.fail_next(
        "SendPhoto", error_code=502, description="Bad Gateway", chat_id=MANAGER_ID
    )
    sent = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    photos = [r for r in sent if isinstance(r, SendPhoto)]
    assert len(photos) == 2  # the 502 and its retry: the recording session records both
    assert any(t.startswith("Кто: Клиент") and "Сделка сохранена" in t for t in replies(sent))
    assert not any("что-то пошло не так" in t for t in replies(sent))


async def test_failed_link_send_can_be_retried(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    harness.session.fail_next(
        "SendPhoto", error_code=400, description="Bad Request: odd", chat_id=MANAGER_ID
    )
    sent = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    # the button was already answered, so the apology comes as a message
    assert "что-то пошло не так" in replies(sent)[-1]
    assert not any("Сделка сохранена" in t for t in replies(sent))
    sent = await harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    assert any(isinstance(r, SendPhoto) for r in sent)
    assert any("Сделка сохранена" in t for t in replies(sent))
    async with db.read() as conn:
        assert (await (await conn.execute("SELECT count(*) FROM deals")).fetchone())[0] == 1


async def test_group_chats_are_ignored(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    group = Chat(id=-100123, type="supergroup", title="Команда")
    anna = harness.user(5001, "Анна")
    for text in (f"/start {payload}", "/sale", "/nps", "привет"):
        message = Message(
            message_id=1, date=datetime.now(UTC), chat=group, from_user=anna, text=text
        )
        assert await harness.feed({"message": message}) == []
    async with db.read() as conn:
        bound = (await (await conn.execute("SELECT respondent_tg_id FROM surveys")).fetchone())[0]
    assert bound is None


async def test_button_on_inaccessible_message_still_moves_on(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    data = button_data(anna.question, "9")
    old = InaccessibleMessage(chat=Chat(id=anna.user.id, type="private"), message_id=5)
    query = CallbackQuery(id="cq1", from_user=anna.user, chat_instance="ci", data=data, message=old)
    sent = await harness.feed({"callback_query": query})
    assert any(
        isinstance(r, SendMessage) and r.text.startswith("2 из 3") and r.chat_id == anna.user.id
        for r in sent
    )


async def test_alert_goes_to_the_manager_who_made_the_deal(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)  # manager 222's deal
    invite = await create_invite(db, OWNER_ID, harness.clock())
    await redeem_invite(db, invite.token, 223, "Борис", None, "ru", harness.clock())
    other = SaleBot(harness, user_id=223)
    await other.fill(phone="+79161234567", kind="Поставщик")  # the same person, another deal
    sent = await other.press("Сохранить")
    assert any(
        "Мы ценим сотрудничество" in (r.caption or "") for r in sent if isinstance(r, SendPhoto)
    )
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("2")
    alerts = [r for r in await harness.drain() if isinstance(r, SendMessage)]
    assert sorted(a.chat_id for a in alerts) == [OWNER_ID, MANAGER_ID]
    assert "Менеджер: Пётр Иванов" in alerts[0].text
    sent = await harness.tap(harness.user(MANAGER_ID, "Пётр"), "ct:1")
    assert "ваш" in next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text
    async with db.read() as conn:
        kinds = [
            r[0]
            for r in await (await conn.execute("SELECT kind FROM surveys ORDER BY id")).fetchall()
        ]
    assert kinds == ["client", "supplier"]  # each survey keeps the kind chosen for its deal


async def test_phone_already_on_another_contact_is_kept_on_the_answer(
    harness: Harness, db: Database
) -> None:
    await setup_sale(harness, db, phone="+79161234567", name="Анна (старая карточка)")
    payload = await setup_sale(harness, db, phone=None, name="Анна")
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("4")
    await anna.tap("Пропустить")
    await anna.tap("Да")
    await anna.send("+7 916 123-45-67")
    async with db.read() as conn:
        phone = (
            await (await conn.execute("SELECT phone FROM surveys WHERE score = 4")).fetchone()
        )[0]
    assert phone == "+79161234567"
    await harness.drain()
    alert = [
        r for r in harness.session.requests if isinstance(r, SendMessage) and "оценка 4" in r.text
    ]
    assert alert  # delivered, and its latest version (an edit or the send) shows the phone
    texts = [
        r.text for r in harness.session.requests if "оценка 4" in (getattr(r, "text", "") or "")
    ]
    assert "+7 916 123-45-67" in texts[-1]


async def test_deactivated_manager_cannot_answer(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    await set_manager_active(db, MANAGER_ID, False, harness.clock())
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    assert "Сотрудники компании не могут отвечать" in replies(sent)[0]


@pytest.mark.parametrize(
    ("raw", "own", "expected"),
    [
        ("4741234567", True, "+4741234567"),  # a Norwegian's own number, no "+"
        ("79161234567", True, "+79161234567"),
        ("380501234567", False, "+380501234567"),  # Ukrainian, from an address book
        ("89161234567", False, "+79161234567"),  # a Russian number saved with 8
        ("+7 916 123-45-67", False, "+79161234567"),
        ("", False, None),
    ],
)
def test_shared_phones(raw: str, own: bool, expected: str | None) -> None:
    assert parse_shared_phone(raw, "RU", own=own) == expected


async def test_managers_list_stays_within_telegram_limits(harness: Harness, db: Database) -> None:
    for i in range(45):
        invite = await create_invite(db, OWNER_ID, harness.clock())
        name = f"Менеджер {i:02d} " + "Очень-Длинная-Фамилия-" * 6
        await redeem_invite(db, invite.token, 1000 + i, name, None, "ru", harness.clock())
    sent = await harness.send(harness.user(OWNER_ID, "Ольга"), "/managers")
    listing = sent[0]
    assert isinstance(listing, SendMessage)
    # the recording session refuses a text Telegram would refuse (tests/fakes/telegram_rules.py);
    # a page of whole lines, then where it is in the list
    assert listing.text.splitlines()[-1] == "Стр. 1 из 3 · всего 45"
    assert all(len(b.text) <= 64 for row in listing.reply_markup.inline_keyboard for b in row)  # type: ignore[union-attr]


async def test_stranger_user_object_without_language(harness: Harness) -> None:
    user = User(id=9999, is_bot=False, first_name="NoLang")
    sent = await harness.send(user, "/start")
    assert "Здравствуйте" in replies(sent)[0]
