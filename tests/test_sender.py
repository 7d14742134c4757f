"""The outbox sender against the fake Bot API over real HTTP: 429, 403, dropped connections,
crashes between claim and send (the limits and concurrency: tests/test_sender_limits.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from scheduler.sender import Sender
from storage import Database
from storage.forget import erase_contact
from storage.outbox import claim_due, enqueue
from storage.timefmt import ts
from tests.fakes.bot_api import FakeBotAPI
from tests.harness import TOKEN, FakeClock

CHAT = 4001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN, bot_id=int(TOKEN.split(":")[0])) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
    yield bot
    await bot.session.close()


def make_sender(bot: Bot, db: Database, clock: FakeClock) -> Sender:
    return Sender(bot, db, clock, rate=0, per_chat_interval=0)


async def add_contact(db: Database, now: datetime) -> int:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (kind, full_name, tg_user_id, created_at, updated_at) "
            "VALUES ('client', 'Анна', ?, ?, ?)",
            (CHAT, ts(now), ts(now)),
        )
        return int(cur.lastrowid or 0)


async def queue(db: Database, now: datetime, text: str, **kw: object) -> int | None:
    async with db.transaction() as conn:
        return await enqueue(
            conn,
            chat_id=kw.pop("chat_id", CHAT),
            purpose="test",
            payload={"text": text},
            now=now,
            **kw,  # type: ignore[arg-type]
        )


async def outbox(db: Database) -> list[tuple]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT status, message_id, attempts FROM outbox ORDER BY id")
        return [tuple(r) for r in await cur.fetchall()]


async def test_delivers_in_order_and_logs_contacts(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    contact = await add_contact(db, clock())
    for i in range(3):
        await queue(db, clock(), f"сообщение {i}", contact_id=contact)
    assert await make_sender(bot, db, clock).drain_once() == 3
    user = api.user(CHAT, "Анна")
    assert [m.text for m in user.messages] == ["сообщение 0", "сообщение 1", "сообщение 2"]
    assert await outbox(db) == [("sent", m.message_id, 1) for m in user.messages]
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM contact_log WHERE contact_id = ?", (contact,)
        )
        assert (await cur.fetchone())[0] == 3


async def test_idempotency_key_queues_once(db: Database, clock: FakeClock) -> None:
    assert await queue(db, clock(), "a", idem_key="alert:1") is not None
    assert await queue(db, clock(), "a", idem_key="alert:1") is None
    assert len(await outbox(db)) == 1


async def test_flood_control_is_honoured(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock(), "привет")
    api.fail_next("sendMessage", error_code=429, retry_after=2)
    sender = make_sender(bot, db, clock)
    assert await sender.drain_once() == 0
    assert (await outbox(db))[0][0] == "pending"
    clock.advance(seconds=1)
    assert await sender.drain_once() == 0  # not yet due
    clock.advance(seconds=1)
    assert await sender.drain_once() == 1  # after sleeping out the rest of the pause
    assert [m.text for m in api.user(CHAT, "Анна").messages] == ["привет"]
    first, second = api.calls("sendMessage")
    assert second.at - first.at >= 2 - 0.01  # retry_after, as Telegram asked


async def test_blocked_person_is_marked_unreachable(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    contact = await add_contact(db, clock())
    await queue(db, clock(), "привет", contact_id=contact)
    api.block(CHAT)
    assert await make_sender(bot, db, clock).drain_once() == 0
    assert (await outbox(db))[0][0] == "failed"
    async with db.read() as conn:
        row = await (await conn.execute("SELECT unreachable_at FROM contacts")).fetchone()
    assert row[0] == ts(clock())


async def test_dropped_connection_is_retried_and_delivered_once(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock(), "привет")
    api.drop_next("sendMessage", times=2)
    sender = make_sender(bot, db, clock)
    assert await sender.drain_once() == 0
    clock.advance(seconds=2)
    assert await sender.drain_once() == 0
    clock.advance(seconds=4)
    assert await sender.drain_once() == 1
    assert [m.text for m in api.user(CHAT, "Анна").messages] == ["привет"]
    assert (await outbox(db))[0][2] == 3  # three attempts


async def test_crash_after_claim_resends_and_after_send_does_not(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock(), "уже отправлено")
    assert await make_sender(bot, db, clock).drain_once() == 1
    await queue(db, clock(), "прервано")
    claimed = await claim_due(db, clock())  # the process dies right after this
    assert [r.payload["text"] for r in claimed] == ["прервано"]
    restarted = make_sender(bot, db, clock)
    await restarted.start()  # the new process re-queues the interrupted send and delivers it
    user = api.user(CHAT, "Анна")
    await api.wait_until(lambda: len(user.messages) == 2, timeout=10)
    await restarted.stop()
    assert [m.text for m in user.messages] == ["уже отправлено", "прервано"]
    assert [row[0] for row in await outbox(db)] == ["sent", "sent"]


async def test_telegram_server_error_is_retried(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock(), "привет")
    api.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    sender = make_sender(bot, db, clock)
    assert await sender.drain_once() == 0
    assert (await outbox(db))[0][0] == "pending"
    clock.advance(seconds=2)
    assert await sender.drain_once() == 1
    assert [m.text for m in api.user(CHAT, "Анна").messages] == ["привет"]


async def test_an_update_made_while_the_message_was_in_flight_is_applied(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A case alert re-rendered between claim and send (the client answered meanwhile) finds the
    row neither pending (to rewrite) nor sent (to edit): the sender must apply it after sending."""
    await queue(db, clock(), "Клиент ещё отвечает")
    (row,) = await claim_due(db, clock())
    async with db.transaction() as conn:  # what refresh_case_alerts does to an unsent row
        await conn.execute(
            "UPDATE outbox SET payload = ? WHERE id = ?", ('{"text": "Ответ получен"}', row.id)
        )
    sender = make_sender(bot, db, clock)
    assert await sender._send(row) == 1
    message = api.user(CHAT, "Анна").messages[-1]
    assert message.text == "Ответ получен"  # edited in place after delivery
    assert (len(api.calls("sendMessage")), len(api.calls("editMessageText"))) == (1, 1)
    # nothing changed in flight: no edit
    await queue(db, clock(), "Второе")
    assert await sender.drain_once() == 1
    assert len(api.calls("editMessageText")) == 1


async def test_a_message_dropped_after_its_claim_is_not_sent(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """/forget drops queued messages about the person, including ones the sender has claimed
    but not yet sent (it waits its turn behind the per-chat pause or a 429)."""
    contact = await add_contact(db, clock())
    await queue(db, clock(), "С днём рождения, Анна!", contact_id=contact)
    (row,) = await claim_due(db, clock())
    await erase_contact(db, contact, clock(), by="owner")
    sender = make_sender(bot, db, clock)
    assert await sender._send(row) == 0
    assert api.calls("sendMessage") == []
    assert await outbox(db) == [("dropped", None, 1)]
    async with db.read() as conn:
        payload = await (await conn.execute("SELECT payload FROM outbox")).fetchone()
    assert payload[0] == "{}"
