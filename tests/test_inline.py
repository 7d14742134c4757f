"""The invitation in one tap (issue 16, part 3), through the real dispatcher with real
`InlineQuery` / `ChosenInlineResult` updates: the manager's "Send to the client" button (only with
inline mode on), the one card for a valid, current survey of the person asking, the empty answer
for everything else, and the chosen card noted on the survey.
"""

from __future__ import annotations

import itertools
import logging
from datetime import date
from typing import Any

import pytest
from aiogram.methods import AnswerInlineQuery, EditMessageText, SendMessage
from aiogram.types import (
    ChosenInlineResult,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    User,
)

from domain.deeplinks import LinkKind, make_payload
from storage import Database
from storage.followup import set_opt_out
from storage.forget import erase_contact
from storage.invitations import MAX_AGE_DAYS
from storage.sale import SaleInput, SaleResult, record_sale
from storage.staff import create_invite, redeem_invite, set_manager_active
from tests.conftest import OWNER_ID
from tests.fakes.bot_api import QUERY_INVALID
from tests.harness import BOT_USERNAME, Harness
from tests.helpers.cadence import at, open_card, sends
from tests.helpers.sale import MANAGER_ID, SaleBot, add_manager
from tests.helpers.survey import Respondent, setup_sale
from views.invitation import parse_result_id, result_id, send_to_client_markup

OTHER_MANAGER = 333
CLIENT_TG = 5001
_keys = itertools.count(1)
_queries = itertools.count(1)


def inline_on(h: Harness) -> None:
    """The bot as getMe describes it with /setinline done at @BotFather."""
    h.bot._me = User(
        id=h.bot.id,
        is_bot=True,
        first_name="Bot",
        username=BOT_USERNAME,
        supports_inline_queries=True,
    )


async def sale(
    h: Harness,
    db: Database,
    *,
    manager: int = MANAGER_ID,
    kind: str = "client",
    name: str = "Анна Смирнова",
    phone: str | None = None,
    contact_tg: int | None = None,
) -> SaleResult:
    return await record_sale(
        db,
        SaleInput(
            idem_key=f"inline{next(_keys)}",
            manager_id=manager,
            kind=kind,
            full_name=name,
            organization=None,
            phone=phone,
            contact_tg_id=contact_tg,
            birthday=None,
            description="Кухонный гарнитур",
            deal_date=date(2026, 11, 19),
        ),
        h.clock(),
    )


async def ask(
    h: Harness, user: User, query: str, chat_type: str | None = "private"
) -> AnswerInlineQuery:
    """The user types `@bot <query>`; the bot's one answer."""
    inline = InlineQuery(
        id=f"q{next(_queries)}", from_user=user, query=query, offset="", chat_type=chat_type
    )
    sent = await h.feed({"inline_query": inline})
    answers = [r for r in sent if isinstance(r, AnswerInlineQuery)]
    assert len(answers) == 1, sent
    assert not [r for r in sent if isinstance(r, SendMessage)], "an inline query sends nothing"
    answer = answers[0]
    assert answer.is_personal is True and answer.cache_time == 0
    return answer


def the_card(answer: AnswerInlineQuery) -> InlineQueryResultArticle:
    assert len(answer.results) == 1, answer.results
    article = answer.results[0]
    assert isinstance(article, InlineQueryResultArticle)
    return article


def card_text(article: InlineQueryResultArticle) -> str:
    return str(article.input_message_content.message_text)  # type: ignore[union-attr]


def url_buttons(article: InlineQueryResultArticle) -> list[tuple[str, str | None]]:
    assert article.reply_markup is not None
    return [(b.text, b.url) for row in article.reply_markup.inline_keyboard for b in row]


async def invited_at(db: Database, token: str) -> str | None:
    async with db.read() as conn:
        cur = await conn.execute("SELECT invited_at FROM surveys WHERE token = ?", (token,))
        row = await cur.fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
async def manager(harness: Harness, db: Database) -> User:
    await add_manager(harness, db)
    return harness.user(MANAGER_ID, "Пётр")


# --- the card -------------------------------------------------------------------------------


