"""The plan message reads as the plan: every item listed (an emoji per kind, the person, a few
words), grouped by kind, within Telegram's 4,096 characters, the rest behind ▶; through the
production dispatcher with the clock moved by hand, and the renderer on the longest input."""

from __future__ import annotations

import re
from datetime import date, datetime
from html.parser import HTMLParser

from aiogram.methods import EditMessageText, SendMessage

from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from storage.tasks import TaskView
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, buttons
from tests.helpers.cadence import at, sends
from tests.helpers.survey import MANAGER_ID
from views.tasks import KIND_EMOJI, plan_message, telegram_length
from views.texts import plural

LIMIT = 4096


class _Checker(HTMLParser):
    """Telegram's HTML: only known tags, each closed, nothing left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        assert tag in ("b", "i"), tag
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, tag


def well_formed(text: str) -> None:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.open == []
    assert "<" not in re.sub(r"</?[bi]>", "", text)  # every other "<" arrives escaped


async def team(db: Database, now: datetime, language: str = "ru") -> None:
    invite = await create_invite(db, OWNER_ID, now)
    await redeem_invite(db, invite.token, MANAGER_ID, "Пётр Иванов", None, language, now)


async def sales(db: Database, now: datetime, count: int) -> list[str]:
    """`count` sales on Friday 20.11, every 10th with a birthday on Monday 23.11; returns names."""
    names = []
    for i in range(count):
        name = f"Анна <Смирнова> & Co {i:03d}" if i % 7 == 0 else f"Клиент Номер {i:03d}"
        if i == 5:
            name = "Очень-очень длинное имя " * 8 + "005"
        names.append(name)
        await record_sale(
            db,
            SaleInput(
                idem_key=f"p{i}",
                manager_id=MANAGER_ID,
                kind="client",
                full_name=name,
                organization="ООО «Берёзка»",
                phone=f"+7916{i:07d}",
                contact_tg_id=None,
                birthday=(23, 11, None) if i % 10 == 0 else None,
                description=f"Кухонный гарнитур {i:03d}",
                deal_date=date(2026, 11, 20),
            ),
            now,
        )
    return names


def listed(text: str) -> list[str]:
    """The item lines of a plan page: they start with a kind's emoji."""
    emoji = tuple(set(KIND_EMOJI.values()))
    return [line for line in text.splitlines() if line.startswith(emoji)]


async def test_the_plan_message_lists_every_item(harness: Harness, db: Database) -> None:
    at(harness, 2026, 11, 22, 12, 0)  # Sunday: the links are new, no "resend" due on Monday
    await team(db, harness.clock())
    names = await sales(db, harness.clock(), 200)
    at(harness, 2026, 11, 23, 9, 0)  # Monday: 200 next-day calls and 20 birthdays
    plan = sends(await harness.tick(), MANAGER_ID)
    assert len(plan) == 1
    first = plan[0]
    lines = first.text.splitlines()
    assert lines[0] == "📋 План на 23.11.2026: 220 дел"
    assert lines[1] == "Стр. 1 из 11"
    assert "… и ещё 200 дел — нажмите ▶, чтобы увидеть их." in first.text
    assert telegram_length(first.text) <= LIMIT
    well_formed(first.text)
    # grouped by kind under one heading: the calls first (the order of the day's urgency)
    assert lines[2:5] == [
        "",
        "<b>Звонки после покупки</b>",
        "📞 Анна &lt;Смирнова&gt; &amp; Co 000, Кухонный гарнитур 000",
    ]
    assert first.text.count("<b>") == 1

    # ▶ through every page: each item appears exactly once, each page within the limit
    peter = harness.user(MANAGER_ID, "Пётр")
    pages = [first]
    seen = listed(first.text)
    while any(text == "▶" for text, _ in buttons(pages[-1])):
        sent = await harness.tap(peter, button_data(pages[-1], "▶"), as_message(first))
        page = next(r for r in sent if isinstance(r, EditMessageText))
        assert telegram_length(page.text) <= LIMIT
        well_formed(page.text)
        seen += listed(page.text)
        pages.append(page)
    assert len(pages) == 11 and "и ещё" not in pages[-1].text
    assert "<b>Дни рождения</b>\n🎂 Анна &lt;Смирнова&gt; &amp; Co 000, ООО «Берёзка»" in (
        pages[-1].text
    )
    assert len(seen) == 220
    calls = [line for line in seen if line.startswith("📞")]
    assert len(calls) == 200
    for i, name in enumerate(names):
        shown = name if len(name) <= 40 else name[:39] + "…"
        shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert f"📞 {shown}, Кухонный гарнитур {i:03d}" in calls, name
    # the buttons still open the cards
    last = pages[-1]
    sent = await harness.tap(peter, button_data(last, "День рождения"), as_message(first))
    card = next(r for r in sent if isinstance(r, EditMessageText))
    assert "Сегодня день рождения" in card.text and "Анна &lt;Смирнова&gt;" in card.text


