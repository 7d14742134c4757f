"""/trend and /export as the owner sees them: the chart photo and its caption, the four files.

Expected figures are computed here from the answers each test creates (local months with zoneinfo,
NPS with Decimal rounding), independently of storage/stats.py and storage/reports.py.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import itertools
import json
import logging
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from aiogram import Bot
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import BufferedInputFile, InputFile

import handlers.reports
import storage.reports
import views.exports
from bot.app import create_bot
from domain.settings import Settings
from handlers.imports import tell_cut_short
from handlers.reports import export_jobs
from storage import Database
from storage.import_runs import unfinished_runs
from storage.reports import iter_answers, iter_contacts
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from storage.surveys import open_survey, record_consent, record_phone, record_reason, record_score
from tests.conftest import OWNER_ID, make_settings
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, Harness, as_message, button_data, buttons
from views.chart import LABEL_GAP, Y_MAX, Y_MIN, TrendChart, label_positions
from views.exports import fit_for_upload

MANAGERS = {222: "Пётр Иванов", 223: "Мария Котова"}
STRANGER_ID = 9999
MSK = ZoneInfo("Europe/Moscow")
RU_MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август")
RU_MONTHS += ("сентябрь", "октябрь", "ноябрь", "декабрь")
_ids = itertools.count(1)


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """As in conftest, with the time zone a test may choose by parametrizing `settings`."""
    return make_settings(tmp_path, timezone=ZoneInfo(getattr(request, "param", "Europe/Moscow")))


@dataclass
class Uploads:
    """What Telegram received: each uploaded file's bytes by file name, read at request time."""

    files: dict[str, bytes]
    gate: asyncio.Event | None = None  # when set up, SendDocument waits for it
    reached: asyncio.Event | None = None


@pytest.fixture
def uploads(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Uploads:
    seen = Uploads(files={})
    original = harness.session.make_request

    async def make_request(
        bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, SendDocument) and isinstance(method.document, InputFile):
            if seen.reached is not None:
                seen.reached.set()
            if seen.gate is not None:
                await seen.gate.wait()
            data = b"".join([chunk async for chunk in method.document.read(bot)])
            seen.files[method.document.filename or ""] = data
        return await original(bot, method, timeout)

    monkeypatch.setattr(harness.session, "make_request", make_request)
    return seen


@pytest.fixture
def charts(monkeypatch: pytest.MonkeyPatch) -> list[TrendChart]:
    """The data each rendered chart was drawn from (the real renderer still runs)."""
    drawn: list[TrendChart] = []
    render = handlers.reports.render_trend

    def spy(chart: TrendChart) -> bytes:
        drawn.append(chart)
        return render(chart)

    monkeypatch.setattr(handlers.reports, "render_trend", spy)
    return drawn


# ---- data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    at: datetime  # when the score was given (UTC)
    score: int
    kind: str = "client"
    manager: int = 222


async def add_managers(db: Database, now: datetime) -> None:
    for user_id, name in MANAGERS.items():
        invite = await create_invite(db, OWNER_ID, now)
        await redeem_invite(db, invite.token, user_id, name, None, "ru", now)


async def sale(
    db: Database,
    *,
    at: datetime,
    kind: str = "client",
    manager: int = 222,
    name: str | None = None,
    org: str | None = None,
    phone: str | None = None,
    description: str = "Кухонный гарнитур",
) -> str:
    n = next(_ids)
    result = await record_sale(
        db,
        SaleInput(
            idem_key=f"r{n}",
            manager_id=manager,
            kind=kind,
            full_name=name or f"Контакт {n}",
            organization=org,
            phone=phone,
            contact_tg_id=None,
            birthday=None,
            description=description,
            deal_date=(at - timedelta(days=2)).astimezone(MSK).date(),
        ),
        at - timedelta(days=2),
    )
    return result.survey_token


async def answer(
    db: Database,
    a: Answer,
    *,
    name: str | None = None,
    org: str | None = None,
    phone: str | None = None,
    reason: str | None = None,
    consent: bool | None = None,
) -> int:
    """A sale and its survey answered through the production storage calls; the survey id."""
    token = await sale(db, at=a.at, kind=a.kind, manager=a.manager, name=name, org=org, phone=phone)
    tg_id = 70_000 + next(_ids)
    _, survey = await open_survey(db, token, tg_id, "ru", a.at - timedelta(hours=1))
    assert survey is not None
    assert await record_score(db, survey.id, tg_id, a.score, a.at)
    if reason is not None or consent is not None:
        await record_reason(db, survey.id, tg_id, reason, a.at + timedelta(minutes=1))
    if consent is not None:
        await record_consent(db, survey.id, tg_id, consent, a.at + timedelta(minutes=2))
        if consent and phone is None:
            await record_phone(db, survey.id, tg_id, None, a.at + timedelta(minutes=3))
    return survey.id


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- independent figures ------------------------------------------------------------------------


def expected_nps(scores: list[int]) -> int:
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    exact = Decimal(100 * (promoters - detractors)) / Decimal(len(scores))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))  # halves away from zero


def signed(n: int) -> str:
    return f"{n:+d}" if n else "0"


def window(now: datetime, tz: ZoneInfo) -> list[tuple[int, int]]:
    local = now.astimezone(tz)
    months = []
    year, month = local.year, local.month
    for _ in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def by_month(answers: list[Answer], tz: ZoneInfo, now: datetime) -> dict[tuple[int, int], list]:
    months = window(now, tz)
    out: dict[tuple[int, int], list[Answer]] = {m: [] for m in months}
    for a in answers:
        local = a.at.astimezone(tz)
        if (local.year, local.month) in out:
            out[(local.year, local.month)].append(a)
    return out


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def photos(harness: Harness, chat_id: int = OWNER_ID) -> list[SendPhoto]:
    return [
        r for r in harness.session.requests if isinstance(r, SendPhoto) and r.chat_id == chat_id
    ]


def documents(harness: Harness) -> list[SendDocument]:
    return [r for r in harness.session.requests if isinstance(r, SendDocument)]


def owner(harness: Harness, lang: str = "ru") -> Any:
    return harness.user(OWNER_ID, "Ольга", lang=lang)


# ---- /trend -------------------------------------------------------------------------------------


