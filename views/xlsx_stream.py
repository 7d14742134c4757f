"""A minimal streaming XLSX writer for the export: one sheet, rows straight into a zip entry.

It writes only what /export needs: a bold header row frozen above an autofilter, column widths,
text as inline strings, numbers, and dates as day numbers with a date or date-time format. Each
row is one joined string and each chunk of rows one write into the deflating zip stream, so the
table is never held in memory and no temporary files are made.

The one non-obvious decision: it exists for speed. xlsxwriter (constant-memory mode) spent most of
an export's time in its per-cell Python work (bench/bench_export.py, 100k contacts and ~300k
answers: 70.6 CPU s for the answers table against 148.3 with openpyxl); building the row text
directly takes a fraction of that. Inline strings also mean a text can never become a formula or
a link: there is no way to write either here.
"""

from __future__ import annotations

import contextlib
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Literal

Style = Literal["plain", "date", "datetime"]
DATE, DATETIME = "DD.MM.YYYY", "DD.MM.YYYY HH:MM"  # the number formats of the two date styles

# What XML 1.0 cannot hold: openpyxl's ILLEGAL_CHARACTERS_RE (control characters) plus lone
# surrogates and U+FFFE/U+FFFF, which openpyxl lets through and Excel then refuses.
ILLEGAL_CHARACTERS_RE = re.compile(
    r"[\000-\010]|[\013-\014]|[\016-\037]|[\ud800-\udfff\ufffe\uffff]"
)

_STYLE_INDEX: dict[Style, int] = {"plain": 0, "date": 2, "datetime": 3}
_HEADER_STYLE = 1

_OOXML = "http://schemas.openxmlformats.org"
_DOC_REL = f"{_OOXML}/officeDocument/2006/relationships"
_PKG_CT = "application/vnd.openxmlformats-package"
_DOC_CT = "application/vnd.openxmlformats-officedocument"


def _override(part: str, content_type: str) -> str:
    return f'<Override PartName="{part}" ContentType="{content_type}"/>'


def _relationship(rid: str, kind: str, target: str) -> str:
    return f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Types xmlns="{_OOXML}/package/2006/content-types">'
    f'<Default Extension="rels" ContentType="{_PKG_CT}.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    + _override("/xl/workbook.xml", f"{_DOC_CT}.spreadsheetml.sheet.main+xml")
    + _override("/xl/worksheets/sheet1.xml", f"{_DOC_CT}.spreadsheetml.worksheet+xml")
    + _override("/xl/styles.xml", f"{_DOC_CT}.spreadsheetml.styles+xml")
    + _override("/docProps/core.xml", f"{_PKG_CT}.core-properties+xml")
    + _override("/docProps/app.xml", f"{_DOC_CT}.extended-properties+xml")
    + "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_OOXML}/package/2006/relationships">'
    + _relationship("rId1", f"{_DOC_REL}/officeDocument", "xl/workbook.xml")
    + _relationship(
        "rId2", f"{_OOXML}/package/2006/relationships/metadata/core-properties", "docProps/core.xml"
    )
    + _relationship("rId3", f"{_DOC_REL}/extended-properties", "docProps/app.xml")
    + "</Relationships>"
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_OOXML}/package/2006/relationships">'
    + _relationship("rId1", f"{_DOC_REL}/worksheet", "worksheets/sheet1.xml")
    + _relationship("rId2", f"{_DOC_REL}/styles", "styles.xml")
    + "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="{date}"/>'
    '<numFmt numFmtId="165" formatCode="{datetime}"/>'
    "</numFmts>"
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
    "</sheetView></sheetViews>"
    '<sheetFormatPr defaultRowHeight="15"/>'
)


