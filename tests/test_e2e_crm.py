"""The CRM connector in the real process (webhook mode): an owner connects the fake Bitrix24 in
/crm, the event address the bot answers is served by the bot's own HTTP server, and a won deal
posted there becomes a deal whose survey link lands on the fake portal's timeline."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.fakes.bitrix24 import FakeBitrix24, post_event
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.test_webhook import OWNER_ID, bot_env, free_port


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
