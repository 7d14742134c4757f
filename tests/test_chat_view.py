"""tests/helpers/chat.py: the chat a person ends up with, from both fakes.

Each test drives the fake with real aiogram calls (send, edit, delete) and checks the view shows
what Telegram would: current texts and keyboards, deleted messages gone, an edit that changes
nothing refused, and more than one live set of buttons caught.
"""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.client import http_bot
from tests.harness import TOKEN, Harness
from tests.helpers.chat import (
    assert_one_live_set,
    bot_messages,
    chat_of,
    live_button_sets,
)

ALICE = 4242


def keys(*labels: str, url: bool = False) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(text=label, url="https://example.com")
        if url
        else InlineKeyboardButton(text=label, callback_data=f"x:{label}")
        for label in labels
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row])


async def scenario(bot: Bot) -> None:
    """Two questions with buttons, one edited to its answer, one stripped, one deleted."""
    first = await bot.send_message(ALICE, "<b>Вопрос</b> 1", reply_markup=keys("Да", "Нет"))
    second = await bot.send_message(ALICE, "Вопрос 2", reply_markup=keys("A", "B"))
    await bot.send_message(ALICE, "Ссылка", reply_markup=keys("Сайт", url=True))
    doomed = await bot.send_message(ALICE, "Удалю", reply_markup=keys("Z"))
    await bot.edit_message_text("Ответ: да", chat_id=ALICE, message_id=first.message_id)
    await bot.edit_message_reply_markup(chat_id=ALICE, message_id=second.message_id)
    await bot.delete_message(ALICE, doomed.message_id)
    await bot.edit_message_text(
        "Вопрос 2, ещё раз", chat_id=ALICE, message_id=second.message_id, reply_markup=keys("C")
    )


def check(chat: object) -> None:
    messages = bot_messages(chat)  # type: ignore[arg-type]
    assert [m.text for m in messages] == ["Ответ: да", "Вопрос 2, ещё раз", "Ссылка"]
    assert [m.labels for m in messages] == [[], ["C"], ["Сайт"]]
    assert [m.edits for m in messages] == [1, 2, 0]
    live = live_button_sets(chat)  # type: ignore[arg-type]
    assert [m.text for m in live] == ["Вопрос 2, ещё раз"]  # a URL button is not a live set
    assert assert_one_live_set(chat, exactly=True) == live[0]  # type: ignore[arg-type]


async def test_the_recording_session_shows_the_chat_as_it_is_now(harness: Harness) -> None:
    await scenario(harness.bot)
    check(chat_of(harness, ALICE))


async def test_the_fake_bot_api_shows_the_chat_as_it_is_now() -> None:
    async with FakeBotAPI(TOKEN) as api:
        bot = http_bot(api.url, TOKEN, default=DefaultBotProperties(parse_mode="HTML"))
        try:
            await scenario(bot)
        finally:
            await bot.session.close()
        check(chat_of(api, ALICE))


async def test_two_live_sets_fail_the_assertion(harness: Harness) -> None:
    await harness.bot.send_message(ALICE, "Один", reply_markup=keys("1"))
    await harness.bot.send_message(ALICE, "Два", reply_markup=keys("2"))

    with pytest.raises(AssertionError, match="more than one live set"):
        assert_one_live_set(chat_of(harness, ALICE))
    # Leaving one out by what it is (a menu, a card outside the conversation) passes.
    assert_one_live_set(chat_of(harness, ALICE), ignore=lambda m: m.text == "Один")


async def test_no_live_set_fails_when_one_is_expected(harness: Harness) -> None:
    await harness.bot.send_message(ALICE, "Готово")
    with pytest.raises(AssertionError, match="no message has buttons"):
        assert_one_live_set(chat_of(harness, ALICE), exactly=True)


async def test_the_recording_session_refuses_what_telegram_refuses(harness: Harness) -> None:
    sent = await harness.bot.send_message(ALICE, "<i>Тот же</i>", reply_markup=keys("A"))

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await harness.bot.edit_message_text(
            "<i>Тот же</i>", chat_id=ALICE, message_id=sent.message_id, reply_markup=keys("A")
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await harness.bot.edit_message_reply_markup(
            chat_id=ALICE, message_id=sent.message_id, reply_markup=keys("A")
        )
    await harness.bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await harness.bot.edit_message_text("Новый", chat_id=ALICE, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await harness.bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await harness.bot.send_message(ALICE, "Длинная", reply_markup=keys("x" * 70))
    refused = [refusal.description for _, refusal in harness.session.take_refusals()]
    assert refused == ["Bad Request: BUTTON_DATA_INVALID"]  # the others are ordinary answers
    assert bot_messages(chat_of(harness, ALICE)) == []


async def test_message_ids_are_one_sequence_per_chat(harness: Harness) -> None:
    """The person's messages and the bot's share the ids of their chat, as in Telegram."""
    user = harness.user(ALICE)
    await harness.send(user, "привет")  # id 1 (nobody answers a stranger's text here: no role)
    sent = await harness.bot.send_message(ALICE, "ответ")
    elsewhere = await harness.bot.send_message(ALICE + 1, "другой чат")
    later = await harness.bot.send_message(ALICE, "ещё")

    assert elsewhere.message_id == 1
    assert later.message_id == sent.message_id + 1
    assert sent.message_id > 1
