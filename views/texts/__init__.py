"""Every text the bot sends, one module per language (`ru` is the default, `en` the second).

`t(lang, key, **values)` fills a template; values are HTML-escaped (messages use HTML parse mode)
unless wrapped in `Raw`, so a client's name like "<b>Ivan" can never break or forge markup.
`plural(lang, count, key)` picks a word's form for a count: a plural key holds the forms split by
"|", Russian one|few|many ("дело|дела|дел"), English one|other ("task|tasks").
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from typing import Any

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


def plain(lang: str, key: str, **values: Any) -> str:
    """For button labels and alerts, which Telegram shows as plain text: nothing is escaped."""
    return CATALOGS.get(lang, CATALOGS["ru"])[key].format(**values)


def t(lang: str, key: str, **values: Any) -> str:
    catalog = CATALOGS.get(lang, CATALOGS["ru"])
    template = catalog[key]
    if not values:
        return template
    safe = {
        name: value if isinstance(value, Raw) or not isinstance(value, str) else html.escape(value)
        for name, value in values.items()
    }
    return template.format(**safe)


def _plural_form(lang: str, count: int) -> int:
    if lang == "en":
        return 0 if count == 1 else 1
    n = abs(count)
    if n % 10 == 1 and n % 100 != 11:
        return 0  # 1, 21, 101 дело
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1  # 2, 3, 4, 22 дела
    return 2  # 0, 5–20, 25, 111 дел


def plural(lang: str, count: int, key: str) -> str:
    """The count and its word in the right form: `plural("ru", 21, "plural.task")` → "21 дело"."""
    forms = CATALOGS.get(lang, CATALOGS["ru"])[key].split("|")
    form = forms[min(_plural_form(lang if lang in CATALOGS else "ru", count), len(forms) - 1)]
    return f"{count} {form}"