def column_letter(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def escape(text: str) -> str:
    """Text as XML character data: &, <, > escaped, characters XML 1.0 cannot hold removed, a
    carriage return kept as a reference (a parser would turn a literal one into a line feed)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if not text.isprintable():  # one C-level pass; rarely false
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
        if "\r" in text:
            text = text.replace("\r", "&#13;")
    return text


def _attr(text: str) -> str:
    return escape(text).replace('"', "&quot;")


class SheetWriter:
    """`<path>`: a workbook of one sheet. `write()` rows of str / int / float / date cells (a date
    is its day number, with the column's style), then `close()`; `abort()` after a failure."""

    def __init__(
        self,
        path: Path,
        sheet: str,
        headers: Sequence[str],
        widths: Sequence[float],
        styles: Sequence[Style],
        compresslevel: int = 3,
    ) -> None:
        self.path = path
        self.sheet = sheet[:31]
        self.width = len(headers)
        self.rows = 0  # data rows, the header not counted
        self._letters = [column_letter(i) for i in range(self.width)]
        # The style of a date cell in each column; a "plain" column gets the date style.
        self._date_styles = [str(_STYLE_INDEX[s] or _STYLE_INDEX["date"]) for s in styles]
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._stream: IO[bytes] | None = None
        try:
            self._zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
            self._zip.writestr("_rels/.rels", _ROOT_RELS)
            self._zip.writestr("docProps/core.xml", _CORE)
            self._zip.writestr("docProps/app.xml", _APP)
            self._zip.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
            self._zip.writestr(
                "xl/styles.xml", _STYLES.format(date=_attr(DATE), datetime=_attr(DATETIME))
            )
            self._stream = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
            cols = "".join(
                f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
                for i, w in enumerate(widths, start=1)
            )
            header = "".join(
                f'<c r="{letter}1" t="inlineStr" s="{_HEADER_STYLE}">'
                f'<is><t xml:space="preserve">{escape(text)}</t></is></c>'
                for letter, text in zip(self._letters, headers, strict=True)
            )
            self._stream.write(
                f'{_SHEET_HEAD}<cols>{cols}</cols><sheetData><row r="1">{header}</row>'.encode()
            )
        except BaseException:
            self.abort()
            raise

    def write(self, rows: Iterable[Sequence[object]], text: Callable[[str], str]) -> None:
        """Rows of values; `text(value)` turns a str into the cell's text before it is escaped
        (the caller's cut to what a cell holds). None and "" leave the cell empty."""
        assert self._stream is not None
        letters = self._letters
        date_styles = self._date_styles
        out: list[str] = []
        append = out.append
        r = self.rows + 1  # the sheet's row number; the header is row 1
        for row in rows:
            r += 1
            rs = str(r)
            append(f'<row r="{rs}">')
            for c, value in enumerate(row):
                if value is None:
                    continue
                kind = type(value)
                if kind is str:
                    if value:
                        append(
                            f'<c r="{letters[c]}{rs}" t="inlineStr"><is><t xml:space="preserve">'
                            f"{escape(text(value))}</t></is></c>"  # type: ignore[arg-type]
                        )
                elif kind is int:
                    append(f'<c r="{letters[c]}{rs}"><v>{value}</v></c>')
                elif kind is float:
                    if math.isfinite(value):  # type: ignore[arg-type]
                        append(f'<c r="{letters[c]}{rs}"><v>{value!r}</v></c>')
                else:  # a date: (day number, text)
                    append(
                        f'<c r="{letters[c]}{rs}" s="{date_styles[c]}"><v>{value[0]!r}</v></c>'  # type: ignore[index]
                    )
            append("</row>")
        self.rows = r - 1
        self._stream.write("".join(out).encode())

    def close(self) -> None:
        assert self._stream is not None
        last = self._letters[-1] if self._letters else "A"
        area = f"A1:{last}{self.rows + 1}"
        self._stream.write(f'</sheetData><autoFilter ref="{area}"/></worksheet>'.encode())
        self._stream.close()
        self._stream = None
        absolute = f"$A$1:${last}${self.rows + 1}"
        name = _attr(self.sheet.replace("'", "''"))
        self._zip.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
            ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f'<sheets><sheet name="{_attr(self.sheet)}" sheetId="1" r:id="rId1"/></sheets>'
            '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"'{name}'!{absolute}</definedName></definedNames>"
            "</workbook>",
        )
        self._zip.close()

    def abort(self) -> None:
        """Let go of the file after a failure (what was written is left for the caller to
        remove)."""
        # The zip itself may be what failed: nothing more to release then.
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
            self._stream = None
        with contextlib.suppress(Exception):
            self._zip.close()
