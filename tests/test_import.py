"""Importing a client base as a manager or owner does it: a file sent to the real dispatcher,
downloaded through the Bot API, the progress message, the summary, the rejected-rows file, and
what ends up in the database and in the plans."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from aiogram.methods import EditMessageText, GetFile, SendDocument, SendMessage, TelegramMethod
from aiogram.types import PhotoSize, User
from openpyxl import Workbook, load_workbook

from bot.app import create_bot, create_dispatcher
from domain.privacy import phone_hash
from domain.settings import Settings
from handlers.imports import import_jobs
from scheduler.sender import Sender
from storage import Database
from storage.forget import erase_contact
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from tests.conftest import OWNER_ID, START
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, FakeClock, Harness, replies
from tests.helpers.imports import csv_bytes, feed_file, owner, rows
from views.texts import CATALOGS

MANAGER_ID = 222
HEADER = [
    *("Имя", "Тип", "Организация", "Телефон", "День рождения", "Менеджер"),
    *("Дата последней покупки", "Покупка", "Заметки"),
]


@pytest.fixture
async def h(harness: Harness) -> AsyncIterator[Harness]:
    yield harness
    await import_jobs(harness.dp).wait_idle()
    apologies = {CATALOGS[lang]["error.generic"] for lang in CATALOGS}
    assert not [t for r in harness.sent() for t in replies([r]) if t in apologies]


# --- helpers ---------------------------------------------------------------------------------


async def add_manager(h: Harness, db: Database, name: str = "Пётр Сидоров") -> User:
    invite = await create_invite(db, OWNER_ID, h.clock())
    await redeem_invite(db, invite.token, MANAGER_ID, name, "petr", "ru", h.clock())
    return h.user(MANAGER_ID, "Пётр", username="petr")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def send_file(
    h: Harness,
    user: User,
    name: str | None,
    data: bytes,
    *,
    mime: str | None = None,
    size: int | None = None,
) -> list[TelegramMethod[Any]]:
    """Send a file and wait for its import (its people planned as it writes) to finish; what the
    bot did meanwhile."""
    before = len(h.session.requests)
    await feed_file(h, user, name, data, mime=mime, size=size)
    await import_jobs(h.dp).wait_idle()
    return h.session.requests[before:]


def last_text(requests: list[TelegramMethod[Any]]) -> str:
    texts = replies(requests)
    assert texts, f"nothing was said: {requests}"
    return texts[-1]


def rejected_file(h: Harness) -> list[list[str]]:
    name, data = h.session.uploads[-1]
    assert name is not None and name.endswith(".csv")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it in any locale
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


async def count(db: Database, table: str) -> int:
    return (await rows(db, f"SELECT count(*) FROM {table}"))[0][0]


# --- formats -----------------------------------------------------------------------------------

BASE = [
    HEADER,
    [
        *("Щукина Ёлка", "клиент", "ООО «Ромашка»", "8 916 123-45-67", "15.03.1985", ""),
        *("01.10.2026", "Кухня", "звонить после 18:00"),
    ],
    ["Борис Шевчук", "поставщик", "", "+7 (903) 765 43 21", "29.02", "", "", "", ""],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [",", ";"])
async def test_csv_in_each_encoding_and_delimiter(
    h: Harness, db: Database, encoding: str, delimiter: str
) -> None:
    out = await send_file(h, owner(h), "база.csv", csv_bytes(BASE, delimiter, encoding))
    assert isinstance(out[0], SendMessage) and out[0].text == "📥 Получил «база.csv», читаю…"
    assert isinstance(out[1], GetFile)
    summary = last_text(out)
    assert "✅ <b>База загружена</b> из «база.csv»" in summary
    assert "• новых контактов: 2" in summary and "• не загружено: 0" in summary
    assert "Покупок добавлено: 1 · заметок: 1" in summary
    assert await rows(
        db,
        "SELECT kind, full_name, organization, phone, birth_day, birth_month, birth_year, "
        "manager_id, source FROM contacts ORDER BY id",
    ) == [
        ("client", "Щукина Ёлка", "ООО «Ромашка»", "+79161234567", 15, 3, 1985, OWNER_ID, "import"),
        ("supplier", "Борис Шевчук", None, "+79037654321", 29, 2, None, OWNER_ID, "import"),
    ]
    assert await rows(db, "SELECT description, deal_date, source, manager_id FROM deals") == [
        ("Кухня", "2026-10-01", "import", OWNER_ID)
    ]
    assert await rows(db, "SELECT source, text, author_id FROM comments") == [
        ("import", "звонить после 18:00", OWNER_ID)
    ]


async def test_xlsx_with_date_cells_a_number_phone_and_a_title_row(
    h: Harness, db: Database
) -> None:
    data = xlsx_bytes(
        [
            ["Клиенты на 01.11.2026"],  # a title above the header is skipped
            [],
            ["ФИО", "Мобильный", "Дата рождения", "Последняя покупка", "Товар", "E-mail"],
            [
                *("Анна Смирнова", 79161234567, datetime(1985, 3, 15), datetime(2025, 6, 1)),
                *("Диван", "anna@example.com"),
            ],
        ]
    )
    out = await send_file(h, owner(h), "clients.xlsx", data)
    summary = last_text(out)
    assert "• новых контактов: 1" in summary
    assert "Колонки не распознаны и пропущены: «E-mail»" in summary
    assert await rows(
        db, "SELECT full_name, phone, birth_day, birth_month, birth_year FROM contacts"
    ) == [("Анна Смирнова", "+79161234567", 15, 3, 1985)]
    assert await rows(db, "SELECT description, deal_date FROM deals") == [("Диван", "2025-06-01")]


# --- bad rows, duplicates, re-import, merging ----------------------------------------------


async def test_bad_rows_come_back_in_a_file_with_the_reason_for_each(
    h: Harness, db: Database
) -> None:
    await add_manager(h, db)
    data = csv_bytes(
        [
            HEADER,
            ["Хороший", "", "", "8 916 000-00-01", "", "@petr", "", "", ""],
            ["Телефон плохой", "", "", "12-34", "", "", "", "", ""],
            ["Дата плохая", "", "", "", "31.02.1990", "", "", "", ""],
            ["Покупка завтра", "", "", "", "", "", "21.11.2026", "", ""],
            ["Покупка непонятно когда", "", "", "", "", "", "весной", "", ""],
            ["Тип странный", "друг", "", "", "", "", "", "", ""],
            ["Менеджер чужой", "", "", "", "", "Вася", "", "", ""],
            ["", "клиент", "ООО Без имени", "", "", "", "", "", ""],
            ["Длинный товар", "", "", "", "", "", "01.01.2025", "Т" * 501, ""],
            ["=HYPERLINK(1)", "", "", "+7 916 000-00-09", "", "", "", "", "x"],
            ["", "", "", "", "", "", "", "", ""],  # empty: skipped, not counted
        ]
    )
    out = await send_file(h, owner(h), "база.csv", data)
    summary = last_text(out)
    assert "Строк с данными: 10" in summary
    assert "• новых контактов: 2" in summary
    assert "• не загружено: 8" in summary
    assert (
        "   — неверный телефон: 1\n"
        "   — нет ни имени, ни телефона: 1\n"
        "   — невозможная дата рождения: 1\n"
        "   — невозможная дата покупки: 1\n"
        "   — дата покупки в будущем: 1\n"
        "   — неизвестный тип: 1\n"
        "   — неизвестный менеджер: 1\n"
        "   — слишком длинное значение: 1"
    ) in summary
    assert "Незагруженные строки — в файле ниже" in summary
    document = [r for r in out if isinstance(r, SendDocument)][-1]
    assert document.caption == "Не загружено строк: 8. Причина — в последней колонке."
    table = rejected_file(h)
    assert table[0] == ["Строка", *HEADER, "Причина"]
    reasons = {row[0]: row[-1] for row in table[1:]}
    assert reasons == {
        "3": "неверный телефон «12-34»",
        "4": "невозможная дата рождения «31.02.1990»",
        "5": "дата покупки в будущем «21.11.2026»",
        "6": "невозможная дата покупки «весной» (нужно ДД.ММ.ГГГГ)",
        "7": "неизвестный тип «друг» (можно: клиент, поставщик, подрядчик, партнёр)",
        "8": "неизвестный менеджер «Вася» (нет среди сотрудников в боте)",
        "9": "нет ни имени, ни телефона",
        "10": "слишком длинное значение в колонке «Покупка» (больше 500 символов)",
    }
    assert table[1][:5] == ["3", "Телефон плохой", "", "", "12-34"]
    # "=HYPERLINK(1)" was imported as a name (it is one, to us), the good row went to @petr
    assert await rows(db, "SELECT full_name, manager_id FROM contacts ORDER BY id") == [
        ("Хороший", MANAGER_ID),
        ("=HYPERLINK(1)", OWNER_ID),
    ]


async def test_a_cell_that_looks_like_a_formula_is_neutralised_in_the_rejected_file(
    h: Harness,
) -> None:
    data = csv_bytes([["Имя", "Телефон"], ["=cmd|' /C calc'!A0", "12"], ["@SUM(1)", "+7 1"]])
    await send_file(h, owner(h), "base.csv", data)
    table = rejected_file(h)
    assert [row[1:3] for row in table[1:]] == [["'=cmd|' /C calc'!A0", "12"], ["'@SUM(1)", "+7 1"]]


async def test_the_same_person_twice_in_a_file_is_one_contact(h: Harness, db: Database) -> None:
    data = csv_bytes(
        [
            ["Имя", "Организация", "Телефон", "День рождения", "Заметки"],
            ["Анна", "", "8 916 123-45-67", "", "первая заметка"],
            ["Анна Смирнова", "ООО Ромашка", "+79161234567", "15.03", "вторая заметка"],
            ["Борис", "ИП Борис", "", "", ""],
            ["  борис ", "ип  борис", "", "", ""],
        ]
    )
    summary = last_text(await send_file(h, owner(h), "base.csv", data))
    assert "• новых контактов: 2" in summary
    assert "• повторы внутри файла, объединены: 2" in summary
    # the second row only filled what the first left empty
    assert await rows(
        db, "SELECT full_name, organization, phone, birth_day, birth_month FROM contacts"
    ) == [
        ("Анна", "ООО Ромашка", "+79161234567", 15, 3),
        ("Борис", "ИП Борис", None, None, None),
    ]
    assert await rows(db, "SELECT text FROM comments ORDER BY id") == [
        ("первая заметка",),
        ("вторая заметка",),
    ]


async def test_sending_the_same_file_again_changes_nothing(h: Harness, db: Database) -> None:
    data = csv_bytes(
        [
            HEADER,
            ["Анна", "", "", "8 916 123-45-67", "15.03", "", "01.10.2026", "Кухня", "заметка"],
            ["Борис", "", "ООО Б", "", "", "", "01.09.2026", "", "ещё заметка"],
            ["Борис", "", "ООО Б", "", "", "", "01.09.2026", "", "ещё заметка"],
        ]
    )
    await send_file(h, owner(h), "base.csv", data)
    await import_jobs(h.dp).wait_idle()
    tables = ("contacts", "deals", "comments", "tasks")
    before = {t: await count(db, t) for t in tables}
    stamps = await rows(db, "SELECT id, updated_at FROM contacts ORDER BY id")
    assert before["contacts"] == 2 and before["deals"] == 2 and before["comments"] == 2
    h.clock.advance(hours=1)
    summary = last_text(await send_file(h, owner(h), "base.csv", data))
    await import_jobs(h.dp).wait_idle()
    # the summary says what happened: nothing (issue 10: it said "completed: 2" and promised
    # these people in tomorrow's plans)
    assert summary.splitlines() == [
        "✅ <b>База загружена</b> из «base.csv»",
        "Строк с данными: 3",
        "• новых контактов: 0",
        "• уже были в базе, дополнять нечего: 2",
        "• повторы внутри файла, объединены: 1",
        "• не загружено: 0",
        "Покупок добавлено: 0 · заметок: 0",
        "",
        "Ничего нового: всё из этого файла уже есть в базе.",
    ]
    assert {t: await count(db, t) for t in tables} == before
    assert await rows(db, "SELECT id, updated_at FROM contacts ORDER BY id") == stamps


async def test_a_csv_with_a_title_line_above_the_header_imports(h: Harness, db: Database) -> None:
    data = (
        "Клиенты компании «Ромашка» на 01.12.2026\r\n"
        "\r\n"
        "Имя;Телефон;День рождения\r\n"
        "Анна;8 916 123-45-67;15.03\r\n"
        "Борис;+7 916 765-43-21;\r\n"
    ).encode("cp1251")
    summary = last_text(await send_file(h, owner(h), "клиенты.csv", data))
    assert summary.startswith("✅")
    assert "• новых контактов: 2" in summary
    assert await rows(db, "SELECT full_name, phone FROM contacts ORDER BY id") == [
        ("Анна", "+79161234567"),
        ("Борис", "+79167654321"),
    ]


async def test_the_summary_counts_only_rows_that_filled_something(h: Harness, db: Database) -> None:
    first = csv_bytes(
        [
            ["Имя", "Телефон", "День рождения"],
            ["Анна", "8 916 123-45-67", ""],
            ["Борис", "+7 916 765-43-21", "01.02"],
        ]
    )
    await send_file(h, owner(h), "base.csv", first)
    await import_jobs(h.dp).wait_idle()
    again = csv_bytes(
        [
            ["Имя", "Телефон", "День рождения"],
            ["Анна", "8 916 123-45-67", "15.03"],
            ["Борис", "+7 916 765-43-21", "01.02"],
        ]
    )
    summary = last_text(await send_file(h, owner(h), "base.csv", again))
    assert "• новых контактов: 0" in summary
    assert "• уже были в базе, дополнены пустые поля: 1" in summary  # Анна's birthday
    assert "• уже были в базе, дополнять нечего: 1" in summary  # Борис
    assert "С завтрашнего утра эти люди появятся в планах менеджеров" in summary
    assert "Ничего нового" not in summary
    assert await rows(db, "SELECT birth_day, birth_month FROM contacts ORDER BY id") == [
        (15, 3),
        (1, 2),
    ]
    # in English too
    summary = last_text(await send_file(h, owner(h, "en"), "base.csv", again))
    assert "• already in the base, nothing to fill in: 2" in summary
    assert "Nothing new: everything in this file is already in the base." in summary
    assert "filled in:" not in summary and "plans" not in summary


async def test_a_person_who_was_forgotten_is_not_imported_again(h: Harness, db: Database) -> None:
    data = csv_bytes(
        [
            HEADER,
            ["Анна", "", "", "8 916 123-45-67", "15.03", "", "01.10.2026", "Кухня", ""],
            ["Борис", "", "", "+7 916 765-43-21", "", "", "01.09.2026", "", ""],
        ]
    )
    await send_file(h, owner(h), "base.csv", data)
    await import_jobs(h.dp).wait_idle()
    (anna,) = await rows(db, "SELECT id FROM contacts WHERE phone = '+79161234567'")
    await erase_contact(db, anna[0], h.clock(), by="owner")
    assert await rows(db, "SELECT phone_hash FROM erased_phones") == [(phone_hash("+79161234567"),)]
    # the company re-sends its old spreadsheet: Анна stays forgotten, Борис is merged
    summary = last_text(await send_file(h, owner(h), "base.csv", data))
    await import_jobs(h.dp).wait_idle()
    assert "• новых контактов: 0" in summary
    assert "— данные удалены по просьбе человека: 1" in summary
    assert await rows(db, "SELECT count(*) FROM contacts WHERE phone = '+79161234567'") == [(0,)]
    _, rejected = h.session.uploads[-1]
    assert "удалены по его просьбе (/forget)" in rejected.decode("utf-8-sig")


async def test_a_known_contact_keeps_its_data_manager_and_kind(h: Harness, db: Database) -> None:
    await add_manager(h, db)
    sale = await record_sale(
        db,
        SaleInput(
            idem_key="sale-1",
            manager_id=MANAGER_ID,
            kind="supplier",
            full_name="Анна Петровна",
            organization=None,
            phone="+79161234567",
            contact_tg_id=None,
            birthday=None,
            description="Поставка",
            deal_date=date(2026, 11, 19),
        ),
        h.clock(),
    )
    data = csv_bytes(
        [
            HEADER,
            [
                *("Анна Смирнова", "клиент", "ООО Ромашка", "8 916 123-45-67", "15.03.1985"),
                *("", "01.06.2026", "Диван", "любит скидки"),
            ],
        ]
    )
    summary = last_text(await send_file(h, owner(h), "base.csv", data))
    assert "• новых контактов: 0" in summary
    assert "• уже были в базе, дополнены пустые поля: 1" in summary
    assert "дополнять нечего" not in summary
    assert "С завтрашнего утра эти люди появятся в планах менеджеров" in summary
    contact = (sale.contact_id, "supplier", "Анна Петровна", "ООО Ромашка", 15, 3, 1985)
    assert await rows(
        db,
        "SELECT id, kind, full_name, organization, birth_day, birth_month, birth_year, "
        "manager_id, source FROM contacts",
    ) == [(*contact, MANAGER_ID, "sale")]
    assert await rows(db, "SELECT description, source FROM deals ORDER BY id") == [
        ("Поставка", "bot"),
        ("Диван", "import"),
    ]


async def test_the_summary_counts_its_own_rows_when_triggers_write_more(
    h: Harness, db: Database
) -> None:
    """Schema triggers (the per-day figures) write rows of their own in the same statement;
    the summary counts only the contacts, deals and notes the import itself wrote."""
    async with db.read_locked() as conn:
        await conn.executescript(
            "CREATE TEMP TABLE echo (what TEXT);"
            "CREATE TEMP TRIGGER echo_deal AFTER INSERT ON main.deals BEGIN "
            "INSERT INTO echo VALUES ('deal'); INSERT INTO echo VALUES ('deal'); END;"
            "CREATE TEMP TRIGGER echo_note AFTER INSERT ON main.comments BEGIN "
            "INSERT INTO echo VALUES ('note'); INSERT INTO echo VALUES ('note'); END;"
            "CREATE TEMP TRIGGER echo_fill AFTER UPDATE ON main.contacts BEGIN "
            "INSERT INTO echo VALUES ('fill'); INSERT INTO echo VALUES ('fill'); END;"
        )
    people = [
        ("Анна", "8 916 123-45-67", "01.06.2026", "Диван", "любит скидки"),
        ("Борис", "8 916 765-43-21", "02.06.2026", "Стол", "звонить вечером"),
        ("Вера", "8 903 111-22-33", "03.06.2026", "Шкаф", "только почта"),
    ]
    header = ["Имя", "Телефон", "Дата последней покупки", "Что купил", "Заметки"]
    summary = last_text(await send_file(h, owner(h), "base.csv", csv_bytes([header, *people])))
    assert "• новых контактов: 3" in summary
    assert "Покупок добавлено: 3 · заметок: 3" in summary
    await import_jobs(h.dp).wait_idle()
    again = csv_bytes(
        [
            [*header, "День рождения"],
            ["Анна", "8 916 123-45-67", "05.07.2026", "Кресло", "новая заметка", "15.03"],
        ]
    )
    summary = last_text(await send_file(h, owner(h), "base.csv", again))
    assert "• уже были в базе, дополнены пустые поля: 1" in summary
    assert "Покупок добавлено: 1 · заметок: 1" in summary
    async with db.read_locked() as conn:  # a temp table lives on the writer's connection
        found = await conn.execute_fetchall("SELECT what, count(*) FROM temp.echo GROUP BY what")
    echoes = {row[0]: row[1] for row in found}
    assert echoes["deal"] == echoes["note"] == 8 and echoes["fill"] >= 2  # the triggers did write


# --- files that cannot be read, and people who may not import -------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("base.xlsx", b"PK\x03\x04garbage" * 50, "это не настоящий файл Excel (.xlsx)"),
        ("base.xlsx", b"Name,Phone\nAnna,1\n", "это не настоящий файл Excel (.xlsx)"),
        ("base.csv", bytes(range(256)) * 40, "это не текстовый CSV"),
        ("base.csv", "E-mail;Город\na@b.c;Москва\n".encode(), "не нашёл строку с названиями"),
        ("base.csv", b"", "файл пустой"),
        ("base.xls.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "старого формата"),
    ],
)
async def test_a_file_that_cannot_be_read_changes_nothing(
    h: Harness, db: Database, name: str, data: bytes, reason: str
) -> None:
    out = await send_file(h, owner(h), name, data)
    text = last_text(out)
    assert text.startswith(f"❌ Не удалось прочитать «{name}»: ")
    assert reason in text and text.endswith("Ничего не изменено.")
    assert [await count(db, t) for t in ("contacts", "deals", "comments")] == [0, 0, 0]


async def test_no_header_message_shows_what_the_first_row_said(h: Harness) -> None:
    out = await send_file(h, owner(h), "base.csv", "E-mail;Город\na@b.c;Москва\n".encode())
    assert "Первая строка файла: «E-mail | Город»" in last_text(out)


async def test_a_strangers_document_gets_the_polite_fallback(h: Harness, db: Database) -> None:
    stranger = h.user(999, "Гость")
    out = await send_file(h, stranger, "base.csv", csv_bytes(BASE))
    assert not [r for r in out if isinstance(r, GetFile)]
    assert last_text(out) == CATALOGS["ru"]["start.guest"].format(company="Ромашка")
    assert await count(db, "contacts") == 0


@pytest.mark.parametrize(
    ("name", "mime", "size", "expected"),
    [
        ("договор.pdf", "application/pdf", None, "а «договор.pdf» — другой файл"),
        ("старый.xls", "application/vnd.ms-excel", None, "файл старого формата Excel (.xls)"),
        ("table.ods", None, None, "«table.ods» я прочитать не смогу"),
        ("огромный.xlsx", None, 25 * 1024 * 1024, "весит 25.0 МБ"),
    ],
)
async def test_other_documents_are_refused_before_downloading(
    h: Harness, name: str, mime: str | None, size: int | None, expected: str
) -> None:
    out = await send_file(h, owner(h), name, b"data", mime=mime, size=size)
    assert not [r for r in out if isinstance(r, GetFile)]
    assert expected in last_text(out)


async def test_a_photo_from_staff_is_refused_naming_the_formats(h: Harness) -> None:
    photo = [PhotoSize(file_id="p1", file_unique_id="p1", width=10, height=10)]
    out = await h.feed({"message": h._msg(owner(h), photo=photo)})
    assert last_text(out).startswith("Это фото, а базу клиентов я принимаю файлом XLSX или CSV")


async def test_a_second_file_while_the_first_is_importing_is_refused(
    h: Harness, db: Database
) -> None:
    big = csv_bytes([["Имя", "Телефон"]] + [[f"Клиент {n}", ""] for n in range(3000)])
    await asyncio.gather(
        send_file(h, owner(h), "one.csv", big), send_file(h, owner(h), "two.csv", big)
    )
    said = replies(h.session.requests)
    busy = [t for t in said if t.startswith("Я ещё загружаю ваш предыдущий файл")]
    assert len(busy) == 1
    assert len([t for t in said if t.startswith("✅")]) == 1
    assert await count(db, "contacts") == 3000


# --- progress ----------------------------------------------------------------------------------


class TickingClock(FakeClock):
    """Time moves a little every time somebody looks at it."""

    def __init__(self, start: datetime, step: float) -> None:
        super().__init__(start)
        self.step = timedelta(seconds=step)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


class TimedSession(RecordingSession):
    """Records when (by the test's clock) each request was made."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(BOT_USERNAME)
        self.clock = clock
        self.times: list[datetime] = []

    async def make_request(self, bot: Any, method: Any, timeout: int | None = None) -> Any:
        self.times.append(self.clock.now)
        return await super().make_request(bot, method, timeout)


async def _timed_harness(settings: Settings, db: Database, clock: FakeClock) -> Harness:
    session = TimedSession(clock)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    return Harness(bot, create_dispatcher(settings, db, sender, clock), session, clock, sender)


def _progress(h: Harness) -> list[tuple[datetime, str]]:
    assert isinstance(h.session, TimedSession)
    return [
        (when, r.text)
        for when, r in zip(h.session.times, h.session.requests, strict=True)
        if isinstance(r, EditMessageText) and r.text.startswith("⏳")
    ]


async def test_progress_is_edited_at_most_once_a_second(settings: Settings, db: Database) -> None:
    clock = TickingClock(START, step=0.5)
    h = await _timed_harness(settings, db, clock)
    data = csv_bytes([["Имя", "Телефон"]] + [[f"Клиент {n}", ""] for n in range(6000)])
    out = await send_file(h, owner(h), "base.csv", data)
    progress = _progress(h)
    assert len(progress) >= 3
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(progress)]
    assert min(gaps) >= timedelta(seconds=1)
    assert any(t.startswith("⏳ Проверяю «base.csv»…\n") for _, t in progress)
    writing = [t for _, t in progress if t.startswith("⏳ Загружаю базу")]
    assert writing and writing[-1].endswith(" из 6\u00a0000 строк")
    assert "▓" in writing[-1]
    assert "• новых контактов: 6\u00a0000" in last_text(out)
    await import_jobs(h.dp).wait_idle()
    await h.bot.session.close()