async def test_trend_photo_caption_and_lines_match_the_answers(
    harness: Harness, db: Database, charts: list[TrendChart]
) -> None:
    now = harness.clock()
    await add_managers(db, now - timedelta(days=400))
    plan = [  # (days before now, score, kind, manager)
        (0, 10, "client", 222),
        (1, 9, "client", 223),
        (2, 3, "client", 222),
        (3, 8, "supplier", 223),
        (5, 10, "supplier", 222),
        (25, 6, "client", 222),
        (31, 9, "client", 223),
        (40, 2, "contractor", 222),
        (47, 10, "client", 222),
        (75, 7, "supplier", 223),
        (100, 10, "client", 222),
        (101, 0, "client", 223),
        (160, 9, "contractor", 222),
        (220, 5, "client", 223),
        (280, 9, "client", 222),
        (330, 10, "client", 222),
        (336, 4, "supplier", 223),
        (345, 10, "client", 222),  # 2025-12-10: the first month of the window
        (370, 10, "client", 222),  # 2025-11-15: a month too old, not on the chart
    ]
    answers = [Answer(now - timedelta(days=d, hours=3), s, k, m) for d, s, k, m in plan]
    for a in answers:
        await answer(db, a)
    await sale(db, at=now - timedelta(days=3))  # a link nobody answered does not count

    sent = await harness.send(owner(harness), "/trend")
    photo = next(r for r in sent if isinstance(r, SendPhoto))
    assert isinstance(photo.photo, BufferedInputFile)
    assert png_size(photo.photo.data) == (1000, 700)
    assert photo.photo.filename == "nps-trend-2026-11-20.png"

    months = by_month(answers, MSK, now)
    scores = [a.score for month in months.values() for a in month]
    filled = [m for m, rows in months.items() if rows]
    first, last = filled[0], filled[-1]
    assert (first, last) == ((2025, 12), (2026, 11))

    def month_name(m: tuple[int, int]) -> str:
        return f"{RU_MONTHS[m[1] - 1]} {m[0]}"

    last_scores = [a.score for a in months[last]]
    first_scores = [a.score for a in months[first]]
    assert photo.caption == (
        f"📈 NPS за 12 месяцев: {signed(expected_nps(scores))} (ответов {len(scores)}). "
        f"{month_name(last).capitalize()}: {signed(expected_nps(last_scores))} "
        f"(ответов {len(last_scores)}); {month_name(first)}: "
        f"{signed(expected_nps(first_scores))} (ответов {len(first_scores)})."
    )

    # the lines drawn: one per kind with answers, a point (and its count) per month with answers
    chart = charts[-1]
    assert chart.title == "NPS по месяцам — Ромашка"
    assert chart.months[0] == "дек\n25" and chart.months[-1] == "ноя\n26"
    assert [s.key for s in chart.series] == ["client", "supplier", "contractor"]
    for series in chart.series:
        rows = [[a for a in month if a.kind == series.key] for month in months.values()]
        assert series.answers == tuple(len(r) for r in rows)
        assert series.nps == tuple(expected_nps([a.score for a in r]) if r else None for r in rows)
        assert series.label.endswith(f"({sum(len(r) for r in rows)})")
    assert chart.series[0].label.startswith("Клиенты")


async def test_trend_months_split_at_local_midnight_in_moscow(
    harness: Harness, db: Database, charts: list[TrendChart]
) -> None:
    await add_managers(db, utc(2025, 1, 1))
    edges = [
        Answer(utc(2025, 11, 30, 20, 59, 59), 10),  # 23:59:59 on 30 Nov 2025: outside the window
        Answer(utc(2025, 11, 30, 21, 0, 0), 0),  # 00:00 on 1 Dec 2025: the first month
        Answer(utc(2026, 10, 31, 20, 59, 59), 9),  # 23:59:59 on 31 Oct: October
        Answer(utc(2026, 10, 31, 21, 0, 0), 3),  # 00:00 on 1 Nov: November
        Answer(utc(2026, 11, 20, 6, 59, 59), 10),  # a second ago
    ]
    for a in edges:
        await answer(db, a)
    await harness.send(owner(harness), "/trend")
    (client,) = charts[-1].series
    assert client.answers == (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2)
    assert client.nps == (-100, *[None] * 9, 100, 0)
    assert photos(harness)[-1].caption == (
        "📈 NPS за 12 месяцев: 0 (ответов 4). Ноябрь 2026: 0 (ответов 2); "
        "декабрь 2025: -100 (ответов 1)."
    )


@pytest.mark.parametrize("settings", ["Europe/Berlin"], indirect=True)
async def test_trend_months_follow_summer_and_winter_time(
    harness: Harness, db: Database, charts: list[TrendChart]
) -> None:
    """Berlin is UTC+2 in April and UTC+1 in November: no single offset splits both right."""
    await add_managers(db, utc(2025, 1, 1))
    edges = [
        Answer(utc(2026, 3, 31, 21, 59, 59), 10, "supplier"),  # 23:59:59 CEST, 31 March
        Answer(utc(2026, 3, 31, 22, 0, 0), 0, "supplier"),  # 00:00 CEST, 1 April
        Answer(utc(2026, 10, 31, 22, 59, 59), 9, "supplier"),  # 23:59:59 CET, 31 October
        Answer(utc(2026, 10, 31, 23, 0, 0), 2, "supplier"),  # 00:00 CET, 1 November
    ]
    for a in edges:
        await answer(db, a)
    await harness.send(owner(harness), "/trend")
    (supplier,) = charts[-1].series
    expected = by_month(edges, ZoneInfo("Europe/Berlin"), harness.clock())
    assert supplier.answers == tuple(len(v) for v in expected.values())
    month_index = {m: i for i, m in enumerate(expected)}
    for month, score in (
        ((2026, 3), 100),
        ((2026, 4), -100),
        ((2026, 10), 100),
        ((2026, 11), -100),
    ):
        assert supplier.nps[month_index[month]] == score, month
    assert supplier.key == "supplier" and supplier.label == "Поставщики (4)"


async def test_trend_without_answers_says_so_politely(
    harness: Harness, db: Database, charts: list[TrendChart]
) -> None:
    await add_managers(db, utc(2024, 1, 1))
    await sale(db, at=harness.clock() - timedelta(days=2))  # invited, not answered
    await answer(db, Answer(utc(2025, 6, 1), 10))  # answered, but more than a year ago
    sent = await harness.send(owner(harness), "/trend")
    assert [type(r) for r in sent if not isinstance(r, SendMessage)] == []
    (reply,) = [r.text for r in sent if isinstance(r, SendMessage)]
    assert reply.startswith("📈 За последние 12 месяцев ответов на опросы пока нет")
    assert charts == []


