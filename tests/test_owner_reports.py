"""/comments, and the figures of /nps and /managers checked against an independent computation
over random answer sets, periods and time zones (hypothesis), and one rounding rule for every
percentage and margin they show."""

from __future__ import annotations

import ast
import asyncio
import html
import random
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
from domain.vocabulary import KINDS
from storage import Database
from storage.comments import comment_page, comment_total, page_sql
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


# --- /comments by key (§2.4) ------------------------------------------------------------------


async def _answers(db: Database, rows: list[tuple[int, str, str]], first: int = 0) -> list[int]:
    """Answers with a reason, three to a second from BASE + `first` seconds (ties on scored_at
    are broken by id)."""
    stamp = ts(BASE)
    ids = []
    async with db.transaction() as conn:
        for n, (score, kind, reason) in enumerate(rows, first * 3):
            cur = await conn.execute(
                "INSERT INTO contacts (kind, full_name, created_at, updated_at) "
                "VALUES (?, ?, ?, ?)",
                (kind, f"Клиент {n}", stamp, stamp),
            )
            cur = await conn.execute(
                "INSERT INTO surveys (token, contact_id, kind, created_at, score, scored_at, "
                "reason, reason_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    f"k{n}-{len(reason)}-{score}-{kind}",
                    cur.lastrowid,
                    kind,
                    stamp,
                    score,
                    ts(BASE + timedelta(seconds=n // 3)),
                    reason,
                    stamp,
                ),
            )
            assert cur.lastrowid is not None
            ids.append(cur.lastrowid)
    return ids


async def _walk(db: Database, category: str, kind: str) -> list[list[int]]:
    """Every page of a filter, following ▶ from the newest to the oldest."""
    pages, anchor = [], 0
    while True:
        page = await comment_page(db, category, kind, 5, anchor)
        assert page is not None
        pages.append([c.survey_id for c in page.items])
        assert page.newer == bool(anchor)
        if not page.older:
            return pages
        anchor = page.items[-1].survey_id


async def test_following_the_anchors_lists_every_answer_once_newest_first(db: Database) -> None:
    pick = random.Random(13)
    rows = [(pick.randint(0, 10), pick.choice(KINDS), f"Ответ {n}") for n in range(263)]
    ids = await _answers(db, rows)
    category_of = {0: "detractor", 1: "passive", 2: "promoter"}
    for category, kind in [
        ("all", "all"),
        ("detractor", "all"),
        ("all", "supplier"),
        *[("promoter", "client")],
    ]:
        expected = [
            i
            for i, (score, k, _) in zip(ids, rows, strict=True)
            if kind in ("all", k) and category in ("all", category_of[(score >= 7) + (score >= 9)])
        ][::-1]  # newest first: later seconds, and the larger id within a second
        pages = await _walk(db, category, kind)
        assert [i for page in pages for i in page] == expected, (category, kind)
        assert all(len(page) == 5 for page in pages[:-1])
        assert await comment_total(db, category, kind) == len(expected)
        # ◀ from the last page walks the same pages back
        back, anchor = [pages[-1]], pages[-1][0]
        while True:
            page = await comment_page(db, category, kind, 5, anchor, back=True)
            assert page is not None and page.older
            if not page.items:
                break
            back.append([c.survey_id for c in page.items])
            if not page.newer:
                break
            anchor = page.items[0].survey_id
        if len(pages[-1]) == 5 or len(pages) == 1:
            assert back[::-1] == pages, (category, kind)
        else:  # going back, pages are cut from the anchor: whole pages of 5, the newest last
            assert [i for page in back[::-1] for i in page] == expected


RANGE = "SEARCH surveys USING INDEX surveys_comments (<expr>=? AND kind=? AND scored_at<?)"


def _plan_nodes(plan: list[tuple]) -> tuple[list[str], list[str]]:
    """The SEARCH/SCAN lines, and the sorts made inside a subquery (a page walking a whole range
    would sort it there)."""
    coroutines = {row[0] for row in plan if row[3].startswith("CO-ROUTINE")}
    steps = [row[3] for row in plan if row[3].startswith(("SEARCH", "SCAN"))]
    inner_sorts = [row[3] for row in plan if "TEMP B-TREE" in row[3] and row[1] in coroutines]
    return steps, inner_sorts


async def test_page_50_of_comments_is_a_search_on_the_index(db: Database) -> None:
    """Offset paging read 245 rows to show page 50 (and counted every reason for the total);
    by key, page 50 starts where page 49 ended, in the `surveys_comments` index."""
    ids = await _answers(db, [(3, "client", f"Плохо №{n}") for n in range(252)])
    others = [(10, "client", "Отлично")] * 20 + [(3, "partner", "Плохо")] * 20
    await _answers(db, others, first=100)
    pages = await _walk(db, "detractor", "client")
    assert len(pages) == 51 and pages[49] == ids[::-1][245:250]
    anchor = pages[48][-1]
    async with db.read() as conn:
        at = (
            await (
                await conn.execute("SELECT scored_at FROM surveys WHERE id = ?", (anchor,))
            ).fetchone()
        )[0]
        for category, kind in [("detractor", "client"), ("detractor", "all"), ("all", "all")]:
            sql, values = page_sql(category, kind, keyed=True, back=False)
            plan = await (
                await conn.execute(
                    f"EXPLAIN QUERY PLAN {sql}", values | {"at": at, "id": anchor, "n": 6}
                )
            ).fetchall()
            steps, inner_sorts = _plan_nodes([tuple(row) for row in plan])
            if category == kind == "all":  # every answer with a reason: one range by time
                assert steps[0] == "SEARCH surveys USING INDEX surveys_reason (scored_at<?)"
            else:
                ranges = [s for s in steps if "surveys_comments" in s]
                pairs = (3 if category == "all" else 1) * (4 if kind == "all" else 1)
                assert ranges == [RANGE] * pairs, steps
            assert not [
                s for s in steps if s.startswith("SCAN") and "subquery" not in s and s != "SCAN p"
            ]
            assert inner_sorts == []


async def test_a_new_comment_does_not_repeat_an_item_on_the_next_page(
    harness: Harness, db: Database
) -> None:
    await _answers(db, [(3, "client", f"Ответ №{n}") for n in range(8)])
    owner = harness.user(OWNER_ID, "Ольга")
    first = (await harness.send(owner, "/comments"))[0]
    assert isinstance(first, SendMessage)
    shown = re.findall(r"Ответ №(\d+)", first.text)
    assert shown == ["7", "6", "5", "4", "3"] and "всего 8" in first.text
    await _answers(db, [(2, "client", "Новый ответ")], first=60)  # arrives while the owner reads
    sent = await harness.tap(owner, button_data(first, "▶"), as_message(first))
    second = next(r for r in sent if isinstance(r, EditMessageText))
    # by offset, page 2 began with "Ответ №3" again
    assert re.findall(r"Ответ №(\d+)", second.text) == ["2", "1", "0"]
    assert "Стр. 2 из 2" in second.text and "всего 9" in second.text
    assert [text for text, _ in buttons(second) if text in ("◀", "▶")] == ["◀"]
    sent = await harness.tap(owner, button_data(second, "◀"), as_message(first))
    back = next(r for r in sent if isinstance(r, EditMessageText))
    assert "Новый ответ" in back.text and "Стр. 1 из 2" in back.text
    assert re.findall(r"Ответ №(\d+)", back.text) == ["7", "6", "5", "4"]
    # a button whose answer was erased since: "no longer works", nothing else
    async with db.transaction() as conn:
        await conn.execute("UPDATE surveys SET reason = NULL WHERE reason = 'Ответ №3'")
    sent = await harness.tap(owner, button_data(first, "▶"), as_message(first))
    assert [type(r) for r in sent] == [AnswerCallbackQuery] and sent[0].show_alert


async def test_comments_marks_a_cut_reason_and_opens_it(harness: Harness, db: Database) -> None:
    long = "Доставка & сборка <долго>.\n" + " ".join(f"слово{n}" for n in range(1500))
    flat = " ".join(long.split())
    (whole,) = await _answers(db, [(3, "client", long)])
    await _answers(db, [(9, "client", "Коротко и ясно")], first=10)
    owner = harness.user(OWNER_ID, "Ольга")
    listing = (await harness.send(owner, "/comments"))[0]
    assert isinstance(listing, SendMessage)
    left = len(flat) - 499
    assert f"…» (ещё {left} знаков — кнопка 📄 2)" in listing.text
    assert "«Коротко и ясно»" in listing.text  # whole: no mark, no button
    assert [text for text, _ in buttons(listing) if text.startswith("📄")] == ["📄 2"]
    sent = await harness.tap(owner, button_data(listing, "📄 2"), as_message(listing))
    messages = [r for r in sent if isinstance(r, SendMessage)]
    assert len(messages) == 4  # 14,000 characters: four messages, each taken by Telegram
    assert messages[0].text.startswith("📄 <b>Весь ответ</b> · Клиент 0 · 01.03.2026 · оценка 3")
    body = "\n\n".join([messages[0].text.split("\n\n", 1)[1], *[m.text for m in messages[1:]]])
    assert " ".join(html.unescape(body).split()) == flat  # every word, in order, none cut
    assert "Доставка &amp; сборка &lt;долго&gt;.\nслово0" in messages[0].text  # as typed
    assert all(len(m.text) <= 4096 for m in messages)
    assert all(not m.text.startswith(("&", ";")) for m in messages[1:])
    # the same button from someone who may not see the contact: refused, nothing sent
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    sent = await harness.tap(harness.user(MANAGER_ID, "Пётр"), f"aw:{whole}")
    assert [type(r) for r in sent] == [AnswerCallbackQuery] and sent[0].show_alert
