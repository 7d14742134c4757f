"""Our long polling loop against the fake Bot API: an update is confirmed only once handled.

The dispatcher is the production `bot.dispatching.Dispatcher` (journal, isolation) with a small
router whose handlers the test holds and releases, so what Telegram was told at each moment can
be checked: the `offset` of the next getUpdates is the only confirmation there is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram import Bot, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from bot import polling
from bot.dispatching import Dispatcher
from bot.polling import Poller
from storage import Database
from storage.updates import Seen, begin_update
from tests.fakes.bot_api import FakeBotAPI
from tests.harness import TOKEN

BOT_ID = int(TOKEN.split(":")[0])


class Scene:
    """Handlers that note what they see and wait for the test's go-ahead (per text)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Event()

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    async def wait_started(self, text: str) -> None:
        async with asyncio.timeout(30):
            while text not in self.started:
                self.changed.clear()
                await self.changed.wait()

    def router(self) -> Router:
        router = Router()

        @router.message()
        async def on_message(message: Message) -> None:
            text = message.text or ""
            self.started.append(text)
            self.changed.set()
            if text in self.gates:
                await self.gates[text].wait()
            self.finished.append(text)
            self.changed.set()

        return router


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN, bot_id=BOT_ID) as server:
        yield server


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "bot.sqlite3")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.url))
    instance = Bot(TOKEN, session=session)
    yield instance
    await instance.session.close()


def dispatcher(db: Database, scene: Scene) -> Dispatcher:
    dp = Dispatcher(db=db, clock=lambda: datetime.now(UTC))
    dp.include_router(scene.router())
    return dp


def start(poller: Poller) -> asyncio.Task[None]:
    return asyncio.create_task(poller.run())


async def test_an_update_is_confirmed_only_after_it_was_handled(
    api: FakeBotAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    gate = scene.gate("медленно")
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    first = await api.user(1, "Анна").send("медленно")
    await scene.wait_started("медленно")
    polls = len(api.calls("getUpdates"))
    await asyncio.sleep(0.3)  # time for a poller that does not wait (aiogram's) to ask again
    assert len(api.calls("getUpdates")) == polls  # nothing asked, so nothing confirmed
    assert api.confirmed_offset <= first and api.pending_updates == 1
    gate.set()
    await api.wait_until(lambda: api.confirmed_offset == first + 1, description="confirmed")
    assert api.pending_updates == 0
    poller.stop.set()
    await running
    # the getUpdates asked for exactly what the dispatcher handles
    assert api.calls("getUpdates")[0].params["allowed_updates"] == ["message"]


async def test_one_persons_updates_in_order_and_others_alongside(
    api: FakeBotAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    anna_first = scene.gate("анна 1")
    anna, boris = api.user(1, "Анна"), api.user(2, "Борис")
    await anna.send("анна 1")
    await anna.send("анна 2")
    await boris.send("борис 1")
    running = start(Poller(dispatcher(db, scene), bot))  # all three come in one batch
    await scene.wait_started("борис 1")  # Boris is not held up by Anna's slow update...
    assert "анна 2" not in scene.started  # ...and Anna's second waits for her first
    anna_first.set()
    await scene.wait_started("анна 2")
    assert scene.finished.index("анна 1") < scene.started.index("анна 2")
    await api.wait_updates_confirmed()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_stop_finishes_the_batch_and_leaves_the_rest_to_telegram(
    api: FakeBotAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    gate = scene.gate("в работе")
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    anna = api.user(1, "Анна")
    handled = await anna.send("в работе")
    await scene.wait_started("в работе")
    later = await anna.send("после остановки")  # arrives while stopping: not fetched
    poller.stop.set()  # SIGTERM
    await asyncio.sleep(0.2)
    assert not running.done()  # the update in hand is finished first
    gate.set()
    await asyncio.wait_for(running, 30)
    assert scene.finished == ["в работе"]
    assert api.confirmed_offset == handled + 1  # confirmed on the way out
    assert api.pending_updates == 1 and later == handled + 1


async def test_an_update_cut_short_at_shutdown_stays_unconfirmed_and_unfinished(
    api: FakeBotAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    scene.gate("зависло")  # never released
    poller = Poller(dispatcher(db, scene), bot, drain_seconds=0.2)
    running = start(poller)
    stuck = await api.user(1, "Анна").send("зависло")
    await scene.wait_started("зависло")
    poller.stop.set()
    await asyncio.wait_for(running, 30)
    assert api.confirmed_offset <= stuck and api.pending_updates == 1
    # after the restart it is handled again, as one interrupted
    assert await begin_update(db, stuck, datetime.now(UTC)) is Seen.INTERRUPTED


async def test_fetch_errors_are_retried_with_back_off(
    api: FakeBotAPI, bot: Bot, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "BACKOFF_FIRST", 0.05)
    api.fail_next("getUpdates", error_code=502, times=2)
    api.drop_next("getUpdates")
    scene = Scene()
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    await api.user(1, "Анна").send("привет")
    await scene.wait_started("привет")
    outcomes = [call.outcome for call in api.calls("getUpdates")[:3]]
    assert outcomes == ["error", "error", "dropped"]
    poller.stop.set()
    await asyncio.wait_for(running, 30)