async def test_trend_in_english(harness: Harness, db: Database, charts: list[TrendChart]) -> None:
    await add_managers(db, utc(2025, 1, 1))
    await answer(db, Answer(utc(2026, 11, 2, 12), 9))
    await answer(db, Answer(utc(2026, 11, 3, 12), 6, "partner"))
    await harness.send(owner(harness, "en"), "/trend")
    assert photos(harness)[-1].caption == (
        "📈 NPS over 12 months: 0 (answers: 2, all in November 2026)."
    )
    chart = charts[-1]
    assert chart.title == "NPS by month — Ромашка" and chart.months[-1] == "Nov\n26"
    assert [s.label for s in chart.series] == ["Clients (1)", "Partners (1)"]


async def test_trend_and_export_are_for_owners_only(
    harness: Harness, db: Database, uploads: Uploads
) -> None:
    await add_managers(db, utc(2025, 1, 1))
    await answer(db, Answer(utc(2026, 11, 2, 12), 9), name="Анна")
    for user in (harness.user(222, "Пётр"), harness.user(STRANGER_ID, "Чужой")):
        for command in ("/trend", "/export"):
            sent = await harness.send(user, command)
            texts = [r.text for r in sent if isinstance(r, SendMessage)]
            assert texts == [
                "Эта команда вам недоступна. Посмотрите /help — там всё, что я умею для вас."
            ], (user.id, command)
        sent = await harness.tap(user, "xp:30")
        alert = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
        assert alert.text == "Эта кнопка больше не действует." and alert.show_alert
    assert photos(harness, 222) == [] and photos(harness, STRANGER_ID) == []
    assert documents(harness) == [] and uploads.files == {}


# ---- /export ------------------------------------------------------------------------------------

