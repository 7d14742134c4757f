"""Every text the bot sends, one module per language (`ru` is the default, `en` the second).

`t(lang, key, **values)` fills a template; values are HTML-escaped (messages use HTML parse mode)
unless wrapped in `Raw`, so a client's name like "<b>Ivan" can never break or forge markup.

A counted word is written in the template, next to its number, with its forms as the format spec:
"Открывался заново: {count:раз|раза|раз|раза}" (Russian one|few|many|other, English one|other,
CLDR's categories, domain/plurals.py) renders "2 раза", "5 раз", "21 раз". The decision: the
forms live in the catalog, not at the call site, so a caller passes a plain `int` (or a `Decimal`
for "1,5 дня") and cannot forget the grammar, and a translator sees the whole sentence; a
number passed as a `str` to such a field fails loudly instead of printing "2 раз".
`plural(lang, count, key)` does the same for a form set kept under its own key ("plural.task").
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from decimal import Decimal
from typing import Any

from domain.plurals import Count, form

# Each feature may keep its texts in its own pair of modules, `ru_<feature>.py` / `en_<feature>.py`;
# they are merged here, and a key defined twice is an error.
_FEATURES = sorted(
    m.name.removeprefix("ru_") for m in pkgutil.iter_modules(__path__) if m.name.startswith("ru_")
)


def _catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = dict(importlib.import_module(f"{__name__}.{lang}").TEXTS)
    for feature in _FEATURES:
        extra = importlib.import_module(f"{__name__}.{lang}_{feature}").TEXTS
        clash = merged.keys() & extra.keys()
        if clash:
            raise RuntimeError(f"text keys defined twice: {sorted(clash)}")
        merged.update(extra)
    return merged


CATALOGS: dict[str, dict[str, str]] = {"ru": _catalog("ru"), "en": _catalog("en")}
LANGUAGES = tuple(CATALOGS)


class Raw(str):
    """A value that is already safe HTML and must not be escaped again."""


def pick_language(telegram_code: str | None, default: str = "ru") -> str:
    """English for English-language Telegram accounts; everybody else gets the default."""
    code = (telegram_code or "").lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("ru"):
        return "ru"
    return default


class _Number:
    """A number as a template shows it: "1,5" in Russian, "1.5" in English, and with its word
    when the field has forms ("{days:день|дня|дней|дня}")."""

    __slots__ = ("lang", "value")

    def __init__(self, lang: str, value: Count) -> None:
        self.lang, self.value = lang, value

    def __format__(self, spec: str) -> str:
        if spec and "|" not in spec:
            return format(self.value, spec)
        if isinstance(self.value, Decimal):
            shown = str(self.value).replace(".", "," if self.lang == "ru" else ".")
        elif spec:  # a counted number is grouped: "12 345 строк", "12,345 rows"
            shown = f"{self.value:,}".replace(",", "\u00a0" if self.lang == "ru" else ",")
        else:
            shown = str(self.value)
        return f"{shown} {form(self.lang, self.value, spec)}" if spec else shown


def _fill(lang: str, template: str, values: dict[str, Any], escape: bool) -> str:
    lang = lang if lang in CATALOGS else "ru"
    ready: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            ready[name] = _Number(lang, value)
        elif escape and isinstance(value, str) and not isinstance(value, Raw):
            ready[name] = html.escape(value)
        else:
            ready[name] = value
    return template.format(**ready)


def plain(lang: str, key: str, **values: Any) -> str:
    """For button labels and alerts, which Telegram shows as plain text: nothing is escaped."""
    return _fill(lang, CATALOGS.get(lang, CATALOGS["ru"])[key], values, escape=False)


def t(lang: str, key: str, **values: Any) -> str:
    template = CATALOGS.get(lang, CATALOGS["ru"])[key]
    if not values:
        return template
    return _fill(lang, template, values, escape=True)


def plural(lang: str, count: Count, key: str) -> str:
    """The count and its word in the right form: `plural("ru", 21, "plural.task")` → "21 дело"."""
    return format(
        _Number(lang if lang in CATALOGS else "ru", count), CATALOGS.get(lang, CATALOGS["ru"])[key]
    )
