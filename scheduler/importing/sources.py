"""Which file this is, and its rows one at a time, without loading it into memory.

The file's name says what the sender meant; its first bytes say what it is: an `.xlsx` that is
not a zip is refused, a `.csv` that is really a workbook is read as one, an old binary `.xls` gets
a hint to save it as `.xlsx`. A CSV's encoding is decided by reading the whole file as strict
UTF-8 once (a Windows-1251 file almost never passes), and its delimiter by the header line:
the first of the top lines that names a name or phone column when split by `;`, `,` or tab (a
title line above it, "Клиенты на 01.12", has no separator to go by, or the wrong one).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from domain.importing.cells import Cell
from domain.importing.columns import HEADER_SEARCH_ROWS, read_header
from domain.importing.report import Unreadable
from scheduler.importing.xlsx import XlsxError, XlsxReader

MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download (getFile)
HEAD_BYTES = 64 * 1024

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMES = ("text/csv", "text/plain", "text/comma-separated-values", "application/csv")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls (and old .doc)
FORMULA_STARTS = ("=", "+", "-", "@")
_SEP_LINE = re.compile(r"^sep=(.)\s*$")
_QUOTED = re.compile(r'"[^"]*"')


@dataclass
class Source:
    rows: Iterator[tuple[int, list[Cell]]]  # (row number as a spreadsheet shows it, cells)
    progress: Callable[[], float]  # share of the file read so far, 0..1
    close: Callable[[], None]


def declared_format(file_name: str | None, mime_type: str | None) -> str:
    """What the sender's file claims to be: csv, xlsx, xls, sheet (another spreadsheet
    program's format), or other."""
    suffix = Path(file_name or "").suffix.casefold()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        return "xls"
    if suffix in (".ods", ".numbers", ".xlsb", ".gsheet"):
        return "sheet"
    if suffix:
        return "other"
    if mime_type == XLSX_MIME:
        return "xlsx"
    if mime_type in CSV_MIMES:
        return "csv"
    return "other"


def open_source(path: Path, declared: str) -> Source:
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if not head:
        raise Unreadable("empty")
    if head.startswith(_OLE_MAGIC):
        raise Unreadable("legacy_xls")
    if head.startswith(_ZIP_MAGIC):
        return _xlsx_source(path)
    if declared == "xlsx":
        raise Unreadable("not_xlsx")
    return _csv_source(path, head)


def _xlsx_source(path: Path) -> Source:
    try:
        reader = XlsxReader(str(path))
    except XlsxError as exc:
        raise Unreadable("not_xlsx", detail=str(exc)) from None

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        try:
            yield from reader.rows()
        except XlsxError as exc:
            raise Unreadable("not_xlsx", detail=str(exc)) from None

    return Source(rows(), lambda: reader.bytes_read / reader.total_bytes, reader.close)


def _encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    if b"\0" in head:
        raise Unreadable("not_text")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1251"  # what Russian Excel writes for "CSV (разделители — запятые)"
    return "utf-8"


DELIMITERS = (";", ",", "\t")


def _delimiter(first_line: str) -> str:
    bare = _QUOTED.sub("", first_line)
    counts = {d: bare.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_delimiter(lines: list[str]) -> str | None:
    """The delimiter that makes one of the top lines a readable header (the first such line;
    on it, the delimiter that finds the most columns), or None if no line reads as one."""
    for line in lines[:HEADER_SEARCH_ROWS]:
        found = []
        for delimiter in DELIMITERS:
            try:
                cells = next(csv.reader([line], delimiter=delimiter), [])
            except csv.Error:
                continue
            header = read_header(1, cells)
            if header.readable:
                found.append((len(header.columns), -DELIMITERS.index(delimiter), delimiter))
        if found:
            return max(found)[2]
    return None


def _csv_source(path: Path, head: bytes) -> Source:
    encoding = _encoding(path, head)
    preview = head.decode(encoding, errors="ignore")
    lines = [line for line in preview.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    sep = _SEP_LINE.match(first)
    # Without a header line, the first line's: the check then says there is no header.
    delimiter = sep.group(1) if sep else _header_delimiter(lines) or _delimiter(first)
    size = max(path.stat().st_size, 1)
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        try:
            reader = csv.reader(text, delimiter=delimiter)
            if sep:
                next(reader, None)
            for number, record in enumerate(reader, 1):
                yield number, [c if c[:1] != "'" else _unquote(c) for c in record]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Unreadable("bad_csv", row=number + 1, detail=str(exc)) from None

    def close() -> None:
        text.close()

    return Source(rows(), lambda: raw.tell() / size if not raw.closed else 1.0, close)


def _unquote(cell: str) -> str:
    """Drop the apostrophe our rejected-rows file puts before a cell that a spreadsheet would
    otherwise run as a formula, so the fixed file reads back as it was."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell
