"""Filters the routers share: a handler guarded by `HasRole(...)` never sees anybody else's
update; `not_command` lets a command through a conversation waiting for typed text."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import TelegramObject

from domain.roles import Role

# A message that is not a command: what a conversation waiting for typed text takes.
not_command = ~F.text.startswith("/")


class HasRole(Filter):
    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, role: Role, **_: Any) -> bool:
        return role in self.roles
