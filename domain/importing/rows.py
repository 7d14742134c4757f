"""One raw row of the file -> a clean `ImportRow`, or the reasons it cannot be taken.

Cells arrive as text (CSV) or as typed values (XLSX: numbers, dates). Everything is checked and
normalised here, with no database access: phones to E.164, dates to the calendar, kinds and
managers to their stored values. Over-long names, organisations and product names reject the row
(such a cell is almost always a shifted column); an over-long note is cut, since a note is still
worth keeping. A row may have several problems: all are reported, the first one is its main reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from domain.importing.cells import Cell, cell_text
from domain.importing.columns import Header
from domain.importing.phones import PhoneReader
from domain.privacy import phone_hash
from domain.roles import StaffMember
from domain.vocabulary import LIMITS

MAX_NAME = LIMITS["name"].max
MAX_ORGANIZATION = LIMITS["organization"].max
MAX_PRODUCT = LIMITS["product"].max
MAX_NOTE = LIMITS["note"].max
OLDEST_DEAL_YEAR = 1950
MEMO_SIZE = 20_000

KINDS: dict[str, str] = {
    **dict.fromkeys(("client", "clients", "customer", "buyer", "клиент", "клиенты"), "client"),
    **dict.fromkeys(("покупатель", "покупатели", "клиентка"), "client"),
    **dict.fromkeys(("supplier", "suppliers", "vendor", "поставщик", "поставщики"), "supplier"),
    **dict.fromkeys(("contractor", "contractors", "подрядчик", "подрядчики"), "contractor"),
    **dict.fromkeys(("partner", "partners", "партнер", "партнеры"), "partner"),
}

_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$")
_YMD = re.compile(r"^(\d{4})[./-](\d{1,2})[./-](\d{1,2})$")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


@dataclass(frozen=True, slots=True)
class Problem:
    # erased, no_name_phone, phone, birthday, deal_date, deal_future, kind, manager, too_long
    code: str
    value: str = ""  # what the cell said (or the column's header, for too_long)
    limit: int = 0


class ImportRow(NamedTuple):
    """A clean row (a named tuple: a spool of 100,000 of them pickles fast)."""

    row_no: int
    kind: str
    name: str | None
    organization: str | None
    phone: str | None  # E.164
    birthday: tuple[int, int, int | None] | None  # day, month, year
    manager_id: int
    deal_date: str | None  # ISO date
    product: str | None
    note: str | None
    duplicate: bool  # an earlier row of the file is the same person
    note_cut: bool = False


def _date_parts(value: Cell) -> tuple[int, int, int | None] | None:
    """(day, month, year or None) of a date cell in any accepted form; None if unreadable."""
    if isinstance(value, datetime | date):
        return value.day, value.month, value.year
    text = cell_text(value)
    if ":" in text:
        text = _TIME_TAIL.sub("", text)
    if match := _DMY.match(text):
        year = match.group(3)
        return int(match.group(1)), int(match.group(2)), int(year) if year else None
    if match := _YMD.match(text):
        return int(match.group(3)), int(match.group(2)), int(match.group(1))
    return None


def _full_year(year: int, today: date) -> int:
    """A two-digit year: this century unless that would be in the future."""
    if year >= 100:
        return year
    return 2000 + year if 2000 + year <= today.year else 1900 + year


def parse_birthday_cell(value: Cell, today: date) -> tuple[int, int, int | None] | None:
    parts = _date_parts(value)
    if parts is None:
        return None
    day, month, year = parts
    if year is not None:
        year = _full_year(year, today)
    try:
        when = date(year or 2000, month, day)  # 2000 is a leap year: 29.02 without a year is real
    except ValueError:
        return None
    if year is not None and (when > today or year < today.year - 120):
        return None
    return day, month, year


def parse_deal_date_cell(value: Cell, today: date) -> date | str:
    """The purchase date, or a problem code: "deal_date" (unreadable/impossible), "deal_future"."""
    parts = _date_parts(value)
    if parts is None or parts[2] is None:
        return "deal_date"
    day, month, year = parts
    try:
        when = date(_full_year(year, today), month, day)
    except ValueError:
        return "deal_date"
    if when.year < OLDEST_DEAL_YEAR:
        return "deal_date"
    if when > today:
        return "deal_future"
    return when


def parse_kind(text: str) -> str | None:
    key = text.casefold().replace("ё", "е").strip(" .,;")
    return KINDS.get(key) if key else "client"


class Managers:
    """Active staff by full name, @username and Telegram id (what a file may call them)."""

    def __init__(self, staff: Sequence[StaffMember]) -> None:
        self._by_key: dict[str, int | None] = {}
        for member in staff:
            if not member.active:
                continue
            keys = {_fold(member.full_name), str(member.user_id)}
            if member.username:
                keys |= {member.username.casefold(), "@" + member.username.casefold()}
            for key in keys:
                # two people with one name: the name alone cannot say which
                self._by_key[key] = None if key in self._by_key else member.user_id

    def find(self, text: str) -> int | None:
        return self._by_key.get(_fold(text))


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold().replace("ё", "е")


def _text(value: Cell) -> str:
    """A cell's text with runs of spaces made one (names are matched on this)."""
    return " ".join(cell_text(value).split()) if value is not None else ""


def _remember(cache: dict[Cell, Any], key: Cell, value: Any) -> None:
    if len(cache) >= MEMO_SIZE:
        cache.clear()
    cache[key] = value


