"""aiogram's answer classes are built once per process (bot/response_types.py).

pydantic caches a parametrised generic (`Response[Message]`) only weakly; without a strong
reference a garbage collection frees it and the next Bot API call builds its validator again.
The first test shows the trap on a generic model of its own, the second that `create_bot`'s
bots keep the class across collections, through a real call on a recording session."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Generic, TypeVar

from aiogram.methods import Response
from aiogram.types import Message
from pydantic import BaseModel

from bot.app import create_bot
from bot.response_types import KeepResponseTypes
from tests.conftest import make_settings
from tests.fakes.recording import RecordingSession

T = TypeVar("T")


class Box(BaseModel, Generic[T]):
    """A generic model like aiogram's `Response[T]`, which no other test keeps alive."""

    result: T


def test_pydantic_forgets_a_parametrised_model_after_a_collection() -> None:
    """The trap, as `check_response` meets it with `Response[Message]` in a bare aiogram bot."""
    assert Box[int].model_validate({"result": 1}).result == 1
    kept = weakref.ref(Box[int])
    gc.collect()
    assert kept() is None  # the next `Box[int]` builds its validator again


async def test_our_bot_keeps_the_answer_class_of_what_it_called(tmp_path: Path) -> None:
    session = RecordingSession()
    bot = create_bot(make_settings(tmp_path), session=session)
    assert sum(isinstance(m, KeepResponseTypes) for m in session.middleware) == 1
    create_bot(make_settings(tmp_path), session=session)  # a shared session keeps one
    assert sum(isinstance(m, KeepResponseTypes) for m in session.middleware) == 1

    await bot.send_message(42, "hello")
    await bot.answer_callback_query("q1")
    kept = weakref.ref(Response[Message])
    gc.collect()
    assert kept() is Response[Message]
    keeper = next(m for m in session.middleware if isinstance(m, KeepResponseTypes))
    assert set(keeper.kept) == {Message, bool}
    await bot.session.close()
