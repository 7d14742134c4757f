"""Client-base files as people send them, for the import benchmark and tests: CSV the way Russian
Excel saves it, and XLSX the way Excel and LibreOffice write it (shared strings, real date
cells, a dimension), which is not how openpyxl writes (inline strings, read three times slower).

    python -m bench.import_files data/base.xlsx --rows 100000

About 1% of rows are broken (bad phone, impossible date, unknown kind) and 0.5% repeat an
earlier person, so the import has something to reject and to merge.
"""

from __future__ import annotations

import argparse
import csv
import random
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

HEADER = (
    "ФИО",
    "Тип",
    "Компания",
    "Телефон",
    "Дата рождения",
    "Ответственный",
    "Дата последней покупки",
    "Товар",
    "Комментарий",
    "E-mail",
)
FIRST = ["Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий", "Наталья"]
LAST = ["Смирнов", "Иванов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов"]
KINDS = ["клиент"] * 7 + ["поставщик", "подрядчик", "партнёр"]
PRODUCTS = ["Кухонный гарнитур", "Диван", "Шкаф-купе", "Монтаж", "Поставка ЛДСП", "Доставка"]
NOTES = ["Звонить после 18:00", "Предпочитает WhatsApp", "Интересуется новинками", "VIP"]
TODAY = date(2026, 11, 20)

Row = Sequence[str | date | None]


def rows(count: int, seed: int = 7) -> Iterator[Row]:
    rnd = random.Random(seed)
    people: list[Row] = []
    for n in range(count):
        if people and rnd.random() < 0.005:
            yield people[rnd.randrange(len(people))]  # the same person again
            continue
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        name = f"{last}{'а' if first[-1] in 'аяь' else ''} {first} {n}"
        phone: str | None = f"+7 9{rnd.randrange(10**9):09d}"
        if rnd.random() < 0.3:
            phone = f"8 (9{n % 100:02d}) {rnd.randrange(10**7):07d}"
        if rnd.random() < 0.05:
            phone = None
        birthday = TODAY.replace(year=1960) + timedelta(days=rnd.randrange(40 * 365))
        bought = TODAY - timedelta(days=rnd.randrange(1, 3 * 365))
        row: list[str | date | None] = [
            name,
            rnd.choice(KINDS),
            f"ООО «Компания {rnd.randrange(5000)}»" if rnd.random() < 0.4 else None,
            phone,
            birthday if rnd.random() < 0.6 else None,
            None,
            bought,
            rnd.choice(PRODUCTS),
            rnd.choice(NOTES) if rnd.random() < 0.3 else None,
            f"client{n}@example.com",
        ]
        broken = rnd.random()
        if broken < 0.004:
            row[3] = "12-34"
        elif broken < 0.007:
            row[4] = "31.02.1980"
        elif broken < 0.01:
            row[1] = "друг"
        people.append(row)
        yield row


def _text(value: str | date | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y") if isinstance(value, date) else value


def write_csv(path: Path, count: int, encoding: str = "cp1251", delimiter: str = ";") -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(HEADER)
        for row in rows(count):
            writer.writerow([_text(v) for v in row])


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def write_xlsx(path: Path, count: int) -> None:
    write_xlsx_rows(path, [HEADER, *rows(count)])


def write_xlsx_rows(path: Path, table: Sequence[Row]) -> None:
    """As Excel writes it: every text in the shared strings table, dates as serial numbers with a
    date style, the sheet's dimension in front."""
    strings: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            width = max(len(row) for row in table)
            last = f"{_column(width - 1)}{len(table)}"
            sheet.write(
                f'{_XML}<worksheet xmlns="{_MAIN}"><dimension ref="A1:{last}"/><sheetData>'.encode()
            )
            for r, row in enumerate(table, 1):
                cells = [f'<row r="{r}">']
                for c, value in enumerate(row):
                    ref = f"{_column(c)}{r}"
                    if isinstance(value, date):
                        serial = (value - date(1899, 12, 30)).days
                        cells.append(f'<c r="{ref}" s="1"><v>{serial}</v></c>')
                    elif value:
                        index = strings.setdefault(value, len(strings))
                        cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
                cells.append("</row>")
                sheet.write("".join(cells).encode())
            sheet.write(b"</sheetData></worksheet>")
        table = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        z.writestr(
            "xl/sharedStrings.xml",
            f'{_XML}<sst xmlns="{_MAIN}" uniqueCount="{len(strings)}">{table}</sst>',
        )
        z.writestr(
            "xl/styles.xml",
            f'{_XML}<styleSheet xmlns="{_MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
            'formatCode="dd\\.mm\\.yyyy"/></numFmts><cellXfs count="2"><xf numFmtId="0"/>'
            '<xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="Клиенты" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "_rels/.rels",
            f'{_XML}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "[Content_Types].xml",
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{_CT}.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{_CT}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/></Types>',
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="a .csv or .xlsx file to write")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    args.path.parent.mkdir(parents=True, exist_ok=True)
    if args.path.suffix == ".xlsx":
        write_xlsx(args.path, args.rows)
    else:
        write_csv(args.path, args.rows)
    print(f"{args.path}: {args.rows} rows, {args.path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