REASON = 'Дверца; скрипит "сильно"\nи закрывается через раз'
INJECTION = '=HYPERLINK("http://example.invalid","жми")'
ANSWER_HEADER = [
    "Дата ответа",
    "Имя",
    "Организация",
    "Кто",
    "Менеджер",
    "Сделка",
    "Дата сделки",
    "Оценка",
    "Категория",
    "Что повлияло на оценку",
    "Согласие на связь",
    "Телефон",
    "Опрос создан",
    "Опрос открыт",
]
CONTACT_HEADER = [
    "Имя",
    "Кто",
    "Организация",
    "Телефон",
    "День рождения",
    "Менеджер",
    "Последняя сделка",
    "Сделок",
    "Последняя оценка",
    "Согласие на связь",
    "Отписался",
    "Недоступен в Telegram",
    "Добавлен",
]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM: Excel would garble the Cyrillic"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def read_xlsx(data: bytes) -> tuple[Any, list[list[str]]]:
    """The sheet, and its rows as the CSV shows them (dates by each cell's own format)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active

    def text(cell: Any) -> str:
        if cell.value is None:
            return ""
        if cell.is_date:
            assert cell.number_format in ("DD.MM.YYYY", "DD.MM.YYYY HH:MM"), cell.number_format
            timed = "HH:MM" in cell.number_format
            return cell.value.strftime("%d.%m.%Y %H:%M" if timed else "%d.%m.%Y")
        return str(cell.value)

    return sheet, [[text(c) for c in row] for row in sheet.iter_rows()]


async def run_export(harness: Harness, label: str = "30 дней", lang: str = "ru") -> list[Any]:
    user = owner(harness, lang)
    (ask,) = [r for r in await harness.send(user, "/export") if isinstance(r, SendMessage)]
    before = len(harness.session.requests)
    await harness.tap(user, button_data(ask, label), as_message(ask, now=harness.clock()))
    await export_jobs(harness.dp).wait_idle()  # the files are made in the background
    return harness.session.requests[before:]


@pytest.fixture
async def export_data(harness: Harness, db: Database) -> dict[str, int]:
    """Answers inside and outside the last 30 days (20.11.2026 is today, 22.10 the first day)."""
    now = harness.clock()
    await add_managers(db, now - timedelta(days=400))
    ids = {
        "anna": await answer(
            db,
            Answer(now - timedelta(days=3), 10),
            name="Анна Смирнова",
            org="ООО «Берёзка»",
            phone="+79161234567",
            reason=REASON,
            consent=True,
        ),
        "boris": await answer(
            db,
            Answer(now - timedelta(days=5), 3, "supplier", 223),
            name="Борис Петров",
            phone="+79035550000",
            reason=INJECTION,
            consent=False,
        ),
        "vera": await answer(db, Answer(now - timedelta(days=1), 8, "contractor"), name="Вера"),
        "grisha": await answer(
            db,
            Answer(now - timedelta(days=7), 6),
            name="Григорий Забытый",
            org="ИП Забытый",
            phone="+79260001122",
            reason="Позвоните мне вечером",
            consent=True,
        ),
        "first_day": await answer(db, Answer(utc(2026, 10, 21, 21, 0, 0), 9), name="Первый День"),
        "day_before": await answer(db, Answer(utc(2026, 10, 21, 20, 59, 59), 7), name="Накануне"),
        "old": await answer(db, Answer(now - timedelta(days=200), 1), name="Давний"),
    }
    await sale(db, at=now - timedelta(days=1), name="Без ответа")
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE contacts SET forgotten_at = ? WHERE full_name = 'Григорий Забытый'",
            ("2026-11-19 10:00:00",),
        )
    return ids


async def test_export_sends_four_files_whose_rows_match_the_answers(
    harness: Harness, db: Database, uploads: Uploads, export_data: dict[str, int]
) -> None:
    sent = await run_export(harness)
    edits = [r.text for r in sent if isinstance(r, EditMessageText)]
    assert edits[0] == "⏳ Готовлю выгрузку за 30 дней (22.10.2026 – 20.11.2026)…"
    assert edits[-1].startswith(
        "✅ Выгрузка за 30 дней (22.10.2026 – 20.11.2026) готова: ответов 5, контактов 7."
    )
    docs = documents(harness)
    names = [d.document.filename for d in docs]
    assert names == [
        "answers-2026-11-20.csv",
        "answers-2026-11-20.xlsx",
        "contacts-2026-11-20.csv",
        "contacts-2026-11-20.xlsx",
    ]
    assert all(d.chat_id == OWNER_ID for d in docs)
    assert docs[0].caption == (
        "Ответы за 30 дней (22.10.2026 – 20.11.2026): 5. CSV: UTF-8, разделитель «;» — "
        "откроется в Excel по двойному щелчку."
    )
    assert docs[1].caption.endswith(": 5. XLSX для Excel.")
    assert docs[2].caption.startswith("Контакты (все, кроме удалённых по просьбе): 7. CSV")

    rows = read_csv(uploads.files["answers-2026-11-20.csv"])
    assert rows[0] == ANSWER_HEADER
    by_name = {r[1]: r for r in rows[1:]}
    assert len(rows) - 1 == 5
    assert set(by_name) == {
        "Анна Смирнова",
        "Борис Петров",
        "Вера",
        "данные удалены",
        "Первый День",
    }
    assert [r[0] for r in rows[1:]] == sorted(
        (r[0] for r in rows[1:]), key=lambda s: datetime.strptime(s, "%d.%m.%Y %H:%M")
    )

    anna = dict(zip(ANSWER_HEADER, by_name["Анна Смирнова"], strict=True))
    assert anna == {
        "Дата ответа": "17.11.2026 10:00",
        "Имя": "Анна Смирнова",
        "Организация": "ООО «Берёзка»",
        "Кто": "Клиент",
        "Менеджер": "Пётр Иванов",
        "Сделка": "Кухонный гарнитур",
        "Дата сделки": "15.11.2026",
        "Оценка": "10",
        "Категория": "промоутер",
        "Что повлияло на оценку": REASON,
        "Согласие на связь": "да",
        "Телефон": "+7 916 123-45-67",
        "Опрос создан": "15.11.2026 10:00",
        "Опрос открыт": "17.11.2026 09:00",
    }
    boris = dict(zip(ANSWER_HEADER, by_name["Борис Петров"], strict=True))
    assert (boris["Кто"], boris["Менеджер"], boris["Оценка"], boris["Категория"]) == (
        "Поставщик",
        "Мария Котова",
        "3",
        "критик",
    )
    assert boris["Согласие на связь"] == "нет" and boris["Телефон"] == ""  # the phone is known
    assert boris["Что повлияло на оценку"] == "'" + INJECTION  # kept as text by Excel
    vera = dict(zip(ANSWER_HEADER, by_name["Вера"], strict=True))
    assert (vera["Согласие на связь"], vera["Телефон"], vera["Что повлияло на оценку"]) == (
        "",
        "",
        "",
    )
    grisha = dict(zip(ANSWER_HEADER, by_name["данные удалены"], strict=True))
    assert grisha["Оценка"] == "6" and grisha["Категория"] == "критик"
    assert grisha["Согласие на связь"] == "да"
    for field in ("Организация", "Телефон", "Что повлияло на оценку", "Сделка"):
        assert grisha[field] == "", field
    assert by_name["Первый День"][0] == "22.10.2026 00:00"

    # the XLSX has the same rows, a bold frozen header and typed cells
    sheet, xrows = read_xlsx(uploads.files["answers-2026-11-20.xlsx"])
    assert xrows[0] == ANSWER_HEADER
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["J"].width >= 40  # the reason column is wide
    expected = [[*r[:9], r[9].removeprefix("'"), *r[10:]] for r in rows[1:]]
    assert xrows[1:] == expected
    xanna = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "Анна Смирнова")
    assert xanna[0].value == datetime(2026, 11, 17, 10, 0) and xanna[0].is_date
    assert xanna[7].value == 10
    xboris = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "Борис Петров")
    assert xboris[9].value == INJECTION and xboris[9].data_type == "s"  # a string, not a formula

    contacts = read_csv(uploads.files["contacts-2026-11-20.csv"])
    assert contacts[0] == CONTACT_HEADER
    names = [r[0] for r in contacts[1:]]
    assert "Григорий Забытый" not in names and len(names) == 7
    assert "Без ответа" in names and "Давний" in names
    anna_c = dict(zip(CONTACT_HEADER, contacts[1 + names.index("Анна Смирнова")], strict=True))
    assert anna_c == {
        "Имя": "Анна Смирнова",
        "Кто": "Клиент",
        "Организация": "ООО «Берёзка»",
        "Телефон": "+7 916 123-45-67",
        "День рождения": "",
        "Менеджер": "Пётр Иванов",
        "Последняя сделка": "15.11.2026",
        "Сделок": "1",
        "Последняя оценка": "10",
        "Согласие на связь": "да",
        "Отписался": "",
        "Недоступен в Telegram": "",
        "Добавлен": "15.11.2026 10:00",
    }
    assert contacts[1 + names.index("Без ответа")][8] == ""  # no score yet
    _, xcontacts = read_xlsx(uploads.files["contacts-2026-11-20.xlsx"])
    assert xcontacts == contacts


@pytest.mark.parametrize(("label", "count"), [("90 дней", 6), ("С начала года", 7)])
async def test_export_other_periods(
    harness: Harness,
    db: Database,
    uploads: Uploads,
    export_data: dict[str, int],
    label: str,
    count: int,
) -> None:
    await run_export(harness, label)
    rows = read_csv(uploads.files["answers-2026-11-20.csv"])
    assert len(rows) - 1 == count
    assert ("Давний" in {r[1] for r in rows}) == (count == 7)


async def test_export_all_time_in_english(
    harness: Harness, db: Database, uploads: Uploads, export_data: dict[str, int]
) -> None:
    sent = await run_export(harness, "All time", "en")
    assert next(r.text for r in sent if isinstance(r, EditMessageText)) == (
        "⏳ Preparing the export for all time…"
    )
    rows = read_csv(uploads.files["answers-2026-11-20.csv"])
    assert rows[0][:3] == ["Answered", "Name", "Organisation"] and len(rows) - 1 == 7
    assert {r[1] for r in rows[1:]} >= {"data erased", "Давний", "Накануне"}
    assert documents(harness)[1].caption == "Answers for all time: 7. XLSX for Excel."


async def test_export_of_an_empty_period_still_has_headers(
    harness: Harness, db: Database, uploads: Uploads
) -> None:
    await add_managers(db, utc(2025, 1, 1))
    await run_export(harness)
    assert read_csv(uploads.files["answers-2026-11-20.csv"]) == [ANSWER_HEADER]
    _, xrows = read_xlsx(uploads.files["answers-2026-11-20.xlsx"])
    assert xrows == [ANSWER_HEADER]


async def test_export_asks_for_the_period_and_refuses_a_forged_one(
    harness: Harness, db: Database, uploads: Uploads
) -> None:
    sent = await harness.send(owner(harness), "/export")
    (ask,) = [r for r in sent if isinstance(r, SendMessage)]
    assert "За какой период выгрузить ответы?" in ask.text
    assert buttons(ask) == [
        ("30 дней", "xp:30"),
        ("90 дней", "xp:90"),
        ("С начала года", "xp:y"),
        ("За всё время", "xp:all"),
    ]
    for forged in ("xp:7", "xp:m2026-11", "xp:"):
        sent = await harness.tap(owner(harness), forged, as_message(ask))
        alert = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
        assert alert.text == "Эта кнопка больше не действует." and alert.show_alert
    assert documents(harness) == []


async def test_second_request_while_export_is_built_is_told_to_wait(
    harness: Harness, db: Database, uploads: Uploads, export_data: dict[str, int]
) -> None:
    uploads.gate, uploads.reached = asyncio.Event(), asyncio.Event()
    user = owner(harness)
    (ask,) = [r for r in await harness.send(user, "/export") if isinstance(r, SendMessage)]
    first = asyncio.create_task(harness.tap(user, "xp:30", as_message(ask, now=harness.clock())))
    await asyncio.wait_for(uploads.reached.wait(), 10)  # the first file is being uploaded

    busy = "⏳ Я ещё готовлю предыдущий отчёт — пришлю его через минуту, подождите, пожалуйста."
    sent = await harness.send(user, "/export")
    assert [r.text for r in sent if isinstance(r, SendMessage)] == [busy]
    sent = await harness.send(user, "/trend")
    assert [r.text for r in sent if isinstance(r, SendMessage)] == [busy]
    sent = await harness.tap(user, "xp:90", as_message(ask, now=harness.clock()))
    alert = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert alert.text == busy and alert.show_alert
    assert photos(harness) == []

    uploads.gate.set()
    await asyncio.wait_for(first, 10)
    await asyncio.wait_for(export_jobs(harness.dp).wait_idle(), 30)
    assert len(documents(harness)) == 4  # the second tap started nothing
    # once it is done, the owner may ask again
    sent = await harness.send(user, "/trend")
    assert [type(r) for r in sent if isinstance(r, SendPhoto)] == [SendPhoto]


async def test_failed_export_frees_the_owner_and_leaves_no_files(
    harness: Harness,
    db: Database,
    uploads: Uploads,
    export_data: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    folders: list[Path] = []
    real_mkdtemp = handlers.reports.tempfile.mkdtemp

    def mkdtemp(prefix: str) -> str:
        folders.append(Path(real_mkdtemp(prefix=prefix, dir=tmp_path)))
        return str(folders[-1])

    monkeypatch.setattr(handlers.reports.tempfile, "mkdtemp", mkdtemp)
    harness.session.fail_next(
        "SendDocument", error_code=400, description="Bad Request: file is empty"
    )
    sent = await run_export(harness)
    assert [r.text for r in sent if isinstance(r, SendMessage)] == [
        "Извините, что-то пошло не так. Попробуйте ещё раз чуть позже."
    ]
    assert len(folders) == 1 and not folders[0].exists()
    sent = await harness.send(owner(harness), "/export")
    assert "За какой период" in next(r.text for r in sent if isinstance(r, SendMessage))


async def test_export_reads_in_chunks_without_gaps_or_repeats(
    harness: Harness, db: Database
) -> None:
    """Keyset paging: answers given in the same second straddle a chunk boundary."""
    await add_managers(db, utc(2025, 1, 1))
    same_second = utc(2026, 11, 10, 12)
    ids = [await answer(db, Answer(same_second, s)) for s in (9, 5, 10, 7, 8)]
    ids.append(await answer(db, Answer(same_second + timedelta(seconds=1), 1)))
    chunks = [
        [r.id for r in chunk] async for chunk in iter_answers(db, None, harness.clock(), chunk=2)
    ]
    assert chunks == [ids[0:2], ids[2:4], ids[4:6]]
    chunks = [
        [r.id for r in c] async for c in iter_answers(db, same_second, harness.clock(), chunk=4)
    ]
    assert chunks == [ids[0:4], ids[4:6]]
    contacts = [[r.id for r in c] async for c in iter_contacts(db, chunk=4)]
    flat = [contact_id for chunk in contacts for contact_id in chunk]
    assert [len(c) for c in contacts] == [4, 2] and flat == sorted(set(flat))


def test_count_labels_of_one_month_do_not_overlap() -> None:
    for values in ([40.0, 41.0, 39.0, 40.0], [-100.0, -100.0, -95.0], [100.0, 100.0], [12.0]):
        heights = label_positions(values)
        ordered = sorted(heights)
        assert all(b - a >= LABEL_GAP - 1e-9 for a, b in itertools.pairwise(ordered)), values
        assert all(Y_MIN < y < Y_MAX for y in heights), values
        # each label stays next to its own point: the order of the points is kept
        assert sorted(range(len(values)), key=lambda k: (values[k], heights[k])) == sorted(
            range(len(values)), key=lambda k: heights[k]
        )
    assert label_positions([12.0]) == [12.0]


def test_files_too_big_for_telegram_are_zipped_or_refused(tmp_path: Path) -> None:
    table = tmp_path / "answers.csv"
    table.write_text("Анна Смирнова;10;Быстро и вежливо\r\n" * 5000, encoding="utf-8-sig")
    size = table.stat().st_size
    assert fit_for_upload(table, limit=size) == table
    packed = fit_for_upload(table, limit=size // 10)
    assert packed is not None and packed.name == "answers.csv.zip"
    with zipfile.ZipFile(packed) as z:
        assert z.read("answers.csv") == table.read_bytes()
    assert fit_for_upload(table, limit=100) is None
    book = tmp_path / "answers.xlsx"
    book.write_bytes(b"PK" + b"x" * 1000)
    assert fit_for_upload(book, limit=1001) is None  # a ZIP already: not packed again


async def test_an_export_cut_short_by_a_crash_is_reported_at_the_next_start(
    harness: Harness,
    db: Database,
    settings: Settings,
    uploads: Uploads,
    export_data: dict[str, int],
) -> None:
    """The process dies while the files are being sent: at the next start the owner's
    "preparing…" message says the export was interrupted and to ask again, once."""
    uploads.gate, uploads.reached = asyncio.Event(), asyncio.Event()
    user = owner(harness)
    (ask,) = [r for r in await harness.send(user, "/export") if isinstance(r, SendMessage)]
    await harness.tap(user, "xp:30", as_message(ask, message_id=77, now=harness.clock()))
    await asyncio.wait_for(uploads.reached.wait(), 10)  # stuck sending the first file
    # "preparing…" then "done, files below" were shown in the tapped message
    assert {e.message_id for e in harness.session.requests if isinstance(e, EditMessageText)} == {
        77
    }

    # The restart: a new bot on the same database runs the start-up hook.
    session = RecordingSession(BOT_USERNAME)
    again = create_bot(settings, session=session)
    await tell_cut_short(again, db, harness.clock)
    (notice,) = session.requests
    assert isinstance(notice, EditMessageText)
    assert (notice.chat_id, notice.message_id) == (OWNER_ID, 77)
    assert notice.text.startswith("⚠️ Выгрузка за 30 дней (22.10.2026 – 20.11.2026) прервалась")
    assert notice.text.endswith("Запросите её ещё раз: /export")
    await tell_cut_short(again, db, harness.clock)  # a second start says nothing more
    assert len(session.requests) == 1

    uploads.gate.set()  # let the abandoned process's job end before the test does
    await asyncio.wait_for(export_jobs(harness.dp).wait_idle(), 30)
    await again.session.close()


async def test_a_finished_or_failed_export_leaves_no_run_to_report(
    harness: Harness, db: Database, uploads: Uploads, export_data: dict[str, int]
) -> None:
    await run_export(harness)
    harness.session.fail_next(
        "SendDocument", error_code=400, description="Bad Request: file is empty"
    )
    await run_export(harness)
    assert await unfinished_runs(db) == []


# ---- the hand-written XLSX writer (views/xlsx_stream.py) read back by openpyxl -------------------


def _table(tmp_path: Path, rows: list[list[Any]]) -> Path:
    from views.exports import Column, TableWriter

    columns = [
        Column("Когда", 17, "datetime"),
        Column("Имя & <фамилия>", 28),
        Column("Оценка", 8, "int"),
        Column("День", 12, "date"),
        Column("Доля", 9),
    ]
    writer = TableWriter(tmp_path, "t", "Ответы", columns, formats=["xlsx"])
    writer.write(rows)
    _, path = writer.close()
    assert path is not None
    return path


def test_written_xlsx_opens_with_header_types_frozen_pane_and_filter(tmp_path: Path) -> None:
    from storage.reports import Local

    serial = float((datetime(2026, 11, 20) - datetime(1899, 12, 30)).days)
    when = Local(serial + 0.5, "20.11.2026 12:00")
    day = Local(serial, "20.11.2026")
    path = _table(
        tmp_path,
        [
            [when, "Анна", 10, day, 0.25],
            [None, "", 0, None, None],  # empty cells stay empty, the row is still there
            [when, "0012", -3, Local(serial - 346, "09.12.2025"), 1e-7],
        ],
    )
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet.title == "Ответы"
    assert [c.value for c in sheet[1]] == ["Когда", "Имя & <фамилия>", "Оценка", "День", "Доля"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E4"
    assert sheet.column_dimensions["B"].width == 28
    a, b, c, d, e = sheet[2]
    assert (a.value, a.is_date, a.number_format) == (
        datetime(2026, 11, 20, 12, 0),
        True,
        "DD.MM.YYYY HH:MM",
    )
    assert (d.value, d.is_date, d.number_format) == (datetime(2026, 11, 20), True, "DD.MM.YYYY")
    assert (b.value, b.data_type) == ("Анна", "s")
    assert (c.value, c.data_type) == (10, "n") and type(c.value) is int
    assert (e.value, e.data_type) == (0.25, "n")
    assert [x.value for x in sheet[3]] == [None, None, 0, None, None]
    a, b, c, d, e = sheet[4]
    assert (b.value, b.data_type) == ("0012", "s")  # digits as text stay text
    assert (c.value, d.value, e.value) == (-3, datetime(2025, 12, 9), 1e-7)
    assert sheet.max_row == 4


def test_written_xlsx_escapes_xml_and_drops_illegal_characters(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    texts = [
        "Tom & Jerry <b>bold</b> > all",
        "He said \"hi\" and 'bye'",
        "]]> <![CDATA[x]]> &amp; &#65;",
        "bell\x07 tab\t vt\x0b ff\x0c esc\x1b nul\x00 end",
        "lines\nand\r\nreturns\r",
        "emoji 🙂 and \u00a0nbsp, \u2028 sep",
        "non-characters \ufffe\uffff end",
    ]
    path = _table(tmp_path, [[None, text, None, None, None] for text in texts])
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                ET.fromstring(z.read(name))  # every part is well-formed XML
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<hyperlink" not in xml
    sheet = openpyxl.load_workbook(path).active
    got = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert got == [
        texts[0],
        texts[1],
        texts[2],
        "bell tab\t vt ff esc nul end",  # what XML 1.0 cannot hold is dropped, tab kept
        "lines\nand\r\nreturns\r",  # carriage returns survive as references
        texts[5],
        "non-characters  end",
    ]


def test_the_illegal_characters_pattern_drops_exactly_what_xml_cannot_hold() -> None:
    """views/exports.py keeps its own pattern (importing it must not load openpyxl): everything
    openpyxl drops, and also U+FFFE, U+FFFF and lone surrogates, which openpyxl lets through
    and which make the sheet XML ill-formed (Excel refuses it). Every BMP code point is checked
    against XML 1.0's Char production."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from views.exports import ILLEGAL_CHARACTERS_RE as ours

    def xml_char(code: int) -> bool:
        return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD

    for code in range(0x10000):
        char = chr(code)
        assert (ours.search(char) is None) == xml_char(code), hex(code)
        if ILLEGAL_CHARACTERS_RE.search(char):
            assert ours.search(char), hex(code)


