"""A recorded sale and its respondent: the survey link, and a person who opens and answers it."""

from __future__ import annotations

from datetime import date

from aiogram.methods import SendMessage

from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, replies

MANAGER_ID = 222


CLIENT_ID = 5001


_counter = iter(range(1, 10_000))


async def setup_sale(
    h: Harness,
    db: Database,
    *,
    kind: str = "client",
    phone: str | None = "+79161234567",
    name: str = "Анна Смирнова",
) -> str:
    """A manager and one recorded sale; returns the survey link payload."""
    if not await _has_manager(db):
        invite = await create_invite(db, OWNER_ID, h.clock())
        await redeem_invite(db, invite.token, MANAGER_ID, "Пётр Иванов", None, "ru", h.clock())
    result = await record_sale(
        db,
        SaleInput(
            idem_key=f"k{next(_counter)}",
            manager_id=MANAGER_ID,
            kind=kind,
            full_name=name,
            organization="ООО «Берёзка»",
            phone=phone,
            contact_tg_id=None,
            birthday=None,
            description="Кухонный гарнитур",
            deal_date=date(2026, 11, 19),
        ),
        h.clock(),
    )
    return f"s_{result.survey_token}"


async def _has_manager(db: Database) -> bool:
    async with db.read() as conn:
        cur = await conn.execute("SELECT count(*) FROM staff WHERE user_id = ?", (MANAGER_ID,))
        return bool((await cur.fetchone())[0])


class Respondent:
    def __init__(self, h: Harness, user_id: int = CLIENT_ID, lang: str = "ru") -> None:
        self.h = h
        self.user = h.user(user_id, "Анна", lang=lang)
        self.question: SendMessage | None = None

    async def send(self, text: str) -> list[str]:
        return self._track(await self.h.send(self.user, text))

    async def open(self, payload: str) -> list[str]:
        return await self.send(f"/start {payload}")

    async def tap(self, label: str, message: SendMessage | None = None) -> list:
        target = message or self.question
        assert target is not None
        sent = await self.h.tap(self.user, button_data(target, label), as_message(target))
        self._track(sent)
        return sent

    def _track(self, sent: list) -> list[str]:
        sends = [r for r in sent if isinstance(r, SendMessage)]
        if sends:
            self.question = sends[-1]
        return replies(sent)
