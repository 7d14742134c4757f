"""Typed texts handled again after a crash (case note, resolution, contact comment, settings value):
stored once, and answered as saved instead of "I didn't understand".

Two crashes are played, each through the real dispatcher and update journal: the process died
between the save and clearing the conversation state (the state is put back as it was and the
journal's end mark removed), or after clearing it, before "saved" went out (the bot's session dies
on that request). Then the very same Update is fed again, as Telegram redelivers it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Update

from storage import Database
from tests.conftest import OWNER_ID
from tests.harness import Harness, replies
from tests.helpers.cases import act, add_manager, detractor, events
from tests.helpers.chat_settings import Owner, stored
from tests.helpers.contacts import Staff, add_contact
from tests.helpers.replay import Crash, crash_on
from tests.helpers.survey import CLIENT_ID, MANAGER_ID

NOT_UNDERSTOOD = "Я не понял"


async def type_and_die(h: Harness, user_id: int, text: str, *, before_clear: bool) -> Update:
    """Type `text`; the process dies after its save, before (or after) the state was cleared.
    Returns the update, to be delivered again."""
    user = h.user(user_id, "Сотрудник")
    if before_clear:
        ctx = h.dp.fsm.get_context(bot=h.bot, chat_id=user_id, user_id=user_id)
        state, data = await ctx.get_state(), await ctx.get_data()
        await h.send(user, text)
        await ctx.set_state(state)
        await ctx.set_data(data)
        async with h.dp["db"].transaction() as conn:
            await conn.execute("UPDATE handled_updates SET done_at = NULL")
    else:
        saved = ("📝", "✅", "Комментарий сохранён", "Сохранено")
        crash_on(
            h,
            lambda m: isinstance(m, SendMessage) and m.text.lstrip().startswith(saved),
            delivered=False,
        )
        with pytest.raises(Crash):
            await h.send(user, text)
    return Update.model_validate(h.last_update, context={"bot": h.bot})


async def again(h: Harness, update: Update) -> list[TelegramMethod[Any]]:
    before = len(h.session.requests)
    await h.dp.feed_update(h.bot, update)
    return h.session.requests[before:]


def no_fallback(sent: list[TelegramMethod[Any]]) -> list[str]:
    texts = replies(sent)
    assert not [t for t in texts if NOT_UNDERSTOOD in t], texts
    return texts


BEFORE_AFTER = pytest.mark.parametrize("before_clear", [True, False], ids=["state-kept", "cleared"])


@BEFORE_AFTER
async def test_a_replayed_case_note_is_stored_once(
    harness: Harness, db: Database, before_clear: bool
) -> None:
    h = harness
    await add_manager(db, MANAGER_ID, "Пётр Иванов", h.clock())
    await detractor(h, db)
    await act(h, MANAGER_ID, 1, "take")
    await act(h, MANAGER_ID, 1, "note")
    update = await type_and_die(h, MANAGER_ID, "Позвонил, извинился", before_clear=before_clear)
    texts = no_fallback(await again(h, update))
    assert texts[0] == "📝 Заметка добавлена к случаю №1."
    assert [e for e in await events(db) if e[0] == "note"] == [
        ("note", MANAGER_ID, "Позвонил, извинился")
    ]
    assert await again(h, update) == []  # handled to the end now: skipped


@BEFORE_AFTER
async def test_a_replayed_resolution_is_stored_once_and_asks_the_client_once(
    harness: Harness, db: Database, before_clear: bool
) -> None:
    h = harness
    await add_manager(db, MANAGER_ID, "Пётр Иванов", h.clock())
    await detractor(h, db)
    await act(h, MANAGER_ID, 1, "take")
    await act(h, MANAGER_ID, 1, "resolve")
    update = await type_and_die(h, MANAGER_ID, "Заменили дверцу", before_clear=before_clear)
    texts = no_fallback(await again(h, update))
    assert texts[0].startswith("✅ Случай №1 решён.")
    if before_clear:  # the handler ran again in full: it says the client is asked, as before
        assert "Бот спросит клиента" in texts[0] or "спросит клиента" in texts[0]
    assert [e[0] for e in await events(db)].count("resolved") == 1
    async with db.read() as conn:
        row = await (
            await conn.execute("SELECT count(*) FROM outbox WHERE chat_id = ?", (CLIENT_ID,))
        ).fetchone()
    assert row[0] == 1
    assert await again(h, update) == []


@BEFORE_AFTER
async def test_a_replayed_contact_comment_is_stored_once(
    harness: Harness, db: Database, before_clear: bool
) -> None:
    team = harness
    await add_manager(db, MANAGER_ID, "Пётр Иванов", team.clock())
    await add_contact(team, db, "Анна Смирнова")
    m = Staff(team, MANAGER_ID)
    await m.say("/find Смирнова")
    await m.press("Добавить комментарий")
    update = await type_and_die(team, MANAGER_ID, "Хочет кухню", before_clear=before_clear)
    texts = no_fallback(await again(team, update))
    assert texts[0].startswith("Комментарий сохранён.")
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT text FROM comments")).fetchall()
    assert [r[0] for r in rows] == ["Хочет кухню"]
    assert await again(team, update) == []
    # a new message after the conversation ended is still not taken as a comment
    assert NOT_UNDERSTOOD in (await m.say("Хочет кухню"))[0]


@BEFORE_AFTER
async def test_a_replayed_settings_value_is_answered_as_saved(
    harness: Harness, db: Database, before_clear: bool
) -> None:
    owner = Owner(harness)
    await owner.open("Название компании")
    update = await type_and_die(harness, OWNER_ID, "Ландыш", before_clear=before_clear)
    texts = no_fallback(await again(harness, update))
    assert texts[0].startswith("✅ Сохранено: Название компании")
    assert "Ландыш" in texts[0]
    assert (await stored(db))["company_name"] == "Ландыш"
    assert await again(harness, update) == []
