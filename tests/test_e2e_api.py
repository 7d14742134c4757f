"""The HTTP API in the real process, long polling: served on API_PORT only when it is set; an
owner makes a token in the chat, a CRM posts a deal with it, and the client answers the survey
link the API gave. A port in use is a configuration error, like WEBHOOK_PORT's."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.e2e import OWNER_ID, bot_env, has


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e
async def test_a_crm_posts_a_deal_and_the_client_answers(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    port = free_port()
    env = bot_env(api, tmp_path) | {"API_PORT": str(port), "API_LISTEN": "127.0.0.1"}
    process = launcher.bot(tmp_path, env)
    await process.start()
    secret = ""
    try:
        await process.wait_for_log(f"HTTP API listening on 127.0.0.1:{port}", timeout=60)
        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/api")
        menu = await owner.wait_message(has("HTTP API"))
        await owner.tap(menu, menu.button("Токен для сделок"))
        shown = await owner.wait_message(has("Скопируйте его сейчас"))
        found = re.search(r"fb_[A-Za-z0-9_-]+", shown.text or "")
        assert found is not None
        secret = found.group(0)
        url = f"http://127.0.0.1:{port}/api/v1"
        deal = {
            "external_id": "CRM-7",
            "person": {"name": "Анна Петрова", "phone": "+7 916 555-44-33"},
            "product": "Диван",
            "date": "2026-11-01",
        }
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {secret}"}
            async with http.post(f"{url}/deals", json=deal, headers=headers) as r:
                assert r.status == 201, await r.text()
                created = await r.json()
            async with http.get(created["survey"]["qr_url"]) as qr:
                assert qr.status == 200 and (await qr.read()).startswith(b"\x89PNG")
            async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
        client = api.user(5_000_001, "Анна")
        payload = created["survey"]["link"].split("start=", 1)[1]
        await client.send(f"/start {payload}")
        question = await client.wait_message(has("10"))
        assert question.buttons()
    finally:
        assert await process.stop() == 0
    log = process.log()
    assert "token 'deals-1'" in log and secret and secret not in log
    assert "Traceback" not in log, log


@pytest.mark.e2e
async def test_without_api_port_nothing_listens_and_a_taken_port_stops_the_bot(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    process = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await process.start()
    try:
        await api.wait_polling(timeout=60)
    finally:
        assert await process.stop() == 0
    assert "HTTP API listening" not in process.log()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        again = launcher.bot(tmp_path, bot_env(api, tmp_path) | {"API_PORT": str(port)})
        await again.start()
        assert await again.wait(timeout=60) == 2
    assert f"cannot listen on 127.0.0.1:{port} (API_LISTEN, API_PORT)" in again.log()
