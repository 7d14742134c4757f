"""Our long polling loop against the fake Bot API: stored before confirmed, fetched continuously.

The dispatcher is the production `bot.dispatching.Dispatcher` (journal, isolation) with a small
router whose handlers the test holds and releases, so what Telegram was told and what the
database held at each moment can be checked: the `offset` of the next getUpdates is the only
confirmation there is, and it must never run ahead of the inbox (`handled_updates`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update

from bot import polling
from bot.dispatching import Dispatcher
from bot.polling import Poller, payload_of
from storage import Database
from storage import updates as updates_module
from storage.updates import Incoming, store_updates
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.harness import TOKEN

BOT_ID = int(TOKEN.split(":")[0])


class Scene:
    """Handlers that note what they see and wait for the test's go-ahead (per text)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.replayed: dict[str, bool] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.running: dict[int, int] = {}
        self.overlaps: list[int] = []
        self.changed = asyncio.Event()
        self.events: list[tuple[str, object]] = []
        """Shared with the fake API (`InboxWatchingAPI.events`) to order what happened."""

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    async def wait_until(self, condition: Any) -> None:
        async with asyncio.timeout(30):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    async def wait_started(self, text: str) -> None:
        await self.wait_until(lambda: text in self.started)

    async def wait_finished(self, text: str) -> None:
        await self.wait_until(lambda: text in self.finished)

    def router(self) -> Router:
        router = Router()

        @router.message()
        async def on_message(message: Message, replayed: bool = False) -> None:
            text = message.text or ""
            chat = message.chat.id
            if self.running.get(chat):
                self.overlaps.append(chat)  # two of one person's updates at once
            self.running[chat] = self.running.get(chat, 0) + 1
            self.started.append(text)
            self.replayed[text] = replayed
            self.changed.set()
            try:
                if text in self.gates:
                    await self.gates[text].wait()
                else:
                    await asyncio.sleep(0)  # let the others interleave
            except asyncio.CancelledError:
                self.events.append(("cancelled", text))
                raise
            finally:
                self.running[chat] -= 1
            self.finished.append(text)
            self.changed.set()

        return router


class InboxWatchingAPI(FakeBotAPI):
    """Notes, at the moment each getUpdates arrives, which updates the bot's inbox holds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.db_path: Path | None = None
        self.stored_at_poll: list[tuple[int, set[int]]] = []
        self.events: list[tuple[str, object]] = []
        self.served: list[dict[str, Any]] = []

    async def _get_updates(self, call: Any) -> list[dict[str, Any]]:
        self.events.append(("getUpdates", call.params.get("limit")))
        offset = int(call.params.get("offset") or 0)
        if self.db_path is not None and offset:
            with sqlite3.connect(self.db_path) as conn:
                ids = {row[0] for row in conn.execute("SELECT update_id FROM handled_updates")}
            self.stored_at_poll.append((offset, ids))
        served = await super()._get_updates(call)
        self.served.extend(served)
        return served


@pytest.fixture
async def api() -> AsyncIterator[InboxWatchingAPI]:
    async with InboxWatchingAPI(TOKEN, bot_id=BOT_ID) as server:
        yield server


@pytest.fixture
async def db(tmp_path: Path, api: InboxWatchingAPI) -> AsyncIterator[Database]:
    database = Database(tmp_path / "bot.sqlite3")
    await database.open()
    api.db_path = database.path
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


async def until(condition: Any, description: str) -> None:
    """Wait for a condition on the database (nothing wakes the test when a row changes)."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 (a row changing sets no event)
            await asyncio.sleep(0.02)
    assert condition(), description


async def send(user: FakeUser, text: str) -> int:
    """The user writes `text`; the update's id."""
    await user.send(text)
    return user.api._next_update_id - 1


def start(poller: Poller) -> asyncio.Task[None]:
    return asyncio.create_task(poller.run())


