"""A streaming reader for the first sheet of an XLSX file: rows of plain Python values.

Why not openpyxl's `read_only` mode: on this project's 2-core machine it reads about 4,500 rows
of nine columns a second (its per-cell Python objects dominate), and loading a workbook with
200,000 distinct strings takes another five seconds, so 100,000 rows could not be imported in
30 seconds. This reader feeds the sheet XML to expat (C) in chunks and keeps only the current
row; it still uses openpyxl's tables for what Excel means by a date format and a serial date.
Shared strings are kept as one joined string plus offsets, a fraction of a list of str objects.
"""

from __future__ import annotations

import posixpath
import zipfile
from array import array
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any
from xml.etree import ElementTree
from xml.parsers import expat

Value = str | int | float | bool | datetime | None

FEED_BYTES = 64 * 1024  # ~250 rows of sheet XML: the event loop gets a turn after each
MAX_COLUMNS = 200
MAX_PART_BYTES = 400 * 1024 * 1024  # uncompressed shared strings: a zip bomb is refused


class XlsxError(Exception):
    """Not a readable XLSX workbook (not a zip, no sheet, broken XML)."""


def _local(name: str) -> str:
    """An element's name without its namespace: "x:c", "{uri}c" and "c" are all "c"."""
    return name.rpartition("}")[2].rpartition(":")[2]


def _column(ref: str) -> int:
    index = 0
    for ch in ref:
        code = ord(ch)
        if 65 <= code <= 90:
            index = index * 26 + code - 64
        elif 97 <= code <= 122:
            index = index * 26 + code - 96
        else:
            break
    return index - 1


