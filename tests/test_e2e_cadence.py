"""End to end with the clock moved: a sale recorded on Friday, the real process restarted on
Monday at 09:00 (TEST_CLOCK_START, an environment variable only tests set), and the manager's
morning plan arrives with the call and its outcome buttons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.e2e import bot_env, has, invite_manager, record_sale

pytestmark = pytest.mark.e2e  # starts the real bot process


async def test_next_day_call_arrives_in_the_morning_plan(
    api: FakeBotAPI,
    launcher: Launcher,
    tmp_path: Path,
) -> None:
    friday = {**bot_env(api, tmp_path), "TEST_CLOCK_START": "2026-11-20T10:00:00+03:00"}
    process = launcher.bot(tmp_path, friday)
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        _, manager = await invite_manager(api)
        link, _ = await record_sale(manager, "Анна Смирнова", "8 916 123-45-67", "Кухня")
        anna = api.user(5001, "Анна")
        await anna.send(f"/start {link}")
        await anna.wait_message(has("Здравствуйте"))
        await manager.send("/week")
        week = await manager.wait_message(has("Ближайшие 7 дней"))
        assert "23.11.2026" in (week.text or "") and "Звонок после покупки: Анна" in (
            week.text or ""
        )
        await api.wait_updates_confirmed()
    finally:
        assert await process.stop() == 0

    monday = {**bot_env(api, tmp_path), "TEST_CLOCK_START": "2026-11-23T09:00:05+03:00"}
    process = launcher.bot(tmp_path, monday)
    await process.start()
    try:
        plan = await manager.wait_message(has("План на 23.11.2026"), timeout=60)
        assert "1 дело" in (plan.text or "")
        assert "📞 Анна Смирнова, Кухня" in (plan.text or "")
        await manager.tap(plan, plan.button("Звонок после покупки"))
        card = await manager.wait_edit(plan)
        assert "Спросите, пользуется ли уже покупкой" in (card.text or "")
        await manager.tap(card, card.button("Ещё не пользуется"))
        menu = await manager.wait_edit(plan)
        await manager.tap(menu, menu.button("Через 3 дня"))
        answer = await manager.wait_answer()
        assert answer.get("text") == "Перезвоните 27.11.2026: задача в плане."
        back = await manager.wait_edit(plan)
        assert "На сегодня дел нет" in (back.text or "")
        # the plan came once: no second plan message in the chat
        plans = [m for m in manager.messages if "План на 23.11.2026" in (m.text or "")]
        assert len(plans) == 1
    finally:
        assert await process.stop() == 0
    assert "Traceback" not in process.log()
