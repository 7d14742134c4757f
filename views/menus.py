"""The command menu of each role: which commands, described in the person's language, and who
may use every command the bot knows (for the answer to a command that does not exist, or is not
the person's to use).

Setting them in Telegram (`setMyCommands` per chat) is scheduler/menus.py; this is the table.
`MAY_USE` lists every command a handler registers (a test scans the handlers), so a new command
without a line here is caught before a user is told it does not exist."""

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
        "crm",
        "import",
        "sale",
        "today",
        "find",
        "invite",
        "help",
        "cancel",
    ),
}


# Who may use each command the bot knows; an owner may use everything.
_EVERYBODY = frozenset(Role)
_STAFF = frozenset({Role.OWNER, Role.MANAGER})
_OWNER = frozenset({Role.OWNER})
MAY_USE: dict[str, frozenset[Role]] = {
    **dict.fromkeys(("start", "help", "cancel", "stop", "forget"), _EVERYBODY),
    **dict.fromkeys(("sale", "today", "week", "find", "cases", "import", "template"), _STAFF),
    **dict.fromkeys(
        (
            "nps",
            "managers",
            "comments",
            "referrals",
            "trend",
            "export",
            "settings",
            "invite",
            "api",
            "hooks",
            "crm",
        ),
        _OWNER,
    ),
}
# What an unknown command lists: the role's menu, and for anybody else /stop as well (a
# respondent's way to stop the bot writing first).
_LISTED: dict[Role, tuple[str, ...]] = {
    Role.GUEST: ("start", "help", "stop", "forget"),
    Role.MANAGER: (*COMMANDS[Role.MANAGER][:-2], "template", "help", "cancel"),
    Role.OWNER: (*COMMANDS[Role.OWNER][:-2], "week", "template", "help", "cancel"),
}


def command_of(text: str) -> str:
    """`/Sale@my_bot args` → "sale"."""
    return text.split(maxsplit=1)[0].removeprefix("/").split("@", 1)[0].lower()


def refusal_key(role: Role, command: str) -> str:
    """Which answer a command that reached nobody gets: it does not exist, it is the owner's, or
    it is for the company's staff."""
    allowed = MAY_USE.get(command)
    if allowed is None or role in allowed:
        return "command.unknown"
    return "command.owner_only" if allowed == _OWNER else "command.staff_only"


def command_list(role: Role, lang: str) -> str:
    """One line per command the role may use: "/sale — Записать сделку"."""
    return "\n".join(f"/{c} — {t(lang, f'cmd.{c}')}" for c in _LISTED[role])


def commands_for(role: Role, lang: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=t(lang, f"cmd.{c}")) for c in COMMANDS[role]]
