"""Buttons nobody should be able to press: every CallbackData factory, and what a refusal
looks like."""

from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)

from views import callbacks

FORGED = "Эта кнопка больше не действует."
# A survey button that is not the presser's (forged, another person's, a survey that does not
# exist) says so truthfully (issue 15) instead of "no longer works": a refusal all the same.
NOT_YOURS = "Эта кнопка не для вас."


GENERIC = (
    "Извините, что-то пошло не так: это не выполнено. Повторите через минуту или откройте /help."
)


def all_factories() -> dict[str, type[CallbackData]]:
    return {
        name: value
        for name, value in vars(callbacks).items()
        if isinstance(value, type) and issubclass(value, CallbackData) and value is not CallbackData
    }


def refusal(sent: list[TelegramMethod[Any]]) -> bool:
    """Exactly one thing happened: the tap was answered with the "no longer works" alert (or,
    for a survey's button, "this button is not for you")."""
    return (
        len(sent) == 1
        and isinstance(sent[0], AnswerCallbackQuery)
        and sent[0].text in (FORGED, NOT_YOURS)
        and bool(sent[0].show_alert)
    )


def refusal_as(sent: list[TelegramMethod[Any]], text: str) -> bool:
    """Exactly one thing happened: the tap was answered with an alert saying `text`."""
    return (
        len(sent) == 1
        and isinstance(sent[0], AnswerCallbackQuery)
        and sent[0].text == text
        and bool(sent[0].show_alert)
    )


def texts(sent: list[TelegramMethod[Any]]) -> list[str]:
    out = []
    for r in sent:
        if isinstance(r, SendMessage | EditMessageText) or (
            isinstance(r, AnswerCallbackQuery) and r.text
        ):
            out.append(r.text)
    return out
