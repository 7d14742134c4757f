"""Per-update context: who is writing (role), their language and staff record.

An outer middleware on `dp.update` so every handler, filter and error handler gets `role`, `lang`
and `member` in its data. Owners' names are kept current here. Staff records come from memory
(storage/staff.py keeps them, invalidated by the database on any change of the table), so an
update costs no statement here: a person's first update reads their record once, and an owner's
row is written only when their name, username or language changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from domain.clock import Clock
from domain.roles import Role
from storage import Database
from storage.settings import LiveSettings
from storage.staff import get_member, touch_owner
from views.texts import pick_language


class ContextMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        # The settings in force now (the owner may have changed some in the chat).
        live: LiveSettings = data["live_settings"]
        settings = await live.get()
        data["settings"] = settings
        db: Database = data["db"]
        clock: Clock = data["clock"]
        role = Role.GUEST
        member = None
        lang = settings.default_language
        if user is not None:
            lang = pick_language(user.language_code, settings.default_language)
            if user.id in settings.owner_ids:
                role = Role.OWNER
                await touch_owner(db, user.id, user.full_name, user.username, lang, clock())
            member = await get_member(db, user.id)
            if role is Role.GUEST and member and member.role == "manager" and member.active:
                role = Role.MANAGER
        data["role"] = role
        data["lang"] = lang
        data["member"] = member
        return await handler(event, data)
