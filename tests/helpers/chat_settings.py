"""The owner's /settings conversation in handler tests, and the stored settings rows."""

from __future__ import annotations

from aiogram.methods import EditMessageText, SendMessage

from storage import Database
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data


class Owner:
    def __init__(self, h: Harness, lang: str = "ru") -> None:
        self.h = h
        self.user = h.user(OWNER_ID, "Ольга", lang=lang)
        self.view: SendMessage | EditMessageText | None = None

    async def settings(self) -> SendMessage:
        sent = await self.h.send(self.user, "/settings")
        view = next(r for r in sent if isinstance(r, SendMessage))
        self.view = view
        return view

    async def tap(self, data: str) -> list:
        assert self.view is not None
        message = as_message(self.view) if isinstance(self.view, SendMessage) else None
        sent = await self.h.tap(self.user, data, message)
        edits = [r for r in sent if isinstance(r, EditMessageText | SendMessage)]
        if edits:
            self.view = edits[-1]
        return sent

    async def open(self, label: str) -> EditMessageText:
        await self.settings()
        assert self.view is not None
        sent = await self.tap(button_data(self.view, label))
        view = next(r for r in sent if isinstance(r, EditMessageText))
        return view

    async def type(self, text: str) -> SendMessage:
        sent = await self.h.send(self.user, text)
        reply = next(r for r in sent if isinstance(r, SendMessage))
        self.view = reply
        return reply


async def stored(db: Database) -> dict[str, str]:
    async with db.read() as conn:
        return dict(await (await conn.execute("SELECT key, value FROM settings")).fetchall())
