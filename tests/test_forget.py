"""/forget: a person deletes their own data, an owner erases a contact from its card; the figures
stay, the personal data are gone from every column and from the database file itself."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import InputFile, ReplyKeyboardRemove

from domain.settings import Settings
from handlers.reports import export_jobs
from storage import Database, forget
from storage.cases import add_note, client_answer, resolve_case, take_case
from storage.contacts import add_comment, search_contacts, set_birthday
from storage.followup import send_greeting
from storage.forget import Outcome, erase_contact
from storage.referral import Promoter, code_for_contact, record_lead
from storage.sale import mark_unreachable
from storage.tasks import close_task, snooze_task
from tests.conftest import OWNER_ID
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.harness import Harness, as_message, button_data, buttons, replies
from tests.helpers.e2e import bot_env, has
from tests.helpers.e2e import record_sale as e2e_sale
from tests.helpers.survey import CLIENT_ID, MANAGER_ID, Respondent, setup_sale
from views.callbacks import ForgetContact, ForgetMe
from views.texts import CATALOGS

NAME = "Анна Смирнова"
PHONE = "+79161234567"
REASON = "Мастер опоздал на три часа и нагрубил"
COMMENT = "Любит звонки после обеда, дача в Рузе"
CALL_NOTE = "Просила перезвонить жене Ольге"
CASE_NOTE = "Договорились о встрече на Тверской"
RESOLUTION = "Заменили фасад, извинились лично"
# Everything above, and the other ways the phone and the organisation are written.
NEEDLES = (NAME, "Смирнова", "Берёзка", PHONE, "916 123-45-67", REASON, COMMENT, CALL_NOTE)
NEEDLES += (CASE_NOTE, RESOLUTION, "Кухонный гарнитур")
ERASED_COLUMNS = (
    "full_name, organization, phone, birth_day, birth_month, birth_year, tg_user_id, language, "
    "referral_code, contact_consent, care_status"
)
KEPT_SURVEY_SQL = (
    "SELECT kind, manager_id, status, score, consent, created_at, opened_at, scored_at, "
    "answered_at, answer_seconds FROM surveys WHERE contact_id = ?"
)
STRANGER_ID = 9999
RU = CATALOGS["ru"]
EN = CATALOGS["en"]


# --- helpers ---------------------------------------------------------------------------------


async def rows(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        return [tuple(r) for r in await (await conn.execute(sql, params)).fetchall()]


async def one(db: Database, sql: str, *params: Any) -> Any:
    found = await rows(db, sql, *params)
    return found[0][0] if found else None


async def leftovers(db: Database) -> list[str]:
    """Every table.column, in every row of every table, that still holds one of the NEEDLES
    (the /find index is read through its shadow tables: it cannot be scanned itself)."""
    found = []
    tables = await rows(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'",
    )
    for (table,) in tables:
        # table_xinfo lists generated columns too (hidden 2 or 3), which SELECT * returns;
        # hidden 1 is a virtual table's hidden column, which SELECT * leaves out.
        info = await rows(db, f"PRAGMA table_xinfo({table})")
        columns = [c[1] for c in info if c[6] != 1]
        for row in await rows(db, f"SELECT * FROM {table}"):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and any(n in value for n in NEEDLES):
                    found.append(f"{table}.{column}")
    return found


def file_bytes(settings: Settings) -> bytes:
    """The database file and its WAL as they are on disk."""
    path = settings.database_path
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def sends(requests: list[TelegramMethod[Any]], chat_id: int) -> list[SendMessage]:
    return [r for r in requests if isinstance(r, SendMessage) and r.chat_id == chat_id]


def alert(requests: list[TelegramMethod[Any]]) -> str | None:
    answers = [r for r in requests if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 1, requests
    return answers[0].text if answers[0].show_alert else None


async def contact_id(db: Database) -> int:
    return int(await one(db, "SELECT id FROM contacts WHERE full_name = ?", NAME))


async def detractor(h: Harness, db: Database) -> tuple[Respondent, str]:
    """Анна gives 3 with a reason, agrees to contact; both alerts are delivered."""
    payload = await setup_sale(h, db)
    anna = Respondent(h)
    await anna.open(payload)
    await anna.tap("3")
    await anna.send(REASON)
    await anna.tap("Да")  # the phone is known from the sale: the survey ends here
    await h.drain()
    return anna, payload


async def everything_about_anna(h: Harness, db: Database, *, resolve: bool = True) -> int:
    """What staff add about a person over time: a comment, a birthday, a call with a note, a
    case with a note and a resolution she confirmed, a referral code and a lead she brought."""
    now = h.clock()
    cid = await contact_id(db)
    assert await add_comment(db, cid, None, MANAGER_ID, COMMENT, now)
    assert await set_birthday(db, cid, None, (24, 11, 1985), now)
    digest = [m for m in sends(await h.tick(), MANAGER_ID) if "План на" in m.text]
    assert digest and NAME in str(digest[0].reply_markup)  # the morning plan names her
    call = await one(db, "SELECT id FROM tasks WHERE contact_id = ? AND kind = 'call'", cid)
    assert await close_task(db, call, MANAGER_ID, "done", "likes", now, note=CALL_NOTE)
    await h.dp["followup"].plan([cid])
    case_id = await one(db, "SELECT id FROM cases WHERE contact_id = ?", cid)
    await take_case(db, case_id, MANAGER_ID, False, now)
    await add_note(db, case_id, None, MANAGER_ID, CASE_NOTE, now)
    if resolve:
        await _resolve_and_confirm(h, db, case_id)
    await messages_about_anna(h, db, cid)
    code = await code_for_contact(db, cid)
    promoter = Promoter(cid, NAME, MANAGER_ID)
    assert await record_lead(db, promoter, 7001, "Борис Лидов", None, "ru", now, {"text": "лид"})
    await h.drain()
    assert code
    return cid


async def messages_about_anna(h: Harness, db: Database, cid: int) -> None:
    """A birthday greeting to her, a timed reminder and an "unreachable" notice to her manager:
    each names her, and each is kept in the outbox once sent."""
    now = h.clock()
    greeting = await send_greeting(db, cid, now, 0, lambda name, _: {"text": f"{name}, ура!"})
    assert greeting is None  # queued
    task = await one(db, "SELECT id FROM tasks WHERE contact_id = ? AND status = 'pending'", cid)
    assert await snooze_task(db, task, MANAGER_ID, now.date(), now, now.date() + timedelta(days=7))
    await mark_unreachable(db, cid, now)
    sent = await h.tick()
    texts = [m.text for m in sends(sent, MANAGER_ID) + sends(sent, CLIENT_ID)]
    assert [t for t in texts if NAME in t or "Анна, ура!" in t] == texts and len(texts) == 3


async def _resolve_and_confirm(h: Harness, db: Database, case_id: int) -> None:
    now = h.clock()
    resolved = await resolve_case(
        db,
        case_id,
        None,
        MANAGER_ID,
        RESOLUTION,
        now,
        min_days=0,
        question=lambda _case, _lang: {"text": "Решён ли ваш вопрос?"},
    )
    assert resolved.asked
    await h.drain()
    assert await client_answer(db, case_id, CLIENT_ID, True, now, [OWNER_ID], lambda *_: {})


async def owner_erases(h: Harness, cid: int) -> list[TelegramMethod[Any]]:
    owner = h.user(OWNER_ID, "Ольга")
    sent = await h.send(owner, "/find Смирнова")
    card = sends(sent, OWNER_ID)[-1]
    sent = await h.tap(owner, button_data(card, "Удалить личные данные"), as_message(card))
    ask = next(r for r in sent if isinstance(r, EditMessageText))
    return await h.tap(owner, button_data(ask, "Да, удалить"), as_message(ask))  # type: ignore[arg-type]


# --- the person's own /forget ----------------------------------------------------------------


async def test_respondent_confirms_and_every_trace_is_gone(
    harness: Harness, db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    anna, payload = await detractor(harness, db)
    cid = await everything_about_anna(harness, db)
    assert await leftovers(db)  # the needles are really there before
    survey_before = await rows(db, KEPT_SURVEY_SQL, cid)
    pending = "SELECT count(*) FROM tasks WHERE contact_id = ? AND status = 'pending'"
    assert await one(db, pending, cid) > 0  # a birthday, an offer...

    texts = await anna.send("/forget")
    assert texts[0].startswith("<b>Удалить ваши данные?</b>")
    assert "Останутся только обезличенные оценки от 0 до 10" in texts[0]
    assert "не позже чем через 14 дн." in texts[0]
    assert [b[0] for b in buttons(anna.question)] == ["🗑 Да, удалить мои данные", "Нет, оставить"]
    ask = anna.question
    async with db.read() as conn:  # as a SQLite built without SECURE_DELETE would be
        await conn.execute("PRAGMA secure_delete = 0")
    with caplog.at_level(logging.INFO, logger="storage.forget"):
        sent = await harness.tap(anna.user, button_data(ask, "Да"), as_message(ask))
    assert await one(db, "PRAGMA secure_delete") == 0  # only the erasure overwrote
    assert alert(sent) is None
    assert any(isinstance(r, EditMessageReplyMarkup) and r.reply_markup is None for r in sent)
    done = sends(sent, CLIENT_ID)
    assert [m.text for m in done] == [RU["forget.done"]]
    assert isinstance(done[0].reply_markup, ReplyKeyboardRemove)
    assert [r.getMessage() for r in caplog.records] == [f"contact {cid} forgotten by respondent"]

    assert await leftovers(db) == []
    assert await rows(db, f"SELECT {ERASED_COLUMNS} FROM contacts WHERE id = ?", cid) == [
        (None,) * len(ERASED_COLUMNS.split(","))
    ]
    assert await rows(
        db, "SELECT forgotten_at IS NOT NULL, kind, manager_id FROM contacts WHERE id = ?", cid
    ) == [(1, "client", MANAGER_ID)]
    assert await rows(
        db,
        "SELECT reason, phone, respondent_tg_id, language FROM surveys WHERE contact_id = ?",
        cid,
    ) == [(None, None, None, None)]
    assert await rows(db, KEPT_SURVEY_SQL, cid) == survey_before
    assert await one(db, "SELECT count(*) FROM comments WHERE contact_id = ?", cid) == 0
    assert await rows(db, "SELECT description FROM deals WHERE contact_id = ?", cid) == [("",)]
    assert await rows(db, "SELECT resolution, status FROM cases WHERE contact_id = ?", cid) == [
        (None, "resolved")
    ]
    events = await rows(db, "SELECT action, actor_id, note FROM case_events ORDER BY id")
    assert events == [
        ("opened", None, None),
        ("taken", MANAGER_ID, None),
        ("note", MANAGER_ID, "—"),
        ("resolved", MANAGER_ID, "—"),
        ("confirmed", None, None),  # was Анна's Telegram id
    ]
    assert await one(db, pending, cid) == 0
    assert await one(db, "SELECT count(*) FROM tasks WHERE note IS NOT NULL") == 0
    assert await one(db, "SELECT count(*) FROM contact_log WHERE note IS NOT NULL") == 0
    assert await one(db, "SELECT count(*) FROM fsm_states") == 0
    # the lead she brought is another person, and stays; she is just no longer named
    assert await rows(db, "SELECT full_name, referred_by FROM contacts WHERE id != ?", cid) == [
        ("Борис Лидов", cid)
    ]
    # not only unreachable by queries: overwritten in the file itself
    raw = file_bytes(settings)
    assert [n for n in NEEDLES if n.encode() in raw] == []

    # the old survey link no longer leads anywhere, and does not tie her to the record again
    assert await anna.open(payload) == [RU["link.invalid"]]
    assert await one(db, "SELECT tg_user_id FROM contacts WHERE id = ?", cid) is None
    assert await one(db, "SELECT count(*) FROM surveys WHERE respondent_tg_id IS NOT NULL") == 0


async def test_respondent_cancels_and_nothing_changes(harness: Harness, db: Database) -> None:
    anna, _ = await detractor(harness, db)
    await anna.send("/forget")
    ask = anna.question
    sent = await harness.tap(anna.user, button_data(ask, "Нет"), as_message(ask))
    assert replies(sent) == [RU["forget.cancelled"]]
    assert await rows(db, "SELECT full_name, phone, tg_user_id, forgotten_at FROM contacts") == [
        (NAME, PHONE, CLIENT_ID, None)
    ]
    assert await one(db, "SELECT reason FROM surveys") == REASON


async def test_double_tap_and_repeat_erase_once_and_say_so(
    harness: Harness, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    anna, _ = await detractor(harness, db)
    await anna.send("/forget")
    ask = anna.question
    data = button_data(ask, "Да")
    before = len(harness.session.requests)
    with caplog.at_level(logging.INFO, logger="storage.forget"):
        await asyncio.gather(
            harness.tap(anna.user, data, as_message(ask)),
            harness.tap(anna.user, data, as_message(ask)),
        )
    new = harness.session.requests[before:]
    answers = sorted(r.text or "" for r in new if isinstance(r, AnswerCallbackQuery))
    assert answers == ["", RU["forget.nothing_left"]]
    assert len([t for t in harness.texts(CLIENT_ID) if t == RU["forget.done"]]) == 1
    assert len(caplog.records) == 1
    # a repeat of the command: nothing is held about her any more
    assert await anna.send("/forget") == [RU["forget.nothing"]]


async def test_english_respondent(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    ann = Respondent(harness, lang="en")
    await ann.open(payload)
    await ann.tap("9")
    texts = await ann.send("/forget")
    assert texts[0].startswith("<b>Delete your data?</b>")
    assert "within 14 days" in texts[0]
    sent = await harness.tap(ann.user, button_data(ann.question, "Yes"), as_message(ann.question))
    assert replies(sent) == [EN["forget.done"]]
    assert await one(db, "SELECT forgotten_at IS NOT NULL FROM contacts") == 1


async def test_stranger_and_staff(harness: Harness, db: Database) -> None:
    await setup_sale(harness, db)  # a manager and a contact exist, none of them is the stranger
    stranger = harness.user(STRANGER_ID, "Гость")
    assert replies(await harness.send(stranger, "/forget")) == [RU["forget.nothing"]]
    english = harness.user(STRANGER_ID + 1, "Guest", lang="en")
    assert replies(await harness.send(english, "/forget")) == [EN["forget.nothing"]]
    owner = harness.user(OWNER_ID, "Ольга")
    assert replies(await harness.send(owner, "/forget")) == [RU["forget.staff_owner"]]
    manager = harness.user(MANAGER_ID, "Пётр")
    assert replies(await harness.send(manager, "/forget")) == [RU["forget.staff_manager"]]
    # nobody's data moved, and help tells guests about the command
    assert await one(db, "SELECT count(*) FROM contacts WHERE forgotten_at IS NULL") == 1
    assert "/forget" in replies(await harness.send(stranger, "/help"))[0]
    # a person's "yes" pressed by staff (forged) erases nothing
    sent = await harness.tap(manager, ForgetMe(yes=True).pack())
    assert alert(sent) == RU["button.forged"]


async def test_a_half_finished_survey_cannot_resume(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("6")  # now asked "what influenced your score"
    assert await one(db, "SELECT count(*) FROM fsm_states") == 1
    await anna.send("/forget")
    await harness.tap(anna.user, button_data(anna.question, "Да"), as_message(anna.question))
    assert await one(db, "SELECT count(*) FROM fsm_states") == 0
    texts = await anna.send("Всё было плохо")
    assert texts == [RU["start.guest"].format(company="Ромашка")]
    assert await rows(db, "SELECT reason, reason_at FROM surveys") == [(None, None)]
    assert await one(db, "SELECT count(*) FROM comments") == 0
    assert await anna.open(payload) == [RU["link.invalid"]]


async def test_no_message_reaches_the_person_afterwards(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("8")
    harness.clock.advance(hours=25)
    await harness.dp["followup"].tick()  # the gentle nudge is queued, not yet sent
    assert await rows(db, "SELECT purpose, status FROM outbox WHERE chat_id = ?", CLIENT_ID) == [
        ("nudge", "pending")
    ]
    await anna.send("/forget")
    await harness.tap(anna.user, button_data(anna.question, "Да"), as_message(anna.question))
    before = len(harness.sent(CLIENT_ID))
    assert sends(await harness.drain(), CLIENT_ID) == []
    assert await rows(
        db, "SELECT purpose, status, payload FROM outbox WHERE chat_id = ?", CLIENT_ID
    ) == [("nudge", "dropped", "{}")]
    # a birthday, a month of ticks: the bot never writes to her again
    async with db.transaction() as conn:
        await conn.execute("UPDATE contacts SET birth_day = 1, birth_month = 12")  # cannot happen
    for _ in range(30):
        harness.clock.advance(days=1)
        await harness.tick()
    assert len(harness.sent(CLIENT_ID)) == before


# --- an owner, from the contact card ---------------------------------------------------------


async def test_owner_erases_from_the_card(
    harness: Harness, db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await detractor(harness, db)
    cid = await everything_about_anna(harness, db)
    alerts_before = [m for m in harness.sent(MANAGER_ID) if "Случай №1" in m.text]
    assert alerts_before and NAME in alerts_before[0].text

    # a manager's card has no such button
    manager = harness.user(MANAGER_ID, "Пётр")
    card = sends(await harness.send(manager, "/find Смирнова"), MANAGER_ID)[-1]
    assert not [b for b in buttons(card) if "Удалить" in b[0]]

    owner = harness.user(OWNER_ID, "Ольга")
    card = sends(await harness.send(owner, "/find Смирнова"), OWNER_ID)[-1]
    assert buttons(card)[-1] == ("🗑 Удалить личные данные", f"fo:{cid}:ask")
    sent = await harness.tap(owner, f"fo:{cid}:ask", as_message(card))
    ask = next(r for r in sent if isinstance(r, EditMessageText))
    assert ask.text.startswith("<b>Удалить личные данные контакта?</b>\n\n👤 Анна Смирнова")
    assert [b[0] for b in buttons(ask)] == ["🗑 Да, удалить", "← Отмена"]
    # "cancel" brings the card back, with the button
    sent = await harness.tap(owner, f"fo:{cid}:no", as_message(card))
    back = next(r for r in sent if isinstance(r, EditMessageText))
    assert back.text.startswith("👤 <b>Анна Смирнова</b>") and buttons(back) == buttons(card)
    assert await one(db, "SELECT forgotten_at FROM contacts WHERE id = ?", cid) is None

    with caplog.at_level(logging.INFO, logger="storage.forget"):
        sent = await harness.tap(owner, f"fo:{cid}:yes", as_message(card))
        again = await harness.tap(owner, f"fo:{cid}:yes", as_message(card))
    done = next(r for r in sent if isinstance(r, EditMessageText) and r.chat_id == OWNER_ID)
    assert done.text == RU["forget.owner_done"].format(contact_id=cid)
    assert done.reply_markup is None
    assert alert(again) == RU["forget.owner_already"]
    assert [r.getMessage() for r in caplog.records] == [
        f"contact {cid} forgotten by owner {OWNER_ID}"
    ]
    # the alerts staff already received are edited: no name, no words, no phone any more
    edited = [r for r in sent if isinstance(r, EditMessageText) and r.chat_id != OWNER_ID]
    edited += [r for r in sent if isinstance(r, EditMessageText) and "Случай №1" in r.text]
    assert {r.chat_id for r in edited} == {MANAGER_ID, OWNER_ID}
    for edit in edited:
        assert "Случай №1" in edit.text and "—" in edit.text
        assert not [n for n in NEEDLES if n in edit.text]
    assert await leftovers(db) == []
    assert [n for n in NEEDLES if n.encode() in file_bytes(settings)] == []
    # the old card's buttons now find nothing
    assert (
        alert(await harness.tap(owner, f"fo:{cid}:ask", as_message(card)))
        == (RU["forget.owner_already"])
    )
    assert alert(await harness.tap(owner, f"fc:{cid}", as_message(card))) == RU["button.forged"]


async def test_forged_erase_from_a_manager_or_a_stranger_is_refused(
    harness: Harness, db: Database
) -> None:
    await detractor(harness, db)
    cid = await contact_id(db)
    for user_id in (MANAGER_ID, STRANGER_ID, CLIENT_ID):
        user = harness.user(user_id, "Кто-то")
        for action in ("ask", "yes", "no"):
            sent = await harness.tap(user, ForgetContact(contact_id=cid, action=action).pack())
            assert alert(sent) == RU["button.forged"], (user_id, action)
            assert not [r for r in sent if isinstance(r, EditMessageText)]
    owner = harness.user(OWNER_ID, "Ольга")
    for data in (f"fo:{cid}:burn", "fo:424242:yes"):
        assert alert(await harness.tap(owner, data)) == RU["button.forged"]
    assert await rows(db, "SELECT full_name, forgotten_at FROM contacts") == [(NAME, None)]


async def test_a_manager_typing_about_the_contact_writes_nothing_back(
    harness: Harness, db: Database
) -> None:
    await detractor(harness, db)
    cid = await contact_id(db)
    manager = harness.user(MANAGER_ID, "Пётр")
    card = sends(await harness.send(manager, "/find Смирнова"), MANAGER_ID)[-1]
    await harness.tap(manager, button_data(card, "Добавить комментарий"), as_message(card))
    await owner_erases(harness, cid)
    assert replies(await harness.send(manager, COMMENT)) == [RU["unknown_message"]]
    assert await one(db, "SELECT count(*) FROM comments") == 0


# --- the figures and the owner's views after an erasure ---------------------------------------


async def export_files(h: Harness, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    original = h.session.make_request

    async def make_request(
        bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, SendDocument) and isinstance(method.document, InputFile):
            data = b"".join([chunk async for chunk in method.document.read(bot)])
            files[method.document.filename or ""] = data
        return await original(bot, method, timeout)

    monkeypatch.setattr(h.session, "make_request", make_request)
    owner = h.user(OWNER_ID, "Ольга")
    ask = sends(await h.send(owner, "/export"), OWNER_ID)[-1]
    await h.tap(owner, button_data(ask, "30 дней"), as_message(ask, now=h.clock()))
    await export_jobs(h.dp).wait_idle()  # the files are made in the background
    monkeypatch.setattr(h.session, "make_request", original)
    return files


def csv_rows(files: dict[str, bytes], prefix: str) -> list[list[str]]:
    (name,) = [n for n in files if n.startswith(prefix) and n.endswith(".csv")]
    text = files[name].decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


# A name of letters no other name here has: each trigram of it is stored in the index's pages as
# a term, prefix-compressed against the term before it, so its 2nd and 3rd letters (whose bytes
# are never shared with a neighbour that starts with another letter) are what can be looked for.
RARE_NAME = "Ъюэщ Фыжц"
RARE_NEEDLES = [t[1:].encode() for t in ("ъюэ", "юэщ", "фыж", "ыжц")]


async def _index_with_a_rare_name(db: Database, settings: Settings) -> int:
    """The rare name among 600 others, written in several transactions (several segments)."""
    for batch in range(3):
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO contacts (kind, full_name, organization, created_at, updated_at) "
                "VALUES ('client', ?, ?, '2026-11-19 10:00:00', '2026-11-19 10:00:00')",
                [(f"Анна Смирнова {batch}-{n}", "ООО «Берёзка»") for n in range(200)],
            )
            if batch == 1:
                cur = await conn.execute(
                    "INSERT INTO contacts (kind, full_name, created_at, updated_at) "
                    "VALUES ('client', ?, '2026-11-19 10:00:00', '2026-11-19 10:00:00')",
                    (RARE_NAME,),
                )
                rare = int(cur.lastrowid or 0)
    raw = file_bytes(settings)
    assert [n for n in RARE_NEEDLES if n in raw] == RARE_NEEDLES  # the check can see them
    return rare


async def test_forgotten_name_leaves_no_trigram_in_the_file(
    db: Database, settings: Settings, clock: Any
) -> None:
    rare = await _index_with_a_rare_name(db, settings)
    outcome, _ = await erase_contact(db, rare, clock(), by="owner 1")
    assert outcome is Outcome.ERASED
    assert [n for n in RARE_NEEDLES if n in file_bytes(settings)] == []
    # the index is whole and still finds everybody else
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO contacts_fts (contacts_fts) VALUES ('integrity-check')")
    found = await search_contacts(db, None, text="смирнова 1-19")
    assert found.total == 11 and found.contacts[0].full_name == "Анна Смирнова 1-19"
    assert (await search_contacts(db, None, text="фыжц")).total == 0


async def test_without_the_merge_the_forgotten_name_stays_in_the_index(
    db: Database, settings: Settings, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the merge is there: a contentless delete only adds tombstones, and the test above
    would see the trigrams left in the older segment."""

    async def no_merge(db: Database) -> int:
        return 0

    monkeypatch.setattr(forget, "_purge_search_index", no_merge)
    rare = await _index_with_a_rare_name(db, settings)
    await erase_contact(db, rare, clock(), by="owner 1")
    assert (await search_contacts(db, None, text="фыжц")).total == 0
    assert [n for n in RARE_NEEDLES if n in file_bytes(settings)] != []


