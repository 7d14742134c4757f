"""Turning the message whose button was tapped into a new view (lists, pages, cards)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

log = logging.getLogger(__name__)


async def edit_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Edit the tapped message; False if it is out of reach or Telegram refused the edit (the
    same view tapped twice is "not modified", which counts as shown)."""
    if not isinstance(query.message, Message):
        return False
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramAPIError as exc:
        log.debug("message not edited: %s", exc)
        return "not modified" in str(exc)
    return True


async def show(
    query: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the tapped message, or send the view anew if it cannot be edited (too old)."""
    if not await edit_in_place(query, text, markup):
        await bot.send_message(query.from_user.id, text, reply_markup=markup)
