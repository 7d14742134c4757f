"""One import from start to end: check the whole file, then write it in chunks.

All or nothing where it matters: the first pass reads and validates every row before anything is
written, spooling the clean rows to a temporary file (pickled chunks) and the rejected ones to
the rejected-rows CSV, so a file that breaks at row 90,000 changes nothing. The second pass writes
chunk by chunk, each in its own short transaction, so other people's requests are answered in
between. If the second pass is cut short (a crash), sending the file again completes it: every
row already written matches its contact, deal and note, and nothing is doubled.

Parsing is CPU work in the event loop; it yields every BATCH rows, so the bot keeps answering.
"""

from __future__ import annotations

import asyncio
import csv
import pickle
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO

from domain.importing.cells import Cell, cell_text
from domain.importing.columns import HEADER_SEARCH_ROWS, Header, read_header
from domain.importing.report import ImportReport, Unreadable
from domain.importing.rows import ImportRow, Managers, Problem, RowValidator
from scheduler.importing.sources import FORMULA_STARTS, open_source
from storage import Database
from storage.forget import erased_phone_hashes
from storage.imports import checkpoints_deferred, phoneless_people, write_chunk
from views.texts import plain

BATCH = 200  # rows parsed between two yields to the event loop
CHUNK = 500  # rows per write transaction (each plans its people too: keep it short)
MAX_ROWS = 200_000

# phase ("check" or "write"), rows done, rows in all (None while unknown), share done 0..1
Progress = Callable[[str, int, int | None, float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ImportContext:
    db: Database
    managers: Managers
    importer_id: int
    today: date
    now: datetime
    region: str
    lang: str


class Interrupted(Exception):
    """Writing stopped part-way (the report says how far it got)."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("import interrupted")
        self.report = report


class _Spool:
    """Clean rows on disk, pickled a chunk at a time: memory holds one chunk, not the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.phoneless = False
        self._file: IO[bytes] = path.open("wb")
        self._batch: list[ImportRow] = []

    def add(self, row: ImportRow) -> None:
        self._batch.append(row)
        self.count += 1
        self.phoneless = self.phoneless or row.phone is None
        if len(self._batch) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._batch = []

    def finish(self) -> None:
        self._flush()
        self._file.close()

    def chunks(self) -> Iterator[list[ImportRow]]:
        with self.path.open("rb") as f:
            while True:
                try:
                    yield pickle.load(f)
                except EOFError:
                    return


class _RejectedFile:
    """The rejected rows as the sender can fix them: row number, the original cells, and the
    reasons; UTF-8 with BOM and `;`, which Excel opens correctly in any locale."""

    def __init__(self, path: Path, header: Header, lang: str) -> None:
        self.path = path
        self.lang = lang
        self.width = len(header.cells)
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file, delimiter=";")
        self._writer.writerow(
            [
                plain(lang, "import.col_row"),
                *(_safe(c) for c in header.cells),
                plain(lang, "import.col_reason"),
            ]
        )

    def add(self, row_no: int, cells: Sequence[Cell], problems: list[Problem]) -> None:
        values = [_safe(cell_text(c)) for c in cells]
        values += [""] * (self.width - len(values))
        reasons = "; ".join(reason_text(self.lang, p) for p in problems)
        self._writer.writerow([row_no, *values, reasons])

    def close(self) -> None:
        self._file.close()


def _safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets Excel's text marker; a phone such as
    "+7 916 ..." (a plus and a digit) is left as it is."""
    if text[:1] in FORMULA_STARTS and not (text[:1] in "+-" and text[1:2].isdigit()):
        return "'" + text
    return text


def reason_text(lang: str, problem: Problem) -> str:
    if problem.code == "too_long":
        column = plain(lang, f"import.field.{problem.value}")
        return plain(lang, "import.reason.too_long", column=column, limit=problem.limit)
    return plain(lang, f"import.reason.{problem.code}", value=problem.value)


async def run_import(
    path: Path, declared: str, workdir: Path, ctx: ImportContext, progress: Progress
) -> ImportReport:
    """Check the file, then write it. Unreadable: nothing was written. Interrupted: part was."""
    report = ImportReport()
    spool = await _check(path, declared, workdir, ctx, progress, report)
    people = await phoneless_people(ctx.db) if spool.phoneless else {}
    default_description = plain(ctx.lang, "import.deal_default")
    try:
        async with checkpoints_deferred(ctx.db):
            for chunk in spool.chunks():
                counts = await write_chunk(
                    ctx.db, chunk, people, ctx.importer_id, default_description, ctx.now
                )
                report.counts.add(counts)
                report.written += len(chunk)
                share = report.written / spool.count
                await progress("write", report.written, spool.count, share)
    except Exception as exc:
        raise Interrupted(report) from exc
    return report


async def _check(
    path: Path,
    declared: str,
    workdir: Path,
    ctx: ImportContext,
    progress: Progress,
    report: ImportReport,
) -> _Spool:
    # Opening reads a workbook's whole shared-strings table, or checks a CSV's encoding over the
    # whole file: seconds of work for a big file, done in a thread so the bot keeps answering.
    source = await asyncio.to_thread(open_source, path, declared)
    erased = await erased_phone_hashes(ctx.db)
    spool = _Spool(workdir / "rows.pickle")
    rejected: _RejectedFile | None = None
    header: Header | None = None
    validator: RowValidator | None = None
    skipped_above: list[str] = []
    try:
        for count, (row_no, cells) in enumerate(source.rows, 1):
            if count % BATCH == 0:
                await progress("check", report.rows, None, source.progress())
                await asyncio.sleep(0)
            if validator is None or header is None:
                texts = [cell_text(c) for c in cells]
                if not any(texts):
                    continue
                candidate = read_header(row_no, texts)
                if candidate.readable:
                    header = candidate
                    report.unknown_columns = header.unknown
                    validator = RowValidator(
                        header, ctx.managers, ctx.importer_id, ctx.today, ctx.region, erased
                    )
                    continue
                skipped_above.append(" | ".join(t for t in texts if t))
                if len(skipped_above) >= HEADER_SEARCH_ROWS:
                    break
                continue
            result = validator.check(row_no, cells)
            if result is None:
                continue
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise Unreadable("too_many_rows", limit=MAX_ROWS)
            if isinstance(result, ImportRow):
                spool.add(result)
                report.notes_cut += result.note_cut
                continue
            if rejected is None:
                rejected = _RejectedFile(workdir / "rejected.csv", header, ctx.lang)
            rejected.add(row_no, cells, result)
            report.rejected += 1
            report.reasons[result[0].code] += 1
        if header is None:
            if not skipped_above:
                raise Unreadable("empty")
            raise Unreadable("no_header", first=skipped_above[0][:300])
    finally:
        source.close()
        spool.finish()
        if rejected is not None:
            rejected.close()
    if rejected is not None:
        report.rejected_path = rejected.path
    await progress("check", report.rows, None, 1.0)
    return spool
