"""CLDR plural categories for the bot's languages, and the choice of a word's form for a count.

A counted word in a catalog holds its forms split by "|", in CLDR's order of categories:
Russian one|few|many|other ("день|дня|дней|дня": 1 день, 2 дня, 5 дней, 1,5 дня), English
one|other ("day|days"). The rules are hand-written from CLDR (unicode.org, plurals.xml) rather
than loaded from Babel at run time: Babel's `Locale.plural_form` for ru and en costs +9.4 MiB of
peak RSS and 0.2 s of start-up (measured at load 8) for two short rules. `tests/test_plurals.py`
checks these rules against Babel for 0–10,000 and for fractions, so they cannot drift from CLDR
unnoticed.

A count is an `int` or a `Decimal` as it is shown: CLDR decides by the visible digits, so
`Decimal("2.0")` ("2,0 дня") is "other" like 1.5, and `int` 2 is "few" ("2 дня").
"""

from __future__ import annotations

from decimal import Decimal

Count = int | Decimal

# The categories each language distinguishes, in the order its forms are written in a catalog.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "ru": ("one", "few", "many", "other"),
    "en": ("one", "other"),
}


def _operands(count: Count) -> tuple[int, int]:
    """CLDR's i (the integer digits) and v (the number of visible fraction digits)."""
    if isinstance(count, bool):
        raise TypeError("a count is a number, not a bool")
    if isinstance(count, int):
        return abs(count), 0
    if isinstance(count, Decimal):
        if not count.is_finite():
            raise ValueError(f"a count must be finite, got {count}")
        exponent = count.as_tuple().exponent
        visible = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return int(abs(count)), visible
    raise TypeError(f"a count is an int or a Decimal, got {type(count).__name__}")


def category(lang: str, count: Count) -> str:
    """CLDR plural category of `count` in `lang` ("ru" for any language without rules)."""
    i, v = _operands(count)
    if lang == "en":
        return "one" if i == 1 and v == 0 else "other"
    if v:
        return "other"  # 1,5 дня; 2,0 дня
    if i % 10 == 1 and i % 100 != 11:
        return "one"  # 1, 21, 101 день
    if 2 <= i % 10 <= 4 and not 12 <= i % 100 <= 14:
        return "few"  # 2, 3, 4, 22 дня
    return "many"  # 0, 5–20, 25, 111 дней


def form(lang: str, count: Count, forms: str) -> str:
    """The form of a word for `count`: `form("ru", 22, "день|дня|дней|дня")` → "дня"."""
    lang = lang if lang in CATEGORIES else "ru"
    written = forms.split("|")
    order = CATEGORIES[lang]
    if len(written) != len(order):
        raise ValueError(f"{lang} needs {len(order)} forms ({'|'.join(order)}), got {forms!r}")
    return written[order.index(category(lang, count))]
