"""End to end, on the real `python -m bot` process against the fake Bot API: the bot asks
Telegram for `my_chat_member` updates, leaves a group it is added to (telling the group and the
person who added it), and a respondent who blocks the bot is marked at once and their manager
told once; unblocking makes them reachable again."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.e2e import OWNER_ID, bot_env, has, invite_manager, record_sale

pytestmark = pytest.mark.e2e  # starts the real bot process

GROUP_ID = -1001234567890


async def unreachable_at(database: Path, *, want_set: bool) -> str | None:
    """The contact's `unreachable_at` once it is set (or cleared), read from the bot's file."""
    for _ in range(600):
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT unreachable_at FROM contacts").fetchone()
        if (row[0] is not None) == want_set:
            return row[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"unreachable_at stayed {row[0]!r}")


async def test_groups_are_left_and_blocks_are_seen_at_once(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    env = bot_env(api, tmp_path)
    process = launcher.bot(tmp_path, env)
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        assert "my_chat_member" in api.calls("getUpdates")[-1].params["allowed_updates"]

        owner, manager = await invite_manager(api)
        await owner.add_bot_to_group(GROUP_ID, "Отдел продаж", kind="supergroup")
        told = await owner.wait_message(has("Вы добавили меня в чат «Отдел продаж»"))
        assert told.buttons() == []
        assert GROUP_ID not in api.bot_in_groups
        in_group = [m for m in api.sent if m.chat_id == GROUP_ID]
        assert [m.visible_text for m in in_group] == [
            "Я работаю только в личных сообщениях, поэтому выхожу из этого чата. "
            f"Напишите мне напрямую: @{api.bot_username}"
        ]
        assert [c.chat_id for c in api.calls("leaveChat")] == [GROUP_ID]

        link, _ = await record_sale(manager, "Анна Смирнова", None, "Кухня")
        anna = api.user(5001, "Анна")
        await anna.send(f"/start {link}")
        await anna.wait_message(has("Пётр просит вас ответить"))
        await anna.wait_message(has("1 из 3"))  # blocked after the question, not during it
        await anna.block_bot()
        database = Path(env["DATABASE_PATH"])
        assert await unreachable_at(database, want_set=True)
        # the scheduler's next tick (once a minute) brings the manager one notice
        notice = await manager.wait_message(has("бот больше не может писать"), timeout=120)
        assert "Анна Смирнова" in (notice.text or "")
        await anna.unblock_bot()
        assert await unreachable_at(database, want_set=False) is None
        await api.wait_updates_confirmed()
    finally:
        assert await process.stop() == 0
    log = process.log()
    assert "Traceback" not in log, log
    notices = [m for m in manager.messages if "бот больше не может писать" in (m.text or "")]
    assert len(notices) == 1
    assert OWNER_ID in api.users
