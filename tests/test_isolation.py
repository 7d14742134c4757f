"""One person's updates one after another, different people's side by side (per-chat isolation)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.methods import SendMessage, SendPhoto, TelegramMethod

from bot.dispatching import PerChatIsolation
from handlers.states import Sale
from storage import Database
from tests.harness import Harness, as_message, button_data, replies
from tests.helpers.sale import SaleBot, add_manager


def hold(
    harness: Harness, method: type[TelegramMethod[Any]]
) -> tuple[asyncio.Event, asyncio.Event]:
    """The next `method` request waits until the second event is set; the first says it started."""
    started, release = asyncio.Event(), asyncio.Event()
    session = harness.session
    real = session.make_request

    async def make_request(bot: Any, request: TelegramMethod[Any], timeout: Any = None) -> Any:
        if isinstance(request, method) and not started.is_set():
            started.set()
            await release.wait()
        return await real(bot, request, timeout)

    session.make_request = make_request  # type: ignore[method-assign]
    return started, release


async def test_a_sale_started_while_the_last_qr_code_goes_out_is_not_wiped(
    harness: Harness, db: Database
) -> None:
    """The old handler clears the conversation after the QR photo; a /sale sent meanwhile must
    come after it, not be wiped by it (it was: "this button no longer works" on the next tap)."""
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    assert confirm is not None
    photo_started, release = hold(harness, SendPhoto)
    save = asyncio.create_task(
        harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    )
    await photo_started.wait()
    new_sale = asyncio.create_task(harness.send(m.user, "/sale"))
    # every chance to run ahead of the photo: it must wait for the previous update instead
    done, _ = await asyncio.wait({new_sale}, timeout=1.0)
    assert not done
    release.set()
    await save
    sent = await new_sale  # (the requests made since it was fed: the photo's among them)
    assert [r for r in sent if isinstance(r, SendMessage) and "Новая сделка" in r.text]
    context = harness.dp.fsm.get_context(harness.bot, chat_id=m.user.id, user_id=m.user.id)
    assert await context.get_state() == Sale.kind.state
    assert m.card.labels[0] == "Клиент"
    await m.press("Клиент")
    assert "Имя и фамилия" in m.card.text
    isolation = harness.dp.fsm.events_isolation
    assert isinstance(isolation, PerChatIsolation) and isolation.held == 0


async def test_other_people_are_not_held_up_by_one_person(harness: Harness, db: Database) -> None:
    await add_manager(harness, db)
    m = SaleBot(harness)
    await m.fill()
    confirm = m.last
    assert confirm is not None
    photo_started, release = hold(harness, SendPhoto)
    save = asyncio.create_task(
        harness.tap(m.user, button_data(confirm, "Сохранить"), as_message(confirm))
    )
    await photo_started.wait()
    # somebody else is answered while the manager's photo is still on its way
    sent = await asyncio.wait_for(harness.send(harness.user(4242, "Гость"), "/help"), 30)
    assert replies(sent)
    release.set()
    await save
