"""The command menu of each role: which commands, described in the person's language.

Setting them in Telegram (`setMyCommands` per chat) is scheduler/menus.py; this is the table."""

from __future__ import annotations

from aiogram.types import BotCommand

from domain.roles import Role
from views.texts import t

COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.GUEST: ("start", "help", "forget"),
    Role.MANAGER: ("sale", "today", "week", "find", "cases", "import", "help", "cancel"),
    Role.OWNER: (
        "nps",
        "managers",
        "cases",
        "comments",
        "referrals",
        "trend",
        "export",
        "api",
        "settings",
        "import",
        "sale",
        "today",
        "find",
        "invite",
        "help",
        "cancel",
    ),
}


def commands_for(role: Role, lang: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=t(lang, f"cmd.{c}")) for c in COMMANDS[role]]
