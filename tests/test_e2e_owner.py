"""End to end on the real process: a promoter's referral link brings a lead (the manager is told),
and /export sends documents whose rows match the answers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.e2e import bot_env, has, invite_manager, record_sale

pytestmark = pytest.mark.e2e  # starts the real bot process


async def test_referral_brings_a_lead_and_export_matches(
    api: FakeBotAPI,
    launcher: Launcher,
    tmp_path: Path,
) -> None:
    process = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        owner, manager = await invite_manager(api)
        link, _ = await record_sale(manager, "Анна Смирнова", "8 916 123-45-67", "Кухня")

        anna = api.user(5001, "Анна")
        await anna.send(f"/start {link}")
        q1 = await anna.wait_message(has("1 из 3"))
        await anna.tap(q1, q1.button("10"))
        q2 = await anna.wait_message(has("2 из 3"))
        await anna.tap(q2, q2.button("Пропустить"))
        q3 = await anna.wait_message(has("3 из 3"))
        await anna.tap(q3, q3.button("Да"))
        thanks = await anna.wait_message(has("Спасибо за высокую оценку"))
        code = re.search(r"start=r_([A-Z2-9]{6})", thanks.text or "")
        assert code, thanks.text

        boris = api.user(6001, "Борис")
        await boris.send(f"/start r_{code.group(1)}")
        assert "Вас рекомендует Анна" in ((await boris.wait_message()).text or "")
        await boris.send("Борис Петров")
        await boris.wait_message(has("номер телефона"))
        await boris.send_contact("79990001122")
        assert "скоро свяжется" in ((await boris.wait_message()).text or "")
        notice = await manager.wait_message(has("Новый клиент по рекомендации"))
        assert "Борис Петров, +7 999 000-11-22" in (notice.text or "")

        await owner.send("/export")
        ask = await owner.wait_message(lambda m: bool(m.buttons()))
        await owner.tap(ask, ask.button("30 дней"))
        docs = []
        for _ in range(4):
            docs.append(await owner.wait_message(lambda m: m.method.lower() == "senddocument"))
        answers = next(d for d in docs if "answers" in str(d.media) and ".csv" in str(d.media))
        rows = list(
            csv.reader(io.StringIO(answers.files["document"].decode("utf-8-sig")), delimiter=";")
        )
        assert len(rows) == 2  # the header and Anna's one answer
        assert rows[1][1] == "Анна Смирнова" and "10" in rows[1]
        contacts = next(d for d in docs if "contacts" in str(d.media) and ".csv" in str(d.media))
        names = [
            r[0]
            for r in csv.reader(
                io.StringIO(contacts.files["document"].decode("utf-8-sig")), delimiter=";"
            )
        ]
        assert {"Анна Смирнова", "Борис Петров"} <= set(names)
    finally:
        assert await process.stop() == 0
    assert "Traceback" not in process.log()
