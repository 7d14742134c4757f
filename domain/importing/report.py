"""What an import did, as the person is told it: counts, rejected rows and their reasons.

Plain values with no I/O, because the runner (scheduler) fills them, storage counts the writes
and views/imports renders them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class WriteCounts:
    created: int = 0
    merged: int = 0  # matched a contact that was in the base before this file
    filled: int = 0  # of those, rows that filled an empty field (the rest changed nothing)
    duplicates: int = 0  # matched a contact an earlier row of the same file made or matched
    deals: int = 0
    comments: int = 0

    def add(self, other: WriteCounts) -> None:
        self.created += other.created
        self.merged += other.merged
        self.filled += other.filled
        self.duplicates += other.duplicates
        self.deals += other.deals
        self.comments += other.comments


@dataclass
class ImportReport:
    rows: int = 0  # non-empty data rows
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # main reason of each rejected row
    unknown_columns: tuple[str, ...] = ()
    notes_cut: int = 0
    rejected_path: Path | None = None
    written: int = 0  # clean rows written so far


class Unreadable(Exception):
    """The file cannot be read at all; nothing is imported. `code` names the text to show."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code)
        self.code = code
        self.values = values
