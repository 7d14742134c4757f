"""End to end on the real `python -m bot` process: closing the loop on a detractor's case.

A detractor answers → a case and alerts → the manager takes it from /cases → resolves it with a
reason → the client is asked whether the issue is resolved and taps "No" → the case is reopened
and its owner is told.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.process import BotProcess
from tests.helpers.e2e import MANAGER_ID, bot_env, has, invite_manager, record_sale

pytestmark = pytest.mark.e2e  # starts the real bot process


async def alert_says(server: FakeBotAPI, message: SentMessage, text: str) -> None:
    """The alert is edited by the bot while it answers somebody else: wait for the text."""
    await server.wait_until(lambda: text in (message.text or ""), description=repr(text))


async def test_detractor_case_resolved_then_client_says_no(api: FakeBotAPI, tmp_path: Path) -> None:
    # a Friday morning in Moscow: the "was it resolved?" question goes in the person's daytime,
    # so on the machine's own clock this test failed every evening
    env = {**bot_env(api, tmp_path), "TEST_CLOCK_START": "2026-11-20T10:00:00+03:00"}
    process = BotProcess(tmp_path, env)
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        owner, manager = await invite_manager(api)

        # a detractor's answer opens a case and alerts the manager and the owner
        link, _ = await record_sale(manager, "Анна Смирнова", "8 916 123-45-67", "Кухня")
        anna = api.user(5001, "Анна")
        await anna.send(f"/start {link}")
        q1 = await anna.wait_message(has("порекомендуете"))
        await anna.tap(q1, q1.button("2"))
        await anna.wait_message(has("Что вас разочаровало?"))
        await anna.send("Привезли не тот цвет фасадов")
        q3 = await anna.wait_message(has("Можно ли связаться"))
        await anna.tap(q3, q3.button("Да"))
        await anna.wait_message(has("Спасибо, что рассказали"))
        alert = await manager.wait_message(has("Недовольный отзыв"))
        owner_alert = await owner.wait_message(has("Недовольный отзыв"))

        # the manager finds it in /cases, opens the card and takes it
        await manager.send("/cases")
        screen = await manager.wait_message(has("Открытые случаи: 1"))
        assert "№1 · Анна Смирнова · оценка 2 · 0 часов · никто" in (screen.text or "")
        await manager.tap(screen, screen.button("№1"))
        await manager.wait_edit(screen)
        assert "Причина: «Привезли не тот цвет фасадов»" in (screen.text or "")
        await manager.tap(screen, screen.button("Беру"))
        await manager.wait_edit(screen)
        assert "в работе, ответственный: Пётр" in (screen.text or "")
        await alert_says(api, owner_alert, "В работе, ответственный: Пётр")
        assert owner_alert.buttons() == [] and alert.buttons() == []

        # resolved with a reason: every alert says so, and the client is asked
        await manager.tap(screen, screen.button("Решено"))
        await manager.wait_message(has("Как решили проблему"))
        await manager.send("Заменили фасады на нужный цвет")
        done = await manager.wait_message(has("Случай №1 решён"))
        assert "Бот спросит клиента" in (done.text or "")
        card = await manager.wait_message(has("Случай №1</b> · решён (Пётр)"))
        assert "Решение" in (card.text or "") and "Заменили фасады на нужный цвет" in (
            card.text or ""
        )
        await alert_says(api, owner_alert, "✅ Случай решён (Пётр).")
        await alert_says(api, alert, "✅ Случай решён (Пётр).")

        question = await anna.wait_message(has("действительно решена"))
        await anna.tap(question, question.button("Нет"))
        await anna.wait_message(has("Мы снова взялись за вашу проблему"))
        assert question.buttons() == []

        # the case is reopened and its owner is told at once
        notice = await manager.wait_message(has("не решена"))
        assert "Случай №1: Анна Смирнова — снова в работе у вас" in (notice.text or "")
        await manager.tap(notice, notice.button("Открыть случай"))
        await manager.wait_edit(notice)
        assert "Ответ клиента: проблема не решена ❌" in (notice.text or "")
        assert "в работе, ответственный: Пётр" in (notice.text or "")
        await alert_says(api, owner_alert, "В работе, ответственный: Пётр")

        await owner.send("/cases")
        listing = await owner.wait_message(has("Открытые случаи: 1"))
        assert "№1 · Анна Смирнова · оценка 2" in (listing.text or "")
        assert "· Пётр" in (listing.text or "")
    finally:
        assert await process.stop() == 0
    log = process.log()
    assert "Traceback" not in log, log

    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as conn:
        status, owner_id, confirmed, reopened = conn.execute(
            "SELECT status, owner_id, client_confirmed, reopened_count FROM cases"
        ).fetchone()
        actions = [r[0] for r in conn.execute("SELECT action FROM case_events ORDER BY id")]
    assert (status, owner_id, confirmed, reopened) == ("taken", MANAGER_ID, 0, 1)
    assert actions == ["opened", "taken", "resolved", "reopened_by_client"]
