"""Closing the loop on detractor cases, through the production dispatcher: /cases, the case card
and its buttons, the person's "was it resolved?" answer, and the case figures for /nps."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import Update

from storage import Database
from storage.stats import case_stats
from storage.timefmt import ts
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, buttons
from tests.helpers.cases import (
    act,
    add_manager,
    detractor,
    events,
    question_to,
    sends,
    take_and_resolve,
)
from tests.helpers.survey import CLIENT_ID, MANAGER_ID, Respondent, setup_sale
from views.callbacks import CaseAct, CaseConfirm, CaseList, CaseOpen

OTHER_MANAGER = 333
STRANGER = 999


# --- helpers ---------------------------------------------------------------------------------


def answer(sent: list[TelegramMethod[Any]]) -> str | None:
    return next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text


def edit(sent: list[TelegramMethod[Any]], chat_id: int | None = None) -> EditMessageText:
    """The last edit (a tapped message is edited after the alerts are refreshed)."""
    return [
        r
        for r in sent
        if isinstance(r, EditMessageText) and (chat_id is None or r.chat_id == chat_id)
    ][-1]


def labels(request: TelegramMethod[Any]) -> list[str]:
    return [text for text, _ in buttons(request)]


async def case_row(db: Database, case_id: int = 1) -> dict[str, Any]:
    async with db.read() as conn:
        row = await (await conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,))).fetchone()
    return dict(row)


# --- the list --------------------------------------------------------------------------------


async def test_owner_sees_all_manager_only_theirs_stranger_refused(
    harness: Harness, db: Database
) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await add_manager(db, OTHER_MANAGER, "Мария Козлова", harness.clock())
    await detractor(harness, db, name="Анна Смирнова", tg_id=5001)
    harness.clock.advance(hours=3)
    await detractor(harness, db, manager_id=OTHER_MANAGER, name="Борис Петров", tg_id=5002, score=0)
    harness.clock.advance(hours=26)

    owner = harness.user(OWNER_ID, "Ольга")
    listing = sends(await harness.send(owner, "/cases"), OWNER_ID)[0]
    assert listing.text.splitlines() == [
        "📂 <b>Открытые случаи: 2</b>",
        "Сначала самые давние.",
        "",
        "№1 · Анна Смирнова · оценка 3 · 1 день 5 часов · никто",
        "№2 · Борис Петров · оценка 0 · 1 день 2 часа · никто",
    ]
    assert buttons(listing) == [("№1 · Анна Смирнова", "ko:1:0"), ("№2 · Борис Петров", "ko:2:0")]

    peter = harness.user(MANAGER_ID, "Пётр")
    mine = sends(await harness.send(peter, "/cases"), MANAGER_ID)[0]
    assert "№1 · Анна Смирнова" in mine.text and "Борис" not in mine.text
    assert "случаи ваших клиентов" in mine.text
    assert labels(mine) == ["№1 · Анна Смирнова"]
    # somebody else's case by a forged button: the neutral refusal
    assert answer(await harness.tap(peter, "ko:2:0")) == "Эта кнопка больше не действует."
    assert answer(await act(harness, MANAGER_ID, 2, "take")) == "Эта кнопка больше не действует."
    assert (await case_row(db, 2))["status"] == "open"

    # the owner takes Anna's case: it stays on the list with its owner, oldest first
    await act(harness, OWNER_ID, 1, "take")
    listing = sends(await harness.send(owner, "/cases"), OWNER_ID)[-1]
    assert "№1 · Анна Смирнова · оценка 3 · 1 день 5 часов · Ольга" in listing.text

    # a case a manager owns is on their list even if the deal is not theirs
    async with db.transaction() as conn:
        await conn.execute("UPDATE cases SET owner_id = ? WHERE id = 1", (OTHER_MANAGER,))
    maria = harness.user(OTHER_MANAGER, "Мария")
    theirs = sends(await harness.send(maria, "/cases"), OTHER_MANAGER)[0]
    assert labels(theirs) == ["№1 · Анна Смирнова", "№2 · Борис Петров"]

    stranger = harness.user(STRANGER, "Гость")
    refusal = sends(await harness.send(stranger, "/cases"), STRANGER)[0]
    assert refusal.text == (
        "Команда /cases вам недоступна: она только для сотрудников компании. /help — что вы можете."
    )
    assert answer(await harness.tap(stranger, "ko:1:0")) == "Эта кнопка больше не действует."
    assert answer(await act(harness, STRANGER, 1, "reopen")) == "Эта кнопка больше не действует."


async def test_no_open_cases(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    await take_and_resolve(harness, MANAGER_ID)
    listing = sends(await harness.send(harness.user(OWNER_ID, "Ольга"), "/cases"), OWNER_ID)[0]
    assert listing.text == "Открытых случаев нет. 🎉" and listing.reply_markup is None
    en = harness.user(MANAGER_ID, "Peter", lang="en")
    listing = sends(await harness.send(en, "/cases"), MANAGER_ID)[-1]
    assert listing.text.startswith("No open cases.")


async def test_paging_ten_to_a_page(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    for n in range(12):
        await detractor(harness, db, name=f"Клиент {n + 1:02d}", tg_id=6000 + n)
        harness.clock.advance(minutes=30)
    owner = harness.user(OWNER_ID, "Ольга")
    first = sends(await harness.send(owner, "/cases"), OWNER_ID)[0]
    assert "Открытые случаи: 12" in first.text and "Стр. 1 из 2" in first.text
    assert labels(first) == [f"№{n} · Клиент {n:02d}" for n in range(1, 11)] + ["▶"]
    assert "№1 · Клиент 01 · оценка 3 · 6 часов · никто" in first.text  # 12 × 30 min later

    second = edit(await harness.tap(owner, button_data(first, "▶"), as_message(first)))
    assert "Стр. 2 из 2" in second.text
    assert labels(second) == ["№11 · Клиент 11", "№12 · Клиент 12", "◀"]
    assert button_data(second, "◀") == CaseList(page=0).pack()
    # a page past the end is clamped into range; a negative one is a forged button
    assert "Стр. 2 из 2" in edit(await harness.tap(owner, CaseList(page=7).pack())).text
    assert answer(await harness.tap(owner, "kl:-3")) == "Эта кнопка больше не действует."

    # a card opened from page 2 returns to page 2
    card = edit(await harness.tap(owner, button_data(second, "№12")))
    assert card.text.startswith("📁 <b>Случай №12</b> · никто не взял")
    assert button_data(card, "К списку") == CaseList(page=1).pack()
    back = edit(await harness.tap(owner, button_data(card, "К списку")))
    assert "Стр. 2 из 2" in back.text


# --- the card and its buttons -------------------------------------------------------------------


async def test_card_take_note_resolve_reopen(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("3")
    await anna.send("Сломали дверцу при доставке")
    await anna.tap("Да")
    delivered = await harness.drain()
    assert len(sends(delivered, MANAGER_ID)) == len(sends(delivered, OWNER_ID)) == 1

    peter = harness.user(MANAGER_ID, "Пётр")
    listing = sends(await harness.send(peter, "/cases"), MANAGER_ID)[-1]
    card = edit(await harness.tap(peter, button_data(listing, "№1"), as_message(listing)))
    for part in (
        "📁 <b>Случай №1</b> · никто не взял",
        "Открыт: 20.11.2026 10:00, 0 часов назад",
        "Оценка: 3 из 10",
        "Причина: «Сломали дверцу при доставке»",
        "Связь: связаться можно, телефон +7 916 123-45-67",
        "Кто: Анна Смирнова, ООО «Берёзка» (клиент)",
        "Сделка: Кухонный гарнитур, 19.11.2026",
        "Менеджер: Пётр Иванов",
        "<b>История:</b>\n20.11.2026 10:00 — случай открыт",
    ):
        assert part in card.text, part
    assert labels(card) == ["🙋 Беру случай", "📝 Заметка", "◀ К списку"]
    # resolving a case nobody took is not offered, and a forged button says why
    sent = await harness.tap(peter, CaseAct(case_id=1, action="resolve").pack())
    assert answer(sent) == (
        "Случай №1 сейчас не в работе: решённым можно отметить только взятый случай."
    )

    # take: the card, and every alert, show who took it
    harness.clock.advance(minutes=15)
    sent = await harness.tap(peter, button_data(card, "Беру"))
    assert answer(sent) == "Случай №1 ваш. Свяжитесь с человеком как можно скорее."
    alerts = [e for e in sent if isinstance(e, EditMessageText) and "Недовольный" in e.text]
    assert sorted(e.chat_id for e in alerts) == [OWNER_ID, MANAGER_ID]
    assert all(
        "✅ В работе, ответственный: Пётр Иванов, 20.11.2026 10:15" in e.text for e in alerts
    )
    card = [e for e in sent if isinstance(e, EditMessageText)][-1]
    assert "· в работе, ответственный: Пётр Иванов" in card.text
    assert "20.11.2026 10:15 — Пётр Иванов: случай взят в работу" in card.text
    assert labels(card) == ["📝 Заметка", "✅ Решено", "◀ К списку"]
    # a double tap takes nothing twice
    sent = await harness.tap(peter, CaseAct(case_id=1, action="take").pack())
    assert answer(sent) == "Случай уже в работе, ответственный: Пётр Иванов."

    # a note: a sticker and a too long text are refused kindly, then the note is kept
    sent = await harness.tap(peter, button_data(card, "Заметка"))
    assert "Напишите заметку к случаю №1" in sends(sent, MANAGER_ID)[0].text
    assert (
        "стикер или фото я сохранить не могу"
        in sends(await harness.send_sticker(peter), MANAGER_ID)[0].text
    )
    refusal = sends(await harness.send(peter, "x" * 5000), MANAGER_ID)[0].text
    assert "длиннее 1\u00a0000 символов (5000)" in refusal
    harness.clock.advance(hours=1)
    sent = await harness.send(peter, "Позвонил, встреча <b>завтра</b>")
    texts = [r.text for r in sends(sent, MANAGER_ID)]
    assert texts[0] == "📝 Заметка добавлена к случаю №1."
    assert (
        "20.11.2026 11:15 — Пётр Иванов: заметка «Позвонил, встреча &lt;b&gt;завтра&lt;/b&gt;»"
        in texts[1]
    )
    # the conversation is over: the next text is not a note
    sent = await harness.send(peter, "просто текст")
    assert [e[0] for e in await events(db)] == ["opened", "taken", "note"]

    # resolve: too short, too long, then a reason
    await harness.tap(peter, CaseAct(case_id=1, action="resolve").pack())
    assert "Слишком коротко" in sends(await harness.send(peter, "x"), MANAGER_ID)[0].text
    assert (
        "длиннее 500 символов (501)"
        in sends(await harness.send(peter, "y" * 501), MANAGER_ID)[0].text
    )
    harness.clock.advance(hours=2)
    sent = await harness.send(peter, "Заменили дверцу, извинились")
    done = sends(sent, MANAGER_ID)
    assert done[0].text == (
        "✅ Случай №1 решён.\nБот спросит клиента, решена ли проблема; ответ появится в истории."
    )
    assert "📁 <b>Случай №1</b> · решён (Пётр Иванов)" in done[1].text
    assert "Решение (20.11.2026 13:15): «Заменили дверцу, извинились»" in done[1].text
    assert "Ждём ответа клиента" in done[1].text
    assert labels(done[1]) == ["📝 Заметка", "↩️ Открыть заново", "◀ К списку"]
    alerts = [e for e in sent if isinstance(e, EditMessageText) and "Недовольный" in e.text]
    assert sorted(e.chat_id for e in alerts) == [OWNER_ID, MANAGER_ID]
    assert all("✅ Случай решён (Пётр Иванов)." in e.text for e in alerts)
    row = await case_row(db)
    assert (row["status"], row["owner_id"], row["resolution"], row["resolved_at"]) == (
        "resolved",
        MANAGER_ID,
        "Заменили дверцу, извинились",
        ts(harness.clock()),
    )
    question = await question_to(harness)
    assert labels(question) == ["👍 Да, решена", "👎 Нет, не решена"]
    assert (
        "Это «Ромашка». Вы рассказали нам о проблеме, и у нас она отмечена как решённая."
        in question.text
    )

    # reopen by staff: back to the same owner; a double tap does nothing
    sent = await harness.tap(peter, CaseAct(case_id=1, action="reopen").pack())
    assert answer(sent) == "Случай №1 снова в работе."
    assert "· в работе, ответственный: Пётр Иванов" in edit(sent, MANAGER_ID).text
    row = await case_row(db)
    assert (row["status"], row["owner_id"], row["reopened_count"], row["resolved_at"]) == (
        "taken",
        MANAGER_ID,
        1,
        None,
    )
    sent = await harness.tap(peter, CaseAct(case_id=1, action="reopen").pack())
    assert answer(sent) == "Случай №1 и так не закрыт."
    assert (await case_row(db))["reopened_count"] == 1
    assert [e[0] for e in await events(db)] == ["opened", "taken", "note", "resolved", "reopened"]
    # the question about the earlier resolution no longer counts
    sent = await harness.tap(anna.user, button_data(question, "Да"), as_message(question))
    assert answer(sent) == "Ответ уже записан, спасибо."
    assert (await case_row(db))["client_confirmed"] is None
    # an unknown action is a forged button
    sent = await harness.tap(harness.user(MANAGER_ID, "Пётр"), "ka:1:delete:0")
    assert answer(sent) == "Эта кнопка больше не действует."


async def test_card_history_is_cut_to_fit_one_message(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    peter = harness.user(MANAGER_ID, "Пётр")
    for n in range(12):
        await act(harness, MANAGER_ID, 1, "note")
        await harness.send(peter, f"{n:02d} " + "слово " * 160)
    card = edit(await harness.tap(peter, CaseOpen(case_id=1).pack()))
    assert len(card.text) < 4096
    assert "…и ещё" in card.text and "раньше" in card.text
    assert "заметка «11 слово" in card.text  # the latest is always shown


async def test_case_card_opens_the_full_reason(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await add_manager(db, OTHER_MANAGER, "Мария Козлова", harness.clock())
    await detractor(harness, db)  # case 1: Anna, Peter's client
    await detractor(harness, db, manager_id=OTHER_MANAGER, name="Борис Петров", tg_id=5002)
    long = (
        "Сломали дверцу & <не извинились>.\n" + "Ждали мастера неделю. " * 184
    )  # 4,083 characters
    async with db.transaction() as conn:
        await conn.execute("UPDATE surveys SET reason = ? WHERE id = 1", (long.strip(),))
    peter = harness.user(MANAGER_ID, "Пётр")
    card = edit(await harness.tap(peter, CaseOpen(case_id=1).pack()))
    assert "«Сломали дверцу &amp; &lt;не извинились&gt;. Ждали" in card.text and "…»" in card.text
    assert "📄 Весь ответ" in labels(card)
    sent = await harness.tap(peter, button_data(card, "📄 Весь ответ"))
    messages = sends(sent, MANAGER_ID)
    assert len(messages) == 2  # with its heading and escaped, longer than one message
    assert messages[0].text.startswith("📄 <b>Весь ответ</b> · Анна Смирнова · ")
    assert "оценка 3\n\nСломали дверцу &amp; &lt;не извинились&gt;.\nЖдали" in messages[0].text
    body = messages[0].text.split("\n\n", 1)[1] + " " + messages[1].text
    assert " ".join(html.unescape(body).split()) == " ".join(long.split())
    assert all(len(m.text) <= 4096 for m in messages)
    # a short reason is quoted whole: no button
    short = edit(await harness.tap(harness.user(OTHER_MANAGER, "Мария"), "ko:2:0"))
    assert "«Сломали дверцу»" in short.text and "📄 Весь ответ" not in labels(short)
    # who may not open the card may not read its reason either
    for who in (OTHER_MANAGER, STRANGER):
        sent = await harness.tap(harness.user(who, "Кто-то"), "kw:1")
        assert answer(sent) == "Эта кнопка больше не действует." and sends(sent, who) == []


async def test_call_case_and_a_note_abandoned_by_opening_another_card(
    harness: Harness, db: Database
) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    async with db.transaction() as conn:  # "not suitable" on the call after a sale
        await conn.execute(
            "INSERT INTO cases (contact_id, source, status, owner_id, opened_at, taken_at, "
            "alerted_at) VALUES (1, 'call', 'taken', ?, ?, ?, ?)",
            (MANAGER_ID, ts(harness.clock()), ts(harness.clock()), ts(harness.clock())),
        )
        await conn.execute(
            "INSERT INTO case_events (case_id, at, actor_id, action, note) "
            "VALUES (2, ?, ?, 'opened', 'not suitable (call)')",
            (ts(harness.clock()), MANAGER_ID),
        )
    peter = harness.user(MANAGER_ID, "Пётр")
    listing = sends(await harness.send(peter, "/cases"), MANAGER_ID)[0]
    assert "№2 · Анна Смирнова · звонок: не подошло · 0 часов · Пётр Иванов" in listing.text
    card = edit(await harness.tap(peter, CaseOpen(case_id=2).pack()))
    assert "Откуда: звонок после покупки — «не подошло»" in card.text
    assert "Оценка" not in card.text and "случай открыт после звонка" in card.text

    await act(harness, MANAGER_ID, 1, "note")
    await harness.tap(peter, CaseOpen(case_id=2).pack())
    sent = await harness.send(peter, "Это не заметка")
    assert sends(sent, MANAGER_ID)[0].text.startswith("Я не понял сообщение")
    assert [e[0] for e in await events(db, 1)] == ["opened"]


# --- the person's answer -------------------------------------------------------------------------


async def test_client_yes_confirms_once(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    await take_and_resolve(harness, MANAGER_ID)
    question = await question_to(harness)
    anna = harness.user(CLIENT_ID, "Анна")
    sent = await harness.tap(anna, button_data(question, "Да"), as_message(question))
    assert answer(sent) is None
    closed = edit(sent, CLIENT_ID)
    assert closed.text.endswith("<i>Ваш ответ: 👍 Да, решена</i>") and closed.reply_markup is None
    assert sends(sent, CLIENT_ID)[0].text == "Спасибо! Рады, что всё решилось."
    row = await case_row(db)
    assert (row["status"], row["client_confirmed"]) == ("resolved", 1)
    assert (await events(db))[-1] == ("confirmed", CLIENT_ID, None)
    # a second tap, Yes or No, changes nothing
    for label in ("Да", "Нет"):
        sent = await harness.tap(anna, button_data(question, label), as_message(question))
        assert answer(sent) == "Ответ уже записан, спасибо." and not sends(sent, CLIENT_ID)
    assert (await case_row(db))["client_confirmed"] == 1
    card = edit(await harness.tap(harness.user(OWNER_ID, "Ольга"), CaseOpen(case_id=1).pack()))
    assert "Ответ клиента: проблема решена ✅" in card.text
    assert "ответ клиента: проблема решена" in card.text


async def test_client_no_reopens_and_tells_the_owner(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db, language="en")
    await take_and_resolve(harness, MANAGER_ID)
    question = await question_to(harness)
    assert question.text.startswith(
        "Hello! This is Ромашка. You told us about a problem"
    )  # their language
    assert labels(question) == ["👍 Yes, resolved", "👎 No, not resolved"]
    anna = harness.user(CLIENT_ID, "Anna", lang="en")
    harness.clock.advance(days=1)
    sent = await harness.tap(anna, button_data(question, "No"), as_message(question))
    assert edit(sent, CLIENT_ID).text.endswith("<i>Your answer: 👎 No, not resolved</i>")
    assert "We are working on your issue again" in sends(sent, CLIENT_ID)[0].text
    row = await case_row(db)
    assert (row["status"], row["owner_id"], row["client_confirmed"], row["reopened_count"]) == (
        "taken",
        MANAGER_ID,
        0,
        1,
    )
    assert (await events(db))[-1] == ("reopened_by_client", CLIENT_ID, None)
    # the owner of the case is told at once, through the outbox
    notice = sends(await harness.drain(), MANAGER_ID)
    assert len(notice) == 1
    assert notice[0].text.startswith("❗ Ответ клиента: проблема <b>не решена</b>.")
    assert "Случай №1: Анна Смирнова — снова в работе у вас." in notice[0].text
    card = edit(
        await harness.tap(
            harness.user(MANAGER_ID, "Пётр"), button_data(notice[0], "Открыть случай")
        )
    )
    assert "Ответ клиента: проблема не решена ❌" in card.text
    assert "21.11.2026 10:00 — ответ клиента: проблема не решена" in card.text
    assert labels(card) == ["📝 Заметка", "✅ Решено", "◀ К списку"]
    # a second No does nothing
    sent = await harness.tap(anna, button_data(question, "No"), as_message(question))
    assert answer(sent) == "Your answer is already recorded, thank you."
    assert (await case_row(db))["reopened_count"] == 1 and not await harness.drain()

    # resolved again: a new question, and this time the person says Yes
    await act(harness, MANAGER_ID, 1, "resolve")
    await harness.send(harness.user(MANAGER_ID, "Пётр"), "Приехали и всё исправили")
    second = await question_to(harness)
    sent = await harness.tap(anna, button_data(second, "Yes"), as_message(second))
    assert (await case_row(db))["client_confirmed"] == 1


async def test_forged_case_and_another_account_change_nothing(
    harness: Harness, db: Database
) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    await detractor(harness, db, name="Борис Петров", tg_id=5002, consent=False)
    await take_and_resolve(harness, MANAGER_ID, 1)
    await take_and_resolve(harness, MANAGER_ID, 2)
    await harness.drain()
    anna, boris = harness.user(CLIENT_ID, "Анна"), harness.user(5002, "Борис")
    forged, recorded = "Эта кнопка больше не действует.", "Ответ уже записан, спасибо."
    for user, data, expected in (
        (anna, CaseConfirm(case_id=99, yes=False).pack(), forged),  # no such case
        (boris, CaseConfirm(case_id=1, yes=False).pack(), forged),  # somebody else's case
        (
            harness.user(MANAGER_ID, "Пётр"),
            CaseConfirm(case_id=1, yes=True).pack(),
            forged,
        ),  # staff
        (anna, CaseConfirm(case_id=2, yes=True).pack(), forged),  # not Anna's
        (boris, CaseConfirm(case_id=2, yes=False).pack(), recorded),  # his, but never asked
    ):
        sent = await harness.tap(user, data)
        assert answer(sent) == expected, data
        assert not [r for r in sent if isinstance(r, SendMessage | EditMessageText)]
    for case_id in (1, 2):
        row = await case_row(db, case_id)
        assert (row["status"], row["client_confirmed"], row["reopened_count"]) == (
            "resolved",
            None,
            0,
        )
    assert not await harness.drain()


async def test_no_question_without_consent(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db, consent=False)
    sent = await take_and_resolve(harness, MANAGER_ID)
    assert sends(sent, MANAGER_ID)[0].text == (
        "✅ Случай №1 решён.\nСогласия на связь нет, поэтому бот не спрашивает клиента."
    )
    assert "Ждём ответа" not in sends(sent, MANAGER_ID)[1].text
    assert not sends(await harness.drain(), CLIENT_ID)
    async with db.read() as conn:
        queued = await (
            await conn.execute("SELECT count(*) FROM outbox WHERE purpose = 'case_confirm'")
        ).fetchone()
    assert queued[0] == 0


async def test_budget_does_not_block_the_question_but_opt_out_does(
    harness: Harness, db: Database
) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    await detractor(harness, db, name="Борис Петров", tg_id=5002)
    async with db.transaction() as conn:
        # the bot wrote first to Anna yesterday: her own case's question still goes out
        await conn.execute(
            "INSERT INTO contact_log (contact_id, at, channel, purpose) VALUES (1, ?, 'bot', 'x')",
            (ts(harness.clock() - timedelta(days=1)),),
        )
        await conn.execute(
            "UPDATE contacts SET opted_out_at = ? WHERE id = 2", (ts(harness.clock()),)
        )
    sent = await take_and_resolve(harness, MANAGER_ID, 1)
    assert "Бот спросит клиента" in sends(sent, MANAGER_ID)[0].text
    await question_to(harness, CLIENT_ID)
    sent = await take_and_resolve(harness, MANAGER_ID, 2)
    assert sends(sent, MANAGER_ID)[0].text == (
        "✅ Случай №2 решён.\n"
        "Бот не может спросить клиента: сообщения от бота отключены командой /stop."
    )
    assert not sends(await harness.drain(), 5002)


# --- the figures for /nps -------------------------------------------------------------------------


async def _case(db: Database, opened: datetime, resolved_hours: float | None) -> None:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (kind, created_at, updated_at) VALUES ('client', ?, ?)",
            (ts(opened), ts(opened)),
        )
        resolved = opened + timedelta(hours=resolved_hours) if resolved_hours is not None else None
        await conn.execute(
            "INSERT INTO cases (contact_id, status, opened_at, resolved_at) VALUES (?, ?, ?, ?)",
            (
                cur.lastrowid,
                "resolved" if resolved else "taken",
                ts(opened),
                ts(resolved) if resolved else None,
            ),
        )


async def test_case_stats(db: Database) -> None:
    nov = datetime(2026, 11, 1, tzinfo=UTC)
    dec = datetime(2026, 12, 1, tzinfo=UTC)
    empty = await case_stats(db, None, None)
    assert (empty.opened, empty.resolved, empty.resolved_share) == (0, 0, 0)
    assert empty.median_hours_to_resolve is None

    # November: three resolved (2 h, 10 h, 30 h) and one still open
    await _case(db, nov + timedelta(days=1), 10)
    await _case(db, nov + timedelta(days=2), 2)
    await _case(db, nov + timedelta(days=3), 30)
    await _case(db, nov + timedelta(days=4), None)
    stats = await case_stats(db, nov, dec)
    assert (stats.opened, stats.resolved, stats.resolved_share) == (4, 3, 75)
    assert stats.median_hours_to_resolve == 10  # odd count: the middle one

    # December: two resolved (1.5 h and 4.5 h) and one open; the median of an even count
    await _case(db, dec, 4.5)
    await _case(db, dec + timedelta(days=1), 1.5)
    await _case(db, dec + timedelta(days=2), None)
    stats = await case_stats(db, dec, None)
    assert (stats.opened, stats.resolved, stats.resolved_share) == (3, 2, 67)
    assert stats.median_hours_to_resolve == 3.0
    everything = await case_stats(db, None, None)
    assert (everything.opened, everything.resolved, everything.resolved_share) == (7, 5, 71)
    assert everything.median_hours_to_resolve == 4.5  # 1.5, 2, 4.5, 10, 30

    # nothing resolved in the period: the median is None, the share 0
    await _case(db, datetime(2027, 1, 5, tzinfo=UTC), None)
    jan = await case_stats(db, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    assert (jan.opened, jan.resolved, jan.resolved_share) == (1, 0, 0)
    assert jan.median_hours_to_resolve is None
    # the period is half-open: the case opened exactly at `until` belongs to the next one
    assert (await case_stats(db, nov, dec)).opened == 4
    assert (await case_stats(db, nov, dec + timedelta(seconds=1))).opened == 5


async def test_case_stats_take_the_surveys_kind_and_manager_else_the_contacts(
    db: Database,
) -> None:
    """The /nps rule: a survey case counts under its survey's kind and manager (copied at the
    sale, so a re-classified contact does not move it); a call case, which has no survey, under
    its contact's."""
    at = ts(datetime(2026, 11, 10, tzinfo=UTC))
    async with db.transaction() as conn:
        for user_id in (1, 2):
            await conn.execute(
                "INSERT INTO staff (user_id, role, full_name, created_at, updated_at) "
                "VALUES (?, 'manager', ?, ?, ?)",
                (user_id, f"M{user_id}", at, at),
            )
        # a contact now 'client' with manager 2, surveyed back when it was a supplier of 1
        contact = (
            await conn.execute(
                "INSERT INTO contacts (kind, manager_id, created_at, updated_at) "
                "VALUES ('client', 2, ?, ?)",
                (at, at),
            )
        ).lastrowid
        survey = (
            await conn.execute(
                "INSERT INTO surveys (token, contact_id, manager_id, kind, created_at) "
                "VALUES ('t1', ?, 1, 'supplier', ?)",
                (contact, at),
            )
        ).lastrowid
        await conn.execute(
            "INSERT INTO cases (contact_id, survey_id, opened_at) VALUES (?, ?, ?)",
            (contact, survey, at),
        )
        await conn.execute(
            "INSERT INTO cases (contact_id, source, opened_at) VALUES (?, 'call', ?)",
            (contact, at),
        )

    async def opened(kind: str | None, manager_id: int | None) -> int:
        return (await case_stats(db, None, None, kind, manager_id)).opened

    assert await opened(None, None) == 2
    assert (await opened("supplier", None), await opened("client", None)) == (1, 1)
    assert (await opened(None, 1), await opened(None, 2)) == (1, 1)
    assert (await opened("supplier", 1), await opened("supplier", 2)) == (1, 0)
    assert await opened("partner", None) == 0


