"""What a person who is not staff and not answering a survey reads, and what unknown commands
say, through the real dispatcher: the chat each person ends up with (how many messages the bot
sent, their final texts and buttons)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram.methods import SendMessage
from aiogram.types import User

from bot import dispatching
from bot.app import create_bot, create_dispatcher
from domain.roles import Role
from domain.settings import Settings
from scheduler.sender import Sender
from storage import Database
from storage.forget import erase_respondent
from storage.strangers import (
    GREETING_EVERY,
    KEEP,
    SHORT_LINE_EVERY,
    Reply,
    decide,
    prune_strangers,
)
from storage.timefmt import ts
from tests.conftest import OWNER_ID, START
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, Harness, replies
from tests.helpers.chat import assert_one_live_set, bot_messages, chat_of
from tests.helpers.survey import MANAGER_ID, Respondent, setup_sale
from views.menus import COMMANDS, MAY_USE
from views.texts import t

ROOT = Path(__file__).resolve().parent.parent
STRANGER = 4001
GREETING = t("ru", "start.guest", company="Ромашка")
SHORT = t("ru", "stranger.short")


def sent_to(h: Harness, user_id: int) -> list[SendMessage]:
    """Every message the bot sent to this person, in order."""
    return [r for r in h.sent(user_id) if isinstance(r, SendMessage)]


async def test_ten_stickers_in_a_row_bring_one_greeting(harness: Harness) -> None:
    guest = harness.user(STRANGER, "Гость")
    for _ in range(10):
        await harness.send_sticker(guest)
        harness.clock.advance(seconds=20)
    chat = chat_of(harness, guest)
    assert [m.text for m in bot_messages(chat)] == [html.unescape(GREETING)]
    assert assert_one_live_set(chat) is None  # nothing to tap, nothing left live


async def test_a_sticker_a_minute_brings_a_short_line_every_five_minutes(
    harness: Harness,
) -> None:
    guest = harness.user(STRANGER, "Гость")
    for _ in range(10):
        await harness.send_sticker(guest)
        harness.clock.advance(minutes=1)
    # minute 0: the greeting; minute 5: a short line; the rest: nothing
    assert [m.text for m in sent_to(harness, STRANGER)] == [GREETING, SHORT]


async def test_files_and_text_are_strangers_messages_too(harness: Harness) -> None:
    guest = harness.user(STRANGER, "Гость", lang="en")
    await harness.send(guest, "hello?")
    harness.clock.advance(minutes=6)
    await harness.send(guest, "anybody here?")
    assert [m.text for m in sent_to(harness, STRANGER)] == [
        t("en", "start.guest", company="Ромашка"),
        t("en", "stranger.short"),
    ]


async def test_the_greeting_comes_again_the_next_day_even_after_a_restart(
    harness: Harness, settings: Settings, db: Database
) -> None:
    guest = harness.user(STRANGER, "Гость")
    await harness.send_sticker(guest)
    # the bot restarts: a new dispatcher on the same database file
    session = RecordingSession(BOT_USERNAME)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db, harness.clock, rate=0, per_chat_interval=0)
    again = Harness(
        bot=bot,
        session=session,
        clock=harness.clock,
        sender=sender,
        dp=create_dispatcher(settings, db, sender, harness.clock),
    )
    try:
        again.clock.advance(hours=23)
        assert replies(await again.send_sticker(guest)) == [SHORT]
        again.clock.advance(hours=1)
        assert replies(await again.send_sticker(guest)) == [GREETING]
    finally:
        await again.dp["followup"].stop()


async def test_start_is_always_answered_and_counts_as_the_greeting(harness: Harness) -> None:
    guest = harness.user(STRANGER, "Гость")
    await harness.send_sticker(guest)
    assert replies(await harness.send(guest, "/start")) == [GREETING]  # asked for: given
    assert replies(await harness.send_sticker(guest)) == []  # just greeted


async def test_staff_are_answered_every_time(harness: Harness, db: Database) -> None:
    await setup_sale(harness, db)
    manager = harness.user(MANAGER_ID, "Пётр")
    for _ in range(3):
        assert replies(await harness.send_sticker(manager)) == [t("ru", "unknown_message")]


async def test_forget_takes_the_greeting_record_too(harness: Harness, db: Database) -> None:
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    await anna.send("/cancel")  # the survey paused: she is nobody's respondent now
    assert replies(await harness.send_sticker(anna.user)) == [GREETING]
    assert await stranger_rows(db) == [(anna.user.id,)]
    await erase_respondent(db, anna.user.id, harness.clock())
    assert await stranger_rows(db) == []


async def stranger_rows(db: Database) -> list[tuple[int]]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT user_id FROM stranger_replies ORDER BY user_id")
        rows = await cur.fetchall()
    return [tuple(r) for r in rows]


async def test_strangers_of_last_week_are_kept_and_older_ones_pruned(
    harness: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's periodic pruning (every `PRUNE_EVERY` finished updates; here every one)
    takes the strangers last answered more than a week ago and keeps the others; a stranger
    pruned is greeted again as a new one, once. Before: rows were never pruned."""
    monkeypatch.setattr(dispatching, "PRUNE_EVERY", 1)
    old, recent, today = (harness.user(uid, "Гость") for uid in (4001, 4002, 4003))
    await harness.send_sticker(old)
    harness.clock.advance(days=2)
    await harness.send_sticker(recent)
    harness.clock.advance(days=5)
    assert replies(await harness.send_sticker(today)) == [GREETING]
    assert await stranger_rows(db) == [(old.id,), (recent.id,), (today.id,)]  # a week, not more
    harness.clock.advance(minutes=1)
    assert replies(await harness.send_sticker(today)) == []  # an update: the pruning runs
    assert await stranger_rows(db) == [(recent.id,), (today.id,)]
    # the pruned stranger is greeted as a new one, once; a kept one goes on where it was
    assert replies(await harness.send_sticker(old)) == [GREETING]
    assert replies(await harness.send_sticker(old)) == []
    harness.clock.advance(minutes=5)
    assert replies(await harness.send_sticker(today)) == [SHORT]  # greeted 6 minutes ago
    assert await stranger_rows(db) == [(old.id,), (recent.id,), (today.id,)]