def journal(db: Database) -> dict[int, tuple[bool, bool, bool]]:
    """update id → (begun, finished, payload kept)."""
    with sqlite3.connect(db.path) as conn:
        return {
            row[0]: (row[1] is not None, row[2] is not None, row[3] is not None)
            for row in conn.execute(
                "SELECT update_id, started_at, done_at, payload FROM handled_updates"
            )
        }


async def test_an_update_is_confirmed_only_once_stored_and_fetching_goes_on(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    gate = scene.gate("медленно")
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    first = await send(api.user(1, "Анна"), "медленно")
    await scene.wait_started("медленно")
    # the next getUpdates goes out while the update is still being handled, and confirms it...
    await api.wait_until(lambda: api.confirmed_offset == first + 1, description="confirmed")
    assert api.pending_updates == 0
    # ...and the update was in the inbox, begun, with its JSON, before that request was sent
    assert all(set(range(1, offset)) <= ids for offset, ids in api.stored_at_poll)
    assert journal(db)[first] == (True, False, True)
    gate.set()
    await scene.wait_finished("медленно")
    await until(lambda: journal(db)[first] == (True, True, False), "finished, payload dropped")
    poller.stop.set()
    await running
    # the getUpdates asked for exactly what the dispatcher handles
    assert api.calls("getUpdates")[0].params["allowed_updates"] == ["message"]


async def test_a_slow_update_holds_up_nobody_else_and_one_persons_stay_in_order(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    anna_first = scene.gate("анна 1")
    anna, boris = api.user(1, "Анна"), api.user(2, "Борис")
    await send(anna, "анна 1")
    await send(boris, "борис 1")
    running = start(Poller(dispatcher(db, scene), bot))  # both come in one batch
    await scene.wait_started("анна 1")
    await send(anna, "анна 2")  # fetched while her first is in hand, waits for it
    for n in range(2, 6):  # Boris goes on, batch after batch, while Anna's first hangs
        await scene.wait_finished(f"борис {n - 1}")
        await send(boris, f"борис {n}")
    await scene.wait_finished("борис 5")
    await api.wait_updates_confirmed()  # Anna's second is stored and confirmed meanwhile
    assert "анна 1" not in scene.finished
    assert "анна 2" not in scene.started  # her second waits for her first
    anna_first.set()
    await scene.wait_finished("анна 2")
    assert scene.finished.index("анна 1") < scene.started.index("анна 2")
    assert scene.overlaps == []
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_many_people_at_once_each_in_order(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    people = [api.user(100 + n, f"Гость {n}") for n in range(12)]
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    await api.wait_polling()
    for step in range(6):  # bursts that arrive while the previous ones are handled
        for person in people:
            await person.send(f"{person.id}:{step}")
        await asyncio.sleep(0)
    await scene.wait_until(lambda: len(scene.finished) == 72)
    for person in people:
        mine = [t for t in scene.started if t.startswith(f"{person.id}:")]
        assert mine == [f"{person.id}:{step}" for step in range(6)]
    assert scene.overlaps == []
    assert len(set(scene.started)) == 72
    await until(
        lambda: (
            len(journal(db)) == 72
            and all(done and not kept for _, done, kept in journal(db).values())
        ),
        "all finished",
    )
    poller.stop.set()
    await asyncio.wait_for(running, 30)


async def test_a_stop_finishes_what_is_in_hand_and_fetches_nothing_more(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    scene = Scene()
    gate = scene.gate("в работе")
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    anna = api.user(1, "Анна")
    handled = await send(anna, "в работе")
    await scene.wait_started("в работе")
    await api.wait_polling()
    poller.stop.set()  # SIGTERM
    await api.wait_until(lambda: api.active_polls == 0, description="the poll given up")
    later = await send(anna, "после остановки")  # arrives while stopping: not fetched
    await asyncio.sleep(0.2)
    assert not running.done()  # the update in hand is finished first
    gate.set()
    await asyncio.wait_for(running, 30)
    assert scene.finished == ["в работе"]
    assert api.confirmed_offset == handled + 1
    assert api.pending_updates == 1 and later == handled + 1
    assert journal(db) == {handled: (True, True, False)}


async def test_after_a_cut_short_or_a_crash_the_inbox_is_handled_first_replays_as_replays(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    """Anna's first update hangs, her next two are stored behind it, never begun; the process
    stops before they run. At the next start: the first is a replay, the others new, in order,
    each once, although Telegram delivers the last batch again (it was never confirmed)."""
    scene = Scene()
    scene.events = api.events
    scene.gate("анна 1")  # never released
    poller = Poller(dispatcher(db, scene), bot, drain_seconds=0.2)
    running = start(poller)
    anna = api.user(1, "Анна")
    a1 = await send(anna, "анна 1")
    await scene.wait_started("анна 1")
    a2 = await send(anna, "анна 2")
    a3 = await send(anna, "анна 3")
    await api.wait_updates_confirmed()  # stored (confirmed only once stored)
    poller.stop.set()
    await asyncio.wait_for(running, 30)
    # cut short before the last confirmation, not after it (SIGKILL follows SIGTERM in 10 s)
    assert api.events[-2:] == [("cancelled", "анна 1"), ("getUpdates", 1)]
    assert journal(db) == {
        a1: (True, False, True),
        a2: (False, False, True),
        a3: (False, False, True),
    }
    # a crash also leaves a batch stored and not yet confirmed: Telegram has it again
    boris = api.user(2, "Борис")
    b1 = await send(boris, "борис 1")
    b2 = await send(boris, "борис 2")
    fetched = await bot.get_updates(timeout=0)  # what the dead process had fetched
    assert [u.update_id for u in fetched] == [b1, b2]
    batch = [
        Incoming(b1, payload_of(fetched[0]), True),
        Incoming(b2, payload_of(fetched[1]), False),
    ]
    await store_updates(db, batch, datetime.now(UTC))

    await send(api.user(3, "Вера"), "вера 1")  # new since: fetched after the restart

    again = Scene()
    restarted = Poller(dispatcher(db, again), bot)
    running = start(restarted)
    await again.wait_until(lambda: len(again.finished) == 6)
    await api.wait_updates_confirmed()
    await asyncio.sleep(0.2)  # time for a redelivered update to be handled twice
    assert sorted(again.started) == sorted(
        ["анна 1", "анна 2", "анна 3", "борис 1", "борис 2", "вера 1"]
    )
    assert again.started.index("вера 1") > max(
        again.started.index("анна 1"), again.started.index("борис 1")
    )  # the inbox first
    assert [t for t in again.started if t.startswith("анна")] == ["анна 1", "анна 2", "анна 3"]
    assert [t for t in again.started if t.startswith("борис")] == ["борис 1", "борис 2"]
    assert again.replayed == {
        "анна 1": True,
        "анна 2": False,
        "анна 3": False,
        "борис 1": True,
        "борис 2": False,
        "вера 1": False,
    }
    restarted.stop.set()
    await asyncio.wait_for(running, 30)
    assert all(done and not kept for _, done, kept in journal(db).values())


async def test_back_pressure_bounds_the_updates_in_hand(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    """At most four in hand; at the bound nothing is fetched (no poll spins either) until half
    of them have finished, so a full bot does not fetch one update per getUpdates."""
    scene = Scene()
    texts = [f"гость {n}" for n in range(7)]
    gates = [scene.gate(text) for text in texts]
    poller = Poller(dispatcher(db, scene), bot, in_hand_max=4)
    running = start(poller)
    await api.wait_polling()
    for n, text in enumerate(texts):
        await send(api.user(10 + n, f"Гость {n}"), text)
    await scene.wait_until(lambda: len(scene.started) == 4)
    polls = len(api.calls("getUpdates"))
    await asyncio.sleep(0.3)  # time for a poller that does not wait to ask again (or spin)
    assert len(api.calls("getUpdates")) == polls and api.active_polls == 0
    assert poller.in_hand == 4 and len(journal(db)) == 4  # three left with Telegram
    gates[0].set()
    await scene.wait_finished(texts[0])
    await asyncio.sleep(0.3)
    assert len(api.calls("getUpdates")) == polls  # one finished: not yet
    gates[1].set()  # two finished: room for a batch of two
    await scene.wait_until(lambda: len(scene.started) == 6)
    assert api.calls("getUpdates")[polls].params["limit"] == 2
    for gate in gates:
        gate.set()
    await scene.wait_until(lambda: len(scene.finished) == 7)
    assert poller.most_in_hand == 4
    assert all(call.params["limit"] <= 4 for call in api.calls("getUpdates"))
    poller.stop.set()
    await asyncio.wait_for(running, 30)


async def test_fetch_errors_are_retried_with_back_off(
    api: InboxWatchingAPI, bot: Bot, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "BACKOFF_FIRST", 0.05)
    api.fail_next("getUpdates", error_code=502, times=2)
    api.drop_next("getUpdates")
    scene = Scene()
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    await send(api.user(1, "Анна"), "привет")
    await scene.wait_started("привет")
    outcomes = [call.outcome for call in api.calls("getUpdates")[:3]]
    assert outcomes == ["error", "error", "dropped"]
    poller.stop.set()
    await asyncio.wait_for(running, 30)


async def test_a_batch_that_could_not_be_stored_is_not_confirmed_and_comes_again(
    api: InboxWatchingAPI, bot: Bot, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "BACKOFF_FIRST", 0.05)
    real = polling.store_updates
    failures = 0

    async def disk_full_once(*args: Any) -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise sqlite3.OperationalError("database or disk is full")
        return await real(*args)

    monkeypatch.setattr(polling, "store_updates", disk_full_once)
    scene = Scene()
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    first = await send(api.user(1, "Анна"), "привет")
    await scene.wait_finished("привет")
    offsets = [call.params.get("offset") for call in api.calls("getUpdates")]
    assert offsets[:2] == [None, None]  # the failed batch was asked for again, not confirmed
    assert failures == 1 and scene.started == ["привет"]
    await api.wait_until(lambda: api.confirmed_offset == first + 1, description="confirmed")
    poller.stop.set()
    await asyncio.wait_for(running, 30)


async def _writer_statements(db: Database) -> list[str]:
    """Every statement the writer's connection runs from now on (set in its thread)."""
    seen: list[str] = []
    conn = db.conn
    await conn._execute(conn._conn.set_trace_callback, seen.append)
    return seen


def _transactions(statements: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for sql in statements:
        if sql.startswith("BEGIN"):
            groups.append([])
        elif groups:
            groups[-1].append(sql)
    return groups


async def test_updates_ending_together_are_finished_each_at_once(
    api: InboxWatchingAPI, bot: Bot, db: Database
) -> None:
    """Six people's updates end at the same moment: each finish is one short transaction the
    loop runs itself (storage/db.py), so none waits for a group to form; Анна's next update,
    stored behind her first, is noted begun in the transaction that finished her first, and
    starts only after it committed. (Group commit, for when the writer is busy with a longer
    transaction, is provoked in tests/test_db_joined.py.)"""
    scene = Scene()
    people = [api.user(300 + n, f"Гость {n}") for n in range(6)]
    gates = [scene.gate(f"{p.id}:1") for p in people]
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    ids = {p.id: await send(p, f"{p.id}:1") for p in people}
    await scene.wait_until(lambda: len(scene.started) == 6)
    anna_next = await send(people[0], f"{people[0].id}:2")
    await until(lambda: anna_next in journal(db), "her next one stored")
    statements = await _writer_statements(db)
    for gate in gates:
        gate.set()
    await scene.wait_finished(f"{people[0].id}:2")
    await until(lambda: all(done for _, done, _ in journal(db).values()), "all finished")
    finishing = [t for t in _transactions(statements) if any("SET done_at" in s for s in t)]
    finished = [s for t in finishing for s in t if "SET done_at" in s]
    assert len(finished) == 7  # the six and Анна's second
    six = [t for t in finishing if any(f"update_id = {i}" in s for s in t for i in ids.values())]
    assert [len([s for s in t if "SET done_at" in s]) for t in six] == [1] * 6
    first = ids[people[0].id]
    hers = next(t for t in six if any(f"update_id = {first}" in s for s in t))
    assert any("SET started_at" in s and f"update_id = {anna_next}" in s for s in hers)
    assert scene.overlaps == []
    poller.stop.set()
    await asyncio.wait_for(running, 30)


async def test_a_finish_that_fails_alone_leaves_only_its_update_to_replay(
    api: InboxWatchingAPI, bot: Bot, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finishes of three updates share a transaction and one of them fails (the disk):
    the other two are still finished, and only the failed one is handled again, as a
    replay, at the next start — what a crash before its finish would have left."""
    scene = Scene()
    people = [api.user(400 + n, f"Гость {n}") for n in range(3)]
    gates = [scene.gate(f"{p.id}:1") for p in people]
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    ids = [await send(p, f"{p.id}:1") for p in people]
    await scene.wait_until(lambda: len(scene.started) == 3)
    statements = await _writer_statements(db)
    original = updates_module._finish

    def failing(conn: sqlite3.Connection, update_id: int, *args: Any) -> list[int]:
        if update_id == ids[1]:
            raise sqlite3.OperationalError("disk I/O error")
        return original(conn, update_id, *args)

    monkeypatch.setattr(updates_module, "_finish", failing)
    for gate in gates:
        gate.set()
    await scene.wait_until(lambda: len(scene.finished) == 3)
    await until(lambda: journal(db)[ids[0]][1] and journal(db)[ids[2]][1], "two finished")
    poller.stop.set()
    await asyncio.wait_for(running, 30)
    assert journal(db)[ids[1]] == (True, False, True)  # begun, unfinished, payload kept
    # the two that ended while the first was written were tried together (rolled back), then
    # each alone
    assert "ROLLBACK" in [s for s in statements if s.startswith(("COMMIT", "ROLLBACK"))]
    monkeypatch.setattr(updates_module, "_finish", original)
    again = Scene()
    restarted = Poller(dispatcher(db, again), bot)
    running = start(restarted)
    await again.wait_until(lambda: len(again.finished) == 1)
    assert again.started == [f"{people[1].id}:1"]
    assert again.replayed == {f"{people[1].id}:1": True}
    restarted.stop.set()
    await asyncio.wait_for(running, 30)
    assert all(done and not kept for _, done, kept in journal(db).values())


async def test_an_update_is_stored_as_telegram_sent_it(
    api: InboxWatchingAPI, bot: Bot, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox keeps the JSON of the getUpdates answer, not aiogram's model dumped again
    (`payload_of`, a Python call per date field: about 4% of the bot's CPU in a crowd); what
    is stored reads back as the same update at the next start."""

    def no_redump(update: Any) -> str:
        raise AssertionError("the model was dumped again")

    monkeypatch.setattr(polling, "payload_of", no_redump)
    scene = Scene()
    gate = scene.gate("сохрани")
    poller = Poller(dispatcher(db, scene), bot)
    running = start(poller)
    update_id = await send(api.user(7, "Анна"), "сохрани")
    await scene.wait_started("сохрани")
    with sqlite3.connect(db.path) as conn:
        (payload,) = conn.execute(
            "SELECT payload FROM handled_updates WHERE update_id = ?", (update_id,)
        ).fetchone()
    sent = next(u for u in api.served if u["update_id"] == update_id)
    assert json.loads(payload) == sent
    assert Update.model_validate_json(payload).message.text == "сохрани"  # type: ignore[union-attr]
    gate.set()
    await scene.wait_finished("сохрани")
    poller.stop.set()
    await asyncio.wait_for(running, 30)