async def test_figures_unchanged_and_views_show_no_personal_data(
    harness: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await detractor(harness, db)
    other = Respondent(harness, user_id=5002)
    await other.open(await setup_sale(harness, db, phone="+79160000002", name="Вера Ок"))
    await other.tap("10")
    await other.tap("Пропустить")
    await other.tap("Нет")
    cid = await everything_about_anna(harness, db, resolve=False)  # her case is still open
    owner = harness.user(OWNER_ID, "Ольга")

    async def view(command: str) -> str:
        return "\n".join(replies(await harness.send(owner, command)))

    nps, managers = await view("/nps"), await view("/managers")
    assert NAME in await view("/cases") and NAME in await view("/referrals")
    assert REASON in await view("/comments")

    await owner_erases(harness, cid)

    assert await view("/nps") == nps  # the same NPS, answers, rates and cases
    assert await view("/managers") == managers
    cases = await view("/cases")
    assert "—" in cases and NAME not in cases
    case_id = await one(db, "SELECT id FROM cases WHERE contact_id = ?", cid)
    card = replies(await harness.tap(owner, f"ko:{case_id}:0"))
    assert card and f"№{case_id}" in card[0]
    assert not [n for n in NEEDLES if n in card[0]]
    referrals = await view("/referrals")
    assert "—" in referrals and NAME not in referrals and "1" in referrals
    comments = await view("/comments")
    assert REASON not in comments and NAME not in comments
    assert RU["find.nothing_phone"].split("{")[0] in await view(f"/find {PHONE}")
    assert NAME not in await view("/find Смирнова")

    files = await export_files(harness, monkeypatch)
    answers = csv_rows(files, "answers")
    contacts = csv_rows(files, "contacts")
    assert len(answers) == 3  # header, her answer and Вера's
    erased = [r for r in answers if r[1] == "данные удалены"]
    assert len(erased) == 1 and erased[0][7] == "3" and erased[0][9] == "" and erased[0][11] == ""
    assert [r[0] for r in contacts[1:]] == ["Вера Ок", "Борис Лидов"]
    # (Вера bought the same kitchen from the same organisation: those words are hers too)
    own = [n for n in NEEDLES if n not in ("Берёзка", "Кухонный гарнитур")]
    for name in (n for n in files if n.endswith(".csv")):
        assert not [n for n in own if n in files[name].decode("utf-8-sig")], name

    # the next mornings' plans never name her; her tasks were cancelled, not left to pile up
    for _ in range(3):
        harness.clock.advance(days=1)
        for message in sends(await harness.tick(), MANAGER_ID):
            assert NAME not in message.text
            assert not [b for b in buttons(message) if NAME in b[0]]
    assert (
        await one(db, "SELECT count(*) FROM tasks WHERE contact_id = ? AND status = 'pending'", cid)
        == 0
    )


async def test_answers_on_a_record_not_linked_to_the_person(harness: Harness, db: Database) -> None:
    """A linked person opens a colleague's link: /forget erases what they said there, and the
    colleague's record itself stays (erasing it would delete somebody else's data)."""
    first = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(first)
    await anna.tap("9")
    other = await setup_sale(harness, db, phone=None, name="Коллега Анны")
    await anna.open(other)  # already linked to her own record: this one stays unlinked
    await anna.tap("4")
    await anna.send(REASON)
    await anna.tap("Да")
    shared = await harness.send_contact(anna.user, "+79165550000", owner_id=CLIENT_ID)
    assert replies(shared)  # thanked
    colleague = await one(db, "SELECT id FROM contacts WHERE full_name = 'Коллега Анны'")
    assert await rows(db, "SELECT phone, tg_user_id FROM contacts WHERE id = ?", colleague) == [
        ("+79165550000", None)
    ]
    await anna.send("/forget")
    await harness.tap(anna.user, button_data(anna.question, "Да"), as_message(anna.question))
    assert await rows(
        db, "SELECT full_name, phone, forgotten_at FROM contacts WHERE id = ?", colleague
    ) == [("Коллега Анны", None, None)]
    assert await rows(
        db,
        "SELECT score, reason, phone, respondent_tg_id FROM surveys WHERE contact_id = ?",
        colleague,
    ) == [(4, None, None, None)]
    assert await one(db, "SELECT count(*) FROM comments") == 0
    assert await one(db, "SELECT count(*) FROM contacts WHERE forgotten_at IS NOT NULL") == 1
    assert await anna.open(other) == [RU["link.invalid"]]
    assert await anna.send("/forget") == [RU["forget.nothing"]]


# --- end to end: the real process against the fake Bot API -----------------------------------


@pytest.mark.e2e
async def test_end_to_end_forget_on_the_real_process(
    api: FakeBotAPI,
    launcher: Launcher,
    tmp_path: Path,
) -> None:
    process = launcher.bot(tmp_path, bot_env(api, tmp_path))
    await process.start()
    try:
        await api.wait_polling(timeout=60)
        owner = api.user(OWNER_ID, "Ольга")
        await owner.send("/invite")
        invite = await owner.wait_message(has("t.me/"))
        payload = re.search(r"start=(i_[A-Za-z0-9_-]+)", invite.text or "")
        assert payload
        manager = api.user(MANAGER_ID, "Пётр")
        await manager.send(f"/start {payload.group(1)}")
        await manager.wait_message(has("зарегистрированы"))
        link, _ = await e2e_sale(manager, NAME, "8 916 123-45-67", "Кухня")

        anna = api.user(CLIENT_ID, "Анна")
        await anna.send(f"/start {link}")
        q1 = await anna.wait_message(has("порекомендуете"))
        await anna.tap(q1, q1.button("2"))
        await anna.wait_message(has("Что вас разочаровало?"))
        await anna.send(REASON)
        q3 = await anna.wait_message(has("Можно ли связаться"))
        await anna.tap(q3, q3.button("Да"))
        await anna.wait_message(has("Спасибо, что рассказали"))
        alert = await manager.wait_message(has("Недовольный отзыв"))
        await api.wait_until(lambda: REASON in (alert.text or ""), timeout=30, description="reason")

        await anna.send("/forget")
        ask = await anna.wait_message(has("Удалить ваши данные?"))
        await anna.tap(ask, ask.button("Да, удалить"))
        done = await anna.wait_message(has("Готово"))
        assert (done.reply_markup or {}).get("remove_keyboard") is True
        await api.wait_until(
            lambda: NAME not in (alert.text or "") and REASON not in (alert.text or ""),
            timeout=30,
            description="the manager's alert without her name and words",
        )
        await anna.send(f"/start {link}")
        assert (await anna.wait_message()).text == RU["link.invalid"]
        await owner.send("/find Смирнова")
        await owner.wait_message(has("По запросу «Смирнова» ничего не нашлось"))
    finally:
        assert await process.stop() == 0
    log = process.log()
    assert "contact 1 forgotten by respondent" in log
    assert "Traceback" not in log and PHONE not in log and NAME not in log
    database = sqlite3.connect(tmp_path / "data" / "bot.sqlite3")
    try:
        row = database.execute("SELECT full_name, phone, forgotten_at FROM contacts").fetchone()
        score = database.execute("SELECT score, reason FROM surveys").fetchone()
    finally:
        database.close()
    assert row[:2] == (None, None) and row[2] is not None
    assert score == (2, None)