def _blank(value: Cell) -> bool:
    return value is None or value == "" or (type(value) is str and value.isspace())


def person_key(name: str | None, organization: str | None) -> int:
    """A phone-less person within the file and the base: folded name and organisation, hashed
    to 64 bits (a set of 100,000 of them stays small)."""
    raw = f"{_fold(name or '')}\x1f{_fold(organization or '')}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


class RowValidator:
    def __init__(
        self,
        header: Header,
        managers: Managers,
        importer_id: int,
        today: date,
        region: str,
        erased: frozenset[str] = frozenset(),
    ) -> None:
        self.header = header
        self.erased = erased  # digests of phones of people who asked to be forgotten
        self.managers = managers
        self.importer_id = importer_id
        self.today = today
        self.region = region
        self._phone = PhoneReader(region)
        self._columns = tuple(header.columns.items())
        self._has_parts = any(
            f in header.columns for f in ("first_name", "last_name", "middle_name")
        )
        # Dates repeat (a purchase day, a birthday): parsed once per distinct cell.
        self._birthdays: dict[Cell, tuple[int, int, int | None] | None] = {}
        self._deal_dates: dict[Cell, str] = {}  # "=ISO date", or a problem code
        self._seen_phones: set[int] = set()
        self._seen_people: set[int] = set()

    def _pick(self, cells: Sequence[Cell]) -> dict[str, Cell]:
        """Each field's value: the first non-blank cell among its columns."""
        size = len(cells)
        picked: dict[str, Cell] = {}
        for name, indexes in self._columns:
            for index in indexes:
                if index < size:
                    value = cells[index]
                    if (
                        value is not None
                        and value != ""
                        and not (type(value) is str and value.isspace())
                    ):
                        picked[name] = value
                        break
        return picked

    def check(self, row_no: int, cells: Sequence[Cell]) -> ImportRow | list[Problem] | None:
        """The clean row, the problems that reject it, or None for an empty row (skipped)."""
        if all(_blank(v) for v in cells):
            return None
        picked = self._pick(cells)
        problems: list[Problem] = []
        name = self._name(picked)
        organization = _text(picked.get("organization")) or None
        phone_cell = picked.get("phone")
        phone = None
        if phone_cell is not None:
            phone = self._phone(phone_cell)
            if phone is None:
                problems.append(Problem("phone", cell_text(phone_cell)))
            elif self.erased and phone_hash(phone) in self.erased:
                problems.append(Problem("erased"))
        if not name and phone_cell is None:
            problems.append(Problem("no_name_phone"))
        kind_text = _text(picked.get("kind"))
        kind = parse_kind(kind_text)
        if kind is None:
            problems.append(Problem("kind", kind_text))
        birthday = None
        birthday_cell = picked.get("birthday")
        if birthday_cell is not None:
            birthday = self._birthdays.get(birthday_cell, False)
            if birthday is False:
                birthday = parse_birthday_cell(birthday_cell, self.today)
                _remember(self._birthdays, birthday_cell, birthday)
            if birthday is None:
                problems.append(Problem("birthday", cell_text(birthday_cell)))
        deal_date = None
        deal_cell = picked.get("deal_date")
        if deal_cell is not None:
            parsed = self._deal_dates.get(deal_cell)
            if parsed is None:
                found = parse_deal_date_cell(deal_cell, self.today)
                parsed = found if isinstance(found, str) else "=" + found.isoformat()
                _remember(self._deal_dates, deal_cell, parsed)
            if parsed[0] != "=":
                problems.append(Problem(parsed, cell_text(deal_cell)))
            else:
                deal_date = parsed[1:]
        manager_id = self.importer_id
        manager_text = _text(picked.get("manager"))
        if manager_text:
            found = self.managers.find(manager_text)
            if found is None:
                problems.append(Problem("manager", manager_text))
            else:
                manager_id = found
        product = _text(picked.get("product")) or None
        for field, value, limit in (
            ("name", name, MAX_NAME),
            ("organization", organization, MAX_ORGANIZATION),
            ("product", product, MAX_PRODUCT),
        ):
            if value and len(value) > limit:
                problems.append(Problem("too_long", field, limit))
        if problems:
            return problems
        note = cell_text(picked.get("note")) or None
        note_cut = note is not None and len(note) > MAX_NOTE
        if note is not None and note_cut:
            note = note[: MAX_NOTE - 1] + "…"
        return ImportRow(
            row_no,
            kind or "client",
            name or None,
            organization,
            phone,
            birthday,
            manager_id,
            deal_date,
            product,
            note,
            self._seen(phone, name, organization),
            note_cut,
        )

    def _name(self, picked: dict[str, Cell]) -> str:
        name = _text(picked.get("name"))
        if name or not self._has_parts:
            return name
        first, last = _text(picked.get("first_name")), _text(picked.get("last_name"))
        middle = _text(picked.get("middle_name"))
        parts = (last, first, middle) if middle else (first, last)
        return " ".join(p for p in parts if p)

    def _seen(self, phone: str | None, name: str, organization: str | None) -> bool:
        if phone is not None:
            seen, key = self._seen_phones, int(phone[1:])
        else:
            seen, key = self._seen_people, person_key(name, organization)
        if key in seen:
            return True
        seen.add(key)
        return False