class _Strings:
    """The shared strings table, compact: one str and an array of offsets."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._pending: list[str] = []
        self._offsets = array("q", [0])
        self._blob = ""

    def add(self, text: str) -> None:
        self._pending.append(text)
        self._offsets.append(self._offsets[-1] + len(text))
        if len(self._pending) >= 4096:
            self._chunks.append("".join(self._pending))
            self._pending = []

    def close(self) -> None:
        self._blob = "".join([*self._chunks, *self._pending])
        self._chunks = self._pending = []

    def __getitem__(self, index: int) -> str:
        return self._blob[self._offsets[index] : self._offsets[index + 1]]

    def __len__(self) -> int:
        return len(self._offsets) - 1


class XlsxReader:
    def __init__(self, path: str) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise XlsxError(str(exc)) from None
        try:
            self._locate()
        except XlsxError:
            self._zip.close()
            raise
        except (KeyError, ValueError, ElementTree.ParseError, zipfile.BadZipFile) as exc:
            self._zip.close()
            raise XlsxError(f"{type(exc).__name__}: {exc}") from None
        self.total_bytes = max(self._zip.getinfo(self._sheet).file_size, 1)
        self.bytes_read = 0

    def close(self) -> None:
        self._zip.close()

    # -- the workbook's parts ------------------------------------------------------------------

    def _xml(self, name: str) -> ElementTree.Element:
        if self._zip.getinfo(name).file_size > MAX_PART_BYTES:
            raise XlsxError(f"{name} is too large")
        return ElementTree.fromstring(self._zip.read(name))

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        folder, name = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        if rels_name not in self._zip.NameToInfo:
            return {}
        out = {}
        for rel in self._xml(rels_name):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            kind = rel.get("Type", "").rpartition("/")[2]
            out[rel.get("Id", "")] = (kind, posixpath.normpath(path))
        return out

    def _locate(self) -> None:
        workbook = next(
            (t for kind, t in self._rels("").values() if kind == "officeDocument"),
            "xl/workbook.xml",
        )
        rels = self._rels(workbook)
        root = self._xml(workbook)
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        epoch = CALENDAR_WINDOWS_1900
        sheet_rel = None
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "workbookPr" and el.get("date1904") in ("1", "true"):
                epoch = CALENDAR_MAC_1904
            elif tag == "sheet" and sheet_rel is None:
                sheet_rel = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
        if sheet_rel is None or sheet_rel not in rels:
            raise XlsxError("the workbook has no sheet")
        self._sheet = rels[sheet_rel][1]
        if self._sheet not in self._zip.NameToInfo:
            raise XlsxError("the first sheet is missing")
        self._epoch = epoch
        by_kind = {kind: target for kind, target in rels.values()}
        self._strings = _Strings()
        if by_kind.get("sharedStrings") in self._zip.NameToInfo:
            self._read_strings(by_kind["sharedStrings"])
        self._dates: frozenset[int] = frozenset()
        if by_kind.get("styles") in self._zip.NameToInfo:
            self._dates = self._date_styles(by_kind["styles"])

    def _date_styles(self, name: str) -> frozenset[int]:
        root = self._xml(name)
        custom: dict[int, str] = {}
        xfs: list[int] = []
        for el in root:
            tag = _local(el.tag)
            if tag == "numFmts":
                for fmt in el:
                    custom[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
            elif tag == "cellXfs":
                xfs = [int(xf.get("numFmtId", "0")) for xf in el]
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        dates = set()
        for index, fmt_id in enumerate(xfs):
            code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id)
            if code is not None and is_date_format(code):
                dates.add(index)
        return frozenset(dates)

    def _read_strings(self, name: str) -> None:
        if self._zip.getinfo(name).file_size > MAX_PART_BYTES:
            raise XlsxError("the shared strings table is too large")
        strings = self._strings
        codes: dict[str, int] = {}
        current: list[str] = []
        state = [False, 0]  # collecting text, inside a phonetic run

        def start(tag: str, attrs: dict[str, str]) -> None:
            code = codes.get(tag)
            if code is None:
                code = codes[tag] = _CODES.get(_local(tag), _OTHER)
            if code == _SI:
                current.clear()
            elif code == _T and not state[1]:
                state[0] = True
            elif code == _RPH:
                state[1] += 1

        def end(tag: str) -> None:
            code = codes[tag]
            if code == _T:
                state[0] = False
            elif code == _RPH:
                state[1] -= 1
            elif code == _SI:
                strings.add("".join(current))

        def chars(data: str) -> None:
            if state[0]:
                current.append(data)

        parser = _parser(start, end, chars)
        with self._zip.open(name) as src:
            _feed_all(parser, src)
        strings.close()

    # -- the sheet -----------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, list[Value]]]:
        """(row number as Excel shows it, cell values) for every row present in the sheet."""
        ready: list[tuple[int, list[Value]]] = []
        convert = _Converter(self._strings, self._dates, self._epoch)
        strings = self._strings
        codes: dict[str, int] = {}
        columns: dict[str, int] = {}
        # The handlers run once per element (millions of times): plain closure variables, and
        # the two common cells (a shared string, a plain number) converted inline.
        row: list[Value] = []
        row_no = 0
        col = 0
        kind = "n"
        style: str | None = None
        text: str | None = None
        collecting = False
        phonetic = 0

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal row, row_no, col, kind, style, text, collecting, phonetic
            code = codes.get(tag)
            if code is None:
                code = codes[tag] = _CODES.get(_local(tag), _OTHER)
            if code == _C:
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    col = columns.get(letters, -1)
                    if col < 0:
                        col = columns[letters] = _column(letters)
                else:
                    col = len(row)
                kind = attrs.get("t", "n")
                style = attrs.get("s")
                text = None
            elif code == _V or (code == _T and not phonetic):
                collecting = True
            elif code == _ROW:
                number = attrs.get("r")
                row_no = int(number) if number else row_no + 1
                row = []
            elif code == _RPH:
                phonetic += 1

        def end(tag: str) -> None:
            nonlocal collecting, phonetic
            code = codes[tag]
            if code in (_V, _T):
                collecting = False
            elif code == _C:
                if not 0 <= col < MAX_COLUMNS:
                    return
                if kind == "s" and text:
                    value: Value = strings[int(text)]
                elif kind == "n" and style is None and text and text.isdigit():
                    value = int(text)
                else:
                    value = convert(text or "", kind, style)
                size = len(row)
                if col == size:
                    row.append(value)
                elif col > size:
                    row.extend([None] * (col - size))
                    row.append(value)
                else:
                    row[col] = value
            elif code == _ROW:
                ready.append((row_no, row))
            elif code == _RPH:
                phonetic -= 1

        def chars(data: str) -> None:
            nonlocal text
            if collecting:
                text = data if text is None else text + data

        parser = _parser(start, end, chars)
        with self._zip.open(self._sheet) as src:
            while True:
                chunk = src.read(FEED_BYTES)
                self.bytes_read += len(chunk)
                try:
                    parser.Parse(chunk, not chunk)
                except expat.ExpatError as exc:
                    raise XlsxError(f"broken sheet XML: {exc}") from None
                yield from ready
                ready.clear()
                if not chunk:
                    return


_OTHER, _SI, _T, _RPH, _C, _V, _ROW = range(7)
_CODES = {"si": _SI, "t": _T, "rPh": _RPH, "c": _C, "v": _V, "row": _ROW}


class _Converter:
    """A cell's text and type attribute as a Python value; serial dates are cached (a column
    of birthdays repeats a few thousand distinct days)."""

    def __init__(self, strings: _Strings, dates: frozenset[int], epoch: Any) -> None:
        self.strings = strings
        self.date_styles = {str(i) for i in dates}
        self.epoch = epoch
        self.days: dict[str, Value] = {}

    def __call__(self, text: str, kind: str, style: str | None) -> Value:
        if kind == "s":
            return self.strings[int(text)] if text else None
        if kind == "n" and style in self.date_styles and text:
            value = self.days.get(text)
            if value is None:
                value = self.days[text] = self._date(text)
            return value
        return _value(text, kind)

    def _date(self, text: str) -> Value:
        number = _value(text, "n")
        if not isinstance(number, int | float):
            return number
        from openpyxl.utils.datetime import from_excel  # loaded once the reader exists

        try:
            moment = from_excel(number, self.epoch)
        except (ValueError, OverflowError):
            return number
        return moment if isinstance(moment, datetime) else number


def _value(text: str, kind: str) -> Value:
    if kind in ("str", "inlineStr", "e"):
        return text
    if kind == "b":
        return text == "1" if text else None
    if kind == "d":
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return text
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _parser(start: Any, end: Any, chars: Any) -> Any:
    # No namespace processing: names come as written ("c", or "x:c" from some generators).
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    return parser


def _feed_all(parser: Any, src: IO[bytes]) -> None:
    try:
        while chunk := src.read(FEED_BYTES):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise XlsxError(f"broken XML: {exc}") from None
