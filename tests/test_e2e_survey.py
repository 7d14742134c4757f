"""End to end, the heart of the product, on the real `python -m bot` process:

manager records a sale → the client opens the link → answers three questions → the manager and
the owner get the alert → the manager takes the case; the process is killed in the middle of
another person's survey, restarted, and that person finishes; a second account is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.chat import assert_one_live_set, bot_messages, chat_of
from tests.helpers.e2e import MANAGER_ID, bot_env, has, invite_manager, record_sale

pytestmark = pytest.mark.e2e  # starts the real bot process


async def test_sale_survey_alert_crash_and_refusal(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    process = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        owner, manager = await invite_manager(api)

        link, qr = await record_sale(manager, "Анна Смирнова", "8 916 123-45-67", "Кухня")
        assert qr.files["photo"].startswith(b"\x89PNG")
        assert f"start={link}" in (qr.text or "")

        anna = api.user(5001, "Анна")
        await anna.send(f"/start {link}")
        greeting = await anna.wait_message()
        assert "Это «Ромашка». Пётр просит вас ответить" in (greeting.text or "")
        q1 = await anna.wait_message()
        await anna.tap(q1, q1.button("2"))
        await anna.wait_message(has("Что вас разочаровало?"))
        assert "Ваша оценка: 2 из 10" in (q1.text or "") and q1.buttons() == []
        await anna.send("Привезли не тот цвет фасадов")
        q3 = await anna.wait_message(has("Можно ли связаться"))
        await anna.tap(q3, q3.button("Да"))
        thanks = await anna.wait_message(has("Спасибо, что рассказали"))
        assert "свяжется сотрудник" in (thanks.text or "")

        alerts = {}
        for person in (manager, owner):
            alert = await person.wait_message(has("Недовольный отзыв"))
            alerts[person.id] = alert
            # The alert goes out on the score and is edited as the client answers: wait until
            # it shows the finished survey (the fake applies edits to the message in place).
            await api.wait_until(
                lambda alert=alert: "ещё отвечает" not in (alert.text or ""),
                timeout=30,
                description="the alert to show the finished survey",
            )
            text = alert.text or ""
            assert "оценка 2 из 10" in text and "«Привезли не тот цвет фасадов»" in text
            assert "телефон +7 916 123-45-67" in text
        await manager.tap(alerts[MANAGER_ID], alerts[MANAGER_ID].button("Беру"))
        for person in (manager, owner):
            edited = await person.wait_edit(alerts[person.id])
            assert "В работе, ответственный: Пётр" in (edited.text or "") and edited.buttons() == []

        # Boris starts his survey; the bot is killed half-way
        link2, _ = await record_sale(manager, "Борис Петров", None, "Стол")
        boris = api.user(5002, "Борис")
        await boris.send(f"/start {link2}")
        await boris.wait_message()
        q1 = await boris.wait_message()
        await boris.tap(q1, q1.button("9"))
        await boris.wait_message(has("Что вы цените"))
        await api.wait_updates_confirmed()
    finally:
        await process.kill()
    # The killed process's long poll may still be open on the fake server for a moment: wait
    # until it is gone, so that wait_polling below sees the new process, not the dead one.
    await api.wait_until(lambda: api.active_polls == 0, timeout=30, description="old poll gone")

    restarted = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await restarted.start()
    try:
        await api.wait_polling(timeout=60)
        await boris.send("Быстро и аккуратно")
        q3 = await boris.wait_message(has("Можно ли связаться"), timeout=30)
        await boris.tap(q3, q3.button("Нет"))
        assert "Спасибо за высокую оценку" in ((await boris.wait_message()).text or "")

        intruder = api.user(5003, "Чужой")
        await intruder.send(f"/start {link2}")
        assert "уже открыта с другого аккаунта" in ((await intruder.wait_message()).text or "")

        await owner.send("/nps")
        nps = await owner.wait_message(has("NPS"))
        text = nps.text or ""
        assert "NPS: <b>0</b>" in text  # one promoter, one detractor
        assert "Ответили: 2 из 2 приглашённых (100%)" in text
        (tmp_path / "nps.txt").write_text(text, encoding="utf-8")
    finally:
        assert await restarted.stop() == 0
    log = restarted.log()
    assert "Traceback" not in log, log
    assert "+79161234567" not in log  # no phone numbers in the log


async def test_wrong_inputs_and_typed_answers_leave_a_tidy_chat(
    api: FakeBotAPI, launcher: Launcher, tmp_path: Path
) -> None:
    """On the real process: a file and a word where a score is expected get one short hint
    (quoting the question), a typed "10" counts as a tap, a typed "да" too; the chat ends with
    every question closed and no buttons left to press."""
    process = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        _, manager = await invite_manager(api)
        link, _ = await record_sale(manager, "Анна Смирнова", None, "Кухня")
        anna = api.user(5001, "Анна")
        chat = chat_of(api, anna)
        await anna.send(f"/start {link}")
        q1 = await anna.wait_message(has("порекомендуете"))
        await anna.send_document(b"%PDF-1.4", "invoice.pdf")
        hint = await anna.wait_message(has("Нажмите оценку"))
        assert hint.params.get("reply_parameters", {}).get("message_id") == q1.message_id
        await anna.send("не знаю")  # told once already: no second hint
        await anna.send("10")
        await anna.wait_message(has("2 из 3"))
        assert q1.buttons() == [] and "Ваша оценка: 10 из 10" in (q1.text or "")
        assert not any("Нажмите оценку" in (m.text or "") for m in anna.messages[3:])
        await anna.send("Всё понравилось")
        await anna.wait_message(has("3 из 3"))
        await anna.send("да")
        await anna.wait_message(has("Спасибо"))
        assert assert_one_live_set(chat) is None
        assert len(bot_messages(chat)) == 6  # greeting, three questions, the hint, the thanks
    finally:
        assert await process.stop() == 0
    assert "Traceback" not in process.log()
