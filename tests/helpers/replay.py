"""Replayed updates: a crash injected at a chosen call, then the same update fed again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.methods import TelegramMethod
from aiogram.types import Update

from tests.harness import Harness, replies


class Crash(BaseException):
    """The process dies here."""


def crash_on(
    harness: Harness, when: Callable[[TelegramMethod[Any]], bool], *, delivered: bool
) -> None:
    """The next request matching `when` kills the "process": before Telegram got it, or after
    (it reached the person, the bot never learnt it)."""
    session = harness.session
    real = session.make_request

    async def make_request(bot: Any, method: TelegramMethod[Any], timeout: Any = None) -> Any:
        if not when(method):
            return await real(bot, method, timeout)
        session.make_request = real  # type: ignore[method-assign]
        if delivered:
            await real(bot, method, timeout)
        raise Crash

    session.make_request = make_request  # type: ignore[method-assign]


async def feed(harness: Harness, update: Update) -> list[str]:
    before = len(harness.session.requests)
    await harness.dp.feed_update(harness.bot, update)
    return replies(harness.session.requests[before:])