async def test_a_timed_out_resolved_message_does_not_stop_the_card_and_alerts(
    harness: Harness, db: Database
) -> None:
    """ "Case resolved" times out (it may have arrived): the card still comes, and the case is
    resolved once."""
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    await act(harness, MANAGER_ID, 1, "take")
    await act(harness, MANAGER_ID, 1, "resolve")
    harness.session.time_out_next("SendMessage", chat_id=MANAGER_ID)
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), "Заменили дверцу, извинились")
    done = sends(sent, MANAGER_ID)
    assert done[0].text.startswith("✅ Случай №1 решён.")  # sent; its answer never came
    assert "📁 <b>Случай №1</b> · решён" in done[1].text
    assert (await case_row(db))["status"] == "resolved"
    assert [e[0] for e in await events(db)].count("resolved") == 1


async def test_a_replayed_note_tap_does_not_repeat_the_prompt(
    harness: Harness, db: Database
) -> None:
    """The tap on "Note" handled again after a crash that came after its prompt went out: no
    second prompt; the note typed next is still taken."""
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    await act(harness, MANAGER_ID, 1, "take")
    sent = await act(harness, MANAGER_ID, 1, "note")
    assert "Напишите заметку к случаю №1" in sends(sent, MANAGER_ID)[0].text
    async with db.transaction() as conn:  # the process died before the journal noted the end
        await conn.execute("UPDATE handled_updates SET done_at = NULL")
    tap = Update.model_validate(harness.last_update, context={"bot": harness.bot})
    before = len(harness.session.requests)
    await harness.dp.feed_update(harness.bot, tap)
    assert sends(harness.session.requests[before:], MANAGER_ID) == []
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), "Позвонил")
    assert sends(sent, MANAGER_ID)[0].text == "📝 Заметка добавлена к случаю №1."
