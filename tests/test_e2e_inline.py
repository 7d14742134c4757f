"""End to end, the invitation in one tap on the real `python -m bot` process against the fake Bot
API with inline mode on: the manager records a sale, taps "Send to the client" (the fake types
the query the button carries), picks the card for Anna's chat, Anna taps "Answer 3 questions"
and the survey opens; the chosen card is noted, and the used link is not offered again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.process import Launcher
from tests.harness import TOKEN
from tests.helpers.e2e import BOT_ID, bot_env, invite_manager, record_sale

pytestmark = pytest.mark.e2e  # starts the real bot process


def chosen_chat_query(message: SentMessage) -> str | None:
    for row in message.inline_keyboard:
        for button in row:
            chosen = button.get("switch_inline_query_chosen_chat")
            if chosen is not None:
                assert chosen.get("allow_user_chats") is True
                assert not chosen.get("allow_group_chats") and not chosen.get("allow_channel_chats")
                return str(chosen["query"])
    return None


async def test_the_invitation_reaches_the_client_in_one_tap(
    launcher: Launcher, tmp_path: Path
) -> None:
    async with FakeBotAPI(TOKEN, bot_id=BOT_ID, supports_inline_queries=True) as api:
        env = bot_env(api, tmp_path)
        process = launcher.bot(tmp_path, env)
        await process.start()
        try:
            await api.wait_polling(timeout=60)
            _owner, manager = await invite_manager(api)
            payload, qr = await record_sale(manager, "Анна Смирнова", None, "Кухня")
            assert f"start={payload}" in (qr.text or "")  # the QR picture stays

            queries = [q for m in manager.messages if (q := chosen_chat_query(m))]
            assert queries == [payload]

            query_id = await manager.inline_query(payload)
            answer = await manager.wait_inline_answer(query_id)
            assert answer["is_personal"] is True and answer["cache_time"] == 0
            [result] = answer["results"]

            anna = api.user(5001, "Анна")
            card = await manager.choose(query_id, result["id"], to=anna)
            assert (card.visible_text or "").startswith("Здравствуйте, Анна Смирнова!")
            url = card.url("Ответить на 3 вопроса")
            assert url == f"https://t.me/{api.bot_username}?start={payload}"

            await process.wait_for_log("the invitation was sent", timeout=60)
            await anna.send(f"/start {url.split('?start=', 1)[1]}")
            greeting = await anna.wait_message()
            assert "Это «Ромашка». Пётр просит вас ответить" in (greeting.text or "")
            await anna.wait_message(lambda m: bool(m.inline_keyboard))  # the first question

            # opened by Anna: the link is hers now, and is not offered again
            again = await manager.inline_query(payload)
            assert (await manager.wait_inline_answer(again))["results"] == []
        finally:
            await process.stop()

    database = sqlite3.connect(Path(env["DATABASE_PATH"]))
    try:
        row = database.execute(
            "SELECT invited_at, status FROM surveys WHERE token = ?", (payload[2:],)
        ).fetchone()
    finally:
        database.close()
    assert row[0] is not None and row[1] == "opened"
    log = process.log()
    assert payload[2:] not in log  # the token never reaches the log
    assert "inline mode is off" not in log and "Traceback" not in log, log