async def test_the_managers_own_link_gives_one_card_that_opens_the_survey(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db, name="Анна <Ко> & Сыновья")
    payload = make_payload(LinkKind.SURVEY, result.survey_token)

    article = the_card(await ask(harness, manager, payload))

    link = f"https://t.me/{BOT_USERNAME}?start={payload}"
    assert url_buttons(article) == [("Ответить на 3 вопроса", link)]
    text = card_text(article)
    # the company's invitation, the name escaped for HTML (the recording session parsed it)
    assert text.startswith(
        "Здравствуйте, Анна &lt;Ко&gt; &amp; Сыновья! Спасибо, что выбрали «Ромашка»"
    )
    assert link in text
    # the list the manager picks from shows the name as typed (plain text)
    assert article.title == "Приглашение для: Анна <Ко> & Сыновья"
    # the id comes back in ChosenInlineResult: a number, no token, no name, within 64 bytes
    assert article.id.startswith("inv-") and article.id[4:].isdigit()
    assert result.survey_token not in article.id and len(article.id.encode()) <= 64


async def test_spaces_around_the_query_are_ignored(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    the_card(await ask(harness, manager, f"  {payload} "))


async def test_a_partner_gets_the_partner_invitation(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db, kind="supplier", name="ООО Поставщик")
    article = the_card(
        await ask(harness, manager, make_payload(LinkKind.SURVEY, result.survey_token))
    )
    assert card_text(article).startswith("Здравствуйте, ООО Поставщик! Мы ценим сотрудничество")


async def test_the_card_speaks_the_persons_language_not_the_managers(
    harness: Harness, db: Database
) -> None:
    """An English-speaking manager of a Russian company: their list in English, the card in the
    company's language; a person who used the bot in English gets the English card."""
    inline_on(harness)
    await add_manager(harness, db, lang="en")
    manager = harness.user(MANAGER_ID, "Peter", lang="en")
    first = await sale(harness, db, phone="+79161234567")
    article = the_card(
        await ask(harness, manager, make_payload(LinkKind.SURVEY, first.survey_token))
    )
    assert article.title == "Invitation for: Анна Смирнова"
    assert card_text(article).startswith("Здравствуйте, Анна Смирнова!")
    assert url_buttons(article)[0][0] == "Ответить на 3 вопроса"

    # Anna opens that link in an English Telegram: the bot now knows her language
    await Respondent(harness, CLIENT_TG, lang="en").open(f"s_{first.survey_token}")
    second = await sale(harness, db, phone="+79161234567")  # the same person, a new deal
    assert second.merged
    article = the_card(
        await ask(harness, manager, make_payload(LinkKind.SURVEY, second.survey_token))
    )
    assert card_text(article).startswith("Hello, Анна Смирнова! Thank you for choosing Ромашка.")
    assert url_buttons(article)[0][0] == "Answer 3 questions"


async def test_an_owner_may_send_any_managers_survey(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    owner = harness.user(OWNER_ID, "Ольга")
    the_card(await ask(harness, owner, make_payload(LinkKind.SURVEY, result.survey_token)))


# --- everything else answers nothing --------------------------------------------------------


async def test_another_managers_link_answers_nothing(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    invite = await create_invite(db, OWNER_ID, harness.clock())
    await redeem_invite(db, invite.token, OTHER_MANAGER, "Мария", None, "ru", harness.clock())
    theirs = await sale(harness, db, manager=OTHER_MANAGER)
    payload = make_payload(LinkKind.SURVEY, theirs.survey_token)
    assert (await ask(harness, manager, payload)).results == []
    # ...while its own manager gets the card
    the_card(await ask(harness, harness.user(OTHER_MANAGER, "Мария"), payload))


async def test_an_opened_or_answered_link_answers_nothing(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    anna = Respondent(harness, CLIENT_TG)
    await anna.open(payload)  # bound to Anna's account: sending it elsewhere is useless
    assert (await ask(harness, manager, payload)).results == []
    await anna.tap("10")
    await anna.tap("Пропустить")
    await anna.tap("Нет")
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT status FROM surveys WHERE token = ?", (result.survey_token,)
        )
        assert (await cur.fetchone())[0] == "answered"
    assert (await ask(harness, manager, payload)).results == []


async def test_a_link_older_than_the_rules_follow_answers_nothing(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    harness.clock.advance(days=MAX_AGE_DAYS - 1)
    the_card(await ask(harness, manager, payload))
    harness.clock.advance(days=2)
    assert (await ask(harness, manager, payload)).results == []


async def test_a_forgotten_or_opted_out_person_answers_nothing(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    forgotten = await sale(harness, db, name="Борис", phone="+79160000001")
    await erase_contact(db, forgotten.contact_id, harness.clock(), by="test")
    payload = make_payload(LinkKind.SURVEY, forgotten.survey_token)
    assert (await ask(harness, manager, payload)).results == []

    stopped = await sale(harness, db, name="Вера", contact_tg=CLIENT_TG)
    payload = make_payload(LinkKind.SURVEY, stopped.survey_token)
    the_card(await ask(harness, manager, payload))
    assert await set_opt_out(db, CLIENT_TG, True, harness.clock())  # Вера sent /stop
    assert (await ask(harness, manager, payload)).results == []


async def test_a_manager_without_access_or_a_stranger_gets_nothing(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    stranger = harness.user(CLIENT_TG, "Анна")
    assert (await ask(harness, stranger, payload)).results == []
    await set_manager_active(db, MANAGER_ID, False, harness.clock())
    assert (await ask(harness, manager, payload)).results == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "hello",
        "s_",
        "s_doesNotExist123",
        "s_a.b",
        "x_abc",
        "https://t.me/followup_test_bot?start=s_abc",
        "s_" + "a" * 63,  # one over the 64 characters of a deep-link payload
        "s_" + "a" * 254,  # Telegram's longest query
        "s_" + "я" * 1000,
    ],
    ids=[
        "empty",
        "word",
        "no-token",
        "unknown",
        "bad-char",
        "bad-kind",
        "url",
        "65",
        "256",
        "long",
    ],
)
async def test_garbage_answers_nothing(
    harness: Harness, db: Database, manager: User, query: str
) -> None:
    inline_on(harness)
    await sale(harness, db)
    assert (await ask(harness, manager, query)).results == []


async def test_an_invite_or_referral_token_is_not_a_survey(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    for kind in (LinkKind.INVITE, LinkKind.REFERRAL):
        query = make_payload(kind, result.survey_token)
        assert (await ask(harness, manager, query)).results == []


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
async def test_a_query_typed_in_a_group_answers_nothing(
    harness: Harness, db: Database, manager: User, chat_type: str
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    assert (await ask(harness, manager, payload, chat_type)).results == []


@pytest.mark.parametrize("chat_type", ["private", "sender", None])
async def test_a_private_secret_or_own_chat_gets_the_card(
    harness: Harness, db: Database, manager: User, chat_type: str | None
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    the_card(await ask(harness, manager, payload, chat_type))


async def test_an_answer_too_late_is_only_logged(
    harness: Harness, db: Database, manager: User, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram waits about 10 s for an answer; a late one is refused, and nobody is told
    "something went wrong" about it."""
    inline_on(harness)
    result = await sale(harness, db)
    harness.session.fail_next("AnswerInlineQuery", error_code=400, description=QUERY_INVALID)
    with caplog.at_level(logging.INFO):
        await ask(harness, manager, make_payload(LinkKind.SURVEY, result.survey_token))
    assert "answered too late" in caplog.text
    assert "failed" not in caplog.text


async def test_another_refusal_still_reaches_the_error_handler(
    harness: Harness, db: Database, manager: User, caplog: pytest.LogCaptureFixture
) -> None:
    """Only "too late" is swallowed: a real failure is logged as one, and nobody gets a message
    (an inline query has no chat to apologise in)."""
    inline_on(harness)
    result = await sale(harness, db)
    harness.session.fail_next(
        "AnswerInlineQuery", error_code=400, description="Bad Request: RESULT_ID_INVALID"
    )
    with caplog.at_level(logging.INFO):
        await ask(harness, manager, make_payload(LinkKind.SURVEY, result.survey_token))
    assert "failed" in caplog.text and "RESULT_ID_INVALID" in caplog.text


# --- the chosen card ------------------------------------------------------------------------


async def choose(h: Harness, user: User, result_id: str, query: str = "") -> list[Any]:
    chosen = ChosenInlineResult(result_id=result_id, from_user=user, query=query)
    return await h.feed({"chosen_inline_result": chosen})


async def test_the_chosen_card_is_noted_on_the_survey(
    harness: Harness, db: Database, manager: User, caplog: pytest.LogCaptureFixture
) -> None:
    inline_on(harness)
    result = await sale(harness, db)
    payload = make_payload(LinkKind.SURVEY, result.survey_token)
    article = the_card(await ask(harness, manager, payload))
    assert await invited_at(db, result.survey_token) is None
    with caplog.at_level(logging.INFO):
        assert await choose(harness, manager, article.id, payload) == []  # nothing is sent
    first = await invited_at(db, result.survey_token)
    assert first == "2026-11-20 07:00:00"
    assert "the invitation was sent" in caplog.text
    assert result.survey_token not in caplog.text  # the token never reaches the log

    harness.clock.advance(hours=1)  # sent again to the same person: the first time stays
    await choose(harness, manager, article.id, payload)
    assert await invited_at(db, result.survey_token) == first


async def test_a_forged_or_foreign_result_id_notes_nothing(
    harness: Harness, db: Database, manager: User
) -> None:
    inline_on(harness)
    invite = await create_invite(db, OWNER_ID, harness.clock())
    await redeem_invite(db, invite.token, OTHER_MANAGER, "Мария", None, "ru", harness.clock())
    theirs = await sale(harness, db, manager=OTHER_MANAGER)
    article = the_card(
        await ask(
            harness,
            harness.user(OTHER_MANAGER, "Мария"),
            make_payload(LinkKind.SURVEY, theirs.survey_token),
        )
    )
    for forged in (article.id, "inv-", "inv-x", "inv-" + "9" * 40, "garbage", ""):
        await choose(harness, manager, forged)
    await choose(harness, harness.user(CLIENT_TG, "Анна"), article.id)  # a stranger
    assert await invited_at(db, theirs.survey_token) is None


# --- the button under the link --------------------------------------------------------------


def chosen_chat_buttons(request: SendMessage | EditMessageText) -> list[Any]:
    markup = request.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [b for row in markup.inline_keyboard for b in row if b.switch_inline_query_chosen_chat]


def saved_message(bot: SaleBot) -> SendMessage | EditMessageText:
    """The message with the survey link, sent or edited into the conversation's card (the QR
    picture's caption has the link too, and is a photo): the last one shown."""
    shown = [
        r
        for r in bot.h.session.requests
        if isinstance(r, SendMessage | EditMessageText)
        and r.chat_id == MANAGER_ID
        and "?start=s_" in r.text
    ]
    assert shown, [getattr(r, "text", r) for r in bot.h.session.requests]
    return shown[-1]


async def test_the_link_comes_with_a_send_to_the_client_button(
    harness: Harness, db: Database
) -> None:
    inline_on(harness)
    await add_manager(harness, db)
    bot = SaleBot(harness)
    await bot.fill()
    await bot.press("Сохранить")
    message = saved_message(bot)
    [button] = chosen_chat_buttons(message)
    assert button.text == "📨 Отправить клиенту"
    chosen = button.switch_inline_query_chosen_chat
    token = message.text.split("?start=s_", 1)[1].split()[0]
    assert chosen.query == f"s_{token}"
    assert (chosen.allow_user_chats, chosen.allow_bot_chats) == (True, False)
    assert (chosen.allow_group_chats, chosen.allow_channel_chats) == (False, False)
    # the QR picture and the text to forward stay
    photos = [r for r in harness.session.requests if type(r).__name__ == "SendPhoto"]
    assert len(photos) == 1 and f"start=s_{token}" in (photos[0].caption or "")
    # and what the button types is answered with the card
    the_card(await ask(harness, bot.user, chosen.query))


async def test_no_button_when_inline_mode_is_off(harness: Harness, db: Database) -> None:
    # the harness's bot is as getMe describes a bot without /setinline
    assert not harness.bot._me.supports_inline_queries  # type: ignore[union-attr]
    await add_manager(harness, db)
    bot = SaleBot(harness)
    await bot.fill()
    await bot.press("Сохранить")
    message = saved_message(bot)
    assert message.reply_markup is None
    assert len([r for r in harness.session.requests if type(r).__name__ == "SendPhoto"]) == 1


@pytest.mark.parametrize(
    ("kind", "lang", "label"),
    [
        ("client", "ru", "📨 Отправить клиенту"),
        ("client", "en", "📨 Send to the client"),
        ("supplier", "ru", "📨 Отправить партнёру"),
        ("contractor", "en", "📨 Send to the partner"),
        ("partner", "en", "📨 Send to the partner"),
    ],
)
def test_the_button_speaks_the_managers_language_and_kind(kind: str, lang: str, label: str) -> None:
    on = User(id=1, is_bot=True, first_name="Bot", supports_inline_queries=True)
    markup = send_to_client_markup(on, "tok", kind, lang)
    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert button.text == label and button.switch_inline_query_chosen_chat.query == "s_tok"
    off = User(id=1, is_bot=True, first_name="Bot")  # getMe without the field: off
    assert send_to_client_markup(off, "tok", kind, lang) is None


def test_result_ids_round_trip_and_refuse_anything_else() -> None:
    assert parse_result_id(result_id(42)) == 42
    assert len(result_id(2**63 - 1).encode()) <= 64
    for bad in ("42", "inv-", "inv--1", "inv-1.5", "inv-" + "1" * 19, "xinv-1", "inv-١"):
        assert parse_result_id(bad) is None, bad


async def test_the_schema_has_invited_at(db: Database) -> None:
    async with db.read() as conn:
        cur = await conn.execute("SELECT name FROM pragma_table_info('surveys')")
        assert "invited_at" in {row[0] for row in await cur.fetchall()}


@pytest.mark.parametrize("inline", [True, False])
async def test_a_link_to_resend_comes_with_the_button_too(
    harness: Harness, db: Database, inline: bool
) -> None:
    """The plan's "resend the survey" card shows the link to the manager again: with inline mode
    on, the same one-tap button is under it."""
    if inline:
        inline_on(harness)
    payload = await setup_sale(harness, db)
    at(harness, 2026, 11, 23, 9, 0)  # Monday; the link was made on Friday 20.11, never opened
    plan = sends(await harness.tick(), MANAGER_ID)[0]
    card = await open_card(harness, plan, "Переслать опрос")
    assert f"start={payload}" in card.text
    buttons = chosen_chat_buttons(card)
    if not inline:
        assert buttons == []
        return
    [button] = buttons
    assert button.text == "📨 Отправить клиенту"
    assert button.switch_inline_query_chosen_chat.query == payload
    the_card(await ask(harness, harness.user(MANAGER_ID, "Пётр"), payload))


def test_the_bot_asks_telegram_for_inline_updates(harness: Harness) -> None:
    """allowed_updates (getUpdates and setWebhook) come from the handlers registered: without
    these two, Telegram would never send the queries the button types."""
    used = set(harness.dp.resolve_used_update_types())
    assert {"inline_query", "chosen_inline_result", "message", "callback_query"} <= used


@pytest.mark.parametrize("inline", [False, True])
async def test_the_start_up_says_when_inline_mode_is_off(
    harness: Harness, inline: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """getMe is asked at start (aiogram keeps the answer); the log tells the owner how to turn
    inline mode on when it is off."""
    harness.bot._me = None
    harness.session.supports_inline_queries = inline
    with caplog.at_level(logging.INFO):
        data = {"dispatcher": harness.dp, **harness.dp.workflow_data}
        await harness.dp.emit_startup(bot=harness.bot, **data)
        try:
            assert harness.bot._me is not None
            assert harness.bot._me.supports_inline_queries is inline
        finally:
            await harness.dp.emit_shutdown(bot=harness.bot, **data)
    assert ("/setinline at @BotFather" in caplog.text) is not inline