async def test_pruning_keeps_a_row_answered_within_the_week(db: Database) -> None:
    """Greeted eight days ago but answered with a short line six days ago: kept (the last
    answer counts); exactly a week old: kept; a week and a second: gone."""
    for user_id, greeted, replied in (
        (1, START, START + timedelta(days=2)),
        (2, START, START + timedelta(days=1)),
        (3, START + timedelta(seconds=1), START + timedelta(days=1, seconds=-1)),
    ):
        await db.write(
            lambda raw, u=user_id, g=greeted, r=replied: raw.execute(
                "INSERT INTO stranger_replies VALUES (?, ?, ?)", (u, ts(g), ts(r))
            )
        )
    now = START + timedelta(days=1) + KEEP
    assert await prune_strangers(db, now) == 1
    assert await stranger_rows(db) == [(1,), (2,)]


def test_the_rule_alone() -> None:
    assert decide(None, None, START) is Reply.GREETING
    assert decide(START, START, START + SHORT_LINE_EVERY / 2) is Reply.NONE
    assert decide(START, START, START + SHORT_LINE_EVERY) is Reply.SHORT
    assert decide(START, START + GREETING_EVERY / 2, START + GREETING_EVERY) is Reply.GREETING


# --- unknown commands ---------------------------------------------------------------------------

ROLES = {OWNER_ID: Role.OWNER, MANAGER_ID: Role.MANAGER, STRANGER: Role.GUEST}


@pytest.mark.parametrize("who", list(ROLES))
async def test_an_unknown_command_says_so_and_lists_what_the_role_can_do(
    harness: Harness, db: Database, who: int
) -> None:
    await setup_sale(harness, db)
    (text,) = replies(await harness.send(harness.user(who, "Кто-то"), "/foo"))
    assert text.startswith("Неизвестная команда: /foo.")
    listed = re.findall(r"^/([a-z]+) — ", text, re.MULTILINE)
    role = ROLES[who]
    assert listed and all(role in MAY_USE[c] for c in listed), listed
    assert set(COMMANDS[role]) <= set(listed)  # the whole menu, at least
    assert "недоступна" not in text


async def test_a_mention_and_capitals_are_the_same_command(harness: Harness) -> None:
    stranger = harness.user(STRANGER, "Гость")
    (text,) = replies(await harness.send(stranger, f"/NPS@{BOT_USERNAME}"))
    assert text == t("ru", "command.owner_only", command="/nps")


async def test_a_real_command_not_for_this_role_says_who_may_use_it(
    harness: Harness, db: Database
) -> None:
    await setup_sale(harness, db)
    manager, stranger = harness.user(MANAGER_ID, "Пётр"), harness.user(STRANGER, "Guest", lang="en")
    assert replies(await harness.send(manager, "/nps")) == [
        "Команда /nps вам недоступна: она только для владельца бота. /help — что вы можете."
    ]
    assert replies(await harness.send(stranger, "/sale")) == [
        "Only the company's staff can use /sale. /help — what you can do."
    ]


async def test_a_very_long_command_is_quoted_cut(harness: Harness) -> None:
    (text,) = replies(await harness.send(harness.user(STRANGER, "Гость"), "/" + "a" * 4000))
    assert len(text) < 1000 and "…" in text


def test_every_command_a_handler_registers_is_known_and_nothing_else() -> None:
    """A new command without a line in views/menus.MAY_USE would be answered "unknown"."""
    registered: set[str] = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        registered |= set(re.findall(r"""Command\(\s*["']([a-z_]+)["']""", path.read_text()))
    registered |= {"start"}  # CommandStart()
    assert registered == set(MAY_USE)
