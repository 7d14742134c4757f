"""The CRM connectors in the real process: an owner connects the fake CRM in /crm, the event
address the bot answers is served by the bot's own HTTP server (the webhook server, or the API's
server in long polling), and a won deal posted there becomes a deal whose survey link lands on
the fake CRM's deal."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import pytest

from tests.fakes.amocrm import TOKEN, FakeAmoCRM, contact, post_status
from tests.fakes.bitrix24 import FakeBitrix24, post_event
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.e2e import OWNER_ID
from tests.helpers.e2e import bot_env as polling_env

SECRET = "s3cret_Token-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(api: FakeBotAPI, tmp_path: Path, port: int) -> dict[str, str]:
    """Webhook mode on 127.0.0.1:port (the fake Bot API accepts plain http)."""
    return polling_env(api, tmp_path) | {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/webhook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }


@pytest.mark.e2e
async def test_a_bitrix24_deal_reaches_the_running_bot(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    port = free_port()
    process = launcher.bot(tmp_path, bot_env(api, tmp_path, port))
    await process.start()
    async with FakeBitrix24() as fake:
        try:
            await process.wait_for_log("webhook mode: listening on 127.0.0.1", timeout=60)
            owner = api.user(OWNER_ID, "Ольга")
            await owner.send("/crm")
            assert await api.deliver_webhook() == [200]
            menu = await owner.wait_message(lambda m: "CRM" in (m.text or ""))
            await owner.tap(menu, menu.button("Битрикс24"))
            assert await api.deliver_webhook() == [200]
            await owner.wait_message(lambda m: "входящего вебхука" in (m.text or ""))
            await owner.send(fake.url)
            assert await api.deliver_webhook() == [200]
            done = await owner.wait_message(lambda m: "Битрикс24 подключён" in (m.text or ""))
            found = re.search(
                r"http://127\.0\.0\.1:\d+/crm/bitrix24/[A-Za-z0-9_-]+", done.text or ""
            )
            assert found is not None
            address = found.group(0)

            fake.won(42, contact={"NAME": "Иван", "PHONE": [{"VALUE": "+7 916 123-45-67"}]})
            assert (await post_event(address, 42))[0] == 200
            for _ in range(300):
                if fake.comments:
                    break
                await asyncio.sleep(0.1)
            assert len(fake.comments) == 1 and "t.me/" in fake.comments[0][1]
            # The owner is told the deal is theirs until user 7 is matched.
            await owner.wait_message(lambda m: "не сопоставлен" in (m.text or ""), timeout=30)
        finally:
            assert await process.stop() == 0


@pytest.mark.e2e
async def test_an_amocrm_lead_reaches_the_bot_in_long_polling(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    """Long polling: the events come to the API's own server (API_PORT), at API_PUBLIC_URL."""
    port = free_port()
    env = polling_env(api, tmp_path) | {
        "API_PORT": str(port),
        "API_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = launcher.bot(tmp_path, env)
    await process.start()
    async with FakeAmoCRM() as fake:
        try:
            await process.wait_for_log("HTTP API listening", timeout=60)
            owner = api.user(OWNER_ID, "Ольга")
            await owner.send("/crm")
            menu = await owner.wait_message(lambda m: "CRM" in (m.text or ""), timeout=60)
            await owner.tap(menu, menu.button("amoCRM"))
            await owner.wait_message(lambda m: "адрес аккаунта" in (m.text or ""))
            await owner.send(fake.url)
            await owner.wait_message(lambda m: "долгосрочный токен" in (m.text or ""))
            await owner.send(TOKEN)
            done = await owner.wait_message(lambda m: "amoCRM подключена" in (m.text or ""))
            found = re.search(
                rf"http://127\.0\.0\.1:{port}/crm/amocrm/[A-Za-z0-9_-]+", done.text or ""
            )
            assert found is not None

            fake.won(301, contact=contact())
            assert (await post_status(found.group(0), (301, 142)))[0] == 200
            for _ in range(300):
                if fake.notes:
                    break
                await asyncio.sleep(0.1)
            assert [lead for lead, _ in fake.notes] == [301]
            assert "t.me/" in fake.notes[0][1]["params"]["text"]
        finally:
            assert await process.stop() == 0
