"""The example file sent by /template and /import: headers in the person's language, one sample
row that imports as it is, dates as real date cells and the phone as text (so a spreadsheet
program neither reformats the dates nor turns "+7 916 ..." into a number)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from views.texts import plain

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
