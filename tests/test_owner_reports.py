"""/comments, and the figures of /nps and /managers checked against an independent computation
over random answer sets, periods and time zones (hypothesis), and one rounding rule for every
percentage and margin they show."""

from __future__ import annotations

import ast
import asyncio
import html
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.nps import NpsCounts, round_half_away
from domain.periods import resolve
from storage import Database
from storage.staff import create_invite, get_member, redeem_invite
from storage.stats import Filters, manager_rows, nps_counts
from storage.timefmt import ts
from tests.conftest import OWNER_ID
from tests.fakes.telegram_rules import check_call, parse_html
from tests.harness import Harness, as_message, button_data, buttons, replies
from tests.helpers.cases import add_manager, detractor, take_and_resolve
from tests.helpers.database import new_database
from tests.helpers.survey import MANAGER_ID, Respondent, setup_sale
from views.callbacks import ManagerToggle, NpsView
from views.owner import NpsReport, nps_text


async def test_comments_filtered_and_paginated(harness: Harness, db: Database) -> None:
    answers = [(2, "Долго везли", "client"), (10, "Отличный сервис", "client")]
    answers += [(9, f"Хорошо №{i}", "supplier") for i in range(6)]
    uid = 8000
    for score, reason, kind in answers:
        uid += 1
        payload = await setup_sale(harness, db, kind=kind, phone=None, name=f"Клиент {uid}")
        r = Respondent(harness, user_id=uid)
        await r.open(payload)
        await r.tap(str(score))
        await r.send(reason)
    owner = harness.user(OWNER_ID, "Ольга")
    sent = await harness.send(owner, "/comments")
    first = sent[0]
    text = replies(sent)[0]
    assert "всего 8" in text and "Стр. 1 из 2" in text
    assert "менеджер Пётр Иванов" in text and "(поставщик)" in text
    edit = (await harness.tap(owner, button_data(first, "Критики"), as_message(first)))[-1]
    assert isinstance(edit, EditMessageText)
    assert "всего 1" in edit.text and "«Долго везли»" in edit.text and "Хорошо" not in edit.text
    nxt = (await harness.tap(owner, button_data(first, "▶"), as_message(first)))[-1]
    assert "Стр. 2 из 2" in nxt.text
    sent = await harness.tap(owner, "cm:nonsense:all:0")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).show_alert
    manager = harness.user(MANAGER_ID, "Пётр")
    assert "недоступна" in replies(await harness.send(manager, "/comments"))[0]


ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
BASE = datetime(2026, 3, 1, tzinfo=UTC)
answer = st.tuples(
    st.integers(0, 10),  # score
    st.sampled_from(["client", "supplier", "contractor", "partner"]),
    st.sampled_from([201, 202, 203]),  # manager
    st.integers(0, 300 * 24),  # created, hours after BASE
    st.one_of(st.none(), st.integers(0, 30 * 24)),  # answered this many hours later, or never
)


async def _fill(path: Path, rows: list[tuple]) -> Database:
    new_database(path)
    db = Database(path)
    await db.open()
    stamp = ts(BASE)
    async with db.transaction() as conn:
        for manager in (201, 202, 203):
            await conn.execute(
                "INSERT INTO staff VALUES (?, 'manager', ?, NULL, NULL, 1, NULL, ?, ?)",
                (manager, f"M{manager}", stamp, stamp),
            )
        for n, (score, kind, manager, created_h, answered_h) in enumerate(rows):
            cur = await conn.execute(
                "INSERT INTO contacts (kind, full_name, manager_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (kind, f"P{n}", manager, stamp, stamp),
            )
            created = BASE + timedelta(hours=created_h)
            scored = created + timedelta(hours=answered_h) if answered_h is not None else None
            await conn.execute(
                "INSERT INTO surveys (token, contact_id, manager_id, kind, created_at, score, "
                "scored_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    f"t{n}",
                    cur.lastrowid,
                    manager,
                    kind,
                    ts(created),
                    score if scored else None,
                    ts(scored) if scored else None,
                ),
            )
    return db


