"""What the person importing sees: the progress bar, the summary, the reason a file was refused,
and the example file of /template and /import.

Numbers are grouped as each language writes them ("10 000", "10,000"): an import report is
read for its figures. The example file has headers in the person's language and one sample row
that imports as it is, dates as real date cells and the phone as text (so a spreadsheet program
neither reformats the dates nor turns "+7 916 ..." into a number); openpyxl loads with the
first one asked for.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

from domain.importing.report import ImportReport, Unreadable
from views.texts import Raw, plain, t

BAR_CELLS = 10
MAX_UNKNOWN_SHOWN = 10
REASON_ORDER = (
    "erased",
    "phone",
    "no_name_phone",
    "birthday",
    "deal_date",
    "deal_future",
    "kind",
    "manager",
    "too_long",
)


def number(lang: str, value: int) -> str:
    grouped = f"{value:,}"
    return grouped.replace(",", "\u00a0") if lang == "ru" else grouped


def progress_text(
    lang: str, file_name: str, phase: str, done: int, total: int | None, share: float
) -> str:
    share = min(max(share, 0.0), 1.0)
    filled = int(share * BAR_CELLS)
    bar = "▓" * filled + "░" * (BAR_CELLS - filled)
    return t(
        lang,
        f"import.progress.{phase}",
        name=file_name,
        bar=bar,
        percent=int(share * 100),
        done=number(lang, done),
        total=total or 0,
    )


def unreadable_text(lang: str, file_name: str, error: Unreadable) -> str:
    values = {k: v for k, v in error.values.items() if k != "detail"}
    if "limit" in values:
        values["limit"] = int(values["limit"])
    reason = t(lang, f"import.unreadable.{error.code}", **values)
    return t(lang, "import.unreadable", name=file_name, reason=Raw(reason))


def summary_text(lang: str, file_name: str, report: ImportReport) -> str:
    counts = report.counts
    lines = [
        t(lang, "import.summary.title", name=file_name),
        t(lang, "import.summary.rows", count=number(lang, report.rows)),
        t(lang, "import.summary.created", count=number(lang, counts.created)),
    ]
    if counts.filled:
        lines.append(t(lang, "import.summary.filled", count=number(lang, counts.filled)))
    if counts.merged - counts.filled:
        unchanged = number(lang, counts.merged - counts.filled)
        lines.append(t(lang, "import.summary.unchanged", count=unchanged))
    if counts.duplicates:
        lines.append(t(lang, "import.summary.duplicates", count=number(lang, counts.duplicates)))
    lines.append(t(lang, "import.summary.rejected", count=number(lang, report.rejected)))
    for code in sorted(report.reasons, key=REASON_ORDER.index):
        lines.append(
            t(
                lang,
                "import.summary.reason",
                reason=t(lang, f"import.group.{code}"),
                count=number(lang, report.reasons[code]),
            )
        )
    lines.append(
        t(
            lang,
            "import.summary.deals",
            deals=number(lang, counts.deals),
            notes=number(lang, counts.comments),
        )
    )
    if report.unknown_columns:
        shown = [f"«{c[:40]}»" for c in report.unknown_columns[:MAX_UNKNOWN_SHOWN]]
        more = len(report.unknown_columns) - len(shown)
        columns = ", ".join(shown) + (f" +{more}" if more > 0 else "")
        lines.append(t(lang, "import.summary.unknown", columns=columns))
    if report.notes_cut:
        lines.append(t(lang, "import.summary.notes_cut", count=number(lang, report.notes_cut)))
    lines.append("")
    if report.rejected:
        lines.append(t(lang, "import.summary.fix_hint"))
    # Only what happened: a file sent again adds nobody and nothing to plan.
    if counts.created or counts.filled or counts.deals:
        lines.append(t(lang, "import.summary.plans"))
    elif not (counts.comments or report.rejected) and counts.merged + counts.duplicates:
        lines.append(t(lang, "import.summary.nothing_new"))
    return "\n".join(lines).rstrip()


def interrupted_text(lang: str, file_name: str, report: ImportReport) -> str:
    return t(
        lang,
        "import.interrupted",
        name=file_name,
        done=report.written,
        created=number(lang, report.counts.created),
    )


TEMPLATE_FIELDS = (
    "name",
    "kind",
    "organization",
    "phone",
    "birthday",
    "manager",
    "deal_date",
    "product",
    "note",
)
_WIDTHS = (24, 14, 22, 20, 16, 22, 24, 26, 40)


def template_xlsx(lang: str, manager_name: str, today: date) -> bytes:
    from openpyxl import Workbook  # loaded by the first template asked for, not at start-up
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = plain(lang, "import.template_sheet")
    ws.append([plain(lang, f"import.field.{f}") for f in TEMPLATE_FIELDS])
    ws.append(
        [
            plain(lang, "import.sample.name"),
            plain(lang, "import.sample.kind"),
            plain(lang, "import.sample.organization"),
            "+7 916 123-45-67",
            date(1985, 3, 15),
            manager_name,
            today - timedelta(days=30),
            plain(lang, "import.sample.product"),
            plain(lang, "import.sample.note"),
        ]
    )
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGHI", _WIDTHS, strict=True):
        ws.column_dimensions[column].width = width
    for ref in ("E2", "G2"):
        ws[ref].number_format = "DD.MM.YYYY"
    ws["D2"].number_format = "@"
    kinds = plain(lang, "import.kinds_list")
    choice = DataValidation(type="list", formula1=f'"{kinds}"', allow_blank=True)
    ws.add_data_validation(choice)
    choice.add("B2:B10000")
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
