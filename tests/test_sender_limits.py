"""The sender at Telegram's limits, against the fake Bot API over HTTP (its receipt times are what
Telegram would count) and a slow scripted session (to have many requests out at once): a chat's
429 pauses that chat only, any other 429 pauses everybody, a chat never gets two messages
within a second, a chat's messages keep their order, at most `max_in_flight` requests are out,
and stopping with many out loses and repeats nothing."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod

import scheduler.sender as sender_module
from bot.retries import install as install_retries
from scheduler.sender import ChatTraffic, Sender
from storage import Database
from storage.outbox import enqueue
from tests.fakes.bot_api import ApiCall, FakeBotAPI
from tests.harness import TOKEN, FakeClock


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN, bot_id=int(TOKEN.split(":")[0])) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.url))
    install_retries(session, 30)  # as in production: the sender's requests must bypass it
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


async def queue_all(db: Database, clock: FakeClock, messages: list[tuple[int, str]]) -> None:
    async with db.transaction() as conn:
        for chat_id, text in messages:
            await enqueue(
                conn, chat_id=chat_id, purpose="test", payload={"text": text}, now=clock()
            )


async def statuses(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
        return {status: n for status, n in await cur.fetchall()}


def sends(api: FakeBotAPI) -> list[ApiCall]:
    return api.calls("sendMessage")


def delivered(api: FakeBotAPI) -> dict[int, list[str]]:
    by_chat: dict[int, list[str]] = defaultdict(list)
    for call in sends(api):
        if call.outcome == "ok":
            by_chat[int(call.chat_id or 0)].append(call.params["text"])
    return by_chat


async def test_a_chats_429_pauses_that_chat_only_and_keeps_its_order(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A handler has just answered chat 1 when the outbox's message to it meets flood control:
    that is chat 1's limit, so only chat 1 waits; its messages still go in order."""
    chats = (1, 2, 3)
    await queue_all(db, clock, [(chat, f"{chat}-{n}") for n in range(3) for chat in chats])
    sender = Sender(bot, db, clock, rate=30, per_chat_interval=0, max_in_flight=4)
    await bot.send_message(1, "ответ на нажатие")  # a handler's reply, through the same session
    api.fail_next("sendMessage", error_code=429, retry_after=3, chat_id=1)
    assert await sender.drain_once() == 6
    got = delivered(api)
    assert got[2] == ["2-0", "2-1", "2-2"] and got[3] == ["3-0", "3-1", "3-2"]
    assert got[1] == ["ответ на нажатие"]  # chat 1 waits: nothing more was even tried
    assert [c.outcome for c in sends(api) if c.chat_id == 1] == ["ok", "error"]
    refused = next(c for c in sends(api) if c.outcome == "error")
    # The others went on during chat 1's pause (a pause of everybody would hold 2-1 ... 3-2).
    assert all(c.at < refused.at + 3 for c in sends(api) if c.chat_id != 1)

    clock.advance(seconds=3)
    await asyncio.sleep(3)  # chat 1's pause, in real time
    assert await sender.drain_once() == 3
    assert delivered(api)[1] == ["ответ на нажатие", "1-0", "1-1", "1-2"]
    assert await statuses(db) == {"sent": 9}


async def test_any_other_429_pauses_everybody(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A chat that had no message for a while cannot have hit its own limit: the 429 is the
    bot's, and nothing is sent to anybody for `retry_after`."""
    await queue_all(db, clock, [(chat, f"{chat}") for chat in range(1, 41)])
    api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=5)
    sender = Sender(bot, db, clock, rate=20, per_chat_interval=0, max_in_flight=4)
    assert await sender.drain_once() == 39
    refused = next(c for c in sends(api) if c.outcome == "error")
    after = [c.at - refused.at for c in sends(api) if c.at > refused.at]
    # Requests already out when the 429 came back may land just after it; then a full second
    # of nothing (at 20/s, a dozen messages would have gone out in it).
    assert not [t for t in after if 0.5 <= t < 1.0]
    assert len([t for t in after if t >= 1.0]) >= 30
    assert await statuses(db) == {"sent": 39, "pending": 1}


