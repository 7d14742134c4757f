"""The retry middleware (bot/retries.py) per error class, against the fake Bot API over real HTTP:
what is retried (429, 5xx as JSON and as an HTML page, dropped connections, refused connections,
timeouts of idempotent methods), what is not (a timeout of a sending method, a 400, a 429 longer
than the budget, an unreadable "ok" answer), and that a retry never logs the token."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import GetMe, SendMessage

from bot.app import create_bot, wait_for_telegram
from bot.config import ConfigError, load_settings
from bot.retries import RetryMiddleware, no_retries
from domain.settings import Settings
from scheduler.failures import Failure, classify
from storage import Database
from tests.fakes.bot_api import FakeBotAPI
from tests.harness import TOKEN, Harness
from tests.helpers.survey import Respondent, setup_sale

CHAT = 4001


class FakeTime:
    """The middleware's clock and sleep: waits are recorded and pass at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class QuickSession(AiohttpSession):
    """aiogram's session without the 250 ms pause of its close() (plain HTTP here)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN, bot_id=int(TOKEN.split(":")[0])) as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_bot(url: str, fake_time: FakeTime, *, budget: float = 30, timeout: float = 5) -> Bot:
    session = QuickSession(api=TelegramAPIServer.from_base(url), timeout=timeout)
    session.middleware(
        RetryMiddleware(budget, sleep=fake_time.sleep, monotonic=fake_time.monotonic)
    )
    return Bot(TOKEN, session=session)


@pytest.fixture
async def bot(api: FakeBotAPI, fake_time: FakeTime) -> AsyncIterator[Bot]:
    bot = make_bot(api.url, fake_time)
    yield bot
    await bot.session.close()


def texts(api: FakeBotAPI) -> list[str | None]:
    return [m.text for m in api.user(CHAT, "Анна").messages]


async def test_429_waits_retry_after_then_delivers_once(
    api: FakeBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    await bot.send_message(CHAT, "привет")
    assert texts(api) == ["привет"]
    assert fake_time.waits == [3.0]
    assert [c.outcome for c in api.calls("sendMessage")] == ["error", "ok"]


async def test_5xx_json_is_retried_with_back_off(
    api: FakeBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    api.fail_next("sendMessage", error_code=502, times=3)
    await bot.send_message(CHAT, "привет")
    assert texts(api) == ["привет"]
    assert fake_time.waits == [0.5, 1.0, 2.0]


async def test_an_html_error_page_counts_as_5xx(
    api: FakeBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    api.chaos(1.0, kinds=("5xx_html",), max_streak=2)
    await bot.send_message(CHAT, "привет")
    assert api.chaos_served == [("sendMessage", "5xx_html")] * 2
    assert texts(api) == ["привет"]


async def test_a_dropped_connection_is_retried_and_delivers_once(
    api: FakeBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    api.drop_next("sendMessage", times=2)
    await bot.send_message(CHAT, "привет")
    assert texts(api) == ["привет"]
    assert [c.outcome for c in api.calls("sendMessage")] == ["dropped", "dropped", "ok"]


async def test_a_refused_connection_is_retried_until_the_budget_is_spent(
    fake_time: FakeTime,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = make_bot(f"http://127.0.0.1:{port}", fake_time, budget=10)
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(CHAT, "привет")
    finally:
        await bot.session.close()
    # 0.5 + 1 + 2 + 4 = 7.5 s of waits; the next (5 s) would pass the 10 s budget
    assert fake_time.waits == [0.5, 1.0, 2.0, 4.0]


async def test_a_timeout_of_a_sending_method_is_not_repeated(
    api: FakeBotAPI, fake_time: FakeTime
) -> None:
    bot = make_bot(api.url, fake_time, timeout=1)
    api.chaos(1.0, kinds=("timeout",))
    try:
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.send_message(CHAT, "привет")
    finally:
        await bot.session.close()
    assert texts(api) == ["привет"]  # it did arrive, once
    assert len(api.calls("sendMessage")) == 1 and fake_time.waits == []


async def test_a_timeout_of_an_edit_is_retried_and_a_landed_edit_counts(
    api: FakeBotAPI, fake_time: FakeTime
) -> None:
    bot = make_bot(api.url, fake_time, timeout=1)
    try:
        sent = await bot.send_message(CHAT, "было")
        api.chaos(1.0, kinds=("timeout",), max_streak=1)
        # the edit lands, its reply is lost; the retry hears "message is not modified"
        assert await bot.edit_message_text("стало", chat_id=CHAT, message_id=sent.message_id)
    finally:
        await bot.session.close()
    assert texts(api) == ["стало"]
    assert [c.outcome for c in api.calls("editMessageText")] == ["timed_out", "error"]


async def test_a_timeout_of_a_callback_answer_is_retried_and_a_landed_one_counts(
    api: FakeBotAPI, fake_time: FakeTime
) -> None:
    bot = make_bot(api.url, fake_time, timeout=1)
    anna = api.user(CHAT, "Анна")
    try:
        sent = await bot.send_message(CHAT, "вопрос")
        query_id = await anna.tap_forged(api.message(CHAT, sent.message_id), "x")
        api.chaos(1.0, kinds=("timeout",), max_streak=1)
        assert await bot.answer_callback_query(query_id, text="ok") is True
    finally:
        await bot.session.close()
    assert [a["text"] for a in anna.answers] == ["ok"]
    assert len(api.calls("answerCallbackQuery")) == 2


async def test_a_refusal_is_not_retried(api: FakeBotAPI, bot: Bot, fake_time: FakeTime) -> None:
    api.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(CHAT, "привет")
    assert len(api.calls("sendMessage")) == 1 and fake_time.waits == []


async def test_a_429_longer_than_the_budget_is_raised_at_once(
    api: FakeBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=45)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(CHAT, "привет")
    assert fake_time.waits == [] and texts(api) == []


async def test_an_unreadable_ok_answer_is_not_repeated(fake_time: FakeTime) -> None:
    """`ok: true` that our models cannot read: Telegram did it; a retry would send it twice."""
    calls: list[str] = []

    async def make_request(bot: Bot, method: Any) -> Any:
        calls.append(type(method).__name__)
        raise ClientDecodeError("Failed to deserialize object", ValueError("x"), {"ok": True})

    middleware = RetryMiddleware(30, sleep=fake_time.sleep, monotonic=fake_time.monotonic)
    with pytest.raises(ClientDecodeError):
        await middleware(make_request, Bot(TOKEN), SendMessage(chat_id=CHAT, text="x"))
    assert calls == ["SendMessage"]


def test_classification_of_each_error_class() -> None:
    method = GetMe()
    html = ClientDecodeError("Failed to decode object", ValueError("x"), "<html>502</html>")
    assert classify(html) is Failure.SERVER
    assert classify(TelegramRetryAfter(method, "flood", 3)) is Failure.FLOOD
    assert classify(TelegramBadRequest(method, "Bad Request")) is Failure.FINAL
    assert classify(RuntimeError("boom")) is Failure.FINAL
    timeout = TelegramNetworkError(method, "Request timeout error")
    timeout.__cause__ = TimeoutError()
    assert classify(timeout) is Failure.MAYBE_DONE


async def test_retries_are_logged_with_the_method_never_the_token(
    api: FakeBotAPI, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api.fail_next("sendMessage", error_code=500)
    api.drop_next("sendMessage")
    await bot.send_message(CHAT, "привет")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.retries"]
    assert len(lines) == 2 and all(line.startswith("sendMessage failed") for line in lines)
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


async def test_no_retries_inside_the_context(
    api: FakeBotAPI, bot: Bot, fake_time: FakeTime
) -> None:
    api.fail_next("getMe", error_code=502)
    with no_retries(), pytest.raises(Exception, match="Bad Gateway"):
        await bot(GetMe())
    assert fake_time.waits == []


async def test_create_bot_installs_it_once_with_the_settings(tmp_path: Any) -> None:
    settings = Settings(bot_token=TOKEN, telegram_timeout=7, telegram_retry_seconds=12)
    bot = create_bot(settings)
    again = create_bot(settings, session=bot.session)
    try:
        retries = [m for m in bot.session.middleware if isinstance(m, RetryMiddleware)]
        assert len(retries) == 1 and retries[0].budget == 12
        assert bot.session.timeout == 7 and again.session is bot.session
    finally:
        await bot.session.close()


def test_the_settings_are_read_and_checked() -> None:
    base = {"BOT_TOKEN": TOKEN}
    settings = load_settings({**base, "TELEGRAM_TIMEOUT": "10", "TELEGRAM_RETRY_SECONDS": "0"})
    assert (settings.telegram_timeout, settings.telegram_retry_seconds) == (10, 0)
    assert load_settings(base).telegram_timeout == 30
    with pytest.raises(ConfigError, match="TELEGRAM_TIMEOUT must be a whole number from 1 to 300"):
        load_settings({**base, "TELEGRAM_TIMEOUT": "0"})
    with pytest.raises(ConfigError, match="TELEGRAM_RETRY_SECONDS"):
        load_settings({**base, "TELEGRAM_RETRY_SECONDS": "soon"})


async def test_the_start_up_check_waits_out_an_error_page(api: FakeBotAPI, tmp_path: Any) -> None:
    """The token check tries once per round (its own loop logs and waits): a 502 page or a 429
    from a proxy in front of Telegram is waited out, not a crash."""
    settings = Settings(bot_token=TOKEN, telegram_api_url=api.url)
    bot = create_bot(settings)
    api.chaos(1.0, kinds=("5xx_html",), max_streak=1)
    try:
        await wait_for_telegram(bot, settings)
    finally:
        await bot.session.close()
    assert [c.outcome for c in api.calls("getMe")] == ["error", "ok"]


async def test_a_greeting_whose_answer_is_lost_is_followed_by_the_question(
    harness: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The greeting arrives but its answer times out (not repeated): the first question must still
    come, or the respondent has nothing to tap and must open the link again."""
    payload = await setup_sale(harness, db)
    real = harness.session.make_request
    lost: list[str] = []

    async def greeting_times_out(bot: Bot, method: Any, timeout: int | None = None) -> Any:
        result = await real(bot, method, timeout)  # recorded: it did arrive
        if isinstance(method, SendMessage) and not lost:
            lost.append(method.text)
            raise TelegramNetworkError(method, "Request timeout error") from TimeoutError()
        return result

    monkeypatch.setattr(harness.session, "make_request", greeting_times_out)
    texts = await Respondent(harness).open(payload)
    assert len(texts) == 2 and texts[0] == lost[0] and "Здравствуйте" in texts[0]
    assert "порекомендуете" in texts[1]
