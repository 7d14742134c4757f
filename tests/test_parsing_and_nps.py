"""Unit tests: phone and date parsing, NPS arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from domain.nps import NpsCounts, category
from domain.parsing import Birthday, format_phone, parse_birthday, parse_deal_date, parse_phone

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    "text",
    ["+7 916 123-45-67", "8 (916) 123 45 67", "89161234567", "+79161234567", "7-916-123-45-67"],
)
def test_russian_phone_formats(text: str) -> None:
    assert parse_phone(text) == "+79161234567"


def test_foreign_phone_and_region() -> None:
    assert parse_phone("+47 412 34 567") == "+4741234567"
    assert parse_phone("412 34 567", "NO") == "+4741234567"


@pytest.mark.parametrize("text", ["", "abc", "123", "+7 916", "+7 000 000-00-00", "9" * 50])
def test_invalid_phones(text: str) -> None:
    assert parse_phone(text) is None


def test_format_phone() -> None:
    assert format_phone("+79161234567") == "+7 916 123-45-67"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05.03", Birthday(5, 3)),
        ("5.3", Birthday(5, 3)),
        ("29.02", Birthday(29, 2)),
        ("29.02.1992", Birthday(29, 2, 1992)),
        ("31.12.1980", Birthday(31, 12, 1980)),
        (" 01/06/1975 ", Birthday(1, 6, 1975)),
    ],
)
def test_birthdays(text: str, expected: Birthday) -> None:
    assert parse_birthday(text, TODAY) == expected


@pytest.mark.parametrize(
    "text", ["31.02", "29.02.1991", "00.01", "12.13", "01.01.2030", "21.11.2026", "1.1.1800", "x"]
)
def test_impossible_or_future_birthdays(text: str) -> None:
    assert parse_birthday(text, TODAY) is None


def test_birthday_str() -> None:
    assert str(Birthday(5, 3)) == "05.03"
    assert str(Birthday(29, 2, 1992)) == "29.02.1992"


def test_deal_dates() -> None:
    assert parse_deal_date("19.11.2026", TODAY) == date(2026, 11, 19)
    assert parse_deal_date("20.11", TODAY) == TODAY
    assert parse_deal_date("21.11.2026", TODAY) is None  # future
    assert parse_deal_date("30.02.2026", TODAY) is None
    assert parse_deal_date("01.01.2000", TODAY) is None  # too old


def test_categories() -> None:
    assert [category(s) for s in range(11)] == ["detractor"] * 7 + ["passive"] * 2 + [
        "promoter"
    ] * 2
    with pytest.raises(ValueError):
        category(11)


def test_nps_no_answers() -> None:
    counts = NpsCounts(invited=5)
    assert counts.nps is None and counts.answered == 0
    assert counts.share(0) == 0 and counts.response_rate == 0
    assert NpsCounts().response_rate == 0


def test_nps_all_promoters_and_all_detractors() -> None:
    assert NpsCounts(promoters=7, invited=7).nps == 100
    assert NpsCounts(detractors=3, invited=9).nps == -100
    assert NpsCounts(passives=4, invited=4).nps == 0


def test_nps_seed_example_and_rounding() -> None:
    # 6 promoters, 2 passives, 2 detractors of 10 → 60% − 20% = 40 (the realty firm in the seeds)
    assert NpsCounts(promoters=6, passives=2, detractors=2, invited=20).nps == 40
    # 2 promoters, 0 passives, 1 detractor → 33.33 → 33
    assert NpsCounts(promoters=2, detractors=1).nps == 33
    # 1 promoter, 1 passive → 50; 1 promoter 7 others: 12.5 → 13 (half away from zero)
    assert NpsCounts(promoters=1, passives=7).nps == 13
    assert NpsCounts(detractors=1, passives=7).nps == -13
    # 2 of 3 → 66.67 → 67
    assert NpsCounts(promoters=2, passives=1).nps == 67
    counts = NpsCounts(promoters=1, passives=1, detractors=1, invited=6, responded=3)
    assert counts.share(1) == 33 and counts.response_rate == 50


def test_percent_is_exact() -> None:
    from fractions import Fraction

    from domain.nps import percent

    for whole in range(1, 60):
        for part in range(-whole, whole + 1):
            exact = Fraction(100 * part, whole)
            expected = int(abs(exact) + Fraction(1, 2)) * (1 if exact >= 0 else -1)
            assert percent(part, whole) == expected, (part, whole)


def test_response_rate_never_exceeds_100_percent() -> None:
    # five answers this week to links made last week, two new links, none answered yet
    counts = NpsCounts(promoters=5, invited=2, responded=0)
    assert counts.response_rate == 0 and counts.answered == 5
    assert NpsCounts(promoters=2, invited=2, responded=2).response_rate == 100
