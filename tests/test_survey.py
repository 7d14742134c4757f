"""The survey from the respondent's side, the detractor alert and /nps."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update, User

from bot.app import create_bot, create_dispatcher
from domain.settings import Settings
from scheduler.alerts import queue_case_alerts
from scheduler.sender import Sender
from storage import Database
from storage.staff import create_invite, redeem_invite
from tests.conftest import OWNER_ID
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, Harness, as_message, button_data, buttons, replies
from tests.helpers.replay import Crash, crash_on, feed
from tests.helpers.survey import (
    CLIENT_ID,
    MANAGER_ID,
    Respondent,
    setup_sale,
)


async def test_promoter_answers_three_questions_with_taps(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    texts = await anna.open(payload)
    assert "Это «Ромашка». Пётр Иванов просит вас ответить на три коротких вопроса" in texts[0]
    assert "порекомендуете «Ромашка» друзьям и коллегам" in texts[1]
    assert [b[0] for b in buttons(anna.question)] == [str(i) for i in range(11)]

    q1 = anna.question
    sent = await anna.tap("10")
    edit = next(r for r in sent if isinstance(r, EditMessageText))
    assert edit.text.endswith("<i>Ваша оценка: 10 из 10</i>") and edit.reply_markup is None
    assert "Что вы цените в нас больше всего" in anna.question.text
    texts = await anna.send("Быстрая доставка и вежливый мастер")
    assert "Можно ли связаться с вами" in texts[0]
    sent = await anna.tap("Да")
    # the phone is already known from the sale: no need to ask for it
    assert replies(sent)[-1].startswith("Спасибо за высокую оценку!")
    assert isinstance(anna.question.reply_markup, ReplyKeyboardRemove)

    async with db.read() as conn:
        s = await (await conn.execute("SELECT * FROM surveys")).fetchone()
        c = await (await conn.execute("SELECT * FROM contacts")).fetchone()
        comment = await (await conn.execute("SELECT text FROM comments")).fetchone()
        cases = await (await conn.execute("SELECT count(*) FROM cases")).fetchone()
    assert (s["score"], s["reason"], s["consent"], s["status"]) == (
        10,
        "Быстрая доставка и вежливый мастер",
        1,
        "answered",
    )
    assert s["respondent_tg_id"] == CLIENT_ID and c["tg_user_id"] == CLIENT_ID
    assert c["care_status"] == "pending" and c["contact_consent"] == 1
    assert comment[0] == "Быстрая доставка и вежливый мастер"
    assert cases[0] == 0
    # reopening the answered link
    assert await anna.open(payload) == ["Вы уже ответили на этот опрос. Спасибо!"]
    # the old score buttons are dead now
    sent = await harness.tap(anna.user, button_data(q1, "3"), as_message(q1))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Ответ уже записан, спасибо."
    )


async def test_detractor_shares_phone_and_alert_reaches_manager_and_owner(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db, phone=None)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("3")
    assert "Что вас разочаровало?" in anna.question.text
    # the score alone reaches the manager and the owner at once
    first = [r for r in await harness.drain() if isinstance(r, SendMessage)]
    assert sorted(a.chat_id for a in first) == [OWNER_ID, MANAGER_ID]
    assert all("оценка 3 из 10" in a.text and "ещё отвечает на опрос" in a.text for a in first)
    await anna.send("Сломали дверцу при доставке <b>и</b> не извинились")
    await anna.tap("Да")
    ask = anna.question
    assert "Оставьте, пожалуйста, номер телефона" in ask.text
    assert isinstance(ask.reply_markup, ReplyKeyboardMarkup)
    share = ask.reply_markup.keyboard[0][0]
    assert share.request_contact and share.text == "📱 Поделиться номером"
    assert ask.reply_markup.keyboard[1][0].text == "Без телефона"

    # somebody else's contact is refused
    sent = await harness.send_contact(anna.user, "+79990001122", owner_id=777)
    assert "поделитесь своим номером" in replies(sent)[0]
    # a typo is refused kindly
    assert "Не похоже на номер телефона" in (await anna.send("12"))[0]
    assert (await harness.drain()) == []  # nothing new is sent: the alerts are edited instead
    sent = await harness.send_contact(anna.user, "79161234567", owner_id=CLIENT_ID)
    assert "с вами свяжется сотрудник компании" in replies(sent)[-1]
    edits = [r for r in sent if isinstance(r, EditMessageText)]
    assert sorted(e.chat_id for e in edits) == [OWNER_ID, MANAGER_ID]
    alert = next(e for e in edits if e.chat_id == MANAGER_ID)
    for part in (
        "оценка 3 из 10",
        "Анна Смирнова, ООО «Берёзка» (клиент)",
        "Сделка: Кухонный гарнитур, 19.11.2026",
        "Менеджер: Пётр Иванов",
        "«Сломали дверцу при доставке &lt;b&gt;и&lt;/b&gt; не извинились»",
        "связаться можно, телефон +7 916 123-45-67",
    ):
        assert part in alert.text, part
    assert buttons(alert) == [("🙋 Беру случай", "ct:1")]
    # An edit notifies nobody: what came after the alert also arrives as one short message.
    late = [r for r in await harness.drain() if isinstance(r, SendMessage)]
    assert sorted(m.chat_id for m in late) == [OWNER_ID, MANAGER_ID]
    assert all(
        m.text == "✍️ Случай №1, Анна Смирнова: причина «Сломали дверцу при доставке "
        "&lt;b&gt;и&lt;/b&gt; не извинились»; телефон +7 916 123-45-67"
        for m in late
    )
    assert buttons(late[0]) == [("📁 Открыть случай", "ko:1:0")]
    assert (await harness.drain()) == []  # sent once

    # the manager takes the case; both alerts are updated; the owner cannot take it again
    manager = harness.user(MANAGER_ID, "Пётр")
    sent = await harness.tap(manager, "ct:1", as_message(alert))
    answer = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert answer.text == "Случай №1 ваш. Свяжитесь с человеком как можно скорее."
    edits = [r for r in sent if isinstance(r, EditMessageText)]
    assert sorted(e.chat_id for e in edits) == [OWNER_ID, MANAGER_ID]
    assert all("✅ В работе, ответственный: Пётр Иванов, 20.11.2026 10:00" in e.text for e in edits)
    assert all(e.reply_markup is None for e in edits)
    sent = await harness.tap(harness.user(OWNER_ID, "Ольга"), "ct:1")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Случай уже в работе, ответственный: Пётр Иванов."
    )
    async with db.read() as conn:
        case = await (await conn.execute("SELECT * FROM cases")).fetchone()
        phone = await (await conn.execute("SELECT phone FROM contacts")).fetchone()
    assert (case["status"], case["owner_id"]) == ("taken", MANAGER_ID)
    assert phone[0] == "+79161234567"


async def test_stranger_cannot_take_a_case(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("0")
    sent = await harness.tap(harness.user(4242, "Чужой"), "ct:1")
    answer = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert answer.text == "Эта кнопка больше не действует." and answer.show_alert
    # another manager (not this contact's) cannot take it either
    invite = await create_invite(db, OWNER_ID, harness.clock())
    await redeem_invite(db, invite.token, 223, "Иван", None, "ru", harness.clock())
    sent = await harness.tap(harness.user(223, "Иван"), "ct:1")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Эта кнопка больше не действует."
    )


async def test_passive_skips_and_declines(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("7")
    assert "чтобы в следующий раз вы поставили 10" in anna.question.text
    sent = await anna.tap("Пропустить")
    assert any(
        isinstance(r, EditMessageText) and r.text.endswith("<i>Без комментария</i>") for r in sent
    )
    sent = await anna.tap("Нет")
    assert replies(sent)[-1] == "Спасибо за ответы! Мы учтём ваше мнение, чтобы стать лучше."
    async with db.read() as conn:
        s = await (await conn.execute("SELECT reason, consent, status FROM surveys")).fetchone()
    assert tuple(s) == (None, 0, "answered")


async def test_detractor_declining_contact_is_not_promised_a_call(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("5")
    await anna.tap("Пропустить")
    sent = await anna.tap("Нет")
    assert "Мы обязательно разберёмся" in replies(sent)[-1]
    alert = next(r for r in await harness.drain() if isinstance(r, SendMessage))
    assert "согласия на звонок нет" in alert.text and "+7 916" not in alert.text
    assert "Причина: не указана" in alert.text


async def test_double_tap_records_one_score(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    q1 = anna.question
    first = await harness.tap(anna.user, button_data(q1, "9"), as_message(q1))
    second = await harness.tap(anna.user, button_data(q1, "2"), as_message(q1))
    assert sum("Что вы цените" in t for t in replies(first)) == 1
    assert replies(second) == []
    assert next(r for r in second if isinstance(r, AnswerCallbackQuery)).text == (
        "Ответ уже записан, спасибо."
    )
    async with db.read() as conn:
        s = await (await conn.execute("SELECT score FROM surveys")).fetchone()
        cases = await (await conn.execute("SELECT count(*) FROM cases")).fetchone()
    assert s[0] == 9 and cases[0] == 0


async def test_wrong_input_gets_one_short_hint(harness: Harness, db: Database) -> None:
    """A wrong input gets one short line, quoting the question, whose buttons stay where they
    are (tests/test_survey_chat.py follows whole chats)."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    q1 = anna.question
    sent = await harness.send_sticker(anna.user)
    assert replies(sent) == ["Нажмите оценку от 0 до 10 под вопросом или напишите число."]
    hint = next(r for r in sent if isinstance(r, SendMessage))
    assert hint.reply_parameters is not None
    assert hint.reply_parameters.message_id == harness.session.message_id_of(q1)
    assert replies(await anna.send("восемь")) == []  # told once already
    # a forged score outside 0..10
    sent = await harness.tap(
        anna.user, "q1:" + button_data(q1, "1").split(":")[1] + ":11", as_message(q1)
    )
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).show_alert
    await anna.tap("8", q1)
    texts = replies(await harness.send_sticker(anna.user))
    assert texts == ["Пожалуйста, напишите ответ текстом или нажмите «Пропустить» 👇"]
    await anna.send("Всё хорошо")
    assert replies(await harness.send_sticker(anna.user)) == [
        "Ответьте «Да» или «Нет»: кнопкой под вопросом или словом."
    ]


