"""Role filters: a handler guarded by `HasRole(...)` never sees anybody else's update."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from domain.roles import Role


class HasRole(Filter):
    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, role: Role, **_: Any) -> bool:
        return role in self.roles
