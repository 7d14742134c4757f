"""Reading import files: headers, encodings, delimiters, XLSX cells, and each row check.

These drive the readers and the row validator directly with files made here (csv, openpyxl, and
an Excel-style workbook with shared strings); the handler tests cover what the person sees.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from bench.import_files import write_xlsx
from domain.importing.columns import read_header
from domain.importing.phones import PhoneReader, parse_phone_cell
from domain.importing.report import Unreadable
from domain.importing.rows import (
    ImportRow,
    Managers,
    RowValidator,
    parse_birthday_cell,
    parse_deal_date_cell,
    parse_kind,
)
from domain.roles import StaffMember
from scheduler.importing.sources import declared_format, open_source
from scheduler.importing.xlsx import XlsxReader

TODAY = date(2026, 11, 20)


def read_all(path: Path, declared: str) -> list[tuple[int, list[object]]]:
    source = open_source(path, declared)
    try:
        return list(source.rows)
    finally:
        source.close()


# --- headers -----------------------------------------------------------------------------------


def test_headers_in_both_languages_any_case_spacing_and_punctuation() -> None:
    names = "ФИО| ТЕЛ. |дата  рождения|Ответственный|Last purchase|товар|E-mail|Примечание"
    header = read_header(1, [*names.split("|"), "Компания", "тип", "Мобильный"])
    assert header.columns == {
        "name": (0,),
        "phone": (1, 10),
        "birthday": (2,),
        "manager": (3,),
        "deal_date": (4,),
        "product": (5,),
        "note": (7,),
        "organization": (8,),
        "kind": (9,),
    }
    assert header.unknown == ("E-mail",)
    assert header.readable


def test_english_headers_and_our_own_rejected_file_columns() -> None:
    header = read_header(1, ["Row", "Full name", "Phone number", "Date of birth", "Reason"])
    assert header.columns == {"name": (1,), "phone": (2,), "birthday": (3,)}
    assert header.unknown == ()


def test_first_name_next_to_a_surname_is_a_part_of_the_name() -> None:
    header = read_header(1, ["Фамилия", "Имя", "Отчество", "Телефон"])
    assert header.columns["first_name"] == (1,)
    assert "name" not in header.columns
    validator = RowValidator(header, Managers([]), 1, TODAY, "RU")
    row = validator.check(2, ["Иванова", "Анна", "Петровна", ""])
    assert isinstance(row, ImportRow) and row.name == "Иванова Анна Петровна"


def test_a_header_without_name_or_phone_is_not_readable() -> None:
    assert not read_header(1, ["E-mail", "Город", "Сумма"]).readable


# --- CSV ---------------------------------------------------------------------------------------

ROWS = [["Имя", "Телефон", "Заметки"], ["Щукина Ёлка", "8 916 123-45-67", "любит «сюрпризы», да"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = tmp_path / "base.csv"
    with path.open("w", encoding=encoding, newline="") as f:
        import csv

        csv.writer(f, delimiter=delimiter).writerows(ROWS)
    assert read_all(path, "csv") == [(1, ROWS[0]), (2, ROWS[1])]


def test_csv_with_excel_sep_line_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "base.csv"
    path.write_text('sep=;\nИмя;Заметки\n"Анна";"две\nстроки; с точкой с запятой"\n', "utf-8")
    assert read_all(path, "csv") == [
        (1, ["Имя", "Заметки"]),
        (2, ["Анна", "две\nстроки; с точкой с запятой"]),
    ]


@pytest.mark.parametrize(
    ("title", "delimiter"),
    [
        ("Клиенты компании «Ромашка»", ";"),  # no separator at all (issue 10: refused)
        ("Клиенты, выгрузка от 01.12.2026", ";"),  # a comma, but the header uses ";"
        ("Base; exported 01.12.2026; page 1", ","),  # semicolons, but the header uses ","
        ("Клиенты, поставщики", "\t"),
    ],
)
def test_csv_separator_is_taken_from_the_header_line_below_a_title(
    tmp_path: Path, title: str, delimiter: str
) -> None:
    path = tmp_path / "base.csv"
    header = delimiter.join(["Имя", "Телефон", "Заметки"])
    row = delimiter.join(["Анна", "8 916 123-45-67", "любит сюрпризы"])
    path.write_text(f"{title}\n\n{header}\n{row}\n", "cp1251")
    rows = read_all(path, "csv")
    assert rows[-2:] == [
        (3, ["Имя", "Телефон", "Заметки"]),
        (4, ["Анна", "8 916 123-45-67", "любит сюрпризы"]),
    ]


def test_csv_without_any_header_line_keeps_the_first_lines_separator(tmp_path: Path) -> None:
    path = tmp_path / "base.csv"
    path.write_text("a;b;c\n1;2;3\n", "utf-8")
    assert read_all(path, "csv") == [(1, ["a", "b", "c"]), (2, ["1", "2", "3"])]


def test_cp1251_is_detected_even_when_the_first_rows_are_ascii(tmp_path: Path) -> None:
    path = tmp_path / "base.csv"
    lines = ["Name,Phone"] + [f"Client {n},+7916000{n:04d}" for n in range(5000)] + ["Юля,"]
    path.write_bytes("\r\n".join(lines).encode("cp1251"))
    assert read_all(path, "csv")[-1] == (5002, ["Юля", ""])


def test_binary_data_named_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10)
    with pytest.raises(Unreadable) as error:
        read_all(path, "csv")
    assert error.value.code == "not_text"


def test_an_unclosed_quote_breaks_the_csv_at_its_row(tmp_path: Path) -> None:
    path = tmp_path / "base.csv"
    path.write_text('Имя,Телефон\nАнна,1\nБорис,"2' + "x" * 200_000 + "\n", "utf-8")
    with pytest.raises(Unreadable) as error:
        read_all(path, "csv")
    assert error.value.code == "bad_csv" and error.value.values["row"] == 3


def test_what_a_file_claims_to_be() -> None:
    assert declared_format("База.CSV", None) == "csv"
    assert declared_format("base.xlsx", "application/octet-stream") == "xlsx"
    assert declared_format("old.xls", "application/vnd.ms-excel") == "xls"
    assert declared_format("table.ods", None) == "sheet"
    assert declared_format("contract.pdf", "application/pdf") == "other"
    assert declared_format(None, "text/csv") == "csv"
    assert declared_format(None, None) == "other"


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_written_by_openpyxl_with_typed_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Имя", "Телефон", "День рождения", "Сумма", "VIP"])
    ws.append(["Анна", 79161234567, datetime(1985, 3, 15), 12.5, True])
    ws.append([])  # an empty row is not written at all
    ws.append(["Борис", "=1+1", date(1990, 1, 2), None, False])
    ws["D4"] = "=B2*2"
    path = tmp_path / "base.xlsx"
    wb.save(path)
    rows = read_all(path, "xlsx")
    assert rows[0] == (1, ["Имя", "Телефон", "День рождения", "Сумма", "VIP"])
    assert rows[1] == (2, ["Анна", 79161234567, datetime(1985, 3, 15), 12.5, True])
    # openpyxl stores no cached value for a formula: the cell is empty, not the formula text
    assert rows[-1][0] == 4 and rows[-1][1][0] == "Борис"
    assert rows[-1][1][2] == datetime(1990, 1, 2)


def test_xlsx_as_excel_writes_it_shared_strings_and_date_styles(tmp_path: Path) -> None:
    path = tmp_path / "base.xlsx"
    write_xlsx(path, 50)
    reader = XlsxReader(str(path))
    rows = list(reader.rows())
    assert rows[0][1][:4] == ["ФИО", "Тип", "Компания", "Телефон"]
    assert len(rows) == 51
    assert all(isinstance(r[1][6], datetime) for r in rows[1:])  # the purchase date column
    assert reader.bytes_read == reader.total_bytes
    reader.close()


def _workbook(sheet_xml: str, strings: str = "") -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{pkg}"><Relationship Id="r1" Type="{rel}/officeDocument" '
            'Target="/xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<x:workbook xmlns:x="{main}" xmlns:r="{rel}"><x:sheets>'
            '<x:sheet name="Второй" sheetId="2" r:id="rB"/>'
            '<x:sheet name="Третий" sheetId="3" r:id="rC"/></x:sheets></x:workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{pkg}">'
            f'<Relationship Id="rB" Type="{rel}/worksheet" Target="sheets/b.xml"/>'
            f'<Relationship Id="rC" Type="{rel}/worksheet" Target="sheets/c.xml"/>'
            f'<Relationship Id="rS" Type="{rel}/sharedStrings" Target="strings.xml"/>'
            "</Relationships>",
        )
        z.writestr("xl/sheets/b.xml", f'<x:worksheet xmlns:x="{main}">{sheet_xml}</x:worksheet>')
        z.writestr("xl/sheets/c.xml", f'<worksheet xmlns="{main}"><sheetData/></worksheet>')
        z.writestr("xl/strings.xml", f'<x:sst xmlns:x="{main}">{strings}</x:sst>')
    return out.getvalue()


def test_xlsx_prefixed_names_rich_text_gaps_and_the_first_sheet(tmp_path: Path) -> None:
    strings = (
        "<x:si><x:t>Имя</x:t></x:si>"
        "<x:si><x:r><x:t>Ан</x:t></x:r><x:r><x:t>на</x:t></x:r><x:rPh><x:t>アンナ</x:t></x:rPh></x:si>"
    )
    sheet = (
        '<x:sheetData><x:row r="3"><x:c r="A3" t="s"><x:v>0</x:v></x:c>'
        '<x:c r="C3" t="inlineStr"><x:is><x:t>Телефон</x:t></x:is></x:c></x:row>'
        '<x:row r="7"><x:c r="A7" t="s"><x:v>1</x:v></x:c><x:c r="C7" t="str">'
        "<x:f>A1</x:f><x:v>+7 916 123-45-67</x:v></x:c></x:row></x:sheetData>"
    )
    path = tmp_path / "base.xlsx"
    path.write_bytes(_workbook(sheet, strings))
    assert read_all(path, "xlsx") == [
        (3, ["Имя", None, "Телефон"]),
        (7, ["Анна", None, "+7 916 123-45-67"]),
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"PK\x03\x04 this is not really a zip", "not_xlsx"),
        (b"just some text pretending to be a workbook", "not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "legacy_xls"),
        (b"", "empty"),
    ],
)
def test_unreadable_workbooks(tmp_path: Path, data: bytes, code: str) -> None:
    path = tmp_path / "base.xlsx"
    path.write_bytes(data)
    with pytest.raises(Unreadable) as error:
        read_all(path, "xlsx")
    assert error.value.code == code


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    path = tmp_path / "base.xlsx"
    path.write_bytes(out.getvalue())
    with pytest.raises(Unreadable) as error:
        read_all(path, "xlsx")
    assert error.value.code == "not_xlsx"


def test_broken_sheet_xml_is_reported_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "base.xlsx"
    path.write_bytes(_workbook("<x:sheetData><x:row><x:c><x:v>1</x:c></x:row>"))
    with pytest.raises(Unreadable) as error:
        read_all(path, "xlsx")
    assert error.value.code == "not_xlsx"


# --- row checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("8 916 123-45-67", "+79161234567"),
        ("+7 (916) 123 45 67", "+79161234567"),
        ("9161234567", "+79161234567"),
        (79161234567, "+79161234567"),
        (79161234567.0, "+79161234567"),
        ("380501234567", "+380501234567"),
        ("8 916 123-45-67, 8 495 123-45-67", "+79161234567"),
        ("8 916 123-45-67 / доб. 2", "+79161234567"),
        ("12-34", None),
        ("позвонить", None),
        ("7,91612E+10", None),
    ],
)
def test_phone_cells(cell: object, expected: str | None) -> None:
    assert parse_phone_cell(cell, "RU") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("15.03", (15, 3, None)),
        ("15.03.1985", (15, 3, 1985)),
        ("1985-03-15", (15, 3, 1985)),
        ("15/03/85", (15, 3, 1985)),
        ("29.02", (29, 2, None)),
        (datetime(1985, 3, 15), (15, 3, 1985)),
        ("15.03.1985 0:00:00", (15, 3, 1985)),
        ("31.02.1990", None),
        ("32.01", None),
        ("15.03.2030", None),
        ("1800-01-01", None),
        ("весной", None),
    ],
)
def test_birthday_cells(cell: object, expected: tuple[int, int, int | None] | None) -> None:
    assert parse_birthday_cell(cell, TODAY) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12.09.2026", date(2026, 9, 12)),
        ("2026-09-12", date(2026, 9, 12)),
        (datetime(2024, 1, 31, 0, 0), date(2024, 1, 31)),
        ("12.09.26", date(2026, 9, 12)),
        ("20.11.2026", TODAY),
        ("21.11.2026", "deal_future"),
        ("31.02.2026", "deal_date"),
        ("12.09", "deal_date"),
        ("01.01.1900", "deal_date"),
    ],
)
def test_purchase_date_cells(cell: object, expected: date | str) -> None:
    assert parse_deal_date_cell(cell, TODAY) == expected  # type: ignore[arg-type]


def test_kinds() -> None:
    assert [parse_kind(k) for k in ("", "Клиент", "ПОСТАВЩИК", "подрядчик", "Партнёр")] == [
        "client",
        "client",
        "supplier",
        "contractor",
        "partner",
    ]
    assert [parse_kind(k) for k in ("supplier", "Partner.", "покупатель")] == [
        "supplier",
        "partner",
        "client",
    ]
    assert parse_kind("друг") is None


def _member(user_id: int, name: str, username: str | None = None) -> StaffMember:
    return StaffMember(user_id, "manager", name, username, "ru", True, datetime(2026, 1, 1))


def test_managers_by_name_username_and_id() -> None:
    managers = Managers(
        [
            _member(222, "Пётр Сидоров", "petr_s"),
            _member(333, "Анна Лебедева"),
            _member(444, "Анна Лебедева"),
        ]
    )
    assert managers.find("пётр  сидоров") == 222
    assert managers.find("Петр Сидоров") == 222
    assert managers.find("@Petr_S") == 222
    assert managers.find("333") == 333
    assert managers.find("Анна Лебедева") is None  # two people with that name
    assert managers.find("Вася") is None


def test_a_row_with_every_problem_lists_them_all() -> None:
    header = read_header(1, ["Имя", "Тип", "Телефон", "ДР", "Менеджер", "Последняя покупка"])
    validator = RowValidator(header, Managers([]), 111, TODAY, "RU")
    problems = validator.check(5, ["Анна", "друг", "12", "31.02", "Вася", "завтра"])
    assert isinstance(problems, list)
    assert [(p.code, p.value) for p in problems] == [
        ("phone", "12"),
        ("kind", "друг"),
        ("birthday", "31.02"),
        ("deal_date", "завтра"),
        ("manager", "Вася"),
    ]
    assert validator.check(6, ["", "  ", None, "", "", ""]) is None  # empty: skipped silently
    assert [p.code for p in validator.check(7, ["", "клиент", "", "", "", ""])] == [  # type: ignore[union-attr]
        "no_name_phone"
    ]


def test_long_values_reject_the_row_but_a_long_note_is_cut() -> None:
    header = read_header(1, ["Имя", "Организация", "Товар", "Заметки"])
    validator = RowValidator(header, Managers([]), 111, TODAY, "RU")
    problems = validator.check(2, ["А" * 201, "О" * 201, "Т" * 501, ""])
    assert [(p.code, p.value, p.limit) for p in problems] == [  # type: ignore[union-attr]
        ("too_long", "name", 200),
        ("too_long", "organization", 200),
        ("too_long", "product", 500),
    ]
    row = validator.check(3, ["Анна", "", "", "з" * 2500])
    assert isinstance(row, ImportRow) and row.note_cut
    assert row.note is not None and len(row.note) == 2000 and row.note.endswith("…")


def test_repeated_people_in_one_file_are_marked() -> None:
    header = read_header(1, ["Имя", "Организация", "Телефон"])
    validator = RowValidator(header, Managers([]), 111, TODAY, "RU")
    rows = [
        validator.check(2, ["Анна", "", "8 916 123-45-67"]),
        validator.check(3, ["Анна Смирнова", "", "+79161234567"]),  # same phone
        validator.check(4, ["Борис", "ООО Ромашка", ""]),
        validator.check(5, ["борис", "ооо  ромашка", ""]),  # same name and organisation
        validator.check(6, ["Борис", "ИП Борис", ""]),  # another organisation: another person
    ]
    assert [r.duplicate for r in rows] == [False, True, False, True, False]  # type: ignore[union-attr]


# --- the fast phone path agrees with phonenumbers ---------------------------------------------

_PHONE_TEXT = st.text(alphabet="0123456789 +-().", min_size=1, max_size=22)
_REALISTIC = st.builds(
    lambda prefix, digits, sep: prefix + sep.join([digits[:3], digits[3:6], digits[6:]]),
    st.sampled_from(["", "+7", "8", "7", "+47", "+49", "0", "+380", "810", "+1"]),
    st.text(alphabet="0123456789", min_size=7, max_size=11),
    st.sampled_from(["", " ", "-", ") "]),
)


@settings(max_examples=1500, deadline=None)
@given(
    text=st.one_of(_PHONE_TEXT, _REALISTIC),
    region=st.sampled_from(["RU", "KZ", "NO", "DE", "IT", "UA", "US", "GB", "BY"]),
)
def test_fast_phone_path_gives_what_phonenumbers_gives(text: str, region: str) -> None:
    assert PhoneReader(region)(text) == parse_phone_cell(text, region)


def test_the_fast_path_takes_the_usual_russian_shapes() -> None:
    reader = PhoneReader("RU")
    for text in ("8 916 123-45-67", "+7 (916) 123-45-67", "79161234567", "9161234567"):
        assert reader._fast_e164(text) == "+79161234567"
    # +7 7…: Kazakhstan shares the code; the region is chosen by leading digits, as the library does
    assert reader._fast_e164("+7 727 123 45 67") == parse_phone_cell("+7 727 123 45 67", "RU")
    assert reader._fast_e164("8 10 49 30 1234567") is None  # an international call: the library's
