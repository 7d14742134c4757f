"""Every text the bot sends, one module per language (`ru` is the default, `en` the second).

`t(lang, key, **values)` fills a template; values are HTML-escaped (messages use HTML parse mode)
unless wrapped in `Raw`, so a client's name like "<b>Ivan" can never break or forge markup.
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
    merged: dict[str, str] = dict(importlib.import_module(f"bot.texts.{lang}").TEXTS)
    for feature in _FEATURES:
        extra = importlib.import_module(f"bot.texts.{lang}_{feature}").TEXTS
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