async def test_a_4096_character_reason_is_stored_whole_and_the_person_is_not_told_it_was_cut(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("6")
    await harness.drain()  # the score's alerts to the manager and the owner
    before = len(harness.session.requests)
    long_text = ("Очень долго ждали & <молчали>. " * 200)[:4095] + "!"  # Telegram's longest
    await anna.send(long_text)
    # the next question, and no word of a cut (nothing is cut any more)
    to_anna = [
        r.text
        for r in harness.session.requests[before:]
        if isinstance(r, SendMessage) and r.chat_id == CLIENT_ID
    ]
    assert len(to_anna) == 1 and "Можно ли связаться" in to_anna[0]
    async with db.read() as conn:
        s = await (await conn.execute("SELECT reason FROM surveys")).fetchone()
        c = await (await conn.execute("SELECT text FROM comments")).fetchone()
    assert s[0] == long_text and c[0] == long_text
    # the staff's alerts, brought up to date, quote its start (Telegram would refuse it all)
    edits = [
        r
        for r in harness.session.requests[before:]
        if isinstance(r, EditMessageText) and r.chat_id in (MANAGER_ID, OWNER_ID)
    ]
    assert len(edits) == 2
    assert all("«Очень долго ждали &amp; &lt;молчали&gt;." in e.text for e in edits)
    assert all("…»" in e.text and len(e.text) < 2000 for e in edits)


async def test_honest_figures(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    # the manager who made it, and the owner, cannot answer it
    for staff_id in (MANAGER_ID, OWNER_ID):
        texts = replies(
            await harness.send(harness.user(staff_id, "Сотрудник"), f"/start {payload}")
        )
        assert "Сотрудники компании не могут отвечать на опросы" in texts[0]
    anna = Respondent(harness)
    await anna.open(payload)
    # the link is now bound to Anna's account
    other = Respondent(harness, user_id=6006)
    assert "уже открыта с другого аккаунта" in (await other.open(payload))[0]
    # a forged button from the other account records nothing
    sent = await harness.tap(other.user, button_data(anna.question, "0"), as_message(anna.question))
    assert replies(sent) == []
    # guessed or garbage payloads reveal nothing
    near_miss = payload[:-1] + ("B" if payload[-1] != "B" else "C")
    for guess in ("s_" + "A" * 24, near_miss, "s_", "s_<>"):
        assert "Эта ссылка не действует" in (await other.open(guess))[0]
    async with db.read() as conn:
        s = await (await conn.execute("SELECT score, respondent_tg_id FROM surveys")).fetchone()
    assert tuple(s) == (None, CLIENT_ID)


async def test_reopening_resumes_where_it_stopped(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("9")
    texts = await anna.open(payload)
    assert texts == ["Продолжим с того места, где остановились.", anna.question.text]
    assert "Что вы цените" in texts[1]


async def test_survey_survives_a_restart(
    harness: Harness, db: Database, settings: Settings, tmp_path: Path
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("4")
    await db.close()

    # a new process: new connection, new dispatcher, the same file
    db2 = Database(settings.database_path)
    await db2.open()
    session = RecordingSession(BOT_USERNAME)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db2, harness.clock, rate=0, per_chat_interval=0)
    h2 = Harness(
        bot=bot,
        dp=create_dispatcher(settings, db2, sender, harness.clock),
        session=session,
        clock=harness.clock,
        sender=sender,
    )
    anna2 = Respondent(h2)
    texts = await anna2.send("Мастер опоздал на три часа")
    assert "Можно ли связаться" in texts[0]
    await anna2.tap("Нет")
    async with db2.read() as conn:
        s = await (await conn.execute("SELECT score, reason, consent FROM surveys")).fetchone()
    assert tuple(s) == (4, "Мастер опоздал на три часа", 0)
    assert any("оценка 4 из 10" in r.text for r in await h2.drain() if isinstance(r, SendMessage))
    await db2.close()
    await db.open()  # the fixture closes it again


async def test_english_respondent_and_supplier_wording(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db, kind="supplier")
    john = Respondent(harness, lang="en")
    texts = await john.open(payload)
    assert "We value working with you, and Пётр Иванов asks you" in texts[0]
    assert "recommend Ромашка as a partner to your colleagues" in texts[1]
    await john.tap("9")
    assert "What do you value most in working with us?" in john.question.text
    await john.tap("Skip")
    assert "questions about our cooperation?" in john.question.text
    sent = await john.tap("Yes")
    thanks = replies(sent)[-1]
    assert thanks.startswith("Thank you for the high score! We value our cooperation")
    assert "see you again" not in thanks and "to friends" not in thanks


# What only a client may read: a partner who sees one of these was given the client's wording.
CLIENT_ONLY = (
    "видеть вас снова",
    "друзьям",
    "качестве обслуживания",
    "Что вас разочаровало",
    "Что вы цените в нас",
    "чтобы стать лучше",
)


def _respondent_texts(requests: list, chat_id: int) -> list[str]:
    """Every text the respondent was shown: new messages and the edits of answered questions."""
    return [
        r.text
        for r in requests
        if isinstance(r, SendMessage | EditMessageText) and r.chat_id == chat_id
    ]


async def test_a_supplier_sees_partner_wording_from_greeting_to_thanks(
    harness: Harness, db: Database
) -> None:
    """Three suppliers answer 10, 8 and 3 through the real dispatcher; one of them is nudged and
    comes back. Nothing any of them reads is worded for a client."""

    async def run(user_id: int, name: str) -> tuple[Respondent, str]:
        payload = await setup_sale(harness, db, kind="supplier", phone=None, name=name)
        person = Respondent(harness, user_id=user_id)
        texts = await person.open(payload)
        assert "Мы ценим сотрудничество с вами" in texts[0]
        assert "как партнёра своим коллегам" in texts[1]
        return person, payload

    # 10: a reason, consent, a phone, the thanks with the referral code
    promoter, _ = await run(6001, "Игорь Поставщиков")
    await promoter.tap("10")
    assert "Что вы больше всего цените в работе с нами?" in promoter.question.text
    await promoter.send("Платят вовремя")
    assert "вопросы о нашем сотрудничестве?" in promoter.question.text
    await promoter.tap("Да")
    assert "удобно обсуждать совместную работу" in promoter.question.text
    sent = await harness.send_contact(promoter.user, "79161112233", owner_id=promoter.user.id)
    thanks = replies(sent)[-1]
    assert thanks.startswith("Спасибо за высокую оценку! Ценим наше сотрудничество")
    assert "посоветуете нас коллегам или партнёрам" in thanks

    # 8: stops after the score, is nudged, reopens the link, skips the reason, declines contact
    passive, payload = await run(6002, "Ольга Подрядова")
    await passive.tap("8")
    harness.clock.advance(hours=25)
    nudges = [r for r in await harness.tick() if isinstance(r, SendMessage) and r.chat_id == 6002]
    assert len(nudges) == 1 and "трёх вопросов о нашем сотрудничестве" in nudges[0].text
    resumed = await passive.open(payload)
    assert resumed[0].startswith("Продолжим с того места") and "совместной работе" in resumed[0]
    assert "Что нам изменить в совместной работе" in passive.question.text
    await passive.tap("Пропустить")
    sent = await passive.tap("Нет")
    assert replies(sent)[-1].startswith("Спасибо за ответы! Ваше мнение поможет нам")

    # 3: a reason, consent, a phone
    detractor, _ = await run(6003, "Семён Снабженцев")
    await detractor.tap("3")
    assert "Что в работе с нами вас не устроило?" in detractor.question.text
    await detractor.send("Задержали оплату на месяц")
    await detractor.tap("Да")
    sent = await harness.send_contact(detractor.user, "79162223344", owner_id=detractor.user.id)
    assert "сотрудничество с вами для нас важно" in replies(sent)[-1]

    shown = [
        text
        for person in (promoter, passive, detractor)
        for text in _respondent_texts(harness.session.requests, person.user.id)
    ]
    assert len(shown) > 15
    leaks = [(phrase, text) for text in shown for phrase in CLIENT_ONLY if phrase in text]
    assert leaks == []


async def test_alert_waiting_in_the_outbox_is_delivered_up_to_date(
    harness: Harness, db: Database
) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("1")  # queued, not yet delivered (e.g. held by Telegram's flood control)
    await anna.tap("Пропустить")
    await anna.tap("Нет")
    owner = harness.user(OWNER_ID, "Ольга")
    await harness.tap(owner, "ct:1")  # the owner takes the case before the alerts go out
    alerts = [r for r in await harness.drain() if isinstance(r, SendMessage)]
    assert len(alerts) == 2
    for alert in alerts:
        assert "Причина: не указана" in alert.text and "согласия на звонок нет" in alert.text
        assert "В работе, ответственный: Ольга" in alert.text and buttons(alert) == []
    # nothing is alerted a second time
    await queue_case_alerts(db, harness.dp["settings"], harness.clock())
    assert [r for r in await harness.drain() if isinstance(r, SendMessage)] == []


async def test_nps_for_owner(harness: Harness, db: Database) -> None:
    owner = harness.user(OWNER_ID, "Ольга")
    assert "За этот период ответов нет" in replies(await harness.send(owner, "/nps"))[0]
    scores = {"client": [10, 9, 9, 8, 3], "supplier": [10, 6]}
    uid = 7000
    for kind, values in scores.items():
        for score in values:
            uid += 1
            payload = await setup_sale(harness, db, kind=kind, phone=None, name=f"P{uid}")
            r = Respondent(harness, user_id=uid)
            await r.open(payload)
            await r.tap(str(score))
    await setup_sale(harness, db, kind="contractor", phone=None, name="Не ответил")
    sent = await harness.send(owner, "/nps")
    text = replies(sent)[0]
    assert "30 дней (22.10.2026–20.11.2026)" in text
    # 4 promoters, 1 passive, 2 detractors of 7: 57% − 29% = 28.6 → +29
    assert "NPS: <b>+29</b>" in text
    assert "Промоутеры (9–10): 4 (57%)" in text and "Нейтралы (7–8): 1 (14%)" in text
    assert "Критики (0–6): 2 (29%)" in text
    assert "Ответили: 7 из 8 приглашённых (88%)" in text
    assert "Меньше 10 ответов" in text
    assert "К предыдущему периоду: раньше ответов не было" in text
    assert "Медиана от продажи до ответа: 0,0 часа" in text
    assert "Клиенты: NPS +40 · ответили 5 из 5" in text
    assert "Поставщики: NPS 0 · ответили 2 из 2" in text
    assert "Подрядчики: ответов пока нет · приглашено 1" in text
    # the buttons switch the view in place
    view = sent[0]
    edit = (await harness.tap(owner, button_data(view, "Клиенты"), as_message(view)))[-1]
    assert isinstance(edit, EditMessageText)
    assert "· Клиенты ·" in edit.text and "NPS: <b>+40</b>" in edit.text
    assert "По группам" not in edit.text
    sent = await harness.tap(owner, button_data(view, "Менеджер"), as_message(view))
    picker = [b[0] for b in buttons(sent[-1])]
    assert picker == ["все", "Пётр Иванов"]
    edit = (await harness.tap(owner, button_data(sent[-1], "Пётр"), as_message(view)))[-1]
    assert "менеджер Пётр Иванов" in edit.text and "NPS: <b>+29</b>" in edit.text
    # a month, a bad month, a forged button
    assert "ответов нет" in replies(await harness.send(owner, "/nps 2025-11"))[0]
    assert "Не понял месяц" in replies(await harness.send(owner, "/nps 2026-13"))[0]
    assert "Не понял месяц" in replies(await harness.send(owner, "/nps 2030-01"))[0]
    sent = await harness.tap(owner, "nv:bogus:all:0")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).show_alert
    # managers and strangers do not see it
    for who in (MANAGER_ID, 999):
        assert "недоступна" in replies(await harness.send(harness.user(who, "X"), "/nps"))[0]


async def test_a_detractors_score_case_alerts_and_next_route_commit_together(
    harness: Harness, db: Database
) -> None:
    """The score, its case, the staff's alerts and the route of the person's next message are
    one transaction: a crash right after it (before anything was sent) leaves all of them, and
    the update handled again after the restart adds nothing twice."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    q1 = anna.question
    assert q1 is not None
    crash_on(harness, lambda m: isinstance(m, AnswerCallbackQuery), delivered=False)
    with pytest.raises(Crash):
        await harness.tap(anna.user, button_data(q1, "3"), as_message(q1))
    async with db.read() as conn:
        alerts = await (
            await conn.execute("SELECT chat_id FROM outbox WHERE purpose = 'case_alert'")
        ).fetchall()
        case = await (await conn.execute("SELECT alerted_at FROM cases")).fetchone()
        route = await (await conn.execute("SELECT state, data FROM fsm_states")).fetchone()
    assert sorted(r[0] for r in alerts) == [OWNER_ID, MANAGER_ID]
    assert case[0] is not None
    assert tuple(route) == ("SurveyFlow:reason", '{"survey_id": 1}')
    # the same update again, as Telegram redelivers it after the restart
    tap = Update.model_validate(harness.last_update, context={"bot": harness.bot})
    sent = await feed(harness, tap)
    assert sum("Что вас разочаровало?" in text for text in sent) == 1
    async with db.read() as conn:
        count = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
    assert count[0] == 2
    await anna.send("Долго везли")  # routed by the state the score's transaction wrote
    async with db.read() as conn:
        reason = await (await conn.execute("SELECT reason FROM surveys")).fetchone()
    assert reason[0] == "Долго везли"


async def test_a_failure_to_queue_the_alerts_never_costs_the_answer(
    harness: Harness, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alerts are queued in the answer's transaction, inside a savepoint: a bug there rolls back
    the alerts only; the score and the route stay, and the follow-up loop's tick queues them."""
    import handlers.survey

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("a template bug")

    monkeypatch.setattr(handlers.survey, "queue_alerts_in", broken)
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("3")
    assert "Что вас разочаровало?" in anna.question.text
    async with db.read() as conn:
        score = await (await conn.execute("SELECT score FROM surveys")).fetchone()
        alerts = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
        cases = await (await conn.execute("SELECT count(*) FROM cases")).fetchone()
    assert (score[0], alerts[0], cases[0]) == (3, 0, 1)
    monkeypatch.undo()
    assert await queue_case_alerts(db, settings, harness.clock()) == 2
    await anna.send("Долго везли")  # the route was written with the score
    async with db.read() as conn:
        reason = await (await conn.execute("SELECT reason FROM surveys")).fetchone()
    assert reason[0] == "Долго везли"
