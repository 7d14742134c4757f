"""Recording a sale through /sale in handler tests (`SaleBot` walks the conversation)."""

from __future__ import annotations

from aiogram.methods import SendMessage

from storage import Database
from storage.staff import create_invite, redeem_invite
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, replies

MANAGER_ID = 222


async def add_manager(
    h: Harness, db: Database, user_id: int = MANAGER_ID, lang: str = "ru"
) -> None:
    invite = await create_invite(db, OWNER_ID, h.clock())
    await redeem_invite(db, invite.token, user_id, "Пётр Иванов", None, lang, h.clock())


def last_send(requests: list) -> SendMessage:
    sends = [r for r in requests if isinstance(r, SendMessage)]
    assert sends, requests
    return sends[-1]


class SaleBot:
    """Plays the manager's side of the conversation."""

    def __init__(self, h: Harness, user_id: int = MANAGER_ID, lang: str = "ru") -> None:
        self.h = h
        self.user = h.user(user_id, "Пётр", lang=lang)
        self.last: SendMessage | None = None

    async def say(self, text: str) -> list[str]:
        sent = await self.h.send(self.user, text)
        if any(isinstance(r, SendMessage) for r in sent):
            self.last = last_send(sent)
        return replies(sent)

    async def contact(self, phone: str, owner_id: int | None) -> None:
        sent = await self.h.send_contact(self.user, phone, owner_id=owner_id)
        self.last = last_send(sent)

    async def press(self, label: str) -> list:
        assert self.last is not None
        sent = await self.h.tap(self.user, button_data(self.last, label), as_message(self.last))
        if any(isinstance(r, SendMessage) for r in sent):
            self.last = last_send(sent)
        return sent

    async def fill(
        self,
        kind: str = "Клиент",
        name: str = "Анна Смирнова",
        phone: str | None = "8 916 123-45-67",
        birthday: str | None = "29.02",
        product: str = "Кухонный гарнитур",
    ) -> None:
        await self.say("/sale")
        await self.press(kind)
        await self.say(name)
        await self.press("Пропустить")  # organisation
        if phone:
            await self.say(phone)
        else:
            await self.press("Пропустить")
        if birthday:
            await self.say(birthday)
        else:
            await self.press("Пропустить")
        await self.say(product)
        await self.press("Сегодня")
