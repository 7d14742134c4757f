"""Groups and `my_chat_member` (handlers/membership.py), through the real dispatcher: a button
pressed in a group is answered, a group the bot is added to is told and left, and a person who
blocks or unblocks the bot is marked at once, with one notice to the manager."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from aiogram import Bot, F, Router
from aiogram.methods import AnswerCallbackQuery, LeaveChat, SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    User,
)

from storage import Database
from storage.sale import mark_unreachable
from storage.surveys import surveys_left_waiting
from tests.conftest import OWNER_ID
from tests.harness import BOT_USERNAME, Harness
from tests.helpers.survey import CLIENT_ID, MANAGER_ID, Respondent, setup_sale
from views.texts import plain, t

GROUP_ID = -1001234567890
NOTICE = "бот больше не может писать этому человеку"


def bot_user(h: Harness) -> User:
    return User(id=h.bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)


def chat(kind: str, chat_id: int = GROUP_ID, title: str | None = "Отдел продаж") -> Chat:
    return Chat(id=chat_id, type=kind, title=title)


async def membership(
    h: Harness, where: Chat, by: User, old: Any, new: Any
) -> list[TelegramMethod[Any]]:
    event = ChatMemberUpdated(
        chat=where, from_user=by, date=h.clock(), old_chat_member=old, new_chat_member=new
    )
    return await h.feed({"my_chat_member": event})


async def added(h: Harness, where: Chat, by: User) -> list[TelegramMethod[Any]]:
    me = bot_user(h)
    return await membership(h, where, by, ChatMemberLeft(user=me), ChatMemberMember(user=me))


async def blocks(h: Harness, person: User) -> list[TelegramMethod[Any]]:
    me, private = bot_user(h), Chat(id=person.id, type="private", first_name=person.first_name)
    banned = ChatMemberBanned(user=me, until_date=datetime.fromtimestamp(0))
    return await membership(h, private, person, ChatMemberMember(user=me), banned)


async def unblocks(h: Harness, person: User) -> list[TelegramMethod[Any]]:
    me, private = bot_user(h), Chat(id=person.id, type="private", first_name=person.first_name)
    banned = ChatMemberBanned(user=me, until_date=datetime.fromtimestamp(0))
    return await membership(h, private, person, banned, ChatMemberMember(user=me))


async def unreachable_at(db: Database) -> str | None:
    async with db.read() as conn:
        row = await (await conn.execute("SELECT unreachable_at FROM contacts")).fetchone()
    return row[0]


def sends(requests: list[TelegramMethod[Any]]) -> list[SendMessage]:
    return [r for r in requests if isinstance(r, SendMessage)]


# --- groups -------------------------------------------------------------------------------------


async def test_a_button_pressed_in_a_group_is_answered_with_an_alert(harness: Harness) -> None:
    for kind in ("group", "supergroup"):
        somebody = harness.user(4242, "Гость")
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="10", callback_data="sv:1:10")]]
        )
        message = Message(
            message_id=7, date=harness.clock(), chat=chat(kind), text="…", reply_markup=markup
        )
        query = CallbackQuery(
            id=f"q-{kind}", from_user=somebody, chat_instance="g", data="sv:1:10", message=message
        )
        sent = await harness.feed({"callback_query": query})
        (answer,) = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
        assert answer.show_alert and answer.text == plain("ru", "group.only_private")
        assert sends(sent) == []  # nothing said in the group, no survey touched


async def test_added_to_a_group_the_bot_says_why_leaves_and_tells_who_added_it(
    harness: Harness,
) -> None:
    olga = harness.user(OWNER_ID, "Ольга")
    await harness.send(olga, "/start")  # she has started the bot: it may write to her
    sent = await added(harness, chat("supergroup"), olga)
    kinds = [type(r).__name__ for r in sent if not type(r).__name__.startswith("Get")]
    assert kinds == ["SendMessage", "LeaveChat", "SendMessage"]
    in_group, told = sends(sent)
    assert in_group.chat_id == GROUP_ID
    assert in_group.text == t("ru", "group.leaving", bot=BOT_USERNAME)
    assert [r.chat_id for r in sent if isinstance(r, LeaveChat)] == [GROUP_ID]
    assert told.chat_id == OWNER_ID
    assert told.text == t("ru", "group.left", chat="Отдел продаж")
    assert in_group.reply_markup is None and told.reply_markup is None


async def test_a_person_who_never_started_the_bot_is_told_in_the_group_only(
    harness: Harness,
) -> None:
    stranger = harness.user(4343, "Guest", lang="en")
    harness.session.fail_next(
        "SendMessage",
        error_code=403,
        description="Forbidden: bot can't initiate conversation with a user",
        chat_id=stranger.id,
    )
    sent = await added(harness, chat("group", title="Sales"), stranger)
    assert [(r.chat_id, r.text) for r in sends(sent)] == [
        (GROUP_ID, t("en", "group.leaving", bot=BOT_USERNAME)),
        (stranger.id, t("en", "group.left", chat="Sales")),  # refused: he never started it
    ]
    assert [r.chat_id for r in sent if isinstance(r, LeaveChat)] == [GROUP_ID]
    # no apology anywhere: the refusal is not an error of the update
    assert not [r for r in sends(sent) if "пошло не так" in r.text or "went wrong" in r.text]


async def test_a_channel_gets_no_post_and_is_left(harness: Harness) -> None:
    olga = harness.user(OWNER_ID, "Ольга")
    sent = await added(harness, chat("channel", title="Новости"), olga)
    assert [r.chat_id for r in sends(sent)] == [OWNER_ID]
    assert [r.chat_id for r in sent if isinstance(r, LeaveChat)] == [GROUP_ID]


async def test_being_removed_from_a_group_is_not_answered(harness: Harness) -> None:
    me, olga = bot_user(harness), harness.user(OWNER_ID, "Ольга")
    sent = await membership(
        harness, chat("group"), olga, ChatMemberMember(user=me), ChatMemberLeft(user=me)
    )
    assert [r for r in sent if not type(r).__name__.startswith("Get")] == []


def test_my_chat_member_is_asked_for_in_polling_and_webhook(harness: Harness) -> None:
    """Both modes ask Telegram for `dp.resolve_used_update_types()` (bot/polling.py,
    bot/webhook.py): the membership router puts my_chat_member in it."""
    used = harness.dp.resolve_used_update_types()
    assert {"message", "callback_query", "my_chat_member"} <= set(used)


# --- blocking and unblocking --------------------------------------------------------------------


async def test_a_block_marks_the_person_at_once_and_the_manager_is_told_once(
    harness: Harness, db: Database
) -> None:
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    assert await blocks(harness, anna.user) == []  # nothing is sent to a person who blocked
    assert await unreachable_at(db) == "2026-11-20 07:00:00"
    notices = [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text]
    assert len(notices) == 1 and "Анна Смирнова" in notices[0]
    # the same block seen again (a failed send's 403, the update redelivered): no second notice
    harness.clock.advance(minutes=3)
    await mark_unreachable(db, 1, harness.clock())
    await blocks(harness, anna.user)
    assert await unreachable_at(db) == "2026-11-20 07:00:00"
    assert [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text] == []


async def test_unblocking_makes_the_person_reachable_again(harness: Harness, db: Database) -> None:
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    await blocks(harness, anna.user)
    await harness.tick()
    assert await unblocks(harness, anna.user) == []
    assert await unreachable_at(db) is None
    harness.clock.advance(minutes=1)
    assert [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text] == []
    # blocked again a day later: a new fact, told again
    harness.clock.advance(days=1)
    await blocks(harness, anna.user)
    notices = [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text]
    assert len(notices) == 1


async def test_a_block_unblocked_before_the_tick_tells_nobody(
    harness: Harness, db: Database
) -> None:
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    await blocks(harness, anna.user)
    await unblocks(harness, anna.user)
    assert [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text] == []


async def test_staff_and_strangers_blocking_change_nothing(harness: Harness, db: Database) -> None:
    await setup_sale(harness, db)  # Anna's contact exists but was never opened by anybody
    for who in (harness.user(OWNER_ID, "Ольга"), harness.user(CLIENT_ID + 1, "Гость")):
        assert await blocks(harness, who) == []
    assert await unreachable_at(db) is None


def replies_of(requests: list[TelegramMethod[Any]], chat_id: int) -> list[str]:
    return [r.text for r in sends(requests) if r.chat_id == chat_id]


# --- blocked in the middle of an update ---------------------------------------------------------

BLOCKED = "Forbidden: bot was blocked by the user"


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def scores(db: Database) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT score, reason_at FROM surveys")
        return [tuple(r) for r in await cur.fetchall()]


@pytest.mark.parametrize("how", ["tap", "typed"])
async def test_a_block_in_the_middle_of_a_survey_marks_the_person_and_keeps_the_answer(
    harness: Harness, db: Database, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """She taps (or types) her score and blocks the bot at once: the next question fails with
    403. Before: an ERROR with a traceback and an apology tried in the same chat; the person was
    marked only by a later send of the outbox, if any."""
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    caplog.set_level(logging.INFO)
    harness.session.fail_next(
        "SendMessage", error_code=403, description=BLOCKED, chat_id=anna.user.id
    )
    sent = await (anna.tap("9") if how == "tap" else harness.send(anna.user, "9"))
    assert await scores(db) == [(9, None)]  # her answer stays
    assert await unreachable_at(db) == "2026-11-20 07:00:00"
    assert await surveys_left_waiting(db) == []  # no question tried again at the next start
    to_her = [r for r in sends(sent) if r.chat_id == anna.user.id]
    assert len(to_her) == 1  # the refused question; no apology after it
    answers = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
    assert all(not r.show_alert for r in answers)  # no "something went wrong" box either
    assert failure_lines(caplog) == []
    (line,) = [r for r in caplog.records if "blocked the bot in the middle" in r.getMessage()]
    assert line.levelno == logging.INFO and "bot was blocked by the user" in line.getMessage()
    # the manager is told once, as for my_chat_member, however often the block is seen again
    notices = [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text]
    assert len(notices) == 1 and "Анна Смирнова" in notices[0]
    await blocks(harness, anna.user)
    harness.clock.advance(minutes=2)
    assert [text for text in replies_of(await harness.tick(), MANAGER_ID) if NOTICE in text] == []


async def test_a_403_for_somebody_elses_chat_does_not_mark_the_person(
    harness: Harness, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler of Анна's update writes to the manager, who has blocked the bot: the 403 is
    the manager's, not hers. (No handler of ours lets such a 403 escape today; this one, put in
    front of the real routers, stands for one that would.)"""
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    extra = Router(name="tells-the-manager")

    @extra.message(F.text == "позовите менеджера")
    async def tell_manager(message: Message, bot: Bot) -> None:
        await bot.send_message(MANAGER_ID, "Анна просит перезвонить")

    harness.dp.include_router(extra)
    harness.dp.sub_routers.insert(0, harness.dp.sub_routers.pop())
    harness.session.fail_next("SendMessage", error_code=403, description=BLOCKED)
    caplog.set_level(logging.INFO)
    sent = await harness.send(anna.user, "позовите менеджера")
    assert await unreachable_at(db) is None
    assert [r.chat_id for r in sends(sent)] == [MANAGER_ID, anna.user.id]  # then the apology
    assert sends(sent)[1].text == t("ru", "error.generic")
    assert any(r.levelno == logging.ERROR for r in caplog.records)
