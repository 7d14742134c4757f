"""/find and the contact card as staff use them: search, list, card, its three buttons, access."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import Update, User
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage.contacts
from bot.app import create_bot, create_dispatcher
from domain.settings import Settings
from scheduler.sender import Sender
from storage import Database
from storage.contacts import fold, search_contacts, search_sql, searchable
from storage.staff import create_invite, redeem_invite
from tests.conftest import OWNER_ID
from tests.fakes.recording import RecordingSession
from tests.harness import (
    BOT_USERNAME,
    FakeClock,
    Harness,
    buttons,
    replies,
)
from tests.helpers.chat import bot_messages, chat_of
from tests.helpers.contacts import MANAGER_ID, Staff, add_contact, last_send
from tests.helpers.database import new_database
from views.callbacks import FindBirthday, FindComment, FindDeal, FindOpen
from views.texts import CATALOGS

OTHER_MANAGER_ID = 333
LINK_RE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=s_[A-Za-z0-9_-]+")
FORGED = CATALOGS["ru"]["button.forged"]


@pytest.fixture
async def find_harness(
    settings: Settings, db: Database, clock: FakeClock
) -> AsyncIterator[Harness]:
    session = RecordingSession(BOT_USERNAME)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    h = Harness(
        bot=bot,
        dp=create_dispatcher(settings, db, sender, clock),
        session=session,
        clock=clock,
        sender=sender,
    )
    yield h
    # on_error turns a crash into a polite apology: no test may pass through one
    apologies = {CATALOGS[lang]["error.generic"] for lang in CATALOGS}
    assert not [text for r in h.sent() for text in replies([r]) if text in apologies]
    await bot.session.close()


# --- helpers ---------------------------------------------------------------------------------


async def add_manager(h: Harness, db: Database, user_id: int, name: str, lang: str = "ru") -> None:
    invite = await create_invite(db, OWNER_ID, h.clock())
    await redeem_invite(db, invite.token, user_id, name, None, lang, h.clock())


async def scalar(db: Database, sql: str, *params: Any) -> Any:
    async with db.read() as conn:
        row = await (await conn.execute(sql, params)).fetchone()
    return row[0] if row else None


def alerts(requests: list[TelegramMethod[Any]]) -> list[str | None]:
    return [r.text for r in requests if isinstance(r, AnswerCallbackQuery) and r.show_alert]


@pytest.fixture
async def team(find_harness: Harness, db: Database) -> Harness:
    await add_manager(find_harness, db, MANAGER_ID, "Пётр Иванов")
    await add_manager(find_harness, db, OTHER_MANAGER_ID, "Ольга Сидорова")
    return find_harness


# --- search ----------------------------------------------------------------------------------


async def test_name_search_is_case_insensitive_cyrillic_and_partial(
    team: Harness, db: Database
) -> None:
    await add_contact(team, db, "Анна Смирнова", phone="+79161234567", org="ООО «Берёзка»")
    await add_contact(team, db, "Борис Петров")
    m = Staff(team, MANAGER_ID)
    for query in ("смирнова", "АННА СМИР", "мирн", "  анна   смирнова "):
        texts = await m.say(f"/find {query}")
        assert len(texts) == 1, query
        card = texts[0]
        assert "👤 <b>Анна Смирнова</b>" in card, query
        assert "Телефон: +7 916 123-45-67" in card and "Кто: Клиент" in card
        assert "Организация: ООО «Берёзка»" in card and "Менеджер: Пётр Иванов" in card
    assert [b[0] for b in buttons(m.last)] == [
        "➕ Новая сделка",
        "💬 Добавить комментарий",
        "🎂 Указать день рождения",
    ]
    for _, data in buttons(m.last):
        assert data is not None and len(data.encode()) <= 64


async def test_yo_and_ye_are_the_same_letter(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Пётр Алёшин")
    m = Staff(team, MANAGER_ID)
    assert "Пётр Алёшин" in (await m.say("/find петр алешин"))[0]
    assert "Пётр Алёшин" in (await m.say("/find АЛЁШ"))[0]


async def test_phone_in_another_format_finds_exactly(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова", phone="+79161234567")
    await add_contact(team, db, "Борис Петров", phone="+79161234568")
    m = Staff(team, MANAGER_ID)
    for query in ("8 (916) 123-45-67", "+7 916 1234567", "89161234567"):
        texts = await m.say(f"/find {query}")
        assert "Анна Смирнова" in texts[0] and "Борис" not in texts[0], query
    texts = await m.say("/find 8 916 000-00-00")
    assert texts == [
        "Контакта с телефоном +7 916 000-00-00 не нашлось.\n"
        "Поиск идёт только среди ваших контактов."
    ]


async def test_organisation_search(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова", org="ООО «Берёзка»")
    await add_contact(team, db, "Борис Петров", org="ИП Петров")
    m = Staff(team, MANAGER_ID)
    card = (await m.say("/find берёзк"))[0]
    assert "Анна Смирнова" in card and "Борис" not in card


async def test_several_results_list_then_card(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова", org="Берёзка", phone="+79161234567")
    await add_contact(team, db, "Мария Смирнова")
    await add_contact(team, db, "Олег Смирнов")
    await add_contact(team, db, "Борис Петров")
    m = Staff(team, MANAGER_ID)
    text = (await m.say("/find смирнов"))[0]
    assert text.splitlines() == [
        "Нашлось: 3. Выберите контакт:",
        "1. Анна Смирнова — Берёзка, +7 916 123-45-67",
        "2. Мария Смирнова",
        "3. Олег Смирнов",
    ]
    assert [b[0] for b in buttons(m.last)] == [
        "1. Анна Смирнова",
        "2. Мария Смирнова",
        "3. Олег Смирнов",
    ]
    sent = await m.press("Мария")
    card = last_send(sent).text
    assert "👤 <b>Мария Смирнова</b>" in card and "Анна" not in card
    assert any(isinstance(r, AnswerCallbackQuery) and not r.show_alert for r in sent)


async def test_more_than_ten_results_are_capped(team: Harness, db: Database) -> None:
    for n in range(13):
        await add_contact(team, db, f"Клиент Иванов {n:02d}")
    m = Staff(team, MANAGER_ID)
    text = (await m.say("/find иванов"))[0]
    assert text.startswith("Нашлось: 13.")
    assert "…и ещё 3. Уточните запрос." in text
    assert len(buttons(m.last)) == 10


async def test_a_query_without_a_3_letter_word_gets_a_hint_and_phones_still_work(
    team: Harness, db: Database
) -> None:
    """Words under 3 characters cannot use the trigram index: such a query is not run (it
    would read every contact) and the person is told what to type; a phone is still a phone."""
    await add_contact(team, db, "Анна Смирнова", phone="+79161234567")
    await add_contact(team, db, "ООО 100% качество")
    m = Staff(team, MANAGER_ID)
    hint = (
        "Напишите хотя бы 3 буквы имени или организации — или телефон.\n\n"
        "Например: <code>/find Сми</code> или <code>/find 8 916 123-45-67</code>"
    )
    for query in ("%", "_", "ан", "ан см", "А"):
        assert await m.say(f"/find {query}") == [hint], query
    assert "👤 <b>ООО 100% качество</b>" in (await m.say("/find 100%"))[0]
    assert "👤 <b>Анна Смирнова</b>" in (await m.say("/find 8 916 123-45-67"))[0]
    # a short word narrows a long one
    await add_contact(team, db, "Анна Ивлева")
    card = (await m.say("/find анна ив"))[0]
    assert "👤 <b>Анна Ивлева</b>" in card and "Смирнова" not in card
    english = Staff(team, MANAGER_ID, lang="en")
    assert (await english.say("/find ab"))[0].startswith("Please type at least 3 letters")


async def test_words_in_any_order_and_across_name_and_organisation(
    team: Harness, db: Database
) -> None:
    await add_contact(team, db, "Смирнова Анна", org="Ромашка")
    await add_contact(team, db, "Анна Кузнецова", org="Берёзка")
    m = Staff(team, MANAGER_ID)
    for query in ("анна смирнова", "СМИРНОВА АННА", "анна ромашка"):
        texts = await m.say(f"/find {query}")
        assert "👤 <b>Смирнова Анна</b>" in texts[0], query
    assert "ничего не нашлось" in (await m.say("/find смирнова берёзка"))[0]


async def _bulk_contacts(db: Database, names: list[str], manager: int = MANAGER_ID) -> None:
    """Many contacts in one transaction, straight into the table (the index's triggers run)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (kind, full_name, manager_id, created_at, updated_at) "
            "VALUES ('client', ?, ?, '2026-11-19 10:00:00', '2026-11-19 10:00:00')",
            [(name, manager) for name in names],
        )


