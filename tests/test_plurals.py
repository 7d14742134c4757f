"""The hand-written plural rules of domain/plurals.py agree with CLDR as Babel ships it."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

import pytest
from babel import Locale

from domain.plurals import CATEGORIES, category, form

FRACTIONS = [Decimal("0.5"), Decimal("1.5"), Decimal("2.25"), Decimal("2.0"), Decimal("21.0")]


@pytest.mark.parametrize("lang", sorted(CATEGORIES))
def test_rules_match_cldr_for_0_to_10000(lang: str) -> None:
    cldr = Locale(lang).plural_form
    wrong = [n for n in range(10_001) if category(lang, n) != cldr(n)]
    assert not wrong, wrong[:20]


@pytest.mark.parametrize("lang", sorted(CATEGORIES))
def test_rules_match_cldr_for_fractions(lang: str) -> None:
    cldr = Locale(lang).plural_form
    assert {str(x): category(lang, x) for x in FRACTIONS} == {str(x): cldr(x) for x in FRACTIONS}


@pytest.mark.parametrize("lang", sorted(CATEGORIES))
def test_every_category_babel_knows_is_written_in_a_catalog(lang: str) -> None:
    """A language whose catalog forms miss a category CLDR uses would pick the wrong word."""
    assert set(Locale(lang).plural_form.tags) | {"other"} == set(CATEGORIES[lang])


def test_forms_are_picked_by_category() -> None:
    days = "день|дня|дней|дня"
    assert [form("ru", n, days) for n in (1, 2, 5, 11, 21, 22, 25, 101, 111)] == [
        "день", "дня", "дней", "дней", "день", "дня", "дней", "день", "дней"
    ]  # fmt: skip
    assert form("ru", Decimal("1.5"), days) == "дня"
    assert form("en", 1, "day|days") == "day"
    assert form("en", Decimal("1.0"), "day|days") == "days"
    assert form("de", 2, days) == "дня"  # a language without rules gets Russian's


def test_a_catalog_entry_with_the_wrong_number_of_forms_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("one|few|many|other")):
        form("ru", 2, "день|дня|дней")
    with pytest.raises(ValueError):
        form("en", 2, "day")
    with pytest.raises(TypeError):
        category("ru", 1.5)  # type: ignore[arg-type]  # a float hides its visible digits
    with pytest.raises(TypeError):
        category("ru", True)


def test_the_bot_does_not_load_babel_at_run_time() -> None:
    """The rules exist so that start-up and RSS stay flat: no Babel once the bot is imported."""
    code = (
        "import sys, bot.app, bot.routers, views.texts, domain.plurals;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'babel'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
