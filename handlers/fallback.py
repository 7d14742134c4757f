"""Last router: whatever nobody else handled gets a polite answer that reveals nothing.

An owner-only command from a manager, a command that does not exist, and a forged button all get
the same neutral reply, so a stranger cannot probe which commands or records exist.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from domain.roles import Role
from domain.settings import Settings
from handlers.replies import forged
from views.texts import t


def router() -> Router:
    r = Router(name="fallback")
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(other_message)
    r.callback_query.register(stale_button)
    return r


async def unknown_command(message: Message, lang: str) -> None:
    await message.answer(t(lang, "not_allowed"))


async def other_message(message: Message, role: Role, lang: str, settings: Settings) -> None:
    if role.is_staff:
        await message.answer(t(lang, "unknown_message"))
    else:
        await message.answer(t(lang, "start.guest", company=settings.company_name))


async def stale_button(query: CallbackQuery, lang: str) -> None:
    await forged(query, lang)
