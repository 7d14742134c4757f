"""Export files for /export: a table written chunk by chunk to CSV and XLSX side by side, in parts.

CSV is UTF-8 with a BOM and `;` between fields, which is what Russian Excel expects when a file is
double-clicked; fields with `;`, quotes or line breaks are quoted. XLSX comes from our own
streaming writer (views/xlsx_stream.py): each chunk of rows goes into the zipped sheet as it is
made, strings inline, so neither format keeps the table in memory. Free text that a spreadsheet
would run as a formula or a link ("=HYPERLINK(…)", "@SUM(A1)", "http://…", "+7 916…", "0012")
stays text: prefixed with an apostrophe in CSV (the usual CSV-injection defence); in XLSX every
string is an inline string, which no spreadsheet reads as a formula, a link or a number.

The one non-obvious decision: a table of any size reaches the owner. It is cut into parts of
`PART_ROWS` rows (Excel holds 1,048,576 rows a sheet, Telegram takes 50 MB a file); each part is
handed to `deliver` as soon as it closes, and its files are removed right after, so the disk use
stays flat too. A file `deliver` cannot send (over the upload limit even zipped) is written again
as two halves, read anew by their keyset bounds. Pure: no database, no Telegram; the callers pass
the reader and the sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import math
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from domain.nps import category
from domain.parsing import format_phone
from storage.reports import AnswerRow, ContactRow, Local
from views.texts import plain
from views.xlsx_stream import ILLEGAL_CHARACTERS_RE, SheetWriter, Style

Value = str | int | float | Local | None
Kind = Literal["text", "phone", "int", "date", "datetime"]
Format_ = Literal["csv", "xlsx"]
FORMATS: tuple[Format_, ...] = ("csv", "xlsx")

# Telegram bots may upload documents up to 50 MB; keep a margin for the multipart envelope.
UPLOAD_LIMIT = 49 * 1024 * 1024
# Rows of one part: a quarter of what an Excel sheet holds, and (measured, bench/bench_export.py)
# an XLSX of typical answers well under the upload limit.
PART_ROWS = 250_000
# Excel keeps at most this many UTF-16 code units in a cell.
CELL_LIMIT = 32_767
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DAY_ZERO = date(1899, 12, 30)  # day 0 of spreadsheets' day numbers


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    width: float  # in Excel's character widths
    kind: Kind = "text"


def _xlsx_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_cell(text: str, mark: Callable[[int], str]) -> str:
    """`text` if Excel can hold it in one cell; else as much of it as fits with `mark(length)`
    ("… [cut, N characters in all]") at the end, cut between characters, never inside one."""
    if len(text) <= CELL_LIMIT // 2 or _utf16_units(text) <= CELL_LIMIT:
        return text
    tail = mark(len(text))
    room = CELL_LIMIT - _utf16_units(tail)
    head = text.encode("utf-16-le")[: 2 * room]
    if 0xD800 <= int.from_bytes(head[-2:], "little") <= 0xDBFF:  # half of a surrogate pair
        head = head[:-2]
    return head.decode("utf-16-le") + tail


class TableWriter:
    """One table into `<stem>.csv` and/or `<stem>.xlsx` in `folder`: `write()`, then `close()`."""

    def __init__(
        self,
        folder: Path,
        stem: str,
        sheet: str,
        columns: Sequence[Column],
        formats: Iterable[Format_] = FORMATS,
        cut_mark: Callable[[int], str] = lambda n: f"… [{n}]",
    ) -> None:
        self.columns = tuple(columns)
        self.formats = frozenset(formats)
        self.csv_path = folder / f"{stem}.csv" if "csv" in self.formats else None
        self.xlsx_path = folder / f"{stem}.xlsx" if "xlsx" in self.formats else None
        self.rows = 0
        self._cut_mark = cut_mark
        self._csv_file = None
        self._csv: Any = None
        self._book: Any = None
        self._text_kind = tuple(c.kind == "text" for c in self.columns)
        if self.csv_path is not None:
            self._csv_file = self.csv_path.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._csv_file, delimiter=";", lineterminator="\r\n")
            self._csv.writerow([c.header for c in self.columns])
        if self.xlsx_path is not None:
            self._open_book(sheet)

    def _open_book(self, sheet: str) -> None:
        assert self.xlsx_path is not None
        styles: dict[Kind, Style] = {"date": "date", "datetime": "datetime"}
        self._book = SheetWriter(
            self.xlsx_path,
            sheet,
            [c.header for c in self.columns],
            [c.width for c in self.columns],
            [styles.get(c.kind, "plain") for c in self.columns],
        )

    def write(self, rows: Iterable[Sequence[Value]]) -> None:
        width = len(self.columns)
        rows = rows if isinstance(rows, list) else list(rows)
        for row in rows:
            if len(row) != width:
                raise ValueError(f"row has {len(row)} values for {width} columns")
            if self._csv is not None:
                self._csv.writerow(
                    [_csv_value(v, k) for v, k in zip(row, self._text_kind, strict=True)]
                )
        if self._book is not None:
            self._book.write(rows, self._fit)
        self.rows += len(rows)

    def _fit(self, text: str) -> str:
        if len(text) <= CELL_LIMIT // 2:  # fits whatever it holds
            return text
        return fit_cell(_xlsx_text(text), self._cut_mark)

    def close(self) -> tuple[Path | None, Path | None]:
        if self._csv_file is not None:
            self._csv_file.close()
        if self._book is not None:
            self._book.close()
        return self.csv_path, self.xlsx_path

    def abort(self) -> None:
        """Close the files after a failure; the caller removes the folder with what is in it."""
        if self._csv_file is not None:
            self._csv_file.close()
        if self._book is not None:
            self._book.abort()


def _csv_value(value: Value, text_kind: bool) -> str:
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        # Phones are ours ("+7 916 …", validated); free text may come from anybody.
        if text_kind and value.startswith(_FORMULA_START):  # type: ignore[union-attr]
            return "'" + value  # type: ignore[operator]
        return value  # type: ignore[return-value]
    if kind is Local:
        return value[1]  # type: ignore[index]
    return str(value)


def fit_for_upload(path: Path, limit: int | None = None) -> Path | None:
    """The file itself if Telegram accepts its size; else a ZIP of it if that fits; else None."""
    limit = UPLOAD_LIMIT if limit is None else limit
    if path.stat().st_size <= limit:
        return path
    if path.suffix == ".xlsx":  # already a ZIP inside: compressing again gains nothing
        return None
    packed = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.write(path, arcname=path.name)
    if packed.stat().st_size <= limit:
        return packed
    packed.unlink()
    return None


# ---- the two tables -------------------------------------------------------------------------


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


class _Words:
    """The export's fixed words in one language, looked up once per table, not once per cell."""

    def __init__(self, lang: str) -> None:
        self.kinds: dict[str, str] = _Lookup(lambda kind: plain(lang, f"kind.{kind}"))
        self.categories = {
            score: plain(lang, f"export.cat.{category(score)}") for score in range(11)
        }
        self.yes_no = {1: plain(lang, "export.yes"), 0: plain(lang, "export.no"), None: None}
        self.erased = plain(lang, "export.erased")