async def test_found_is_exact_to_200_and_more_says_narrow_it_down(
    team: Harness, db: Database
) -> None:
    await _bulk_contacts(db, [f"Иванов {n:03d}" for n in range(200)])
    m = Staff(team, MANAGER_ID)
    text = (await m.say("/find иванов"))[0]
    assert text.startswith("Нашлось: 200. Выберите контакт:\n1. Иванов 000\n")
    assert text.endswith("…и ещё 190. Уточните запрос.") and len(buttons(m.last)) == 10
    await _bulk_contacts(db, ["Иванов 200"])
    text = (await m.say("/find иванов"))[0]
    assert text.startswith("Нашлось больше 200 — уточните запрос. Несколько из них:\n1. ")
    assert "…и ещё" not in text and len(buttons(m.last)) == 10
    english = Staff(team, MANAGER_ID, lang="en")
    assert (await english.say("/find ИВАНОВ"))[0].startswith(
        "Found more than 200: please narrow it down. Some of them:"
    )


async def test_the_search_reads_the_index_in_rowid_order_without_sorting_every_match(
    db: Database,
) -> None:
    """A common name matches 110,000 of a million contacts: sorting them all before the LIMIT
    would cost what the old scan cost."""
    params = {"match": '"анна"', "viewer": None, "short0": "ва"}
    async with db.read() as conn:
        for short in (0, 1):
            plan = await conn.execute_fetchall(f"EXPLAIN QUERY PLAN {search_sql(short)}", params)
            details = [row[3] for row in plan]
            assert details[0].startswith("SCAN f VIRTUAL TABLE INDEX"), details
            assert "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)" in details, details
            assert not [d for d in details if "TEMP B-TREE" in d], details