async def test_progress_edits_that_fail_never_stop_the_import(
    settings: Settings, db: Database
) -> None:
    clock = TickingClock(START, step=0.5)
    h = await _timed_harness(settings, db, clock)
    h.session.fail_next(
        "EditMessageText", error_code=429, description="Too Many Requests", retry_after=30
    )
    data = csv_bytes([["Имя", "Телефон"]] + [[f"Клиент {n}", ""] for n in range(6000)])
    out = await send_file(h, owner(h), "base.csv", data)
    edits = [r for r in out if isinstance(r, EditMessageText)]
    # the refused edit, then silence for the 30 seconds Telegram asked for, then the summary
    assert edits[0].text.startswith("⏳") and edits[-1].text.startswith("✅")
    assert len(edits) == 2
    assert await count(db, "contacts") == 6000
    await import_jobs(h.dp).wait_idle()
    await h.bot.session.close()


async def test_without_time_passing_only_the_summary_replaces_the_first_message(
    h: Harness,
) -> None:
    out = await send_file(h, owner(h), "base.csv", csv_bytes(BASE))
    assert [type(r).__name__ for r in out] == ["SendMessage", "GetFile", "EditMessageText"]


async def test_if_the_summary_cannot_replace_the_progress_it_is_sent(h: Harness) -> None:
    h.session.fail_next(
        "EditMessageText", error_code=400, description="Bad Request: message to edit not found"
    )
    out = await send_file(h, owner(h), "base.csv", csv_bytes(BASE))
    assert isinstance(out[-1], SendMessage) and out[-1].text.startswith("✅")


