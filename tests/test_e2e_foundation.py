"""End to end: the real `python -m bot` process against the fake Bot API server.

Owner → invite → manager, as users would do it, then a restart: everything is still there.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from bot.instance import InstanceLock
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import BotProcess, Launcher
from tests.harness import TOKEN
from tests.helpers.e2e import OWNER_ID, bot_env

pytestmark = pytest.mark.e2e  # starts the real bot process


async def test_owner_invites_manager_and_everything_survives_restart(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    # setting the default command menus fails: logged, start-up goes on
    api.fail_next("setMyCommands", error_code=400, description="Bad Request: oops", times=2)
    process = BotProcess(tmp_path, bot_env(api, tmp_path))
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/start")
        greeting = await owner.wait_message()
        assert "Вы — владелец бота компании «Ромашка»" in (greeting.text or "")

        # the owner's command menu was set for their chat
        owner_menu = api.commands_for({"type": "chat", "chat_id": OWNER_ID})
        assert owner_menu is not None
        assert [c["command"] for c in owner_menu] == [
            *("nps", "managers", "cases", "comments", "referrals", "trend", "export"),
            *("api", "settings", "crm", "import", "sale", "today", "find"),
            *("invite", "help", "cancel"),
        ]

        await owner.send("/invite")
        invite = await owner.wait_message(lambda m: "t.me/" in (m.text or ""))
        match = re.search(r"start=(i_[A-Za-z0-9_-]+)", invite.text or "")
        assert match
        manager = api.user(222, "Пётр")
        await manager.send(f"/start {match.group(1)}")
        welcome = await manager.wait_message()
        assert "зарегистрированы как менеджер" in (welcome.text or "")
        note = await owner.wait_message()
        assert note.text == "По приглашению зарегистрирован новый менеджер: Пётр."

        stranger = api.user(333, "Гость", language_code="en")
        await stranger.send(f"/start {match.group(1)}")
        refusal = await stranger.wait_message()
        assert "This invite link does not work" in (refusal.text or "")
        await api.wait_updates_confirmed()
    finally:
        assert await process.stop() == 0

    # a restart: the database keeps the manager, the invite stays used
    await api.wait_until(lambda: api.active_polls == 0, timeout=30, description="old poll gone")
    restarted = BotProcess(tmp_path, bot_env(api, tmp_path))
    await restarted.start()
    try:
        await api.wait_polling(timeout=60)
        await owner.send("/managers")
        listing = await owner.wait_message()
        assert "<b>Пётр</b>" in (listing.text or "") and "сделок 0" in (listing.text or "")
        assert listing.buttons()[4][0] == "🚫 Отключить: Пётр"

        await manager.send("/help")
        assert "Вы — менеджер компании «Ромашка»" in ((await manager.wait_message()).text or "")
        manager_menu = api.commands_for({"type": "chat", "chat_id": 222})
        assert manager_menu is not None
        assert [c["command"] for c in manager_menu] == [
            *("sale", "today", "week", "find", "cases", "import", "help", "cancel"),
        ]

        # the owner removes the manager's access with the button
        await owner.tap(listing, listing.button("Пётр"))
        edited = await owner.wait_edit(listing)
        assert "<b>Пётр</b> (доступ отключён)" in (edited.text or "")
        assert "доступ менеджера" in ((await manager.wait_message()).text or "")
        await manager.send("/help")
        assert "откройте ссылку" in ((await manager.wait_message()).text or "")
    finally:
        assert await restarted.stop() == 0
    log = process.log()
    assert "could not set the default command menu" in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert "Traceback" not in log, log


async def test_refused_token_and_unreachable_api(api: FakeBotAPI, tmp_path: Path) -> None:
    wrong = {**bot_env(api, tmp_path), "BOT_TOKEN": "123456789:" + "B" * 35}
    process = BotProcess(tmp_path, wrong)
    await process.start()
    assert await process.wait(timeout=60) == 2
    assert "BOT_TOKEN was refused by Telegram (401 Unauthorized)" in process.log()
    assert "Traceback" not in process.log()
    # an API that does not answer yet: logged and retried, no traceback
    down = {**bot_env(api, tmp_path), "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    process = BotProcess(tmp_path, down)
    await process.start()
    await process.wait_for_log("cannot reach the Bot API at http://127.0.0.1:9", timeout=60)
    await process.kill()
    assert "Traceback" not in process.log()


async def test_a_second_instance_on_the_same_database_refuses(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    first = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await first.start()
    try:
        await api.wait_polling(timeout=60)
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        second = launcher.bot(second_dir, bot_env(api, tmp_path))
        await second.start()
        assert await second.wait(timeout=60) == 3
        assert "another bot process" in second.log() and "already running" in second.log()
        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/start")
        assert "владелец" in ((await owner.wait_message()).text or "")  # the first one works on
    finally:
        assert await first.stop() == 0
    # the lock goes with the process (the kernel drops it): a new start works
    again = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await again.start()
    await api.wait_polling(timeout=60)
    await again.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_during_start_up_is_a_clean_exit(
    api: FakeBotAPI, tmp_path: Path, sig: signal.Signals
) -> None:
    """Stopped before polling began (still waiting for the Bot API to answer getMe): exit 0,
    no traceback, and the instance lock is free at once."""
    api.fail_next("getMe", error_code=502, times=1000)
    process = BotProcess(tmp_path, bot_env(api, tmp_path))
    await process.start()
    await process.wait_for_log("cannot reach the Bot API", timeout=60)
    assert await process.signal(sig) == 0, process.log()
    log = process.log()
    assert "Traceback" not in log and "long polling as" not in log, log
    lock = InstanceLock(tmp_path / "data" / "bot.sqlite3")
    lock.acquire()  # AlreadyRunning if it were still held
    lock.release()