async def test_the_plan_in_english_counts_in_english(harness: Harness, db: Database) -> None:
    at(harness, 2026, 11, 22, 12, 0)
    await team(db, harness.clock(), language="en")
    await sales(db, harness.clock(), 21)
    at(harness, 2026, 11, 23, 9, 0)
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    assert plan.text.startswith("📋 Plan for 23.11.2026: 24 tasks\nPage 1 of 2\n")
    assert "<b>Calls after the purchase</b>\n📞 Анна &lt;Смирнова&gt; &amp; Co 000, Кухонный" in (
        plan.text
    )
    assert "… plus 4 tasks — tap ▶ to see them." in plan.text
    user = harness.user(MANAGER_ID, "Peter", lang="en")
    today = next(r for r in await harness.send(user, "/today") if isinstance(r, SendMessage))
    assert today.text == plan.text  # /today shows the same plan


def _task(i: int, kind: str, name: str, detail: str) -> TaskView:
    return TaskView(
        id=i,
        kind=kind,
        status="pending",
        contact_id=i,
        contact_name=name,
        organization=detail,
        phone=None,
        contact_kind="client",
        birth_day=29,
        birth_month=2,
        tg_linked=False,
        consent=False,
        manager_id=MANAGER_ID,
        deal_id=i,
        deal_description=detail,
        deal_date=date(2026, 1, 1),
        survey_id=None,
        survey_token=None,
        survey_score=10,
        survey_reason=None,
        case_id=None,
        due_date=date(2026, 11, 1),  # overdue: the longest line
        due_at=None,
        attempts=0,
        meta={},
    )


def test_the_longest_plan_stays_within_telegrams_limit() -> None:
    # Every kind, alternating so every item starts a new group (a heading per line), the longest
    # names and details, all overdue, astral-plane characters (two UTF-16 units each) and
    # characters that are escaped: every page of 200 stays within 4,096 after entity parsing.
    kinds = list(KIND_EMOJI)
    name = "𝔄<&>" * 100
    # ids from 1, as SQLite gives them (a button refuses task id 0: views/callbacks.py)
    tasks = [_task(i, kinds[i % len(kinds)], name, "𝔅&<" * 100) for i in range(1, 201)]
    for lang in ("ru", "en"):
        page = 0
        while True:
            text, markup = plan_message(tasks, page, lang, date(2026, 11, 23))
            assert telegram_length(text) <= LIMIT, (lang, page, telegram_length(text))
            well_formed(text)
            assert markup is not None
            if not any(b.text == "▶" for row in markup.inline_keyboard for b in row):
                break
            page += 1
        assert page == 9


def test_russian_plural_forms() -> None:
    forms = {n: plural("ru", n, "plural.task") for n in (0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 111)}
    assert forms == {
        0: "0 дел",
        1: "1 дело",
        2: "2 дела",
        4: "4 дела",
        5: "5 дел",
        11: "11 дел",
        12: "12 дел",
        14: "14 дел",
        21: "21 дело",
        22: "22 дела",
        111: "111 дел",
    }
    assert [plural("en", n, "plural.task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]


def test_telegram_length_counts_what_telegram_counts() -> None:
    assert telegram_length("<b>A&amp;B</b>") == 3
    assert telegram_length("📞 x") == 4  # the emoji is two UTF-16 units
