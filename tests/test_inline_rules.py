"""Telegram's rules for inline mode in both fakes (tests/fakes/telegram_rules.py): what
`answerInlineQuery` may carry, where the chat-picking button may go, one answer per query, and
getMe's `supports_inline_queries`. As in tests/test_telegram_rules.py, each rule is provoked
through the in-process `RecordingSession` and through the HTTP `FakeBotAPI` with a real aiogram
client, and its boundary is sent too (accepted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    SwitchInlineQueryChosenChat,
)

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.client import http_bot
from tests.fakes.recording import RecordingSession
from tests.fakes.telegram_rules import (
    BUTTON_DATA_INVALID,
    CHOSEN_CHAT_PRIVATE_ONLY,
    DEEP_LINK_INVALID,
    MESSAGE_EMPTY,
    MESSAGE_TOO_LONG,
    RESULT_ID_DUPLICATE,
    RESULT_ID_INVALID,
    RESULTS_TOO_MUCH,
)
from tests.harness import TOKEN

ALICE = 1001
GROUP = -1001234567890
HTML = DefaultBotProperties(parse_mode="HTML")
QUERY_ID_INVALID = "Bad Request: QUERY_ID_INVALID"
LINK = "https://t.me/followup_test_bot?start="

Call = Callable[[Bot, str], Awaitable[Any]]


def article(
    result_id: str = "r1", text: str = "приглашение", markup: InlineKeyboardMarkup | None = None
) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title="t",
        input_message_content=InputTextMessageContent(message_text=text),
        reply_markup=markup,
    )


def _answer(*results: InlineQueryResultArticle) -> Call:
    return lambda bot, query_id: bot.answer_inline_query(query_id, list(results), cache_time=0)


def _keyboard(**button: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="b", **button)]])


CHOSEN = SwitchInlineQueryChosenChat(query="s_abc", allow_user_chats=True)


def _send_to(chat_id: int, markup: InlineKeyboardMarkup) -> Call:
    return lambda bot, _query_id: bot.send_message(chat_id, "ссылка", reply_markup=markup)


@dataclass(frozen=True)
class Case:
    name: str
    call: Call
    description: str | None


CASES = [
    Case("50 results", _answer(*(article(f"r{i}") for i in range(50))), None),
    Case("51 results", _answer(*(article(f"r{i}") for i in range(51))), RESULTS_TOO_MUCH),
    Case("no results", _answer(), None),
    Case("result id of 64 bytes", _answer(article("я" * 32)), None),
    Case("result id over 64 bytes", _answer(article("я" * 32 + "a")), RESULT_ID_INVALID),
    Case("empty result id", _answer(article("")), RESULT_ID_INVALID),
    Case("duplicate result ids", _answer(article("a"), article("a")), RESULT_ID_DUPLICATE),
    Case("text of 4096 in tags", _answer(article(text="<b>" + "я" * 4096 + "</b>")), None),
    Case("text over 4096", _answer(article(text="я" * 4097)), MESSAGE_TOO_LONG),
    Case("text empty after parsing", _answer(article(text="<i> </i>")), MESSAGE_EMPTY),
    Case(
        "callback_data over 64 bytes in a result",
        _answer(article(markup=_keyboard(callback_data="я" * 33))),
        BUTTON_DATA_INVALID,
    ),
    Case(
        "bad deep link in a result's URL button",
        _answer(article(markup=_keyboard(url=LINK + "a.b"))),
        DEEP_LINK_INVALID + "'a.b'",
    ),
    Case(
        "URL button with a good deep link",
        _answer(article(markup=_keyboard(url=LINK + "s_abc"))),
        None,
    ),
    Case(
        "chosen-chat button in a result",
        _answer(article(markup=_keyboard(switch_inline_query_chosen_chat=CHOSEN))),
        CHOSEN_CHAT_PRIVATE_ONLY,
    ),
    Case(
        "chosen-chat button in a private chat",
        _send_to(ALICE, _keyboard(switch_inline_query_chosen_chat=CHOSEN)),
        None,
    ),
    Case(
        "chosen-chat button in a group",
        _send_to(GROUP, _keyboard(switch_inline_query_chosen_chat=CHOSEN)),
        CHOSEN_CHAT_PRIVATE_ONLY,
    ),
]


async def _expect(case: Case, bot: Bot, query_id: str) -> None:
    if case.description is None:
        await case.call(bot, query_id)
        return
    with pytest.raises(TelegramBadRequest) as error:
        await case.call(bot, query_id)
    assert error.value.message == case.description


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_the_recording_session_applies_the_inline_rules(case: Case) -> None:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=HTML)
    await _expect(case, bot, "q1")
    refused = [refusal.description for _, refusal in session.take_refusals()]
    assert refused == ([case.description] if case.description else [])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_the_http_fake_applies_the_inline_rules(case: Case) -> None:
    async with FakeBotAPI(TOKEN, supports_inline_queries=True) as api:
        alice = api.user(ALICE, "Alice")
        query_id = await alice.inline_query("s_abc")
        bot = http_bot(api.url, TOKEN, default=HTML)
        try:
            await _expect(case, bot, query_id)
        finally:
            await bot.session.close()
        refused = [refusal.description for _, refusal in api.take_refusals()]
        assert refused == ([case.description] if case.description else [])


async def test_one_answer_per_inline_query_in_both_fakes() -> None:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=HTML)
    await bot.answer_inline_query("q1", [])
    with pytest.raises(TelegramBadRequest) as error:
        await bot.answer_inline_query("q1", [])
    assert error.value.message == QUERY_ID_INVALID

    async with FakeBotAPI(TOKEN, supports_inline_queries=True) as api:
        query_id = await api.user(ALICE, "Alice").inline_query("s_abc")
        bot = http_bot(api.url, TOKEN, default=HTML)
        try:
            await bot.answer_inline_query(query_id, [article()])
            for unknown in (query_id, "never-asked"):
                with pytest.raises(TelegramBadRequest) as error:
                    await bot.answer_inline_query(unknown, [])
                assert error.value.message == QUERY_ID_INVALID
        finally:
            await bot.session.close()
        assert [r["id"] for r in api.inline_answers[query_id]["results"]] == ["r1"]


@pytest.mark.parametrize("inline", [False, True])
async def test_get_me_says_whether_inline_mode_is_on(inline: bool) -> None:
    bot = Bot(TOKEN, session=RecordingSession(supports_inline_queries=inline))
    assert (await bot.get_me()).supports_inline_queries is inline
    async with FakeBotAPI(TOKEN, supports_inline_queries=inline) as api:
        bot = http_bot(api.url, TOKEN)
        try:
            assert (await bot.get_me()).supports_inline_queries is inline
        finally:
            await bot.session.close()


async def test_a_chosen_result_reaches_the_other_user_and_the_bot() -> None:
    async with FakeBotAPI(TOKEN, supports_inline_queries=True) as api:
        alice, bob = api.user(ALICE, "Alice"), api.user(1002, "Bob")
        query_id = await alice.inline_query("s_abc")
        bot = http_bot(api.url, TOKEN, default=HTML)
        try:
            markup = _keyboard(url=LINK + "s_abc")
            await bot.answer_inline_query(query_id, [article("r1", "<b>Привет</b>", markup)])
        finally:
            await bot.session.close()
        card = await alice.choose(query_id, "r1", to=bob)
        assert bob.via_bot == [card] and card.visible_text == "Привет"
        assert card.url("b") == LINK + "s_abc"
        chosen = api._updates[-1]["chosen_inline_result"]
        assert chosen["result_id"] == "r1" and chosen["from"]["id"] == ALICE
        assert chosen["query"] == "s_abc" and chosen["inline_message_id"]


async def test_without_inline_mode_no_query_reaches_the_bot() -> None:
    async with FakeBotAPI(TOKEN) as api:
        with pytest.raises(AssertionError, match="inline mode is off"):
            await api.user(ALICE, "Alice").inline_query("s_abc")
