"""Recognising the header row: which column holds which field, in Russian or English.

Header names are compared after folding case, `ё` to `е` and dropping everything but letters and
digits, so "Тел.", "ТЕЛ" and "тел" are one name. A field may appear in several columns ("Рабочий
телефон", "Мобильный"): the first non-empty one in a row wins. The non-obvious part is the name:
"Имя" alone is the full name, but next to "Фамилия" it is the first name, and the parts are joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Field -> header names (any case, spacing or punctuation). Order of fields = template order.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "ФИО",
        "Имя",
        "Полное имя",
        "Клиент",
        "Контакт",
        "Контактное лицо",
        "Имя клиента",
        "Имя контакта",
        "Name",
        "Full name",
        "Contact",
        "Contact name",
        "Client",
        "Client name",
        "Customer",
        "Customer name",
    ),
    "kind": ("Тип", "Вид", "Категория", "Тип контакта", "Kind", "Type", "Category", "Contact type"),
    "organization": (
        "Организация",
        "Компания",
        "Фирма",
        "Название компании",
        "Название организации",
        "Organisation",
        "Organization",
        "Company",
        "Company name",
        "Org",
    ),
    "phone": (
        "Телефон",
        "Тел",
        "Мобильный",
        "Мобильный телефон",
        "Моб",
        "Моб телефон",
        "Сотовый",
        "Сотовый телефон",
        "Рабочий телефон",
        "Номер телефона",
        "Phone",
        "Phone number",
        "Mobile",
        "Mobile phone",
        "Cell",
        "Cell phone",
        "Tel",
        "Telephone",
        "Work phone",
    ),
    "birthday": (
        "День рождения",
        "Дата рождения",
        "ДР",
        "Birthday",
        "Date of birth",
        "Birth date",
        "Birthdate",
        "DOB",
    ),
    "manager": (
        "Менеджер",
        "Ответственный",
        "Ответственный менеджер",
        "Ответственный сотрудник",
        "Manager",
        "Responsible",
        "Account manager",
        "Sales manager",
        "Owner",
        "Contact owner",
    ),
    "deal_date": (
        "Дата последней покупки",
        "Последняя покупка",
        "Дата покупки",
        "Дата продажи",
        "Дата сделки",
        "Last purchase date",
        "Last purchase",
        "Purchase date",
        "Date of purchase",
        "Last order date",
        "Deal date",
    ),
    "product": (
        "Что купил",
        "Что купила",
        "Что купили",
        "Товар",
        "Товары",
        "Покупка",
        "Продукт",
        "Услуга",
        "What was bought",
        "Product",
        "Products",
        "Item",
        "Purchase",
        "Bought",
    ),
    "note": (
        "Заметки",
        "Заметка",
        "Комментарий",
        "Комментарии",
        "Примечание",
        "Примечания",
        "Notes",
        "Note",
        "Comment",
        "Comments",
        "Remarks",
    ),
    # Name parts, as many CRMs export them.
    "first_name": ("First name", "Given name", "Firstname"),
    "last_name": ("Фамилия", "Last name", "Surname", "Family name", "Lastname"),
    "middle_name": ("Отчество", "Middle name", "Patronymic"),
    # The bot's own rejected-rows file: sending it back after fixing must not list these.
    "skip": ("Строка", "Причина", "Row", "Reason"),
}


HEADER_SEARCH_ROWS = 10  # a title or blank rows above the header are skipped


def normalize(header: str) -> str:
    folded = header.casefold().replace("ё", "е")
    return "".join(ch for ch in folded if ch.isalnum())


_LOOKUP: dict[str, str] = {normalize(n): f for f, names in SYNONYMS.items() for n in names}


@dataclass(frozen=True, slots=True)
class Header:
    """Where each field is: column indexes per field, and the columns nobody asked for."""

    row_no: int
    cells: tuple[str, ...]
    columns: dict[str, tuple[int, ...]] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()

    @property
    def readable(self) -> bool:
        return any(f in self.columns for f in ("name", "first_name", "last_name", "phone"))


def read_header(row_no: int, cells: Sequence[str]) -> Header:
    columns: dict[str, list[int]] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        key = normalize(cell)
        if not key:
            continue
        found = _LOOKUP.get(key)
        if found is None:
            unknown.append(cell.strip())
        elif found != "skip":
            columns.setdefault(found, []).append(index)
    # "Имя" without a surname column is the whole name; next to one it is the first name.
    has_parts = "last_name" in columns or "middle_name" in columns
    if has_parts and "name" in columns and "first_name" not in columns:
        first = [i for i in columns["name"] if normalize(cells[i]) == "имя"]
        if first:
            columns["first_name"] = first
            rest = [i for i in columns["name"] if i not in first]
            if rest:
                columns["name"] = rest
            else:
                del columns["name"]
    return Header(
        row_no=row_no,
        cells=tuple(cells),
        columns={f: tuple(ix) for f, ix in columns.items()},
        unknown=tuple(unknown),
    )