def _expected(rows: list[tuple], first: date | None, last: date, tz: ZoneInfo, **only: object):
    counts = {"p": 0, "n": 0, "d": 0, "invited": 0, "responded": 0}

    def inside(moment: datetime) -> bool:
        day = moment.astimezone(tz).date()
        return (first is None or day >= first) and day <= last

    for score, kind, manager, created_h, answered_h in rows:
        if only.get("kind") not in (None, kind) or only.get("manager") not in (None, manager):
            continue
        created = BASE + timedelta(hours=created_h)
        if inside(created):
            counts["invited"] += 1
            counts["responded"] += answered_h is not None
        if answered_h is not None and inside(created + timedelta(hours=answered_h)):
            key = "p" if score >= 9 else "n" if score >= 7 else "d"
            counts[key] += 1
    return NpsCounts(counts["p"], counts["n"], counts["d"], counts["invited"], counts["responded"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(answer, max_size=40),
    zone=st.sampled_from(ZONES),
    code=st.sampled_from(["7", "30", "90", "y", "all", "m2026-03", "m2026-10"]),
    today_offset=st.integers(0, 330),
    kind=st.sampled_from([None, "client", "supplier"]),
    manager=st.sampled_from([None, 201, 203]),
)
def test_nps_and_managers_match_an_independent_count(
    rows: list[tuple],
    zone: str,
    code: str,
    today_offset: int,
    kind: str | None,
    manager: int | None,
) -> None:
    tz = ZoneInfo(zone)
    today = (BASE + timedelta(days=today_offset)).astimezone(tz).date()
    period = resolve(code, today, tz)
    if period is None:  # a month after "today"
        return

    async def check() -> None:
        with tempfile.TemporaryDirectory() as folder:
            db = await _fill(Path(folder) / "p.sqlite3", rows)
            try:
                got = await nps_counts(db, Filters(period.start, period.end, kind, manager))
                want = _expected(
                    rows, period.first_day, period.last_day, tz, kind=kind, manager=manager
                )
                assert got == want
                assert got.nps == want.nps and got.response_rate == want.response_rate
                table = await manager_rows(db, period.start, period.end, today.isoformat())
                for row in table:
                    expected = _expected(
                        rows, period.first_day, period.last_day, tz, manager=row.user_id
                    )
                    assert row.counts == expected, row.name
                    assert row.sent == expected.invited
            finally:
                await db.close()

    asyncio.run(check())


ROOT = Path(__file__).resolve().parent.parent


async def test_one_of_eight_cases_resolved_shows_13_percent(harness: Harness, db: Database) -> None:
    """100 · 1/8 = 12.5: Python's round() gives 12 (halves to even); every other figure of /nps
    rounds halves away from zero, so the share of resolved cases must say 13."""
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    for n in range(8):
        await detractor(harness, db, name=f"Клиент {n}", tg_id=5000 + n)
    await take_and_resolve(harness, OWNER_ID, case_id=1)
    ru = replies(await harness.send(harness.user(OWNER_ID, "Ольга"), "/nps"))
    assert any("Случаи за период: решено 1 из 8 (13%)" in text for text in ru), ru
    en = replies(await harness.send(harness.user(OWNER_ID, "Olga", lang="en"), "/nps"))
    assert any("Cases in the period: 1 of 8 resolved (13%)" in text for text in en), en


async def test_nps_for_suppliers_counts_only_suppliers_cases(
    harness: Harness, db: Database
) -> None:
    """6 cases, 2 of them suppliers': "NPS · Suppliers" counts the suppliers' 2, not all 6."""
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    for n in range(6):
        kind = "supplier" if n < 2 else "client"
        await detractor(harness, db, kind=kind, name=f"Клиент {n}", tg_id=5000 + n)
    owner = harness.user(OWNER_ID, "Ольга")
    ru = replies(await harness.tap(owner, NpsView(period="30", kind="supplier", manager=0).pack()))
    assert any("Случаи за период: решено 0 из 2 (0%)" in text for text in ru), ru
    clients = replies(
        await harness.tap(owner, NpsView(period="30", kind="client", manager=0).pack())
    )
    assert any("Случаи за период: решено 0 из 4 (0%)" in text for text in clients), clients
    everyone = replies(await harness.send(owner, "/nps"))
    assert any("Случаи за период: решено 0 из 6 (0%)" in text for text in everyone), everyone


async def test_nps_for_one_manager_shows_that_managers_cases(
    harness: Harness, db: Database
) -> None:
    """Two managers, 3 and 2 cases: each manager's /nps has the line with their own cases only."""
    other = MANAGER_ID + 1
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await add_manager(db, other, "Иван Петров", harness.clock())
    for n in range(5):
        manager = MANAGER_ID if n < 3 else other
        await detractor(harness, db, manager_id=manager, name=f"Клиент {n}", tg_id=5000 + n)
    await take_and_resolve(harness, OWNER_ID, case_id=4)
    owner = harness.user(OWNER_ID, "Ольга")
    mine = replies(
        await harness.tap(owner, NpsView(period="30", kind="all", manager=MANAGER_ID).pack())
    )
    assert any("Случаи за период: решено 0 из 3 (0%)" in text for text in mine), mine
    theirs = replies(
        await harness.tap(owner, NpsView(period="30", kind="all", manager=other).pack())
    )
    assert any("Случаи за период: решено 1 из 2 (50%)" in text for text in theirs), theirs


def _report(counts: NpsCounts) -> NpsReport:
    period = resolve("30", date(2026, 11, 29), ZoneInfo("Europe/Moscow"))
    assert period is not None
    return NpsReport(
        period=period,
        kind="all",
        manager_name=None,
        counts=counts,
        previous=None,
        by_kind={},
        median_hours=None,
        cases=None,
    )


def test_margin_2_5_shows_3() -> None:
    """A margin of exactly 2.5 points: Python's round() says 2, halves away from zero say 3."""
    report = _report(NpsCounts(promoters=6, passives=2, detractors=2))
    assert " ± 3 (95%)" in nps_text(report, "ru", 2.5)
    assert " ± 3 (95%)" in nps_text(report, "en", 2.5)
    assert " ± 2 (95%)" in nps_text(report, "ru", 2.49)
    assert [round_half_away(x) for x in (0.5, 1.5, 2.5, 12.5, -2.5, 2.4999, 0.0)] == [
        1, 2, 3, 13, -3, 2, 0,
    ]  # fmt: skip


def test_no_round_in_views_or_handlers() -> None:
    """One rounding rule: figures are rounded in domain/nps.py (`percent`, `round_half_away`),
    never with Python's round() in a view or a handler (a source scan, comments excluded)."""
    found = []
    for folder in ("views", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
                if name == "round":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(list((ROOT / "views").rglob("*.py"))) > 5  # the scan saw the views
    assert found == []


# --- /managers pages (D3) ---------------------------------------------------------------------

PAGE_NAMES = 45


async def _many_managers(harness: Harness, db: Database) -> dict[int, str]:
    """45 managers with 39-character names full of characters HTML must escape."""
    names = {}
    for i in range(PAGE_NAMES):
        invite = await create_invite(db, OWNER_ID, harness.clock())
        name = (f"{i:02d} Ли & <Ко> Очень-Длинная-Фамилия-Фамилия")[:39]
        await redeem_invite(db, invite.token, 1000 + i, name, None, "ru", harness.clock())
        names[1000 + i] = name
    return names


def _toggled_ids(request: SendMessage | EditMessageText) -> list[int]:
    return [
        ManagerToggle.unpack(data).user_id
        for _, data in buttons(request)
        if data is not None and data.startswith("mg:")
    ]


def _listed(request: SendMessage | EditMessageText) -> list[str]:
    visible, _ = parse_html(request.text)
    return re.findall(r"^(\d+)\. ", visible, re.MULTILINE)


async def test_45_managers_with_39_letter_names_page_with_buttons_and_every_page_is_accepted(
    harness: Harness, db: Database
) -> None:
    names = await _many_managers(harness, db)
    owner = harness.user(OWNER_ID, "Ольга")
    first = (await harness.send(owner, "/managers"))[0]
    # the recording session refuses what Telegram would refuse (tests/fakes/telegram_rules.py)
    assert isinstance(first, SendMessage)
    pages: list[SendMessage | EditMessageText] = [first]
    for _ in range(2):
        sent = await harness.tap(owner, button_data(pages[-1], "▶"), as_message(first))
        pages.append(next(r for r in sent if isinstance(r, EditMessageText)))
    seen: list[int] = []
    for number, page in enumerate(pages, 1):
        assert check_call("sendMessage", {"text": page.text, "parse_mode": "HTML"}) is None
        assert len(parse_html(page.text)[0]) <= 4096
        assert page.text.splitlines()[-1] == f"Стр. {number} из 3 · всего 45"
        listed = _listed(page)
        assert listed == [str(n) for n in range((number - 1) * 15 + 1, number * 15 + 1)]
        toggles = _toggled_ids(page)
        # the toggles are those of the managers this page lists, in its order
        visible = parse_html(page.text)[0]
        assert [html.escape(names[i]) in page.text for i in toggles] == [True] * 15
        assert [visible.index(names[i]) for i in toggles] == sorted(
            visible.index(names[i]) for i in toggles
        )
        seen += toggles
        arrows = [text for text, _ in buttons(page) if text in ("◀", "▶")]
        assert arrows == {1: ["▶"], 2: ["◀", "▶"], 3: ["◀"]}[number]
    assert sorted(seen) == sorted(names)  # every manager on exactly one page
    back = await harness.tap(owner, button_data(pages[2], "◀"), as_message(first))
    assert "Стр. 2 из 3" in replies(back)[0]


async def test_toggle_on_page_3_keeps_page_3(harness: Harness, db: Database) -> None:
    names = await _many_managers(harness, db)
    owner = harness.user(OWNER_ID, "Ольга")
    first = (await harness.send(owner, "/managers"))[0]
    sent = await harness.tap(owner, "ms:90:2", as_message(first))
    page3 = next(r for r in sent if isinstance(r, EditMessageText))
    assert "90 дней" in page3.text and "Стр. 3 из 3" in page3.text
    target = _toggled_ids(page3)[0]
    sent = await harness.tap(owner, button_data(page3, names[target][:20]), as_message(first))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text.endswith(
        "доступ отключён."
    )
    after = next(r for r in sent if isinstance(r, EditMessageText))
    # the same period and page; switched off, the manager sorts last: still on page 3
    assert "90 дней" in after.text and "Стр. 3 из 3" in after.text
    assert target in _toggled_ids(after)
    assert f"✅ Вернуть: {names[target]}" in [text for text, _ in buttons(after)]
    # a button for a period never shown changes nothing
    forged = await harness.tap(owner, f"mg:{target}:1:m2099-01:2", as_message(first))
    assert next(r for r in forged if isinstance(r, AnswerCallbackQuery)).show_alert
    member = await get_member(db, target)
    assert member is not None and not member.active
