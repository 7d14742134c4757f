"""The follow-up cadence in handler tests: set the fake clock, record a sale, read the tasks,
open a task card from the morning plan."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram.methods import EditMessageText, SendMessage

from storage import Database
from tests.harness import Harness, as_message, button_data
from tests.helpers.sale import SaleBot, add_manager
from tests.helpers.survey import Respondent

MSK = ZoneInfo("Europe/Moscow")


def at(h: Harness, year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> None:
    h.clock.now = datetime(year, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


def sends(requests: list, chat_id: int) -> list[SendMessage]:
    return [r for r in requests if isinstance(r, SendMessage) and r.chat_id == chat_id]


async def tasks(db: Database) -> list[tuple]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT kind, due_date, status, outcome, idem_key FROM tasks ORDER BY id"
            )
        ).fetchall()
    return [tuple(r) for r in rows]


async def record(h: Harness, db: Database) -> None:
    """A sale on Friday 20.11; the client opens the link at once (so no "resend" task)."""
    await add_manager(h, db)
    m = SaleBot(h)
    await m.fill(name="Анна Смирнова", phone="+79161234567", birthday=None)
    await m.press("Сохранить")
    anna = Respondent(h)
    async with db.read() as conn:
        token = (await (await conn.execute("SELECT token FROM surveys")).fetchone())[0]
    await anna.open(f"s_{token}")


async def open_card(h: Harness, plan: SendMessage, label: str) -> SendMessage | EditMessageText:
    user = h.user(plan.chat_id, "Пётр")  # type: ignore[arg-type]
    sent = await h.tap(user, button_data(plan, label), as_message(plan))
    return next(r for r in sent if isinstance(r, EditMessageText))
