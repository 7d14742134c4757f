"""The fake Bot API server, checked with a real aiogram client talking HTTP to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from tests.fakes.bot_api import (
    BLOCKED,
    EDIT_NOT_FOUND,
    NOT_MODIFIED,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    FakeBotAPI,
)
from tests.fakes.client import http_bot

TOKEN = "123456789:AAHfakeTokenForTests_abcdefghijklmn"
OTHER_TOKEN = "987654321:AAHotherTokenForTests_abcdefghijklm"
ALICE = 1001

# The header of a 2x3 PNG is enough: the fake reads the size from the IHDR chunk.
PNG_2x3 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_tokens_have_the_telegram_shape() -> None:
    for token in (TOKEN, OTHER_TOKEN):
        _, secret = token.split(":")
        assert len(secret) == 35


def make_bot(api: FakeBotAPI, token: str = TOKEN) -> Bot:
    return http_bot(api.url, token)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    yield bot
    await bot.session.close()


def yes_no() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Да", callback_data="answer:yes"),
                InlineKeyboardButton(text="Нет", callback_data="answer:no"),
            ],
            [InlineKeyboardButton(text="Сайт", url="https://example.com")],
        ]
    )


async def test_get_me(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == api.bot_id
    assert me.is_bot
    assert me.username == "followup_test_bot"
    assert [call.method for call in api.requests] == ["getMe"]


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    stranger = make_bot(api, OTHER_TOKEN)
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await stranger.session.close()
    assert api.requests == []


async def test_send_message_with_inline_keyboard(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")

    sent = await bot.send_message(ALICE, "Вам понравилось?", reply_markup=yes_no())

    message = await alice.wait_message()
    assert message.text == "Вам понравилось?"
    assert message.message_id == sent.message_id
    assert message.method == "sendMessage"
    assert message.buttons() == [
        ("Да", "answer:yes"),
        ("Нет", "answer:no"),
        ("Сайт", "https://example.com"),
    ]
    assert message.button("Нет") == "answer:no"
    with pytest.raises(AssertionError, match="Сайт"):
        message.button("Может быть")
    # The result aiogram parsed echoes the chat, the sender and the keyboard.
    assert sent.chat.id == ALICE
    assert sent.from_user is not None and sent.from_user.id == api.bot_id
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == yes_no().model_dump()
    assert api.calls("SENDMESSAGE")[0].params["chat_id"] == ALICE


async def test_message_ids_grow_per_chat(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    user_message_id = await alice.send("привет")

    first = await bot.send_message(ALICE, "один")
    second = await bot.send_message(ALICE, "два")
    elsewhere = await bot.send_message(2002, "незнакомцу")

    assert (user_message_id, first.message_id, second.message_id) == (1, 2, 3)
    assert elsewhere.message_id == 1
    assert api.users[2002].texts == ["незнакомцу"]


async def test_reply_keyboard_is_recorded_but_not_echoed(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Поделиться номером", request_contact=True)]],
        resize_keyboard=True,
    )

    sent = await bot.send_message(ALICE, "Ваш телефон?", reply_markup=keyboard)

    assert sent.reply_markup is None  # Telegram returns only inline keyboards
    message = await alice.wait_message()
    assert message.buttons() == [("Поделиться номером", None)]
    await alice.send_contact("+79001234567")
    updates = await bot.get_updates()
    contact = updates[-1].message and updates[-1].message.contact
    assert contact is not None
    assert (contact.phone_number, contact.user_id) == ("+79001234567", ALICE)


async def test_send_message_validates_text(api: FakeBotAPI, bot: Bot) -> None:
    api.user(ALICE, "Alice")

    with pytest.raises(TelegramBadRequest, match=TEXT_EMPTY):
        await bot.send_message(ALICE, "")
    with pytest.raises(TelegramBadRequest, match=TEXT_TOO_LONG):
        await bot.send_message(ALICE, "я" * 4097)
    await bot.send_message(ALICE, "<b>" + "я" * 4096 + "</b>", parse_mode="HTML")

    assert [call.outcome for call in api.calls("sendMessage")] == ["error", "error", "ok"]
    assert [r.description for _, r in api.take_refusals()] == [TEXT_EMPTY, TEXT_TOO_LONG]


async def test_edit_message_text(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    sent = await bot.send_message(ALICE, "Вам понравилось?", reply_markup=yes_no())
    message = await alice.wait_message()

    waiter = asyncio.create_task(alice.wait_edit(message, timeout=2))
    await asyncio.sleep(0)
    edited = await bot.edit_message_text("Спасибо!", chat_id=ALICE, message_id=sent.message_id)

    assert await waiter is message
    assert message.text == "Спасибо!"
    assert message.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert message.edits == [
        {"text": "Вам понравилось?", "reply_markup": yes_no().model_dump(exclude_none=True)}
    ]
    assert isinstance(edited, Message) and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified") as error:
        await bot.edit_message_text("Спасибо!", chat_id=ALICE, message_id=sent.message_id)
    assert error.value.message == NOT_MODIFIED
    with pytest.raises(TelegramBadRequest, match=EDIT_NOT_FOUND):
        await bot.edit_message_text("?", chat_id=ALICE, message_id=999)


async def test_edit_reply_markup(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    sent = await bot.send_message(ALICE, "Вопрос", reply_markup=yes_no())
    message = await alice.wait_message()

    await bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id)
    assert message.buttons() == []
    with pytest.raises(AssertionError, match="not a button"):
        await alice.tap(message, "answer:yes")


async def test_fail_next_with_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    api.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=3)

    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(ALICE, "раз")
    await bot.send_message(ALICE, "два")

    assert error.value.retry_after == 3
    assert alice.texts == ["два"]
    assert [(c.outcome, c.error_code) for c in api.calls("sendMessage")] == [
        ("error", 429),
        ("ok", None),
    ]


async def test_fail_next_only_for_one_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=500, chat_id=2002, times=2)

    await bot.send_message(ALICE, "Алисе")
    for _ in range(2):
        with pytest.raises(Exception, match="Internal Server Error"):
            await bot.send_message(2002, "Бобу")
    await bot.send_message(2002, "Бобу")

    assert api.users[2002].texts == ["Бобу"]


async def test_blocked_user_gives_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    api.block(ALICE)

    with pytest.raises(TelegramForbiddenError, match=BLOCKED):
        await bot.send_message(ALICE, "Вы тут?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_photo(ALICE, BufferedInputFile(PNG_2x3, "qr.png"))

    assert alice.messages == []
    assert alice.blocked


async def test_drop_next_is_a_network_error(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    api.drop_next("sendMessage")

    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE, "потеряется")
    await bot.send_message(ALICE, "дойдёт")

    assert alice.texts == ["дойдёт"]
    assert [call.outcome for call in api.calls("sendMessage")] == ["dropped", "ok"]


async def test_drop_after_execution_delivers_but_loses_the_reply(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    api.drop_next("sendMessage", executed=True)

    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE, "напоминание")

    assert alice.texts == ["напоминание"]
    assert api.calls("sendMessage")[0].outcome == "dropped"


async def test_html_text_is_echoed_as_the_user_sees_it(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")

    sent = await bot.send_message(ALICE, "<b>Заказ</b> &amp; оплата", parse_mode="HTML")

    message = await alice.wait_message()
    assert message.text == "<b>Заказ</b> &amp; оплата"
    assert message.visible_text == sent.text == "Заказ & оплата"
    # Telegram compares the parsed text and its formatting, not the markup as written.
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(
            "<b>Заказ</b> &#38; оплата",
            chat_id=ALICE,
            message_id=sent.message_id,
            parse_mode="HTML",
        )
    await bot.edit_message_text(
        "Заказ &amp; оплата", chat_id=ALICE, message_id=sent.message_id, parse_mode="HTML"
    )
    assert message.visible_text == "Заказ & оплата"
    assert len(message.edits) == 1


async def test_send_photo_and_document_keep_the_bytes(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")

    photo = await bot.send_photo(ALICE, BufferedInputFile(PNG_2x3, "qr.png"), caption="Ваш QR")
    document = await bot.send_document(ALICE, BufferedInputFile(b"a;b\n1;2\n", "report.csv"))
    again = await bot.send_photo(ALICE, photo.photo[-1].file_id if photo.photo else "")

    first, second, third = alice.messages
    assert (first.method, first.text, first.files) == ("sendPhoto", "Ваш QR", {"photo": PNG_2x3})
    assert photo.photo is not None and (photo.photo[-1].width, photo.photo[-1].height) == (2, 3)
    assert photo.caption == "Ваш QR"
    assert second.files == {"document": b"a;b\n1;2\n"}
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == (
        "report.csv",
        "text/csv",
    )
    assert third.files == {"photo": PNG_2x3}  # re-sent by file_id
    assert again.photo is not None
    assert api.calls("sendPhoto")[0].files == {"photo": PNG_2x3}


async def test_set_my_commands_per_scope(api: FakeBotAPI, bot: Bot) -> None:
    owner_commands = [BotCommand(command="stats", description="Статистика")]
    await bot.set_my_commands([BotCommand(command="start", description="Начать")])
    await bot.set_my_commands(owner_commands, scope=BotCommandScopeChat(chat_id=ALICE))
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")], language_code="en"
    )

    key = FakeBotAPI.scope_key({"type": "chat", "chat_id": ALICE})
    assert key == '{"chat_id":1001,"type":"chat"}'
    assert api.commands[(key, "")] == [{"command": "stats", "description": "Статистика"}]
    assert api.commands[("default", "")] == [{"command": "start", "description": "Начать"}]
    assert api.commands_for(language_code="en") == [{"command": "start", "description": "Start"}]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=ALICE))
    assert api.commands_for({"type": "chat", "chat_id": ALICE}) is None


async def test_long_poll_returns_a_queued_command(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice", username="alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_polling(timeout=2)

    started = time.monotonic()
    message_id = await alice.send("/start promo")
    updates = await poll

    assert time.monotonic() - started < 1
    [update] = updates
    assert update.update_id == 1
    assert update.message is not None
    assert update.message.message_id == message_id
    assert update.message.text == "/start promo"
    assert update.message.chat.type == "private"
    assert update.message.from_user is not None
    assert update.message.from_user.username == "alice"
    assert update.message.from_user.language_code == "ru"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")


async def test_callback_tap(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    await bot.send_message(ALICE, "Вам понравилось?", reply_markup=yes_no())
    message = await alice.wait_message()

    query_id = await alice.tap(message, message.button("Да"))
    forged_id = await alice.tap_forged(message, "answer:maybe")
    with pytest.raises(AssertionError, match="answer:yes"):
        await alice.tap(message, "answer:maybe")
    updates = await bot.get_updates()

    first, second = (update.callback_query for update in updates)
    assert first is not None and second is not None
    assert (first.id, first.data, second.id, second.data) == (
        query_id,
        "answer:yes",
        forged_id,
        "answer:maybe",
    )
    assert first.from_user.id == ALICE
    assert isinstance(first.message, Message)
    assert first.message.message_id == message.message_id
    assert first.message.text == "Вам понравилось?"
    assert first.message.reply_markup is not None
    assert first.message.reply_markup.model_dump() == yes_no().model_dump()

    await bot.answer_callback_query(query_id, text="Спасибо")
    assert await alice.wait_answer(query_id) == {"callback_query_id": query_id, "text": "Спасибо"}
    assert alice.answers == [{"callback_query_id": query_id, "text": "Спасибо"}]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("no-such-query")


async def test_offset_confirms_updates(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    await alice.send("раз")
    await alice.send("два")
    await alice.send_document(b"a;b\n", "base.csv")
    await alice.send_contact("+79001234567", user_id=None)

    updates = await bot.get_updates(limit=3)
    assert [u.update_id for u in updates] == [1, 2, 3]
    assert api.pending_updates == 4
    assert updates[1].message is not None and updates[1].message.text == "два"
    assert updates[2].message is not None and updates[2].message.document is not None

    rest = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.update_id for u in rest] == [4]
    assert rest[0].message is not None and rest[0].message.contact is not None
    assert rest[0].message.contact.user_id is None
    assert api.pending_updates == 1

    assert await bot.get_updates(offset=5) == []
    assert api.confirmed_offset == 5
    assert api.pending_updates == 0


async def test_empty_long_poll_times_out(api: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()

    assert await bot.get_updates(timeout=1) == []

    assert 0.9 <= time.monotonic() - started < 2


async def test_stop_ends_a_long_poll(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_polling(timeout=2)
    started = time.monotonic()

    await api.stop()

    assert await poll == []
    assert time.monotonic() - started < 1


async def test_client_disconnect_ends_a_long_poll(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_polling(timeout=2)

    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    await api.wait_until(lambda: api.active_polls == 0, timeout=2, description="poll ended")


async def test_webhook_settings(api: FakeBotAPI, bot: Bot) -> None:
    await api.user(ALICE, "Alice").send("старое")

    await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.com/hook", 1)
    assert (api.webhook_url, api.webhook_secret_token) == ("https://example.com/hook", "s3cret")
    with pytest.raises(Exception, match="webhook is active"):
        await bot.get_updates()

    await bot.delete_webhook(drop_pending_updates=True)
    assert api.webhook_url is None
    assert api.pending_updates == 0
    assert await bot.log_out() is True  # any other method: recorded, answered true
    assert api.calls("logout")


async def test_dispatcher_polling_end_to_end(api: FakeBotAPI) -> None:
    bot = make_bot(api)
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("hi")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        alice = api.user(ALICE, "Alice")
        await alice.send("/start")
        reply = await alice.wait_message(timeout=5)
        assert reply.text == "hi"
        await api.wait_updates_confirmed(timeout=5)
    finally:
        await dp.stop_polling()
        await polling
    assert api.active_polls == 0


async def test_wait_message_skips_and_reports(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    for text in ("раз", "два", "три"):
        await bot.send_message(ALICE, text)

    assert (await alice.wait_message(lambda m: m.text == "два")).text == "два"
    assert (await alice.wait_message()).text == "три"
    with pytest.raises(AssertionError, match="'раз', 'два', 'три'"):
        await alice.wait_message(timeout=0.05)


async def test_blocking_and_unblocking_are_reported_as_my_chat_member(
    api: FakeBotAPI, bot: Bot
) -> None:
    alice = api.user(ALICE, "Alice")
    await alice.block_bot()
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(ALICE, "hi")
    await alice.unblock_bot()
    await bot.send_message(ALICE, "hi again")
    updates = await bot.get_updates()
    changes = [u.my_chat_member for u in updates]
    assert [(c.old_chat_member.status, c.new_chat_member.status) for c in changes if c] == [
        ("member", "kicked"),
        ("kicked", "member"),
    ]
    first = changes[0]
    assert first is not None
    assert first.chat.type == "private" and first.from_user.id == ALICE
    assert first.new_chat_member.user.id == api.bot_id
    assert alice.texts == ["hi again"]


async def test_updates_not_asked_for_are_dropped(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    await alice.block_bot()
    await alice.send("/start")
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.message is not None for u in updates] == [True]
    await alice.unblock_bot()
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == []  # still "message" only
    await alice.block_bot()
    updates = await bot.get_updates(allowed_updates=[])  # [] is Telegram's default again
    assert [u.my_chat_member is not None for u in updates] == [True]


async def test_a_group_can_be_written_to_until_the_bot_leaves(api: FakeBotAPI, bot: Bot) -> None:
    alice = api.user(ALICE, "Alice")
    await alice.add_bot_to_group(-100, "Sales")
    (update,) = await bot.get_updates()
    change = update.my_chat_member
    assert change is not None and change.chat.type == "group" and change.chat.title == "Sales"
    assert change.new_chat_member.status == "member"
    sent = await bot.send_message(-100, "I only work in private chats")
    assert sent.chat.type == "group"
    assert await bot.leave_chat(-100) is True
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(-100, "still here?")
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.leave_chat(-100)
    with pytest.raises(TelegramBadRequest, match="private chats"):
        await bot.leave_chat(ALICE)
    api.take_refusals()