# ---- XLSX: text stays text, the whole reason, parts, courtesies ----------------------------

TRICKY = [
    '=HYPERLINK("http://example.invalid","жми")',
    "@SUM(A1)",
    "http://example.com",
    "+7 916 123-45-67",
    "0012",
    "-1+2",
    "<r><t>не разметка</t></r>",
]


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


async def test_export_writes_formulas_links_and_digits_as_text(
    harness: Harness, db: Database, uploads: Uploads
) -> None:
    now = harness.clock()
    await add_managers(db, now - timedelta(days=400))
    for i, text in enumerate(TRICKY):
        await answer(db, Answer(now - timedelta(hours=i + 1), 5), name=f"Клиент {i}", reason=text)
    await run_export(harness)
    data = uploads.files["answers-2026-11-20.xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    reasons = {row[1].value: row[9] for row in sheet.iter_rows(min_row=2)}
    for i, text in enumerate(TRICKY):
        cell = reasons[f"Клиент {i}"]
        assert (cell.value, cell.data_type) == (text, "s"), text
    xml = sheet_xml(data)
    assert "<f>" not in xml and "<hyperlink" not in xml
    # the rich-string look-alike was escaped, not copied into the sheet as markup
    assert "&lt;t&gt;не разметка&lt;/t&gt;" in xml
    rows = read_csv(uploads.files["answers-2026-11-20.csv"])
    by_name = {r[1]: r[9] for r in rows[1:]}
    assert [by_name[f"Клиент {i}"] for i in range(len(TRICKY))] == [
        "'" + TRICKY[0],
        "'@SUM(A1)",
        "http://example.com",
        "'+7 916 123-45-67",
        "0012",
        "'-1+2",
        TRICKY[6],
    ]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_export_carries_the_whole_reason(
    harness: Harness, db: Database, uploads: Uploads
) -> None:
    """CSV has every character; an XLSX cell holds 32,767 UTF-16 units, so above that the cell
    ends with a mark that says it was cut and how long the answer is."""
    now = harness.clock()
    await add_managers(db, now - timedelta(days=400))
    long = "Доставку ждали три недели 🙂, " * 1400  # emoji: two UTF-16 units each
    exact = "Я" * 32_767
    texts = {"Длинный": long, "Ровно": exact, "Короткий": "Всё хорошо"}
    for i, (name, text) in enumerate(texts.items()):
        survey_id = await answer(db, Answer(now - timedelta(hours=i + 1), 4), name=name, reason="-")
        async with db.transaction() as conn:  # the whole text, as the survey now keeps it
            await conn.execute("UPDATE surveys SET reason = ? WHERE id = ?", (text, survey_id))
    await run_export(harness)

    rows = read_csv(uploads.files["answers-2026-11-20.csv"])
    assert {r[1]: r[9] for r in rows[1:]} == texts
    sheet = openpyxl.load_workbook(io.BytesIO(uploads.files["answers-2026-11-20.xlsx"])).active
    cells = {row[1].value: row[9].value for row in sheet.iter_rows(min_row=2)}
    assert cells["Ровно"] == exact and cells["Короткий"] == "Всё хорошо"
    assert len(long) == 40_600
    mark = " … [обрезано, всего 40\u00a0600 знаков]"
    cut = cells["Длинный"]
    assert cut.endswith(mark) and long.startswith(cut.removesuffix(mark))
    assert 32_767 - 1 <= utf16_units(cut) <= 32_767  # full, and no emoji cut in half


def test_the_cut_mark_is_in_the_owners_language() -> None:
    from views.exports import fit_cell
    from views.reports import cut_mark

    text = "a" * 40_000
    assert fit_cell(text, cut_mark("en")).endswith(" … [cut, 40,000 characters in all]")
    assert len(fit_cell(text, cut_mark("en"))) == 32_767
    assert fit_cell("🙂" * 16_383, cut_mark("en")) == "🙂" * 16_383  # 32,766 units: fits


PART = re.compile(
    r"^(?P<what>Ответы за 30 дней \(22\.10\.2026 – 20\.11\.2026\)|"
    r"Контакты \(все, кроме удалённых по просьбе\)) — часть (?P<n>\d+) из (?P<of>\d+): "
    r"строки (?P<first>[\d\xa0]+)–(?P<last>[\d\xa0]+)"
    r"(?: \((?P<since>[\d.]+) – (?P<until>[\d.]+)\))?\. (?P<format>.+)$"
)


def file_rows(name: str, data: bytes) -> list[list[str]]:
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            (inner,) = z.namelist()
            return read_csv(z.read(inner))[1:]
    if name.endswith(".csv"):
        return read_csv(data)[1:]
    return read_xlsx(data)[1][1:]


async def test_a_big_export_comes_in_parts_with_every_row_once_and_captions_that_say_which(
    harness: Harness, db: Database, uploads: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of 40 rows (as of 250,000), and an upload limit of 20 KiB (as of 50 MB) that the
    first write of each part overflows: each part is sent as it closes, a CSV too big is zipped,
    a file still too big is written again in halves; every row arrives once in each format."""
    monkeypatch.setattr(views.exports, "PART_ROWS", 40)
    monkeypatch.setattr(views.exports, "UPLOAD_LIMIT", 20 * 1024)
    now = harness.clock()
    await add_managers(db, now - timedelta(days=400))
    letters = random.Random(13)
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя "
    for i in range(100):
        reason = "".join(letters.choices(alphabet, k=900))
        at = now - timedelta(days=20) + timedelta(hours=4 * i)
        await answer(db, Answer(at, i % 11), name=f"Клиент {i:03d}", reason=reason)
    await run_export(harness)

    docs = documents(harness)
    assert docs and all(len(uploads.files[d.document.filename]) <= 20 * 1024 for d in docs)
    seen: dict[tuple[str, str], list[list[str]]] = {}
    for doc in docs:
        name = doc.document.filename
        caption = PART.match(doc.caption)
        assert caption, doc.caption
        rows = file_rows(name, uploads.files[name])
        first, last = (int(caption[k].replace("\xa0", "")) for k in ("first", "last"))
        assert len(rows) == last - first + 1, doc.caption
        table = "answers" if caption["what"].startswith("Ответы") else "contacts"
        number, of = int(caption["n"]), int(caption["of"])
        assert of == 3 and number == (first - 1) // 40 + 1
        if table == "answers":
            assert (caption["since"], caption["until"]) == (rows[0][0][:10], rows[-1][0][:10])
        kind = "xlsx" if name.endswith(".xlsx") else "csv"
        assert (
            caption["format"]
            == {
                "xlsx": "XLSX для Excel.",
                "csv": "CSV: UTF-8, разделитель «;» — откроется в Excel по двойному щелчку."
                if name.endswith(".csv")
                else "CSV в архиве ZIP: без сжатия файл больше 50 МБ, и Telegram его не примет.",
            }[kind]
        )
        seen.setdefault((table, kind), []).append([str(first), *rows[0][:2]])
        seen.setdefault((table, kind + " rows"), []).extend(rows)
    answers = [f"Клиент {i:03d}" for i in range(100)]
    for kind in ("csv", "xlsx"):
        assert [r[1] for r in seen[("answers", kind + " rows")]] == answers, kind
        contacts = [r[0] for r in seen[("contacts", kind + " rows")]]
        assert sorted(contacts) == contacts == answers, kind  # added in that order
    # the provocations happened: zipped CSVs, XLSX parts written again as halves
    assert any(d.document.filename.endswith(".csv.zip") for d in docs)
    assert any("-rows" in d.document.filename for d in docs)
    captions = {d.caption for d in docs}
    assert (
        "Ответы за 30 дней (22.10.2026 – 20.11.2026) — часть 2 из 3: строки 41–50 "
        "(07.11.2026 – 08.11.2026). XLSX для Excel."
    ) in captions
    assert (
        "Контакты (все, кроме удалённых по просьбе) — часть 2 из 3: строки 41–80. XLSX для Excel."
    ) in captions
    done = [r.text for r in harness.session.requests if isinstance(r, EditMessageText)][-1]
    assert done.startswith("✅ Выгрузка за 30 дней (22.10.2026 – 20.11.2026) готова: ответов 100")


async def test_a_failing_chat_action_does_not_stop_or_hold_up_the_export(
    harness: Harness,
    db: Database,
    uploads: Uploads,
    export_data: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ "Sending a file…" answers 500 first, then never answers at all. The files still come,
    the status is tried again after the failure, and the export ends without waiting for the
    hung call (aiogram's sender alone would wait for it on leaving, for ever) and without an
    ERROR (its dead worker's exception, logged when the task is collected)."""
    monkeypatch.setattr(handlers.reports, "ACTION_INTERVAL", 0.05)
    monkeypatch.setattr(handlers.reports, "ACTION_LIMIT", 0.2)
    actions: list[str] = []
    three = asyncio.Event()
    never = asyncio.Event()
    inner = harness.session.make_request

    async def make_request(
        bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, SendChatAction):
            actions.append(method.action)
            if len(actions) >= 3:
                three.set()
            if len(actions) == 1:
                body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                harness.session.check_response(bot, method, 500, json.dumps(body))
            await never.wait()
        if isinstance(method, SendDocument):
            await asyncio.wait_for(three.wait(), 20)  # the export lasts a few actions
        return await inner(bot, method, timeout)

    monkeypatch.setattr(harness.session, "make_request", make_request)
    caplog.set_level(logging.DEBUG)
    user = owner(harness)
    (ask,) = [r for r in await harness.send(user, "/export") if isinstance(r, SendMessage)]
    await harness.tap(user, "xp:30", as_message(ask, now=harness.clock()))
    jobs = set(export_jobs(harness.dp).background)
    pending = (await asyncio.wait(jobs, timeout=20))[1] if jobs else set()
    never.set()  # whatever happened, let the hung call end
    assert not pending, "the export is still waiting for the hung chat action"
    gc.collect()
    await asyncio.sleep(0)

    assert len(uploads.files) == 4
    assert set(actions) == {"upload_document"} and len(actions) >= 3
    done = [r.text for r in harness.session.requests if isinstance(r, EditMessageText)][-1]
    assert done.startswith("✅ Выгрузка за 30 дней")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_progress_is_edited_into_the_preparing_message_every_3_seconds(
    harness: Harness,
    db: Database,
    uploads: Uploads,
    export_data: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One row a chunk, and a clock that moves one second each time it is read: the "⏳"
    message shows the count at 3 s, then at most every 3 s, never the same text twice (this
    fake refuses an unchanged message, as Telegram does), and ends with "ready"."""
    monkeypatch.setattr(storage.reports, "CHUNK", 1)
    seconds = itertools.count()
    monkeypatch.setattr(handlers.reports, "monotonic", lambda: float(next(seconds)))
    shown: dict[tuple[Any, Any], str] = {}
    inner = harness.session.make_request

    async def make_request(
        bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, EditMessageText):
            where = (method.chat_id, method.message_id)
            if shown.get(where) == method.text:
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is not modified: specified new "
                    "message content and reply markup are exactly the same as a current content "
                    "and reply markup of the message",
                }
                harness.session.check_response(bot, method, 400, json.dumps(body))
            shown[where] = method.text
        return await inner(bot, method, timeout)

    monkeypatch.setattr(harness.session, "make_request", make_request)
    sent = await run_export(harness)
    edits = [(r.chat_id, r.message_id, r.text) for r in sent if isinstance(r, EditMessageText)]
    # the tapped /export question (the first message the owner got) becomes the "⏳" one
    ask = next(
        r for r in harness.session.requests if isinstance(r, SendMessage) and r.chat_id == OWNER_ID
    )
    preparing_id = harness.session.message_id_of(ask)
    assert {(chat, message) for chat, message, _ in edits} == {(OWNER_ID, preparing_id)}
    period = "за 30 дней (22.10.2026 – 20.11.2026)"
    assert [text for *_, text in edits] == [
        f"⏳ Готовлю выгрузку {period}…",
        f"⏳ Готовлю выгрузку {period}: ответы — 3 из 5…",
        f"⏳ Готовлю выгрузку {period}: контакты — 1 из 7…",
        f"⏳ Готовлю выгрузку {period}: контакты — 4 из 7…",
        f"⏳ Готовлю выгрузку {period}: контакты — 7 из 7…",
        f"✅ Выгрузка {period} готова: ответов 5, контактов 7. Файлы ниже — каждый в двух видах: "
        "CSV (UTF-8, разделитель «;») и XLSX для Excel.",
    ]
    assert len(uploads.files) == 4
