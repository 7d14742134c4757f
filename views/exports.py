"""Export files for /export: a table written chunk by chunk to CSV and XLSX side by side.

CSV is UTF-8 with a BOM and `;` between fields, which is what Russian Excel expects when a file is
double-clicked; fields with `;`, quotes or line breaks are quoted. XLSX comes from openpyxl in
write-only mode (rows stream to a temporary file, strings are written inline), so neither format
keeps the table in memory. Free text that a spreadsheet would run as a formula ("=cmd|…",
"+…", "@…") stays text: prefixed with an apostrophe in CSV (the usual CSV-injection defence), typed
as a string in XLSX. Pure: no database, no Telegram; the callers run it in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import re
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Literal, TypeVar

from domain.nps import category
from domain.parsing import format_phone
from domain.vocabulary import DATE, DATETIME
from storage.reports import AnswerRow, ContactRow
from storage.timefmt import from_ts
from views.texts import plain

Value = str | int | date | datetime | None
Kind = Literal["text", "phone", "int", "date", "datetime"]

# Telegram bots may upload documents up to 50 MB; keep a margin for the multipart envelope.
UPLOAD_LIMIT = 49 * 1024 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_DATE, _CSV_DATETIME = DATE, DATETIME
_XLSX_DATE, _XLSX_DATETIME = "DD.MM.YYYY", "DD.MM.YYYY HH:MM"


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    width: float  # in Excel's character widths
    kind: Kind = "text"


class TableWriter:
    """One table into `<stem>.csv` and `<stem>.xlsx` in `folder`: `write()`, then `close()`."""

    def __init__(self, folder: Path, stem: str, sheet: str, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self.csv_path = folder / f"{stem}.csv"
        self.xlsx_path = folder / f"{stem}.xlsx"
        self.rows = 0
        self._csv_file = self.csv_path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._csv_file, delimiter=";", lineterminator="\r\n")
        self._csv.writerow([c.header for c in self.columns])
        # openpyxl (about 30 MiB) is loaded by the first export, not at start-up.
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self._cell = WriteOnlyCell
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(sheet[:31])
        for i, column in enumerate(self.columns, start=1):
            self._sheet.column_dimensions[get_column_letter(i)].width = column.width
        self._sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for column in self.columns:
            cell = self._cell(self._sheet, _xlsx_text(column.header))
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)

    def write(self, rows: Iterable[Sequence[Value]]) -> None:
        for row in rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row has {len(row)} values for {len(self.columns)} columns")
            self._csv.writerow(
                [_csv_value(v, c.kind) for v, c in zip(row, self.columns, strict=True)]
            )
            self._sheet.append([self._xlsx_value(v) for v in row])
            self.rows += 1

    def close(self) -> tuple[Path, Path]:
        self._csv_file.close()
        from openpyxl.utils import get_column_letter

        last = get_column_letter(len(self.columns))
        self._sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"
        self._book.save(self.xlsx_path)
        return self.csv_path, self.xlsx_path

    def abort(self) -> None:
        """Close the files after a failure; the caller removes the folder with what is in it."""
        self._csv_file.close()
        # Saving is openpyxl's only public way to close and remove its temporary file; if the
        # workbook itself is what failed, there is nothing more to release.
        with contextlib.suppress(Exception):
            self._book.save(self.xlsx_path)

    def _xlsx_value(self, value: Value) -> object:
        if isinstance(value, datetime):
            cell = self._cell(self._sheet, value)
            cell.number_format = _XLSX_DATETIME
            return cell
        if isinstance(value, date):
            cell = self._cell(self._sheet, value)
            cell.number_format = _XLSX_DATE
            return cell
        if isinstance(value, str):
            text = _xlsx_text(value)
            if text.startswith("="):  # openpyxl would store it as a formula
                cell = self._cell(self._sheet, text)
                cell.data_type = "s"
                return cell
            return text
        return value


# openpyxl's ILLEGAL_CHARACTERS_RE (control characters XML 1.0 cannot hold), copied so that this
# module does not load openpyxl at import; tests/test_reports.py checks the two stay equal.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _xlsx_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _csv_value(value: Value, kind: Kind) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(_CSV_DATETIME)
    if isinstance(value, date):
        return value.strftime(_CSV_DATE)
    if isinstance(value, str):
        # Phones are ours ("+7 916 …", validated); free text may come from anybody.
        if kind == "text" and value.startswith(_FORMULA_START):
            return "'" + value
        return value
    return str(value)


def fit_for_upload(path: Path, limit: int = UPLOAD_LIMIT) -> Path | None:
    """The file itself if Telegram accepts its size; else a ZIP of it if that fits; else None."""
    if path.stat().st_size <= limit:
        return path
    if path.suffix == ".xlsx":  # already a ZIP inside: compressing again gains nothing
        return None
    packed = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.write(path, arcname=path.name)
    return packed if packed.stat().st_size <= limit else None


# ---- the two tables -------------------------------------------------------------------------


def _local(stamp: str | None, tz: tzinfo) -> datetime | None:
    """UTC text from the database as a naive local datetime (spreadsheets have no time zones)."""
    if stamp is None:
        return None
    return from_ts(stamp).astimezone(tz).replace(tzinfo=None)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _yes_no(lang: str, value: int | None) -> str | None:
    if value is None:
        return None
    return plain(lang, "export.yes" if value else "export.no")


def _phone(e164: str | None) -> str | None:
    return format_phone(e164) if e164 else None


def answer_columns(lang: str) -> list[Column]:
    def col(key: str, width: float, kind: Kind = "text") -> Column:
        return Column(plain(lang, f"export.a.{key}"), width, kind)

    return [
        col("answered", 17, "datetime"),
        col("name", 28),
        col("org", 24),
        col("kind", 13),
        col("manager", 22),
        col("deal", 30),
        col("deal_date", 12, "date"),
        col("score", 8, "int"),
        col("category", 13),
        col("reason", 60),
        col("consent", 12),
        col("phone", 18, "phone"),
        col("created", 17, "datetime"),
        col("opened", 17, "datetime"),
    ]


def answer_cells(row: AnswerRow, lang: str, tz: tzinfo) -> list[Value]:
    return [
        _local(row.scored_at, tz),
        plain(lang, "export.erased") if row.forgotten else row.name,
        row.organization,
        plain(lang, f"kind.{row.kind}"),
        row.manager,
        row.deal_description,
        _day(row.deal_date),
        row.score,
        plain(lang, f"export.cat.{category(row.score)}"),
        row.reason,
        _yes_no(lang, row.consent),
        _phone(row.phone),
        _local(row.created_at, tz),
        _local(row.opened_at, tz),
    ]


def contact_columns(lang: str) -> list[Column]:
    def col(key: str, width: float, kind: Kind = "text") -> Column:
        return Column(plain(lang, f"export.c.{key}"), width, kind)

    return [
        col("name", 28),
        col("kind", 13),
        col("org", 24),
        col("phone", 18, "phone"),
        col("birthday", 12),
        col("manager", 22),
        col("last_deal", 13, "date"),
        col("deals", 8, "int"),
        col("last_score", 10, "int"),
        col("consent", 12),
        col("opted_out", 13, "date"),
        col("unreachable", 13, "date"),
        col("created", 17, "datetime"),
    ]


def _birthday(row: ContactRow) -> date | str | None:
    """A date when the year is known; else "DD.MM" as text (a date needs a year)."""
    if row.birth_day is None or row.birth_month is None:
        return None
    if row.birth_year:
        try:
            return date(row.birth_year, row.birth_month, row.birth_day)
        except ValueError:  # 29.02 of a year that is not a leap year, typed by hand
            pass
    return f"{row.birth_day:02d}.{row.birth_month:02d}"


def _local_day(stamp: str | None, tz: tzinfo) -> date | None:
    moment = _local(stamp, tz)
    return moment.date() if moment else None


def contact_cells(row: ContactRow, lang: str, tz: tzinfo) -> list[Value]:
    return [
        row.name,
        plain(lang, f"kind.{row.kind}"),
        row.organization,
        _phone(row.phone),
        _birthday(row),
        row.manager,
        _day(row.last_deal),
        row.deals,
        row.last_score,
        _yes_no(lang, row.consent),
        _local_day(row.opted_out_at, tz),
        _local_day(row.unreachable_at, tz),
        _local(row.created_at, tz),
    ]


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Table:
    csv: Path
    xlsx: Path
    rows: int


def _write_chunk(
    writer: TableWriter,
    rows: list[R],
    cells: Callable[[R, str, tzinfo], list[Value]],
    lang: str,
    tz: tzinfo,
) -> None:
    writer.write([cells(row, lang, tz) for row in rows])


async def write_table(
    folder: Path,
    stem: str,
    sheet: str,
    columns: list[Column],
    chunks: AsyncIterator[list[R]],
    cells: Callable[[R, str, tzinfo], list[Value]],
    lang: str,
    tz: tzinfo,
) -> Table:
    """Stream the chunks into CSV and XLSX; file work happens in a worker thread, chunk by chunk."""
    writer = await asyncio.to_thread(TableWriter, folder, stem, sheet, columns)
    try:
        async for rows in chunks:
            await asyncio.to_thread(_write_chunk, writer, rows, cells, lang, tz)
        csv_path, xlsx_path = await asyncio.to_thread(writer.close)
    except BaseException:
        await asyncio.to_thread(writer.abort)
        raise
    return Table(csv_path, xlsx_path, writer.rows)