class _Lookup(dict[str, str]):
    def __init__(self, make: Callable[[str], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: str) -> str:
        self[key] = value = self._make(key)
        return value


def _phone(e164: str | None) -> str | None:
    return format_phone(e164) if e164 else None


def answer_cells(lang: str) -> Callable[[AnswerRow], list[Value]]:
    words = _Words(lang)

    def cells(row: AnswerRow) -> list[Value]:
        return [
            row.answered,
            words.erased if row.forgotten else row.name,
            row.organization,
            words.kinds[row.kind],
            row.manager,
            row.deal_description,
            row.deal_date,
            row.score,
            words.categories.get(row.score),
            row.reason,
            words.yes_no.get(row.consent),
            _phone(row.phone),
            row.created,
            row.opened,
        ]

    return cells


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


def _birthday(row: ContactRow) -> Local | str | None:
    """A date when the year is known; else "DD.MM" as text (a date needs a year)."""
    if row.birth_day is None or row.birth_month is None:
        return None
    if row.birth_year:
        try:
            when = date(row.birth_year, row.birth_month, row.birth_day)
        except ValueError:  # 29.02 of a year that is not a leap year, typed by hand
            pass
        else:
            return Local(float((when - _DAY_ZERO).days), when.strftime("%d.%m.%Y"))
    return f"{row.birth_day:02d}.{row.birth_month:02d}"


def contact_cells(lang: str) -> Callable[[ContactRow], list[Value]]:
    words = _Words(lang)

    def cells(row: ContactRow) -> list[Value]:
        return [
            row.name,
            words.kinds[row.kind],
            row.organization,
            _phone(row.phone),
            _birthday(row),
            row.manager,
            row.last_deal,
            row.deals,
            row.last_score,
            words.yes_no.get(row.consent),
            row.opted_out,
            row.unreachable,
            row.created,
        ]

    return cells


# ---- parts ------------------------------------------------------------------------------------

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Source(Generic[R]):
    """A table to export: what it is called, its columns, and how to read it by keyset."""

    stem: str
    sheet: str
    columns: Sequence[Column]
    total: int  # rows, counted before the export starts
    read: Callable[[Any, int], AsyncIterator[list[R]]]  # (after this key or None, at most rows)
    key: Callable[[R], Any]
    cells: Callable[[R], list[Value]]
    cut_mark: Callable[[int], str]
    day: Callable[[R], str] | None = None  # the local date a row is filed under (captions)


@dataclass(frozen=True, slots=True)
class Piece:
    """Rows `first`..`first + rows - 1` (1-based) of a table, read after the key `after`: a whole
    part (`number` of `parts`), or a half of one that was too big to send."""

    number: int
    parts: int
    first: int
    limit: int
    after: Any
    whole: bool = True  # the whole part, not a half of it


@dataclass(slots=True)
class Written:
    """A piece on disk: its files (None for a format not asked for) and what is in them."""

    piece: Piece
    csv: Path | None
    xlsx: Path | None
    rows: int = 0
    last_key: Any = None
    first_day: str | None = None
    last_day: str | None = None

    @property
    def last(self) -> int:
        return self.piece.first + self.rows - 1

    @property
    def single(self) -> bool:
        """The whole table in one piece: its captions and names need no part."""
        return self.piece.parts == 1 and self.piece.whole


Deliver = Callable[[Written, bool], Awaitable[frozenset[Format_]]]
"""Send a written piece (the bool: may it be split?); the formats that were too big to send."""


def _stem(source: Source[Any], piece: Piece) -> str:
    if piece.parts == 1 and piece.whole:
        return source.stem
    name = f"{source.stem}-part{piece.number}of{piece.parts}"
    if not piece.whole:
        name += f"-rows{piece.first}-{piece.first + piece.limit - 1}"
    return name


def _write_chunk(writer: TableWriter, rows: list[R], cells: Callable[[R], list[Value]]) -> None:
    writer.write([cells(row) for row in rows])


async def write_piece(
    source: Source[R],
    folder: Path,
    piece: Piece,
    formats: Iterable[Format_] = FORMATS,
    progress: Callable[[int], Awaitable[None]] | None = None,
) -> Written:
    """Read the piece's rows and write them; file work happens in a worker thread, chunk by
    chunk. `progress(rows written so far)` after each chunk."""
    writer = await asyncio.to_thread(
        TableWriter,
        folder,
        _stem(source, piece),
        source.sheet,
        source.columns,
        formats,
        source.cut_mark,
    )
    written = Written(piece, writer.csv_path, writer.xlsx_path, last_key=piece.after)
    reader = source.read(piece.after, piece.limit)
    # The next chunk is read while this one is written: SQLite lets go of the GIL while it
    # steps, so on two cores the reading mostly hides behind the writing.
    ahead: asyncio.Future[list[R] | None] | None = asyncio.ensure_future(anext(reader, None))
    try:
        while (rows := await ahead) is not None:
            ahead = asyncio.ensure_future(anext(reader, None))
            await asyncio.to_thread(_write_chunk, writer, rows, source.cells)
            written.last_key = source.key(rows[-1])
            if source.day is not None:
                written.first_day = written.first_day or source.day(rows[0])
                written.last_day = source.day(rows[-1])
            if progress is not None:
                await progress(writer.rows)
        ahead = None
        await asyncio.to_thread(writer.close)
    except BaseException:
        if ahead is not None:
            ahead.cancel()
            with contextlib.suppress(BaseException):
                await ahead
        with contextlib.suppress(Exception):
            await reader.aclose()  # type: ignore[attr-defined]
        await asyncio.to_thread(writer.abort)
        raise
    written.rows = writer.rows
    return written


def _remove(written: Written) -> None:
    for path in (written.csv, written.xlsx):
        if path is not None:
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".zip").unlink(missing_ok=True)