async def test_a_renamed_contact_is_found_by_the_new_name_only(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна Смирнова", org="Ромашка")
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE contacts SET full_name = 'Анна Кузнецова', organization = 'Берёзка' "
            "WHERE id = ?",
            (contact_id,),
        )
    m = Staff(team, MANAGER_ID)
    assert "👤 <b>Анна Кузнецова</b>" in (await m.say("/find кузнецова"))[0]
    assert "👤 <b>Анна Кузнецова</b>" in (await m.say("/find берёзка"))[0]
    for old in ("смирнова", "ромашка"):
        assert "ничего не нашлось" in (await m.say(f"/find {old}"))[0], old
    # handed to another manager: found by them, no longer by the first
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE contacts SET manager_id = ? WHERE id = ?", (OTHER_MANAGER_ID, contact_id)
        )
    assert "ничего не нашлось" in (await m.say("/find кузнецова"))[0]
    other = Staff(team, OTHER_MANAGER_ID)
    assert "👤 <b>Анна Кузнецова</b>" in (await other.say("/find кузнецова"))[0]


async def test_nothing_found_says_what_was_searched(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    texts = await m.say("/find Кузнецов <b>")
    assert texts == [
        "По запросу «Кузнецов &lt;b&gt;» ничего не нашлось: я искал в именах и названиях "
        "организаций. Попробуйте часть фамилии или телефон.\n"
        "Поиск идёт только среди ваших контактов."
    ]
    owner = Staff(team, OWNER_ID)
    texts = await owner.say("/find Кузнецов")
    assert "ничего не нашлось" in texts[0] and "только среди ваших" not in texts[0]


async def test_usage_and_too_long_query(team: Harness, db: Database) -> None:
    m = Staff(team, MANAGER_ID)
    usage = (await m.say("/find"))[0]
    assert "после /find напишите часть имени" in usage and "<code>/find Смирнова</code>" in usage
    assert (await m.say("/find    "))[0] == usage
    texts = await m.say("/find " + "я" * 5000)
    assert texts == [
        "Слишком длинный запрос (5\u00a0000 символов). Напишите до 100: часть имени, организации "
        "или телефон."
    ]


async def test_forgotten_contacts_are_never_shown(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна Смирнова", phone="+79161234567")
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE contacts SET forgotten_at = '2026-11-20 06:00:00' WHERE id = ?", (contact_id,)
        )
    for who in (MANAGER_ID, OWNER_ID):
        s = Staff(team, who)
        assert "ничего не нашлось" in (await s.say("/find Анна"))[0]
        assert "не нашлось" in (await s.say("/find +79161234567"))[0]
        sent = await s.tap(FindOpen(contact_id=contact_id).pack())
        assert alerts(sent) == [FORGED]


# --- access ----------------------------------------------------------------------------------


async def test_manager_sees_only_own_contacts_owner_sees_all(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова", phone="+79161234567")
    await add_contact(team, db, "Анна Кузнецова", manager=OTHER_MANAGER_ID, phone="+79165554433")
    m = Staff(team, MANAGER_ID)
    card = (await m.say("/find анна"))[0]
    assert "Анна Смирнова" in card and "Кузнецова" not in card
    assert "не нашлось" in (await m.say("/find +7 916 555-44-33"))[0]
    other = Staff(team, OTHER_MANAGER_ID)
    card = (await other.say("/find анна"))[0]
    assert "Анна Кузнецова" in card and "Менеджер: Ольга Сидорова" in card
    owner = Staff(team, OWNER_ID)
    listing = (await owner.say("/find анна"))[0]
    assert "Нашлось: 2." in listing and "Кузнецова" in listing and "Смирнова" in listing
    assert "Анна Кузнецова" in (await owner.say("/find 8 916 555 44 33"))[0]


async def test_a_manager_never_finds_another_managers_contact(team: Harness, db: Database) -> None:
    """The index's manager token is a pre-filter made of the id's low 36 bits: a manager whose id
    shares them (TWIN) has the same token, and the SQL check still keeps them apart."""
    twin = MANAGER_ID + 2**36
    await add_manager(team, db, twin, "Ольга Двойникова")
    await _bulk_contacts(db, [f"Анна Мои {n}" for n in range(3)])
    await _bulk_contacts(db, [f"Анна Чужие {n}" for n in range(250)], manager=OTHER_MANAGER_ID)
    await _bulk_contacts(db, [f"Анна Двойника {n}" for n in range(4)], manager=twin)
    m = Staff(team, MANAGER_ID)
    text = (await m.say("/find анна"))[0]
    assert text.startswith("Нашлось: 3.") and "Чужие" not in text and "Двойника" not in text
    twin_text = (await Staff(team, twin).say("/find анна"))[0]
    assert twin_text.startswith("Нашлось: 4.") and "Мои" not in twin_text
    assert "ничего не нашлось" in (await m.say("/find чужие"))[0]
    assert "ничего не нашлось" in (await m.say("/find двойника"))[0]
    owner = (await Staff(team, OWNER_ID).say("/find анна"))[0]
    assert owner.startswith("Нашлось больше 200")


async def test_forged_buttons_for_another_managers_contact(team: Harness, db: Database) -> None:
    mine = await add_contact(team, db, "Анна Смирнова")
    theirs = await add_contact(team, db, "Анна Кузнецова", manager=OTHER_MANAGER_ID)
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    for factory in (FindOpen, FindDeal, FindComment, FindBirthday):
        for contact_id in (theirs, 999_999):
            sent = await m.tap(factory(contact_id=contact_id).pack())
            assert alerts(sent) == [FORGED], factory
            assert not [r for r in sent if isinstance(r, SendMessage | SendPhoto)], factory
    # nothing started: the next text is not taken as a comment or a birthday
    assert "Я не понял" in (await m.say("01.01.1990"))[0]
    assert await scalar(db, "SELECT count(*) FROM comments") == 0
    assert await scalar(db, "SELECT birth_day FROM contacts WHERE id = ?", theirs) is None
    # the owner may press the very same button
    owner = Staff(team, OWNER_ID)
    await owner.say("/find Кузнецова")
    sent = await owner.tap(FindOpen(contact_id=theirs).pack())
    assert "Анна Кузнецова" in last_send(sent).text
    assert mine != theirs


async def test_strangers_cannot_find(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова")
    stranger = Staff(team, 999)
    texts = await stranger.say("/find Анна")
    assert texts == [CATALOGS["ru"]["not_allowed"]]
    sent = await team.tap(stranger.user, FindOpen(contact_id=1).pack())
    assert alerts(sent) == [FORGED]
    assert not [r for r in sent if isinstance(r, SendMessage)]


# --- the card --------------------------------------------------------------------------------


async def _history(db: Database, contact_id: int) -> None:
    """Answers, comments, calls, tasks and flags, written the way the other features write them."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO deals (contact_id, manager_id, description, deal_date, created_at) "
            "VALUES (?, ?, 'Шкаф-купе', '2026-10-01', '2026-10-01 09:00:00')",
            (contact_id, MANAGER_ID),
        )
        # 21:30 UTC on the 19th is 00:30 on the 20th in Moscow
        await conn.execute(
            "UPDATE surveys SET score = 6, scored_at = '2026-11-19 21:30:00', "
            "reason = 'Доставка опоздала на <два> дня' WHERE contact_id = ?",
            (contact_id,),
        )
        await conn.execute(
            "UPDATE contacts SET contact_consent = 1, opted_out_at = '2026-11-19 08:00:00', "
            "unreachable_at = '2026-11-19 09:00:00', birth_day = 5, birth_month = 3, "
            "birth_year = 1985 WHERE id = ?",
            (contact_id,),
        )
        comments = [
            ("survey", "Доставка опоздала на <два> дня", "2026-11-19 21:30:00"),
            ("call", "Обещали скидку на фасады", "2026-11-18 10:00:00"),
            ("manual", "Любит звонки после обеда", "2026-11-17 10:00:00"),
        ]
        for source, text, at in comments:
            await conn.execute(
                "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (contact_id, MANAGER_ID, source, text, at),
            )
        for outcome, at in (("not_yet", "2026-11-18 10:00:00"), ("weird", "2026-11-19 10:00:00")):
            await conn.execute(
                "INSERT INTO contact_log (contact_id, at, channel, purpose, staff_id) "
                "VALUES (?, ?, 'call', ?, ?)",
                (contact_id, at, outcome, MANAGER_ID),
            )
        await conn.execute(
            "INSERT INTO contact_log (contact_id, at, channel, purpose) "
            "VALUES (?, '2026-11-19 11:00:00', 'bot', 'survey')",
            (contact_id,),
        )
        tasks = [
            ("offer", "2026-12-20", "pending"),
            ("call_back", "2026-11-23", "pending"),
            ("call", "2026-11-20", "done"),
        ]
        for n, (kind, due, status) in enumerate(tasks):
            await conn.execute(
                "INSERT INTO tasks (idem_key, kind, contact_id, manager_id, due_date, status, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, '2026-11-19 10:00:00')",
                (f"t{n}", kind, contact_id, MANAGER_ID, due, status),
            )


async def test_card_shows_the_whole_history(team: Harness, db: Database) -> None:
    contact_id = await add_contact(
        team, db, "Анна Смирнова", phone="+79161234567", org="Берёзка", product="Кухня «Модерн»"
    )
    await _history(db, contact_id)
    m = Staff(team, MANAGER_ID)
    card = (await m.say("/find Смирнова"))[0]
    expected = [
        "👤 <b>Анна Смирнова</b>",
        "Кто: Клиент",
        "Организация: Берёзка",
        "Телефон: +7 916 123-45-67",
        "День рождения: 05.03.1985",
        "Менеджер: Пётр Иванов",
        "✅ Согласен на связь по вопросам качества",
        "🔕 Отписался от сообщений бота (19.11.2026)",
        "⚠️ Недоступен в Telegram с 19.11.2026: заблокировал бота или удалил аккаунт",
        "",
        "<b>Сделки</b> (2):",
        "• 19.11.2026 — Кухня «Модерн»",
        "• 01.10.2026 — Шкаф-купе",
        "",
        "<b>Ответы на опрос</b> (1):",
        "• 20.11.2026 — 6 из 10, критик: Доставка опоздала на &lt;два&gt; дня",
        "",
        "<b>Комментарии</b> (2):",
        "• 18.11.2026, после звонка: Обещали скидку на фасады",
        "• 17.11.2026, заметка: Любит звонки после обеда",
        "",
        "<b>Звонки</b> (2):",
        "• 19.11.2026 — итог «weird»",
        "• 18.11.2026 — ещё не начал пользоваться",
        "",
        # the sale planned its call and, the link being unopened, a resend at once
        "<b>Открытые задачи</b> (4):",
        "• Звонок после сделки — срок 20.11.2026",
        "• Ещё раз отправить ссылку на опрос — срок 23.11.2026",
        "• Перезвонить — срок 23.11.2026",
        "• Индивидуальное предложение — срок 20.12.2026",
    ]
    assert card.splitlines() == expected


async def test_huge_history_fits_one_message(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна & <Смирнова>", org="&" * 150)
    long = "<&>\"'" * 400
    async with db.transaction() as conn:
        for n in range(30):
            stamp = f"2026-10-{n % 28 + 1:02d} 10:00:00"
            await conn.execute(
                "INSERT INTO deals (contact_id, manager_id, description, deal_date, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (contact_id, MANAGER_ID, long, stamp[:10], stamp),
            )
            await conn.execute(
                "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
                "VALUES (?, ?, 'manual', ?, ?)",
                (contact_id, MANAGER_ID, long, stamp),
            )
            await conn.execute(
                "INSERT INTO surveys (token, contact_id, kind, score, scored_at, reason, "
                "created_at) VALUES (?, ?, 'client', 10, ?, ?, ?)",
                (f"tok{n}", contact_id, stamp, long, stamp),
            )
            await conn.execute(
                "INSERT INTO contact_log (contact_id, at, channel, purpose) "
                "VALUES (?, ?, 'call', ?)",
                (contact_id, stamp, long[:300]),
            )
            await conn.execute(
                "INSERT INTO tasks (idem_key, kind, contact_id, manager_id, due_date, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (f"x{n}", long[:300], contact_id, MANAGER_ID, stamp[:10], stamp),
            )
    m = Staff(team, MANAGER_ID)
    card = (await m.say("/find смирнова"))[0]
    assert len(card) < 3500
    assert "<b>Сделки</b> (31):" in card and "…и ещё" in card
    # 30 made here, and the sale's own call and link resend
    assert "<b>Комментарии</b> (30):" in card and "<b>Открытые задачи</b> (32):" in card
    assert "&lt;Смирнова&gt;" in card and "<Смирнова>" not in card


async def test_a_normal_long_card_keeps_five_items_per_section(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна Смирнова")
    async with db.transaction() as conn:
        for n in range(8):
            await conn.execute(
                "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
                "VALUES (?, ?, 'manual', ?, ?)",
                (
                    contact_id,
                    MANAGER_ID,
                    f"Заметка {n} " + "слово " * 60,
                    f"2026-11-0{n + 1} 10:00:00",
                ),
            )
    m = Staff(team, MANAGER_ID)
    card = (await m.say("/find смирнова"))[0]
    lines = [line for line in card.splitlines() if line.startswith("• ") and "Заметка" in line]
    assert [line.split("Заметка ")[1][0] for line in lines] == ["7", "6", "5", "4", "3"]
    assert all(len(line) <= 230 and line.endswith("…") for line in lines)
    assert "   …и ещё 3" in card


# --- the card's buttons ----------------------------------------------------------------------


async def test_add_comment_with_a_sticker_in_between(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    sent = await m.press("Добавить комментарий")
    assert replies(sent) == [
        "Комментарий о контакте «Анна Смирнова»: напишите его одним сообщением, до 2\u00a0000 "
        "символов.\n\n/cancel — отменить"
    ]
    texts = replies(await team.send_sticker(m.user))
    assert len(texts) == 1 and texts[0].startswith("Пожалуйста, пришлите текст сообщением.")
    assert "Комментарий о контакте «Анна Смирнова»" in texts[0]
    assert "Комментарий длиннее 2\u00a0000 символов (2001)" in (await m.say("ж" * 2001))[0]
    card = (await m.say("Хочет  кухню\nк марту <срочно>"))[0]
    assert card.startswith("Комментарий сохранён.\n\n👤 <b>Анна Смирнова</b>")
    assert "• 20.11.2026, заметка: Хочет кухню к марту &lt;срочно&gt;" in card
    async with db.read() as conn:
        row = await (
            await conn.execute("SELECT contact_id, author_id, source, text FROM comments")
        ).fetchall()
    assert [tuple(r) for r in row] == [
        (contact_id, MANAGER_ID, "manual", "Хочет  кухню\nк марту <срочно>")
    ]
    # the conversation is over
    assert "Я не понял" in (await m.say("ещё текст"))[0]
    assert await scalar(db, "SELECT count(*) FROM comments") == 1


async def test_cancel_a_comment(team: Harness, db: Database) -> None:
    await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    await m.press("Добавить комментарий")
    assert await m.say("/cancel") == ["Отменено. Ничего не сохранено."]
    assert "Я не понял" in (await m.say("текст"))[0]
    assert await scalar(db, "SELECT count(*) FROM comments") == 0


async def test_set_birthday(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    card = (await m.say("/find Смирнова"))[0]
    assert "День рождения: —" in card
    sent = await m.press("день рождения")
    assert "День рождения контакта «Анна Смирнова»: ДД.ММ или ДД.ММ.ГГГГ" in replies(sent)[0]
    for bad in ("31.02", "29.02.2023", "01.01.2030", "завтра"):
        texts = await m.say(bad)
        assert texts == [
            "Такой даты нет или она в будущем. Напишите ДД.ММ или ДД.ММ.ГГГГ, например 05.03 "
            "или 05.03.1985."
        ], bad
    texts = replies(await team.send_sticker(m.user))
    assert "День рождения контакта" in texts[0]
    card = (await m.say("29.02"))[0]
    assert card.startswith("День рождения сохранён: 29.02.\n\n")
    assert "День рождения: 29.02\n" in card
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT birth_day, birth_month, birth_year FROM contacts WHERE id = ?",
                (contact_id,),
            )
        ).fetchone()
    assert tuple(row) == (29, 2, None)
    # a full date replaces it, year included
    await m.press("день рождения")
    assert "День рождения: 05.03.1985" in (await m.say("05.03.1985"))[0]


async def test_new_deal_from_the_card_goes_to_the_same_contact(team: Harness, db: Database) -> None:
    contact_id = await add_contact(team, db, "Анна Смирнова", org="Берёзка", kind="supplier")
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    sent = await m.press("Новая сделка")
    assert "Что продано" in replies(sent)[0]
    await m.say("Поставка фасадов")
    card = bot_messages(chat_of(team, m.user))[-1]  # the /sale card, edited question by question
    assert "Дата сделки" in card.text
    await team.tap(m.user, card.data("Сегодня"), card.as_message())
    card = bot_messages(chat_of(team, m.user))[-1]
    summary = card.text
    for part in (
        "Кто: Поставщик",
        "Имя: Анна Смирнова",
        "Организация: Берёзка",
        "Телефон: —",
        "Сделка: Поставка фасадов",
        "Дата: 20.11.2026",
    ):
        assert part in summary, part
    sent = await team.tap(m.user, card.data("Сохранить"), card.as_message())
    texts = replies(sent)
    assert any(LINK_RE.search(text) for text in texts)
    assert any(isinstance(r, SendPhoto) for r in sent)
    assert await scalar(db, "SELECT count(*) FROM contacts") == 1
    async with db.read() as conn:
        deals = await (
            await conn.execute("SELECT contact_id, description FROM deals ORDER BY id")
        ).fetchall()
    assert [tuple(d) for d in deals] == [
        (contact_id, "Кухонный гарнитур"),
        (contact_id, "Поставка фасадов"),
    ]
    assert await scalar(db, "SELECT count(*) FROM surveys WHERE contact_id = ?", contact_id) == 2
    card = (await m.say("/find Смирнова"))[0]
    assert "<b>Сделки</b> (2):" in card and "• 20.11.2026 — Поставка фасадов" in card


async def test_english(team: Harness, db: Database) -> None:
    await add_manager(team, db, 444, "John Smith", lang="en")
    await add_contact(team, db, "Anna Smith", manager=444, phone="+447911123456")
    await add_contact(team, db, "Anna Brown", manager=444)
    m = Staff(team, 444, lang="en")
    assert "Contact search: after /find" in (await m.say("/find"))[0]
    listing = (await m.say("/find ANNA"))[0]
    assert listing.startswith("Found: 2. Choose a contact:")
    sent = await m.press("Anna Smith")
    card = last_send(sent).text
    assert "Who: Client" in card and "Phone: +44 7911 123456" in card
    assert "Manager: John Smith" in card and "<b>Deals</b> (1):" in card
    assert [b[0] for b in buttons(m.last)] == ["➕ New deal", "💬 Add comment", "🎂 Set birthday"]
    sent = await m.press("Add comment")
    assert replies(sent)[0].startswith("A comment about “Anna Smith”")
    assert (await m.say("Call in March"))[0].startswith("Comment saved.")
    assert "No contact has the phone" in (await m.say("/find +44 7911 000000"))[0]
    assert "Nothing found for “Zed”" in (await m.say("/find Zed"))[0]
    alien = await m.tap(FindOpen(contact_id=999).pack())
    assert alerts(alien) == [CATALOGS["en"]["button.forged"]]


async def test_a_new_search_drops_a_half_typed_comment_but_not_a_sale(
    team: Harness, db: Database
) -> None:
    await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    await m.press("Добавить комментарий")
    assert "Анна Смирнова" in (await m.say("/find Смирнова"))[0]
    assert "Я не понял" in (await m.say("это не комментарий"))[0]
    assert await scalar(db, "SELECT count(*) FROM comments") == 0
    # in the middle of /sale a lookup leaves the sale where it was
    await m.say("/sale")
    await m.press("Клиент")
    assert "Анна Смирнова" in (await m.say("/find Смирнова"))[0]
    assert "Что продано" in (await m.say("Борис Петров"))[0]


async def test_a_replayed_comment_tap_does_not_repeat_the_question(
    team: Harness, db: Database
) -> None:
    """ "Add comment" handled again after a crash that came after its question went out: no
    second question, and the comment typed next is kept."""
    await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    assert len(replies(await m.press("Добавить комментарий"))) == 1
    async with db.transaction() as conn:  # the process died before the journal noted the end
        await conn.execute("UPDATE handled_updates SET done_at = NULL")
    tap = Update.model_validate(team.last_update, context={"bot": team.bot})
    before = len(team.session.requests)
    await team.dp.feed_update(team.bot, tap)
    assert replies(team.session.requests[before:]) == []
    card = (await m.say("Хочет кухню"))[0]
    assert card.startswith("Комментарий сохранён.")


# --- the index agrees with a plain filter ----------------------------------------------------

# Letters whose case FTS5 and Python fold alike (Cyrillic with ё, Latin), digits, punctuation the
# query language must take literally, and the space; few of each, so that queries do match.
LETTERS = "аАеЕёЁжЖнНоОсСaAbBzZ7-%_\"'«» "
MANAGERS = (MANAGER_ID, OTHER_MANAGER_ID, MANAGER_ID + 2**36)  # the last shares MANAGER_ID's token
text_value = st.one_of(st.none(), st.text(LETTERS, max_size=12))
contact = st.tuples(text_value, text_value, st.sampled_from(MANAGERS))
# after the inserts: rename (name, org), hand over, forget, bring back, delete
change = st.tuples(
    st.integers(0, 19),
    st.sampled_from(["rename", "hand_over", "forget", "unforget", "delete"]),
    text_value,
    text_value,
    st.sampled_from(MANAGERS),
)
query = st.lists(st.text(LETTERS.replace(" ", ""), min_size=1, max_size=5), min_size=1, max_size=3)


def _expected(world: dict[int, list[Any]], words: list[str], viewer: int | None) -> list[int]:
    folded = [fold(w) for w in words]
    return sorted(
        cid
        for cid, (name, org, manager, forgotten) in world.items()
        if not forgotten
        and (viewer is None or manager == viewer)
        and all(w in fold(f"{name or ''} {org or ''}") for w in folded)
    )


async def _apply(db: Database, contacts: list[Any], changes: list[Any]) -> dict[int, list[Any]]:
    world: dict[int, list[Any]] = {}
    async with db.transaction() as conn:
        for manager in MANAGERS:
            await conn.execute(
                "INSERT INTO staff (user_id, role, full_name, created_at, updated_at) "
                "VALUES (?, 'manager', 'M', 'x', 'x')",
                (manager,),
            )
        for name, org, manager in contacts:
            cur = await conn.execute(
                "INSERT INTO contacts (kind, full_name, organization, manager_id, created_at, "
                "updated_at) VALUES ('client', ?, ?, ?, 'x', 'x')",
                (name, org, manager),
            )
            world[int(cur.lastrowid or 0)] = [name, org, manager, False]
    ids = sorted(world)
    for index, what, name, org, manager in changes:
        if not ids:
            break
        cid = ids[index % len(ids)]
        if cid not in world:  # deleted by an earlier change
            continue
        async with db.transaction() as conn:
            if what == "rename":
                await conn.execute(
                    "UPDATE contacts SET full_name = ?, organization = ? WHERE id = ?",
                    (name, org, cid),
                )
                world[cid][:2] = [name, org]
            elif what == "hand_over":
                await conn.execute(
                    "UPDATE contacts SET manager_id = ? WHERE id = ?", (manager, cid)
                )
                world[cid][2] = manager
            elif what in ("forget", "unforget"):
                gone = what == "forget"
                await conn.execute(
                    "UPDATE contacts SET forgotten_at = ? WHERE id = ?",
                    ("y" if gone else None, cid),
                )
                world[cid][3] = gone
            else:
                await conn.execute("DELETE FROM contacts WHERE id = ?", (cid,))
                del world[cid]
    return world


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=st.lists(contact, max_size=20),
    changes=st.lists(change, max_size=8),
    queries=st.lists(query, min_size=1, max_size=4),
)
def test_index_finds_exactly_what_a_plain_filter_finds(
    contacts: list[Any], changes: list[Any], queries: list[list[str]]
) -> None:
    """FTS5 (trigrams, ё folded, manager token, triggers on every kind of write) against the
    Python filter `all(word in fold(name + " " + org))` over the same rows, in every scope."""

    async def check() -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "find.sqlite3"
            new_database(path)
            db = Database(path)
            await db.open()
            try:
                world = await _apply(db, contacts, changes)
                for words in queries:
                    text = " ".join(words)
                    if not searchable(text):
                        continue
                    for viewer in (None, *MANAGERS):
                        found = await search_contacts(db, viewer, text=text)
                        got = sorted(c.id for c in found.contacts)
                        assert got == _expected(world, words, viewer), (text, viewer)
                        assert found.total == len(got)
                async with db.transaction() as conn:
                    await conn.execute(
                        "INSERT INTO contacts_fts (contacts_fts) VALUES ('integrity-check')"
                    )
            finally:
                await db.close()

    original = storage.contacts.SEARCH_LIMIT
    storage.contacts.SEARCH_LIMIT = 100  # every match, not the first ten
    try:
        asyncio.run(check())
    finally:
        storage.contacts.SEARCH_LIMIT = original
