"""Contacts and the staff who look them up (/find) in handler tests."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from aiogram.methods import SendMessage, TelegramMethod

from storage import Database
from storage.sale import SaleInput, record_sale
from tests.harness import (
    Harness,
    as_message,
    button_data,
    replies,
)

MANAGER_ID = 222


_keys = itertools.count(1)


async def add_contact(
    h: Harness,
    db: Database,
    name: str,
    *,
    manager: int = MANAGER_ID,
    phone: str | None = None,
    org: str | None = None,
    kind: str = "client",
    product: str = "Кухонный гарнитур",
    deal_date: date = date(2026, 11, 19),
) -> int:
    result = await record_sale(
        db,
        SaleInput(
            idem_key=f"k{next(_keys)}",
            manager_id=manager,
            kind=kind,
            full_name=name,
            organization=org,
            phone=phone,
            contact_tg_id=None,
            birthday=None,
            description=product,
            deal_date=deal_date,
        ),
        h.clock(),
    )
    return result.contact_id


def last_send(requests: list[TelegramMethod[Any]]) -> SendMessage:
    sends = [r for r in requests if isinstance(r, SendMessage)]
    assert sends, requests
    return sends[-1]


class Staff:
    """Plays a manager's (or owner's) side."""

    def __init__(self, h: Harness, user_id: int, lang: str = "ru") -> None:
        self.h = h
        self.user = h.user(user_id, "Пётр", lang=lang)
        self.last: SendMessage | None = None

    async def say(self, text: str) -> list[str]:
        sent = await self.h.send(self.user, text)
        if any(isinstance(r, SendMessage) for r in sent):
            self.last = last_send(sent)
        return replies(sent)

    async def press(self, label: str) -> list[TelegramMethod[Any]]:
        assert self.last is not None
        return await self.tap(button_data(self.last, label))

    async def tap(self, data: str) -> list[TelegramMethod[Any]]:
        assert self.last is not None
        sent = await self.h.tap(self.user, data, as_message(self.last))
        if any(isinstance(r, SendMessage) for r in sent):
            self.last = last_send(sent)
        return sent
