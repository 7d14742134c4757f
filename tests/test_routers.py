"""The router tree's filters run on the event loop, not in aiogram's worker threads
(bot/routers.py), and still decide and pass on what they did before."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters import Filter
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, Message, Sticker, Update, User

from bot.routers import build_router, run_filters_inline
from tests.fakes.recording import RecordingSession
from tests.harness import TOKEN


class Flow(StatesGroup):
    waiting = State()


def _filters(router: Router) -> list[FilterObject]:
    found = []
    for observer in router.observers.values():
        for handler in (observer._handler, *observer.handlers):
            found.extend(handler.filters or ())
    for sub in router.sub_routers:
        found.extend(_filters(sub))
    return found


def test_every_filter_of_the_tree_is_awaited_on_the_loop() -> None:
    root = build_router()
    filters = _filters(root)
    assert len(filters) > 40
    assert all(f.awaitable for f in filters)
    assert run_filters_inline(root) == 0  # nothing left to change


def _scene() -> tuple[Router, list[tuple[str, int]], list[str]]:
    """A router with a synchronous function filter, a magic filter with `.as_()` and a state."""
    threads: list[tuple[str, int]] = []
    handled: list[str] = []

    def long_text(message: Message) -> bool | dict[str, Any]:
        threads.append(("function", threading.get_ident()))
        return len(message.text or "") > 3 and {"length": len(message.text or "")}

    r = Router()
    r.message.filter(F.chat.type == "private")

    @r.message(Flow.waiting, F.text.as_("typed"), long_text)
    async def in_flow(message: Message, typed: str, length: int) -> None:
        handled.append(f"flow {typed} {length}")

    @r.message()
    async def anything(message: Message) -> None:
        handled.append("other")

    return r, threads, handled


async def _feed(inline: bool) -> tuple[list[tuple[str, int]], list[str]]:
    router, threads, handled = _scene()
    if inline:
        assert run_filters_inline(router) == 4
    dp = Dispatcher()
    dp.include_router(router)
    bot = Bot(TOKEN, session=RecordingSession())
    anna = User(id=5, is_bot=False, first_name="Anna")
    key = StorageKey(bot_id=bot.id, chat_id=anna.id, user_id=anna.id)
    await dp.storage.set_state(key, Flow.waiting)

    def update(n: int, chat_type: str = "private", **fields: Any) -> Update:
        chat = Chat(id=anna.id if chat_type == "private" else -100, type=chat_type)
        message = Message(message_id=n, date=datetime.now(UTC), chat=chat, from_user=anna, **fields)
        return Update(update_id=n, message=message)

    await dp.feed_update(bot, update(1, text="Долго ждали"))
    await dp.feed_update(bot, update(2, text="Да"))  # the function filter says no
    sticker = Sticker(
        file_id="s", file_unique_id="s", type="regular", width=1, height=1,
        is_animated=False, is_video=False,
    )  # fmt: skip
    await dp.feed_update(bot, update(3, sticker=sticker))  # the magic filter says no
    await dp.feed_update(bot, update(4, chat_type="group", text="Долго ждали"))  # root: no
    await dp.storage.set_state(key, None)
    await dp.feed_update(bot, update(5, text="Долго ждали"))  # the state says no
    await bot.session.close()
    return threads, handled


async def test_synchronous_filters_run_on_the_loop_and_decide_as_before() -> None:
    threads, handled = await _feed(inline=True)
    assert handled == ["flow Долго ждали 11", "other", "other", "other"]
    assert {ident for _, ident in threads} == {threading.get_ident()}
    assert len(threads) == 2  # updates 1 and 2 got as far as the function filter


async def test_aiogram_runs_them_in_a_worker_thread_otherwise() -> None:
    """The trap: without `run_filters_inline` the same filters decide the same, in a thread."""
    threads, handled = await _feed(inline=False)
    assert handled == ["flow Долго ждали 11", "other", "other", "other"]
    assert threading.get_ident() not in {ident for _, ident in threads}


def test_async_filters_are_left_alone() -> None:
    class Yes(Filter):
        async def __call__(self, message: Message) -> bool:
            return True

    r = Router()
    r.message.register(lambda m: None, Yes())
    flt = r.message.handlers[0].filters[0]  # type: ignore[index]
    before = flt.callback
    assert run_filters_inline(r) == 0
    assert flt.callback is before
