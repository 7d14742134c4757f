"""Setting the command menu per role (`setMyCommands` with per-chat scopes, in each person's
language); the table of commands is views/menus.py.

Menus are a convenience: a failure here is logged and never stops start-up or a handler.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramNetworkError
from aiogram.types import BotCommandScopeChat, BotCommandScopeDefault

from domain.roles import Role
from domain.settings import Settings
from storage import Database
from storage.staff import list_active_staff
from views.menus import commands_for
from views.texts import LANGUAGES

log = logging.getLogger(__name__)


async def set_chat_menu(bot: Bot, user_id: int, role: Role, lang: str) -> None:
    scope = BotCommandScopeChat(chat_id=user_id)
    try:
        if role is Role.GUEST:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(commands_for(role, lang), scope=scope)
    except (TelegramAPIError, TelegramNetworkError, ClientDecodeError) as exc:
        log.warning("could not set the command menu for user %s: %s", user_id, exc)


async def set_all_menus(bot: Bot, settings: Settings, db: Database) -> None:
    for lang in LANGUAGES:
        code = None if lang == settings.default_language else lang
        try:
            await bot.set_my_commands(
                commands_for(Role.GUEST, lang), scope=BotCommandScopeDefault(), language_code=code
            )
        except (TelegramAPIError, TelegramNetworkError, ClientDecodeError) as exc:
            log.warning("could not set the default command menu (%s): %s", lang, exc)
    staff = {m.user_id: m for m in await list_active_staff(db)}
    for owner_id in sorted(settings.owner_ids):
        member = staff.pop(owner_id, None)
        lang = (member.language if member else None) or settings.default_language
        await set_chat_menu(bot, owner_id, Role.OWNER, lang)
    for member in staff.values():
        if member.role == "manager":
            lang = member.language or settings.default_language
            await set_chat_menu(bot, member.user_id, Role.MANAGER, lang)