async def test_a_chat_never_gets_two_messages_within_a_second(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Telegram's rule, checked where Telegram would check it: at the fake's receipt."""
    chats = (11, 12, 13)
    await queue_all(db, clock, [(chat, f"{chat}-{n}") for chat in chats for n in range(3)])
    sender = Sender(bot, db, clock)  # the production limits
    assert await sender.drain_once() == 9
    for chat in chats:
        arrivals = [c.at for c in sends(api) if c.chat_id == chat]
        assert len(arrivals) == 3
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(arrivals))
        assert delivered(api)[chat] == [f"{chat}-{n}" for n in range(3)]
    # and no chat waited for another's pause: every chat's first came before any chat's second
    arrivals = [[c.at for c in sends(api) if c.chat_id == chat] for chat in chats]
    assert max(a[0] for a in arrivals) < min(a[1] for a in arrivals)


async def test_the_sender_bypasses_the_middlewares_429_wait(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The retry middleware would sleep out the 429 inside the request and send again, blind to
    the chat; the sender gets the 429 at once and re-queues the row."""
    await queue_all(db, clock, [(7, "привет")])
    api.fail_next("sendMessage", error_code=429, retry_after=20)
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    assert await asyncio.wait_for(sender.drain_once(), timeout=10) == 0
    assert len(sends(api)) == 1 and await statuses(db) == {"pending": 1}


async def test_the_middlewares_quick_retries_stay(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await queue_all(db, clock, [(7, "привет")])
    api.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    assert await sender.drain_once() == 1  # retried in place, not re-queued for 2 s
    assert [c.outcome for c in sends(api)] == ["error", "ok"]


def test_which_429_is_a_chats() -> None:
    now = [100.0]
    traffic = ChatTraffic(monotonic=lambda: now[0])
    traffic.note(1)
    assert traffic.busy_before(1, 101.4)  # a message 1.4 s earlier: the chat's limit
    assert not traffic.busy_before(1, 101.6)  # 1.6 s: not the chat's
    assert not traffic.busy_before(2, 100.5)  # no message at all
    assert not traffic.busy_before(1, 100.0)  # the request itself does not count


class SlowSession(BaseSession):
    """Answers every sendMessage after `delay` (a round trip), recording how many requests, and
    which chats, are out at once. `hang` chats never get an answer."""

    def __init__(self, delay: float = 0.05, hang: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.delay = delay
        self.hang = hang
        self.out: list[int] = []
        self.most_out = 0
        self.overlaps: list[int] = []  # a chat with two requests out at once
        self.delivered: list[tuple[int, str]] = []
        self.progress = asyncio.Event()

    async def wait_delivered(self, count: int) -> None:
        while len(self.delivered) < count:
            self.progress.clear()
            await self.progress.wait()

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        chat = method.chat_id  # type: ignore[attr-defined]
        if chat in self.out:
            self.overlaps.append(chat)
        self.out.append(chat)
        self.most_out = max(self.most_out, len(self.out))
        try:
            if chat in self.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(self.delay)
        finally:
            self.out.remove(chat)
        self.delivered.append((chat, method.text))  # type: ignore[attr-defined]
        self.progress.set()
        message = {
            "message_id": len(self.delivered),
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "text": method.text,  # type: ignore[attr-defined]
        }
        content = json.dumps({"ok": True, "result": message})
        return self.check_response(bot, method, 200, content).result


async def test_in_flight_is_bounded_never_two_to_one_chat_and_in_order(
    db: Database, clock: FakeClock
) -> None:
    messages = [(chat, f"{chat}-{n}") for n in range(3) for chat in range(1, 21)]
    await queue_all(db, clock, messages)
    session = SlowSession(delay=0.05)
    sender = Sender(Bot(TOKEN, session=session), db, clock, rate=0, per_chat_interval=0)
    assert sender.max_in_flight == 1  # no rate: one at a time, as the tests always had it
    sender = Sender(
        Bot(TOKEN, session=session), db, clock, rate=0, per_chat_interval=0, max_in_flight=5
    )
    assert await sender.drain_once() == 60
    assert session.most_out == 5  # the bound is reached, and never passed
    assert session.overlaps == []
    by_chat: dict[int, list[str]] = defaultdict(list)
    for chat, text in session.delivered:
        by_chat[chat].append(text)
    assert all(texts == [f"{chat}-{n}" for n in range(3)] for chat, texts in by_chat.items())


def test_the_bound_covers_the_round_trip() -> None:
    assert sender_module.in_flight_for(28.5) == 15  # 0.5 s at 28.5/s
    assert sender_module.in_flight_for(100) == sender_module.MAX_IN_FLIGHT
    assert sender_module.in_flight_for(0) == 1


async def test_stopping_with_many_in_flight_loses_and_repeats_nothing(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some requests finish during the stop (recorded as sent), two never answer (cancelled after
    the stop's patience, re-queued), the rest wait their turn (re-queued): the next start sends
    each of those once, and nothing that was delivered again."""
    monkeypatch.setattr(sender_module, "STOP_SECONDS", 0.5)
    messages = [(chat, f"{chat}-{n}") for n in range(2) for chat in range(1, 31)]
    await queue_all(db, clock, messages)
    first = SlowSession(delay=0.1, hang=frozenset({3, 4}))
    sender = Sender(Bot(TOKEN, session=first), db, clock, rate=50, max_in_flight=8)
    await sender.start()
    await asyncio.wait_for(first.wait_delivered(10), timeout=30)
    assert len(first.out) >= 3  # several out at once, two of them hanging
    await sender.stop()
    done = await statuses(db)
    assert "claimed" not in done and done["sent"] == len(first.delivered)

    second = SlowSession(delay=0)
    restarted = Sender(Bot(TOKEN, session=second), db, clock, rate=0, per_chat_interval=0)
    await restarted.drain_once()
    assert await statuses(db) == {"sent": 60}
    everything = first.delivered + second.delivered
    assert sorted(everything) == sorted(messages)  # each once: none lost, none twice
    assert {chat for chat, _ in first.delivered}.isdisjoint({3, 4})


async def test_a_quick_retry_takes_a_token_and_times_the_chat_from_itself(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The retry middleware repeats a 502 in place: one more request to Telegram, so it waits
    for the bucket like any send, and the chat's next message is spaced from the repeat (the
    one that delivered), not from the first attempt."""
    await queue_all(db, clock, [(7, "привет"), (8, "другой")])
    api.fail_next("sendMessage", error_code=502, description="Bad Gateway", chat_id=7)
    sender = Sender(bot, db, clock, rate=20, per_chat_interval=1.05, max_in_flight=1)
    taken: list[float] = []
    take = sender._bucket.take

    async def counting(stopping: asyncio.Event) -> float | None:
        at = await take(stopping)
        assert at is not None
        taken.append(at)
        return at

    sender._bucket.take = counting  # type: ignore[method-assign]
    assert await sender.drain_once() == 2
    assert [c.outcome for c in sends(api)] == ["error", "ok", "ok"]
    assert len(taken) == 3  # a token for each request, the repeat's included
    # chat 7 went first (one request out at a time): its try, its repeat, then chat 8
    assert [c.chat_id for c in sends(api)] == [7, 7, 8]
    assert sender._chat_ready[7] == taken[1] + 1.05  # timed from the repeat that delivered


async def test_a_group_gets_at_most_twenty_a_minute(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group (negative chat id) is paced at Telegram's 20 messages a minute, a person at one
    a second. Scaled down here (a group's interval 0.6 s, a person's 0.2 s) to keep it short."""
    production = sender_module.GROUP_INTERVAL
    monkeypatch.setattr(sender_module, "GROUP_INTERVAL", 0.6)
    group, person = -100123, 5
    await queue_all(db, clock, [(c, f"{c}:{n}") for n in range(3) for c in (group, person)])
    sender = Sender(bot, db, clock, rate=30, per_chat_interval=0.2, max_in_flight=4)
    assert sender.interval_for(group) == 0.6 and sender.interval_for(person) == 0.2
    assert Sender(bot, db, clock, rate=0, per_chat_interval=0).interval_for(group) == 0
    assert await sender.drain_once() == 6
    arrivals = [c.at for c in sends(api) if c.chat_id == group]
    assert len(arrivals) == 3
    assert all(b - a >= 0.55 for a, b in itertools.pairwise(arrivals))
    assert delivered(api)[group] == [f"{group}:{n}" for n in range(3)]
    # production: 20 a minute at most, with a margin
    assert 60 / production < 20


async def test_after_a_restart_a_requeued_row_still_goes_before_its_chats_later_ones(
    api: FakeBotAPI, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Chat 1's first message met flood control and waits; its second is due now. The
    process restarts meanwhile (a new sender, which never saw the 429): the second must not
    overtake the first. Other chats go on."""
    await queue_all(db, clock, [(1, "1-first"), (1, "1-second"), (2, "2-only")])
    api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=1)
    first = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    assert await first.drain_once() == 1  # 2-only; 1-first re-queued, its chat held
    assert delivered(api) == {2: ["2-only"]}
    restarted = Sender(bot, db, clock, rate=0, per_chat_interval=0)  # a new process's
    assert await restarted.drain_once() == 0  # 1-second is due, but waits for 1-first
    assert delivered(api) == {2: ["2-only"]}
    clock.advance(seconds=2)
    assert await restarted.drain_once() == 2
    assert delivered(api)[1] == ["1-first", "1-second"]
    assert await statuses(db) == {"sent": 3}
