"""The one place handlers answer a tap and edit a message, with what Telegram refuses handled.

Telegram answers some requests with a 400 that is not a failure of ours: an identical edit (a
double tap on the same view) is "message is not modified", a message deleted or too old is
"message to edit not found" / "message can't be edited", and a tap answered late or twice is
"query is too old ... or query ID is invalid". Raised from a handler, each of them reached the
error handler and the person read "something went wrong". Here they are classified once: an
unchanged message counts as shown, a message out of reach is sent anew, and a query Telegram no
longer takes is only logged. Every other error still propagates (the retry layer and the error
handler deal with those); tests/test_callback_bounds.py checks no handler goes around them.

A send that timed out (`send_or_log`) is the other case: the retry layer does not repeat it,
since it may have arrived, and re-raises. Raised in the middle of a handler, it used to stop
the handler there (no QR photo after "deal saved", no case card after "resolved"); a handler
whose send is followed by more sends or writes awaits it through `send_or_log`, which logs the
timeout and lets the rest run. Every other error of a send still propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    Message,
)

from scheduler.failures import Failure, classify
from views.texts import plain

log = logging.getLogger(__name__)

T = TypeVar("T")

_NOT_MODIFIED = "message is not modified"
_QUERY_GONE = ("query is too old", "query id is invalid")


def not_modified(exc: TelegramBadRequest) -> bool:
    return _NOT_MODIFIED in exc.message.lower()


def query_gone(exc: TelegramBadRequest) -> bool:
    text = exc.message.lower()
    return any(part in text for part in _QUERY_GONE)


async def send_or_log(send: Awaitable[T], what: str) -> T | None:
    """Await a send; None if it timed out after the request may have reached Telegram (the
    retry layer does not repeat those): logged, and the caller goes on with its other sends and
    writes, as the message most likely arrived. Any other failure propagates."""
    try:
        return await send
    except TelegramNetworkError as exc:
        if classify(exc) is not Failure.MAYBE_DONE:
            raise
        log.warning("%s: the send timed out, it may have arrived; going on", what)
        return None


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> bool:
    """Answer a tap (the spinner stops; `text` as a toast, or a box with `alert`). False if
    Telegram no longer takes an answer to it (too old, or answered already)."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramBadRequest as exc:
        if not query_gone(exc):
            raise
        log.debug("callback %s not answered: %s", query.id, exc.message)
        return False
    return True


async def answer_inline(query: InlineQuery, results: list[InlineQueryResultArticle]) -> bool:
    """Answer an inline query, for this person only and never from Telegram's cache (what may be
    offered changes with every survey opened). False if Telegram no longer takes an answer (it
    waits about 10 s): only logged, as for a tap."""
    try:
        await query.answer(results, cache_time=0, is_personal=True)
    except TelegramBadRequest as exc:
        if not query_gone(exc):
            raise
        log.info("inline query answered too late: %s", exc.message)
        return False
    return True


async def forged(query: CallbackQuery, lang: str) -> None:
    """The one reply to a button that no longer works, or never did (a forged one)."""
    await answer(query, plain(lang, "button.forged"), alert=True)


async def _refusal_handled(edit: Awaitable[object], what: str) -> bool:
    try:
        await edit
    except TelegramBadRequest as exc:
        log.debug("%s not edited: %s", what, exc.message)
        return not_modified(exc)
    return True


async def edit_message(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> bool:
    """Edit a message the bot sent; False if Telegram refused it (gone, too old, cannot be
    edited). The same text and buttons again ("not modified") counts as shown."""
    edit = bot.edit_message_text(
        text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
    )
    return await _refusal_handled(edit, f"message {message_id}")


async def strip_buttons(bot: Bot, chat_id: int, message_id: int) -> bool:
    """Take the inline buttons off a message the bot sent (its text stays); False if Telegram
    refused (gone, too old). A message without buttons is "not modified": counts as done."""
    edit = bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
    return await _refusal_handled(edit, f"buttons of message {message_id}")


async def edit_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Edit the tapped message; False if it is out of reach or Telegram refused the edit (the
    same view tapped twice is "not modified", which counts as shown)."""
    if not isinstance(query.message, Message):
        return False
    return await _refusal_handled(
        query.message.edit_text(text, reply_markup=markup), "tapped message"
    )


async def edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> bool:
    """Replace (or with None remove) the tapped message's buttons; as `edit_in_place`."""
    if not isinstance(query.message, Message):
        return False
    return await _refusal_handled(query.message.edit_reply_markup(reply_markup=markup), "buttons")


async def append_note(query: CallbackQuery, note: str) -> bool:
    """Close a question: its text stays, the answer given is added in italics and the buttons go,
    so it cannot be tapped again. A concurrent tap that edited it first is "not modified"."""
    message = query.message
    if not isinstance(message, Message):
        return False
    return await edit_in_place(query, f"{message.html_text}\n\n<i>{note}</i>", None)


async def show(
    query: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup | None
) -> int:
    """Edit the tapped message, or send the view anew if it cannot be edited (too old); the id
    of the message that shows it."""
    if await edit_in_place(query, text, markup) and query.message is not None:
        return query.message.message_id
    sent = await bot.send_message(query.from_user.id, text, reply_markup=markup)
    return sent.message_id