async def _deliver(source: Source[R], folder: Path, written: Written, deliver: Deliver) -> None:
    """Send a piece; a file too big to send is written again as two halves, recursively."""
    try:
        too_big = await deliver(written, written.rows > 1)
    finally:
        await asyncio.to_thread(_remove, written)
    if not too_big or written.rows < 2:
        return
    half = written.rows // 2
    start = written.piece
    first = replace(start, limit=half, whole=False)
    done = await write_piece(source, folder, first, sorted(too_big))
    await _deliver(source, folder, done, deliver)
    rest = replace(
        start, first=start.first + half, limit=written.rows - half, after=done.last_key, whole=False
    )
    await _deliver(
        source, folder, await write_piece(source, folder, rest, sorted(too_big)), deliver
    )


async def export_table(
    source: Source[R],
    folder: Path,
    deliver: Deliver,
    progress: Callable[[int], Awaitable[None]] | None = None,
    part_rows: int | None = None,
    formats: Iterable[Format_] = FORMATS,
) -> int:
    """Write the table part by part, each handed to `deliver` as soon as it closes; the number
    of rows. An empty table still gets its one file with the headers."""
    part_rows = part_rows or PART_ROWS
    parts = max(1, math.ceil(source.total / part_rows))
    after: Any = None
    done = 0
    number = 0
    while True:
        number += 1
        piece = Piece(number, max(parts, number), done + 1, part_rows, after)

        async def counted(rows: int, before: int = done) -> None:
            if progress is not None:
                await progress(before + rows)

        written = await write_piece(source, folder, piece, formats, counted)
        if written.rows == 0 and number > 1:
            await asyncio.to_thread(_remove, written)
            return done
        done += written.rows
        await _deliver(source, folder, written, deliver)
        if written.rows < part_rows:
            return done
        after = written.last_key
