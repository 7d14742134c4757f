"""Keeping aiogram's answer classes alive: `Response[Message]` is built once per process.

aiogram reads every Bot API answer with `Response[method.__returning__]` (in
`BaseSession.check_response`), a pydantic generic model parametrised on each call. pydantic keeps
parametrised classes in a `WeakValueDictionary` and nothing else holds them; a class sits in
reference cycles, so the next garbage collection frees it and the next call builds its schema and
validator all over again, a few milliseconds of CPU each time. Under a crowd that happened about
once every 20 calls and took a sixth of the bot's CPU (bench/bench_updates.py, py-spy).

A request middleware on the bot's session (registered by `create_bot`, so every session gets it)
holds a strong reference to the answer class of each return type the first time a method
returning it is called: built once, then found in pydantic's cache on every later call. Lazily
rather than for all of aiogram's methods at start-up, which would build dozens of validators the
bot never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot


class KeepResponseTypes(BaseRequestMiddleware):
    """Holds `Response[T]` for every return type `T` called so far."""

    def __init__(self) -> None:
        self.kept: dict[Any, type[Any]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        returning = method.__returning__
        if returning not in self.kept:
            self.kept[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


def install(session: Any) -> KeepResponseTypes:
    """Register the middleware on `session` once (a session shared by tests keeps one)."""
    for existing in session.middleware:
        if isinstance(existing, KeepResponseTypes):
            return existing
    middleware = KeepResponseTypes()
    session.middleware(middleware)
    return middleware
