"""/crm in the chat, through the real dispatcher: an owner connects Bitrix24 (URL checked with
one call, the message with it deleted, the address and events answered), sees the status with
the secret masked, matches a CRM user to a manager, connects amoCRM; wrong input gets a polite
answer, a manager cannot open /crm."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aiogram.methods import DeleteMessage, SendMessage

from crm import store
from domain.settings import Settings
from storage import Database
from tests.conftest import OWNER_ID
from tests.fakes.amocrm import TOKEN, FakeAmoCRM
from tests.fakes.bitrix24 import CODE, FakeBitrix24, post_event
from tests.harness import Harness, as_message, button_data, replies
from tests.helpers.crm import address, prepare, rows, run_all, serving
from tests.helpers.survey import MANAGER_ID


def _owner(h: Harness):  # type: ignore[no-untyped-def]
    return h.user(OWNER_ID, "Ольга")


async def test_connecting_bitrix24_in_the_chat(
    harness: Harness, db: Database, settings: Settings, tmp_path: Path
) -> None:
    service = await prepare(harness)
    owner = _owner(harness)
    sent = await harness.send(owner, "/crm")
    assert "Ни одна CRM не подключена" in replies(sent)[0]
    menu = sent[-1]
    assert isinstance(menu, SendMessage)
    sent = await harness.tap(owner, button_data(menu, "Битрикс24"), as_message(menu))
    assert "входящего вебхука" in replies(sent)[-1]
    sent = await harness.send(owner, "https://example.com/not/a/webhook")
    assert "не похоже на адрес" in replies(sent)[0]
    assert not any(isinstance(r, DeleteMessage) for r in sent)
    sent = await harness.send(owner, "http://portal.bitrix24.ru/rest/1/k3y0f1nb0und7ebh00k/")
    assert "не похоже на адрес" in replies(sent)[-1]  # plain http to another machine
    assert any(isinstance(r, DeleteMessage) for r in sent)  # it held a webhook code

    async with FakeBitrix24() as fake, serving(service) as server:
        fake.revoked = True
        sent = await harness.send(owner, fake.url)
        assert "не приняла доступ" in replies(sent)[-1]
        assert any(isinstance(r, DeleteMessage) for r in sent)
        assert await store.active_connections(db) == []
        fake.revoked = False
        sent = await harness.send(owner, fake.url + "profile.json")
        text = replies(sent)[-1]
        assert any(isinstance(r, DeleteMessage) for r in sent)  # the secret leaves the chat
        # No public address is configured in this test: the owner is told what to set.
        assert "API_PUBLIC_URL" in text
        (connection,) = await store.active_connections(db)
        assert connection.base_url == fake.url and connection.account == fake.account
        assert len(fake.calls("user.current")) == 2

        fake.won(42, contact={"NAME": "Иван", "PHONE": [{"VALUE": "+7 916 123-45-67"}]},
                 assigned="7")  # fmt: skip
        fake.users["7"] = {"ID": "7", "NAME": "Анна", "LAST_NAME": "Сидорова"}
        await post_event(address(server, connection), 42)
        await run_all(service)
        sent = await harness.send(owner, "/crm")
        status = replies(sent)[0]
        assert (
            fake.account in status and CODE not in status and connection.path_secret not in status
        )
        assert "Сделок создано сегодня: 1" in status
        menu = sent[-1]
        assert isinstance(menu, SendMessage)
        sent = await harness.tap(owner, button_data(menu, "Сопоставить"), as_message(menu))
        users = sent[-1]
        assert "Анна Сидорова" in str(users.reply_markup)  # type: ignore[union-attr]
        sent = await harness.tap(owner, button_data(users, "Анна Сидорова"), as_message(users))
        picker = sent[-1]
        sent = await harness.tap(owner, button_data(picker, "Пётр"), as_message(picker))
        assert "Пётр Иванов" in replies(sent)[-1]
        user = await store.get_user(db, connection.id, "7")
        assert user is not None and user.staff_id == MANAGER_ID


async def test_connecting_amocrm_shows_the_address(harness: Harness, db: Database) -> None:
    service = await prepare(harness)
    live = harness.dp["live_settings"]
    live.base = replace(live.base, api_public_url="https://bot.example.com")
    await live.reload()
    owner = _owner(harness)
    menu = (await harness.send(owner, "/crm"))[-1]
    assert isinstance(menu, SendMessage)
    await harness.tap(owner, button_data(menu, "amoCRM"), as_message(menu))
    sent = await harness.send(owner, "not a subdomain!")
    assert "Не понял адрес" in replies(sent)[0]
    async with FakeAmoCRM() as fake:
        sent = await harness.send(owner, fake.url)
        assert "долгосрочный токен" in replies(sent)[0]
        sent = await harness.send(owner, "short")
        assert "не похоже на токен" in replies(sent)[-1]
        sent = await harness.send(owner, TOKEN)
        text = replies(sent)[-1]
        (connection,) = await store.active_connections(db)
        assert f"https://bot.example.com/crm/amocrm/{connection.path_secret}" in text
        assert "Смена статуса сделки" in text
        sent = await harness.send(owner, "/crm")
        status = replies(sent)[0]
        assert TOKEN not in status and connection.path_secret not in status
        assert TOKEN[:4] + "…" + TOKEN[-4:] in status
    await service.transport.close()


async def test_a_manager_cannot_open_crm(harness: Harness, db: Database) -> None:
    await prepare(harness)
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), "/crm")
    assert not any("CRM" in r for r in replies(sent))
    assert await rows(db, "SELECT id FROM crm_connections") == []
