"""One vocabulary: the words written in several places (callback literals, the import's synonyms,
the SQL, the tunables) are pinned to their one definition in domain/, so a fifth kind of person
or a new period cannot be added in one place and forgotten in another."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import get_args
from zoneinfo import ZoneInfo

from domain import periods, tunables
from domain.importing import rows
from domain.importing.cells import cell_text
from domain.nps import category
from domain.settings import Settings
from domain.vocabulary import DATE, DATETIME, KINDS
from handlers.reports import PERIODS
from storage.comments import CATEGORIES, Comment, CommentPage
from views import callbacks
from views.comments import comments_view_for
from views.common import cut, day, local_date, local_datetime


def test_kinds_are_one_list() -> None:
    assert get_args(callbacks.Kind) == KINDS
    assert get_args(callbacks.KindOrAll) == ("all", *KINDS)
    assert set(rows.KINDS.values()) == set(KINDS)  # every synonym maps onto one of the four


def test_comment_categories_are_nps_categories() -> None:
    categories = {category(score) for score in range(11)}
    assert set(get_args(callbacks.CommentCategory)) == {"all", *categories}
    assert set(CATEGORIES) == {"all", *categories}


def test_period_codes_are_domain_periods() -> None:
    pattern = re.compile(callbacks.NpsView.model_fields["period"].metadata[0].pattern)
    assert all(pattern.match(code) for code in periods.CODES)
    assert pattern.match("m2026-11") and not pattern.match("14")
    assert set(get_args(callbacks.ExportCode)) == set(PERIODS) <= set(periods.CODES)


def test_setting_keys_are_the_tunables() -> None:
    assert get_args(callbacks.SettingKey) == tunables.KEYS
    assert set(get_args(callbacks.PickableKey)) == {*tunables.PRESETS, tunables.LANGUAGE}


def test_dates_are_written_one_way() -> None:
    moment = datetime(2026, 3, 4, 21, 30, tzinfo=UTC)
    msk = ZoneInfo("Europe/Moscow")
    assert day(date(2026, 3, 5)) == date(2026, 3, 5).strftime(DATE) == "05.03.2026"
    assert local_date(moment, msk) == "05.03.2026"  # already the 5th in Moscow
    assert local_datetime(moment, msk) == moment.astimezone(msk).strftime(DATETIME)
    assert local_datetime(moment, msk) == "05.03.2026 00:30"
    assert cell_text(date(2026, 3, 5)) == "05.03.2026"  # an import's date cell, read as text


def test_one_cut_everywhere() -> None:
    """views.common.cut is the only cut: one line, at most `width` characters with the ellipsis
    (the /comments copy made it one character longer; the plan's kept line breaks)."""
    assert cut("Иван\n  Петров", 40) == "Иван Петров"
    assert cut("x" * 600, 500) == "x" * 499 + "…"
    reason = "Долго везли.\n" + "я" * 600
    comment = Comment(
        survey_id=1,
        scored_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
        score=3,
        reason=reason,
        kind="client",
        contact_name="Анна",
        manager_name="Пётр",
    )
    settings = Settings(bot_token="1:x")
    text, _ = comments_view_for(
        CommentPage([comment], False, False), 1, 5, "ru", settings, "all", "all", 0
    )
    shown = next(line for line in text.splitlines() if "Долго везли." in line)
    assert len(cut(reason, 500)) == 500 and cut(reason, 500) in shown
