"""Webhook mode, end to end: the real `python -m bot` listens for Telegram's posts.

The fake Bot API plays Telegram: it records setWebhook and posts the queued updates to the bot's
URL with the secret (`deliver_webhook`). The bot answers a post only after handling it, so what
the user got is there as soon as the post returns. One test runs `webhook.serve` in process, to
stop it while a handler is held mid-way.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import webhook
from bot.app import create_bot, create_dispatcher
from bot.clock import system_clock
from scheduler.sender import Sender
from storage import Database
from storage.updates import Incoming, store_updates, unfinished
from tests.conftest import make_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import BotProcess, Launcher
from tests.harness import TOKEN
from tests.helpers.e2e import bot_env as polling_env

OWNER_ID = 111
BOT_ID = int(TOKEN.split(":")[0])
SECRET = "s3cret_Token-for-tests"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN, bot_id=BOT_ID) as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def stopped_listening(port: int) -> None:
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    assert reply.status == 200
            except aiohttp.ClientConnectionError:
                return
            await asyncio.sleep(0.05)


def bot_env(api: FakeBotAPI, tmp_path: Path, port: int | None = None) -> dict[str, str]:
    env = polling_env(api, tmp_path)
    if port is not None:
        env |= {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/webhook",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
    return env


@pytest.mark.e2e
async def test_webhook_mode_handles_updates_with_the_secret_only(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    port = free_port()
    process = launcher.bot(tmp_path, bot_env(api, tmp_path, port))
    await process.start()
    try:
        await process.wait_for_log("webhook mode: listening on 127.0.0.1", timeout=60)
        (call,) = api.calls("setWebhook")
        assert call.params["url"] == f"http://127.0.0.1:{port}/tg/webhook"
        assert call.params["secret_token"] == SECRET
        assert "message" in call.params["allowed_updates"]
        assert "callback_query" in call.params["allowed_updates"]
        assert not call.params.get("drop_pending_updates")

        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/start")
        # a wrong secret, then none at all: refused, and the update is not handled
        assert await api.deliver_webhook(secret_token="wrong") == [401]
        assert await api.deliver_webhook(secret_token="") == [401]
        assert owner.messages == [] and api.pending_updates == 1
        # Telegram's delivery with the secret: handled before the post is answered
        assert await api.deliver_webhook() == [200]
        assert len(owner.messages) == 1
        assert "Вы — владелец бота компании «Ромашка»" in (owner.messages[0].text or "")

        # the next update goes the same way
        await owner.send("/invite")
        assert await api.deliver_webhook() == [200]
        assert "t.me/" in (owner.messages[-1].text or "")

        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert (health.status, await health.text()) == (200, "ok")
            url = f"http://127.0.0.1:{port}/tg/webhook"
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(url, data="not json", headers=headers) as bad:
                assert bad.status == 400
            async with http.get(url) as wrong_method:
                assert wrong_method.status == 405
    finally:
        assert await process.stop() == 0

    assert not api.calls("getUpdates")  # no polling in webhook mode
    assert not api.calls("deleteWebhook")  # Telegram keeps updates while the bot is down
    assert api.webhook_url is not None
    log = process.log()
    assert log.count("Update id=1 is handled") == 1
    assert log.count("a request with a wrong or missing secret refused") == 2
    assert "webhook mode stopped" in log
    assert SECRET not in log and TOKEN not in log
    assert "Traceback" not in log, log


@pytest.mark.e2e
async def test_back_to_polling_removes_the_webhook_and_keeps_the_updates(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    port = free_port()
    process = launcher.bot(tmp_path, bot_env(api, tmp_path, port))
    await process.start()
    await process.wait_for_log("webhook mode: listening", timeout=60)
    assert await process.stop() == 0
    owner = api.user(OWNER_ID, "Ольга")
    await owner.send("/start")  # arrives while the bot is down: Telegram keeps it

    polling = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await polling.start()
    try:
        await api.wait_polling(timeout=60)
        greeting = await owner.wait_message(timeout=30)
        assert "владелец" in (greeting.text or "")
    finally:
        assert await polling.stop() == 0
    (delete,) = api.calls("deleteWebhook")
    assert not delete.params.get("drop_pending_updates")
    assert api.webhook_url is None
    assert "a webhook was set" in polling.log()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"WEBHOOK_URL": "https://bot.example.com/tg"},
            "Configuration error: WEBHOOK_SECRET is required with WEBHOOK_URL",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.com/tg", "WEBHOOK_SECRET": "has spaces in it"},
            "Configuration error: WEBHOOK_SECRET must be 1-256 characters of A-Z",
        ),
        (
            {"WEBHOOK_URL": "http://bot.example.com/tg", "WEBHOOK_SECRET": "abc"},
            "Configuration error: WEBHOOK_URL must be the bot's public https URL",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.com:8080/tg", "WEBHOOK_SECRET": "abc"},
            "Configuration error: WEBHOOK_URL port must be one of 443, 80, 88 or 8443",
        ),
    ],
)
@pytest.mark.e2e
async def test_webhook_configuration_errors_stop_with_one_line(
    tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    env = {
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        **extra,
    }
    process = BotProcess(tmp_path, env)
    await process.start()
    assert await process.wait(timeout=60) == 2
    lines = process.log().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines


@pytest.mark.e2e
async def test_a_port_in_use_is_a_configuration_error(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        process = launcher.bot(tmp_path, bot_env(api, tmp_path, port))
        await process.start()
        assert await process.wait(timeout=60) == 2
    log = process.log()
    assert f"Configuration error: cannot listen on 127.0.0.1:{port}" in log
    assert not api.calls("setWebhook")
    assert "Traceback" not in log, log


@pytest.mark.e2e
async def test_set_webhook_failures_retry_but_a_refused_url_stops(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    # Telegram briefly unavailable: registration is retried and the bot serves.
    port = free_port()
    api.fail_next("setWebhook", error_code=502, description="Bad Gateway")
    process = launcher.bot(tmp_path, bot_env(api, tmp_path, port))
    await process.start()
    try:
        await api.wait_calls("setWebhook", count=2, timeout=30)
        await process.wait_for_log("webhook mode: listening")
    finally:
        assert await process.stop() == 0
    # A URL Telegram refuses: one line, exit 2 (systemd will not restart it in a loop).
    api.fail_next("setWebhook", error_code=400, description="Bad Request: bad webhook")
    process = launcher.bot(tmp_path, bot_env(api, tmp_path, free_port()))
    await process.start()
    assert await process.wait(timeout=60) == 2
    assert "Configuration error: Telegram refused WEBHOOK_URL" in process.log()


async def test_a_stop_finishes_the_update_in_hand_before_the_shutdown(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """In process, to hold a handler mid-way: SIGTERM (here the `stop` event) arrives while an
    update is being handled; the update still gets its reply, and only then do the sender and the
    bot's session close."""
    port = free_port()
    settings = make_settings(
        tmp_path,
        telegram_api_url=api.url,
        webhook_url=f"http://127.0.0.1:{port}/tg/webhook",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    db = Database(settings.database_path)
    await db.open()
    bot = create_bot(settings)
    dp = create_dispatcher(settings, db, Sender(bot, db, system_clock), system_clock)
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold(handler: Any, event: Any, data: dict[str, Any]) -> Any:
        entered.set()
        await release.wait()
        return await handler(event, data)

    dp.update.outer_middleware(hold)
    stop = asyncio.Event()
    server = asyncio.create_task(webhook.serve(dp, bot, settings, stop))
    try:
        await api.wait_calls("setWebhook", timeout=30)
        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/start")
        delivery = asyncio.create_task(api.deliver_webhook())
        await asyncio.wait_for(entered.wait(), 30)
        stop.set()
        await asyncio.wait_for(stopped_listening(port), 30)
        assert not server.done()  # still waiting for the update in hand
        release.set()
        assert await asyncio.wait_for(delivery, 30) == [200]
        await asyncio.wait_for(server, 30)
        assert "владелец" in (owner.messages[0].text or "")
    finally:
        release.set()
        stop.set()
        await asyncio.gather(server, return_exceptions=True)
        await bot.session.close()
        await db.close()


async def test_the_answer_waits_for_the_handler_and_a_redelivery_is_skipped(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """Telegram sends an update again when it was not answered 200: the answer goes only once
    the update is handled, and an update answered before is recognised and not handled twice."""
    port = free_port()
    settings = make_settings(
        tmp_path,
        telegram_api_url=api.url,
        webhook_url=f"http://127.0.0.1:{port}/tg/webhook",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    db = Database(settings.database_path)
    await db.open()
    bot = create_bot(settings)
    dp = create_dispatcher(settings, db, Sender(bot, db, system_clock), system_clock)
    entered, release = asyncio.Event(), asyncio.Event()
    handled: list[int] = []

    async def hold(handler: Any, event: Any, data: dict[str, Any]) -> Any:
        handled.append(event.update_id)
        entered.set()
        await release.wait()
        return await handler(event, data)

    dp.update.outer_middleware(hold)
    stop = asyncio.Event()
    server = asyncio.create_task(webhook.serve(dp, bot, settings, stop))
    try:
        await api.wait_calls("setWebhook", timeout=30)
        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/start")
        update = dict(api._updates[0])
        delivery = asyncio.create_task(api.deliver_webhook())
        await asyncio.wait_for(entered.wait(), 30)
        await asyncio.sleep(0.3)
        assert not delivery.done()  # no answer while the handler works
        release.set()
        assert await asyncio.wait_for(delivery, 30) == [200]
        assert len(owner.messages) == 1
        async with aiohttp.ClientSession() as session:  # Telegram delivers it again
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            url = f"http://127.0.0.1:{port}/tg/webhook"
            async with session.post(url, json=update, headers=headers) as reply:
                assert reply.status == 200
        assert handled == [update["update_id"]] and len(owner.messages) == 1
    finally:
        release.set()
        stop.set()
        await asyncio.gather(server, return_exceptions=True)
        await bot.session.close()
        await db.close()


async def test_updates_long_polling_left_in_its_inbox_are_handled_at_start_up(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """Polling stored an update and confirmed it to Telegram, then stopped before handling it
    (cut short); the bot comes back in webhook mode: Telegram will not send it again, so the
    bot handles it from its inbox before it listens."""
    port = free_port()
    settings = make_settings(
        tmp_path,
        telegram_api_url=api.url,
        webhook_url=f"http://127.0.0.1:{port}/tg/webhook",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    db = Database(settings.database_path)
    await db.open()
    owner = api.user(OWNER_ID, "Ольга")
    await owner.send("/start")
    update = api._updates.pop(0)  # confirmed to Telegram: never posted to the webhook
    await store_updates(
        db, [Incoming(update["update_id"], json.dumps(update), False)], datetime.now(UTC)
    )
    bot = create_bot(settings)
    dp = create_dispatcher(settings, db, Sender(bot, db, system_clock), system_clock)
    stop = asyncio.Event()
    server = asyncio.create_task(webhook.serve(dp, bot, settings, stop))
    try:
        await owner.wait_message(lambda m: "владелец" in (m.text or ""), timeout=30)
        await api.wait_calls("setWebhook", timeout=30)
        assert await unfinished(db) == []  # finished before the webhook was set
        assert len(owner.messages) == 1
    finally:
        stop.set()
        await asyncio.gather(server, return_exceptions=True)
        await bot.session.close()
        await db.close()
