"""The case's buttons as a table (domain.cases.ACTIONS), one row per status, and the card built
from it: the same buttons, in the same rows, as before the table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.cases import ACTIONS, allows
from domain.settings import Settings
from storage.cases import CaseCard, CaseDetail
from views.callbacks import CaseAct
from views.cases import card_view


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("open", ("take", "note")),
        ("taken", ("note", "resolve")),
        ("resolved", ("note", "reopen")),
    ],
)
def test_each_status_offers_its_actions(status: str, actions: tuple[str, ...]) -> None:
    assert ACTIONS[status] == actions
    assert all(allows(status, a) for a in actions)
    assert not any(allows(status, a) for a in {"take", "note", "resolve", "reopen"} - {*actions})


def test_resolving_needs_the_case_taken() -> None:
    assert [s for s in ACTIONS if allows(s, "resolve")] == ["taken"]
    assert not allows("closed", "note")  # a status the table does not know offers nothing


def _detail(status: str) -> CaseDetail:
    card = CaseCard(
        case_id=7,
        status=status,
        contact_id=1,
        contact_name="Анна",
        organization=None,
        kind="client",
        score=3,
        reason="Долго",
        phone=None,
        consent=False,
        in_progress=False,
        reason_given=True,
        deal_description=None,
        deal_date=None,
        manager_id=222,
        manager_name="Пётр",
        owner_id=222 if status != "open" else None,
        owner_name="Пётр" if status != "open" else None,
        taken_at=None,
    )
    opened = datetime(2026, 11, 20, 9, tzinfo=UTC)
    return CaseDetail(card, "survey", opened, None, None, None, 0, False, [])


@pytest.mark.parametrize(
    ("status", "rows"),
    [
        ("open", [["take"], ["note"], ["back"]]),
        ("taken", [["note", "resolve"], ["back"]]),
        ("resolved", [["note", "reopen"], ["back"]]),
    ],
)
def test_the_card_shows_the_tables_buttons(status: str, rows: list[list[str]]) -> None:
    _, markup = card_view(_detail(status), "ru", Settings(bot_token="1:x"), datetime.now(UTC))
    shown = [
        [
            CaseAct.unpack(b.callback_data).action if b.callback_data.startswith("ka:") else "back"
            for b in row
        ]
        for row in markup.inline_keyboard
    ]
    assert shown == rows
