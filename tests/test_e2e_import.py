"""End to end, as a new company would try it: the real `python -m bot` against the fake Bot API.

The owner sends an XLSX of 1,000 contacts written the way spreadsheet programs write it (shared
strings, date cells); the bot downloads it through getFile, reports exactly what it took and what
it could not (with the rejected rows as a file), and the imported birthdays are in the manager's
week at once and in Monday morning's plan after a restart.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest

from bench.import_files import write_xlsx_rows
from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.process import Launcher
from tests.helpers.e2e import OWNER_ID, bot_env, has, invite_manager

pytestmark = pytest.mark.e2e  # starts the real bot process

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FRIDAY = date(2026, 11, 20)
HEADER = [
    *("ФИО", "Телефон", "Дата рождения", "Ответственный", "Последняя покупка", "Товар"),
    "Комментарий",
]


def birthday(n: int) -> date:
    if n in (10, 11, 12):
        return date(1980 + n, 11, 23)  # Monday
    if n in (20, 21):
        return date(1980 + n, 11, 26)  # Thursday: the heads-up is on Monday
    return date(1970 + n % 30, 1 + n % 10, 1 + n % 28)  # never in the coming weeks


def base(path: Path) -> None:
    table: list[list[str | date | None]] = [list(HEADER)]
    for n in range(1000):
        table.append(
            [
                f"Клиент {n:04d}",
                f"+7 916 {n // 100:03d}-{n % 100:02d}-00",
                birthday(n),
                "Пётр" if n % 2 == 0 else None,
                FRIDAY - timedelta(days=30 + n % 700),
                ("Кухня", "Диван", "Шкаф")[n % 3],
                "просил перезвонить весной" if n % 3 == 0 else None,
            ]
        )
    table += [table[1], table[2], table[3]]  # the same three people again
    table += [[f"Без телефона {n}", "123", None, None, None, None, None] for n in range(5)]
    write_xlsx_rows(path, table)


def text_of(message: SentMessage) -> str:
    return message.visible_text or ""


async def test_an_xlsx_of_1000_contacts_imports_and_birthdays_reach_the_plans(
    api: FakeBotAPI,
    launcher: Launcher,
    tmp_path: Path,
) -> None:
    friday = {**bot_env(api, tmp_path), "TEST_CLOCK_START": "2026-11-20T10:00:00+03:00"}
    process = launcher.bot(tmp_path, friday)
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        owner, manager = await invite_manager(api)

        path = tmp_path / "клиенты.xlsx"
        base(path)
        await owner.send_document(path.read_bytes(), "клиенты.xlsx", mime_type=XLSX)
        progress = await owner.wait_message(has("Получил «клиенты.xlsx»"))
        await api.wait_until(
            lambda: text_of(api.message(OWNER_ID, progress.message_id)).startswith("✅"),
            timeout=60,
            description="the import summary",
        )
        summary = text_of(api.message(OWNER_ID, progress.message_id))
        assert summary.splitlines()[:7] == [
            "✅ База загружена из «клиенты.xlsx»",
            "Строк с данными: 1\u00a0008",
            "• новых контактов: 1\u00a0000",
            "• повторы внутри файла, объединены: 3",
            "• не загружено: 5",
            "   — неверный телефон: 5",
            "Покупок добавлено: 1\u00a0000 · заметок: 334",
        ]
        rejected = await owner.wait_message(lambda m: "document" in m.media)
        assert rejected.media["document"]["file_name"] == "клиенты — не загружено.csv"
        table = list(
            csv.reader(io.StringIO(rejected.files["document"].decode("utf-8-sig")), delimiter=";")
        )
        assert table[0] == ["Строка", *HEADER, "Причина"]
        assert [row[0] for row in table[1:]] == ["1005", "1006", "1007", "1008", "1009"]
        assert {row[-1] for row in table[1:]} == {"неверный телефон «123»"}

        # planned in the transactions that wrote them, before the summary: /week shows them now
        await manager.send("/week")
        week = text_of(await manager.wait_message(has("Ближайшие 7 дней")))
        monday = week.split("23.11.2026", 1)[1].split("24.11.2026", 1)[0]
        assert "🎂 День рождения: Клиент 0010" in monday
        assert "🎂 День рождения: Клиент 0012" in monday
        assert "🎁 Скоро день рождения: Клиент 0020" in monday
        assert "Клиент 0011" not in week  # the owner's: not in the manager's week
        await api.wait_updates_confirmed()
    finally:
        assert await process.stop() == 0
    assert list((tmp_path / "data" / "import-tmp").iterdir()) == []  # the file was deleted

    monday_morning = {**bot_env(api, tmp_path), "TEST_CLOCK_START": "2026-11-23T09:00:05+03:00"}
    process = launcher.bot(tmp_path, monday_morning)
    await process.start()
    try:
        plan = await manager.wait_message(has("План на 23.11.2026"), timeout=60)
        labels = [text for text, _ in plan.buttons()]
        assert "🎂 День рождения: Клиент 0010" in labels
        assert "🎂 День рождения: Клиент 0012" in labels
        assert "🎁 Скоро день рождения: Клиент 0020" in labels
        own = await owner.wait_message(has("План на 23.11.2026"), timeout=60)
        assert "🎂 День рождения: Клиент 0011" in [text for text, _ in own.buttons()]
    finally:
        assert await process.stop() == 0
    log = process.log()
    assert "Traceback" not in log
    assert "+7916" not in log and "916 0" not in log  # phones never reach the log