# --- plans ---------------------------------------------------------------------------------


async def test_imported_people_reach_the_plans_but_get_no_next_day_call(
    h: Harness, db: Database
) -> None:
    manager = await add_manager(h, db)
    data = csv_bytes(
        [
            HEADER,
            ["Анна Именинница", "", "", "", "23.11.1980", "Пётр Сидоров", "", "", ""],
            ["Борис Скоро", "", "", "", "26.11", "Пётр Сидоров", "", "", ""],
            ["Вера Давняя", "", "", "", "", "Пётр Сидоров", "01.03.2024", "Шкаф", ""],
            ["Глеб Вчерашний", "", "", "", "", "Пётр Сидоров", "19.11.2026", "Диван", ""],
        ]
    )
    await send_file(h, owner(h), "base.csv", data)
    tasks = await rows(
        db,
        "SELECT c.full_name, t.kind, t.due_date FROM tasks t JOIN contacts c "
        "ON c.id = t.contact_id ORDER BY c.id, t.kind",
    )
    assert not [t for t in tasks if t[1] == "call"]  # old purchases: no "day after" call
    assert ("Анна Именинница", "birthday", "2026-11-23") in tasks
    assert ("Борис Скоро", "birthday_lead", "2026-11-23") in tasks
    assert not [t for t in tasks if t[0] == "Глеб Вчерашний"]  # an offer comes in 30–60 days
    # Monday 09:00 in Moscow: the manager's morning plan names them
    h.clock.now = datetime(2026, 11, 23, 6, 0, 5, tzinfo=START.tzinfo)
    await h.tick()
    plan = h.last_text(manager.id)
    assert plan.startswith("📋 План на 23.11.2026")
    labels = [b.text for row in h.sent(manager.id)[-1].reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert "🎂 День рождения: Анна Именинница" in labels
    assert "🎁 Скоро день рождения: Борис Скоро" in labels
    # Вера bought in 2024: her first offer and the passive-client reminder are long overdue.
    # They come together, on one working day within a month of the import, not overdue.
    for _ in range(31):
        h.clock.now += timedelta(days=1)
        await h.dp["followup"].plan()
    vera = await rows(
        db,
        "SELECT t.kind, t.due_date FROM tasks t JOIN contacts c ON c.id = t.contact_id "
        "WHERE c.full_name = 'Вера Давняя' ORDER BY t.kind",
    )
    assert [kind for kind, _ in vera] == ["offer", "passive"]
    assert vera[0][1] == vera[1][1]
    assert "2026-11-23" <= vera[0][1] <= "2026-12-18"


async def test_each_chunk_is_planned_in_its_own_transaction(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No planning pass after the import: the transaction that writes a chunk plans its people,
    so they are planned as soon as their chunk is in, even when a later chunk fails."""
    from scheduler.importing import runner

    await add_manager(h, db)
    monkeypatch.setattr(runner, "CHUNK", 2)
    real = runner.write_chunk
    seen: list[tuple[int, int]] = []  # (contacts, birthday tasks) right after each chunk

    async def watched(*args: Any, **kwargs: Any) -> Any:
        if len(seen) == 2:
            raise OSError("disk I/O error")
        counts = await real(*args, **kwargs)
        (people, planned) = (
            await rows(
                db,
                "SELECT (SELECT count(*) FROM contacts), (SELECT count(DISTINCT contact_id) "
                "FROM tasks WHERE kind = 'birthday' AND status = 'pending')",
            )
        )[0]
        seen.append((people, planned))
        return counts

    monkeypatch.setattr(runner, "write_chunk", watched)
    data = csv_bytes(
        [
            HEADER,
            *(
                [f"Клиент {i}", "", "", "", f"{24 + i}.11", "Пётр Сидоров", "", "", ""]
                for i in range(5)
            ),
        ]
    )
    text = last_text(await send_file(h, owner(h), "base.csv", data))
    assert text.startswith("⚠️ Загрузка «base.csv» прервалась после 4")
    assert seen == [(2, 2), (4, 4)]
    assert [d for (d,) in await rows(db, "SELECT due_date FROM tasks WHERE kind = 'birthday'")] == [
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
        "2026-11-27",
    ]


async def test_a_big_old_base_does_not_flood_the_first_plan(h: Harness, db: Database) -> None:
    await add_manager(h, db)
    data = csv_bytes(
        [
            HEADER,
            *(
                [f"Клиент {i:03d}", "", "", "", "", "Пётр Сидоров", "01.03.2024", "Шкаф", ""]
                for i in range(300)
            ),
        ]
    )
    await send_file(h, owner(h), "base.csv", data)
    await import_jobs(h.dp).wait_idle()
    due: dict[str, int] = {}
    for _ in range(31):
        await h.dp["followup"].plan()
        h.clock.now += timedelta(days=1)
    for (day,) in await rows(db, "SELECT due_date FROM tasks WHERE kind = 'offer'"):
        due[day] = due.get(day, 0) + 1
    # every old client gets an offer within a month, about ten a day rather than 300 at once
    assert sum(due.values()) == 300
    assert min(due) >= "2026-11-23" and max(due) <= "2026-12-18"  # the next 20 working days
    assert max(due.values()) <= 25


# --- commands, template, languages ---------------------------------------------------------


async def test_import_explains_and_attaches_the_template(h: Harness) -> None:
    out = await h.send(owner(h), "/import")
    assert isinstance(out[0], SendMessage)
    assert out[0].text.startswith("📥 <b>Загрузка базы клиентов</b>")
    assert isinstance(out[1], SendDocument)
    assert out[1].caption is not None and "Имя / Name · Тип / Kind" in out[1].caption
    name, data = h.session.uploads[-1]
    assert name == "шаблон базы клиентов.xlsx"
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    assert [c.value for c in ws[1]] == HEADER
    assert [c.value for c in ws[2]][:6] == [
        "Анна Смирнова",
        "клиент",
        "ООО «Ромашка»",
        "+7 916 123-45-67",
        datetime(1985, 3, 15),
        "Ольга",
    ]


async def test_the_english_template_imports_back_as_it_is(h: Harness, db: Database) -> None:
    out = await h.send(owner(h, "en"), "/template")
    assert [type(r).__name__ for r in out] == ["SendDocument"]
    name, data = h.session.uploads[-1]
    assert name == "client base template.xlsx"
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    assert [c.value for c in ws[1]][:4] == ["Name", "Kind", "Organisation", "Phone"]
    summary = last_text(await send_file(h, owner(h, "en"), name, data))
    assert "✅ <b>Base imported</b> from «client base template.xlsx»" in summary
    assert "• new contacts: 1" in summary and "• not imported: 0" in summary
    assert await rows(db, "SELECT full_name, organization, birth_month FROM contacts") == [
        ("Anna Smith", "Daisy Ltd", 3)
    ]


async def test_the_fixed_rejected_file_can_be_sent_back(h: Harness, db: Database) -> None:
    data = csv_bytes([["Имя", "Телефон"], ["Анна", "8 916 123-45-67"], ["Борис", "12-34"]])
    await send_file(h, owner(h), "base.csv", data)
    table = rejected_file(h)
    table[1][2] = "8 903 765-43-21"  # the person fixes the phone
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(table)
    summary = last_text(
        await send_file(h, owner(h), "fixed.csv", out.getvalue().encode("utf-8-sig"))
    )
    assert "• новых контактов: 1" in summary and "• не загружено: 0" in summary
    assert "Колонки не распознаны" not in summary  # "Строка" and "Причина" are ours
    assert await count(db, "contacts") == 2


async def test_an_english_speaker_gets_english_reasons(h: Harness) -> None:
    data = csv_bytes([["Name", "Phone", "Kind"], ["Ann", "12", "friend"]])
    summary = last_text(await send_file(h, owner(h, "en"), "base.csv", data))
    assert "   — bad phone: 1" in summary
    table = rejected_file(h)
    assert table[0] == ["Row", "Name", "Phone", "Kind", "Reason"]
    assert table[1][-1] == (
        "bad phone «12»; unknown kind «friend» (allowed: client, supplier, contractor, partner)"
    )


async def test_a_manager_imports_into_their_own_plan(h: Harness, db: Database) -> None:
    manager = await add_manager(h, db)
    data = csv_bytes([["Имя", "Телефон"], ["Анна", "8 916 123-45-67"]])
    summary = last_text(await send_file(h, manager, "base.csv", data))
    assert "• новых контактов: 1" in summary
    assert await rows(db, "SELECT manager_id FROM contacts") == [(MANAGER_ID,)]


# --- crash in the middle --------------------------------------------------------------------


async def test_an_import_cut_short_is_completed_by_sending_the_file_again(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler.importing import runner

    real = runner.write_chunk
    calls = 0

    async def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk I/O error")
        return await real(*args, **kwargs)

    monkeypatch.setattr(runner, "write_chunk", failing)
    monkeypatch.setattr(runner, "CHUNK", 2000)  # the figures below count in chunks of 2,000
    data = csv_bytes(
        [["Имя", "Телефон", "Дата последней покупки"]]
        + [[f"Клиент {n}", f"+7916{n:07d}", "01.10.2026"] for n in range(5000)]
    )
    text = last_text(await send_file(h, owner(h), "base.csv", data))
    assert text == (
        "⚠️ Загрузка «base.csv» прервалась после 2\u00a0000 строк (новых контактов: 2\u00a0000). "
        "Отправьте тот же файл ещё раз: уже загруженное не удвоится, остальное догрузится."
    )
    assert await count(db, "contacts") == 2000
    monkeypatch.setattr(runner, "write_chunk", real)
    summary = last_text(await send_file(h, owner(h), "base.csv", data))
    assert "• новых контактов: 3\u00a0000" in summary
    assert "• уже были в базе, дополнять нечего: 2\u00a0000" in summary
    assert "дополнены" not in summary
    assert [await count(db, t) for t in ("contacts", "deals")] == [5000, 5000]


async def test_a_bot_stopping_mid_import_tells_the_person_to_send_it_again(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import imports
    from scheduler.importing import runner

    writing = asyncio.Event()

    async def stuck(*args: Any, **kwargs: Any) -> Any:
        writing.set()
        await asyncio.Event().wait()  # a write that never ends

    monkeypatch.setattr(runner, "write_chunk", stuck)
    monkeypatch.setattr(imports, "SHUTDOWN_GRACE", 0)
    out_before = len(h.session.requests)
    await feed_file(h, owner(h), "base.csv", csv_bytes(BASE))
    await writing.wait()
    await h.dp.emit_shutdown(bot=h.bot, dispatcher=h.dp, **h.dp.workflow_data)
    said = replies(h.session.requests[out_before:])
    assert said[-1] == (
        "⚠️ Загрузка «base.csv» остановлена: бот перезапускается. Через минуту отправьте тот же "
        "файл ещё раз — уже загруженное не удвоится."
    )
    assert not import_jobs(h.dp).background and not import_jobs(h.dp).running
    assert await count(db, "contacts") == 0


async def test_the_downloaded_file_never_outlives_the_import(
    h: Harness, settings: Settings
) -> None:
    from handlers.imports import on_startup, scratch_folder

    await send_file(h, owner(h), "base.csv", csv_bytes(BASE))
    assert list(scratch_folder(settings).iterdir()) == []
    # a crash would leave one behind: the next start removes it
    leftover = scratch_folder(settings) / "import-crashed"
    leftover.mkdir()
    (leftover / "upload").write_bytes(csv_bytes(BASE))
    await on_startup(settings)
    assert not scratch_folder(settings).exists()


async def test_a_file_telegram_will_not_give_changes_nothing(h: Harness, db: Database) -> None:
    h.session.fail_next("GetFile", error_code=400, description="Bad Request: file is too big")
    out = await send_file(h, owner(h), "base.csv", csv_bytes(BASE), size=0)
    assert last_text(out) == (
        "Не получилось скачать «base.csv» из Telegram. Ничего не изменено — отправьте файл ещё раз."
    )
    assert await count(db, "contacts") == 0
    assert not import_jobs(h.dp).running  # the next file is welcome
