"""A spreadsheet cell as the import sees it: text from a CSV, or a typed value from an XLSX."""

from __future__ import annotations

from datetime import date, datetime

from domain.vocabulary import DATE, DATETIME

Cell = str | int | float | bool | datetime | date | None


def cell_text(value: Cell) -> str:
    """A cell as people read it: dates day first, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.hour or value.minute or value.second:
            return value.strftime(DATETIME)
        return value.strftime(DATE)
    if isinstance(value, date):
        return value.strftime(DATE)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
