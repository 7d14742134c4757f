"""A paused webhook URL (storage/webhooks.py, scheduler/webhooks.py): events made while it is
paused are held for it and go, in order per contact, when it is resumed; held ones older than
HOLD_FOR are dropped and the owners told once per pause; /forget scrubs held events; a receiver's
410 Gone pauses the URL at once, tells the owners once and is not retried, while a 404 is.

Against the real aiohttp receiver on 127.0.0.1 (so `allow_private`), real SQLite files, the fake
clock. Each test fails on the code before issue 16's leftovers were fixed: a paused URL queued
nothing, and a 410 was retried like a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from scheduler.webhooks import SIGNATURE_HEADER, Webhooks
from storage import Database
from storage.events import DEAL_CREATED
from storage.forget import erase_contact
from storage.sale import SaleInput, record_sale
from storage.webhooks import (
    DROPPED_PURPOSE,
    HOLD_FOR,
    PAUSED_PURPOSE,
    Endpoint,
    add_endpoint,
    drop_held,
    get_endpoint,
    set_paused,
)
from tests.conftest import OWNER_ID
from tests.harness import FakeClock, Harness, as_message, button_data, replies
from tests.helpers.cases import add_manager
from tests.helpers.receiver import Receiver, readme_verify
from tests.helpers.survey import MANAGER_ID
from views.hooks import paused_notice


def deliverer(db: Database, clock: FakeClock) -> Webhooks:
    return Webhooks(
        db,
        clock,
        owner_ids=frozenset({OWNER_ID}),
        notice=lambda kind, url, lang: paused_notice(url, lang or "ru", kind),
        timeout=5.0,
        jitter=lambda: 0.0,
        allow_private=True,  # the receiver is on 127.0.0.1
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def _rows(db: Database, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return await db.fetch(lambda conn: [tuple(r) for r in conn.execute(sql, args)])


async def _statuses(db: Database) -> list[str]:
    return [r[0] for r in await _rows(db, "SELECT status FROM webhook_deliveries ORDER BY id")]


async def _endpoint(db: Database, endpoint_id: int) -> Endpoint:
    found = await get_endpoint(db, endpoint_id)
    assert found is not None
    return found


_idem = iter(range(1, 100_000))


async def _sale(
    db: Database,
    clock: FakeClock,
    name: str = "Анна Смирнова",
    phone: str = "+79161234567",
    contact_id: int | None = None,
    what: str = "Кухонный гарнитур",
) -> int:
    if not await _rows(db, "SELECT 1 FROM staff WHERE user_id = ?", MANAGER_ID):
        await add_manager(db, MANAGER_ID, "Пётр Иванов", clock())
    result = await record_sale(
        db,
        SaleInput(
            idem_key=f"h{next(_idem)}",
            manager_id=MANAGER_ID,
            kind="client",
            full_name=name,
            organization=None,
            phone=phone,
            contact_tg_id=None,
            birthday=None,
            description=what,
            deal_date=date(2026, 11, 19),
            existing_contact_id=contact_id,
        ),
        clock(),
    )
    return result.contact_id


async def test_events_made_while_paused_are_held_then_go_in_order_per_contact_on_resume(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await set_paused(db, endpoint.id, True, clock())
    anna = await _sale(db, clock, what="Кухня")
    clock.advance(minutes=1)
    boris = await _sale(db, clock, name="Борис", phone="+79160000001", what="Стол")
    clock.advance(minutes=1)
    await _sale(db, clock, contact_id=anna, what="Шкаф")  # Anna's second deal
    hooks = deliverer(db, clock)
    try:
        # Held: kept, counted, never tried while paused, however late it gets.
        clock.advance(hours=5)
        assert await hooks.drain_once() == 0
        assert receiver.received == []
        held = await _endpoint(db, endpoint.id)
        assert held.held == 3 and held.pending == 3
        # Resumed: they go, with the usual back-off. Anna's first fails once; her second
        # waits behind it, Boris's does not.
        receiver.fail_first = 1
        await set_paused(db, endpoint.id, False, clock())
        assert (await _endpoint(db, endpoint.id)).held == 0  # pending, no longer held
        assert await hooks.drain_once() == 1
        assert [r.event["data"]["contact"]["id"] for r in receiver.received] == [anna, boris]
        clock.advance(seconds=10)
        assert await hooks.drain_once() == 2
    finally:
        await hooks.close()
    annas = [r for r in receiver.received if r.event["data"]["contact"]["id"] == anna]
    assert [r.event["data"]["deal"]["description"] for r in annas] == ["Кухня", "Кухня", "Шкаф"]
    assert annas[0].event["id"] == annas[1].event["id"]  # the retry is the same event
    assert await _statuses(db) == ["delivered"] * 3
    verify = readme_verify()
    for got in receiver.received:
        assert got.event["type"] == DEAL_CREATED
        assert verify(
            endpoint.secret, got.headers[SIGNATURE_HEADER], got.body, now=clock().timestamp()
        )


async def test_held_events_older_than_the_retention_are_dropped_and_the_owners_told_once(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    assert timedelta(days=3) == HOLD_FOR
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await set_paused(db, endpoint.id, True, clock())
    await _sale(db, clock, what="Старый")
    clock.advance(days=2)
    await _sale(db, clock, name="Борис", phone="+79160000001", what="Новый")
    notice = lambda kind, url, lang: paused_notice(url, lang or "ru", kind)  # noqa: E731
    clock.advance(days=1, minutes=-1)
    assert await drop_held(db, clock(), {OWNER_ID}, notice) == 0  # not yet 3 days old
    clock.advance(minutes=2)
    assert await drop_held(db, clock(), {OWNER_ID}, notice) == 1  # the oldest only
    found = await _endpoint(db, endpoint.id)
    assert (found.held, found.dropped) == (1, 1)
    # Still paused days later, more dropped: the owners are not told again in this pause.
    await _sale(db, clock, name="Вера", phone="+79160000002", what="Позже")
    clock.advance(days=4)
    assert await drop_held(db, clock(), {OWNER_ID}, notice) == 2
    assert (await _endpoint(db, endpoint.id)).dropped == 3
    told = await _rows(db, "SELECT chat_id FROM outbox WHERE purpose = ?", DROPPED_PURPOSE)
    assert told == [(OWNER_ID,)]
    sent = [r for r in await harness.drain() if getattr(r, "chat_id", None) == OWNER_ID]
    assert len(sent) == 1
    assert "дольше 3 дней" in sent[0].text and "127.0.0.1" in sent[0].text
    # The card says what was dropped in this pause.
    owner = harness.user(OWNER_ID, "Ольга")
    menu = (await harness.send(owner, "/hooks"))[-1]
    card = replies(await harness.tap(owner, button_data(menu, "127.0.0.1"), as_message(menu)))
    assert "удалено событий старше 3 дней: 3" in card[-1]
    # Resumed: what was dropped is not sent; a new event goes; a new pause may tell again.
    await set_paused(db, endpoint.id, False, clock())
    assert (await _endpoint(db, endpoint.id)).dropped == 0
    await _sale(db, clock, name="Глеб", phone="+79160000003", what="Свежий")
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 1
    finally:
        await hooks.close()
    assert [r.event["data"]["deal"]["description"] for r in receiver.received] == ["Свежий"]
    await set_paused(db, endpoint.id, True, clock())
    await _sale(db, clock, name="Дарья", phone="+79160000004", what="Снова")
    clock.advance(days=3, minutes=1)
    assert await drop_held(db, clock(), {OWNER_ID}, notice) == 1
    told = await _rows(db, "SELECT chat_id FROM outbox WHERE purpose = ?", DROPPED_PURPOSE)
    assert told == [(OWNER_ID,), (OWNER_ID,)]


async def test_forget_scrubs_a_held_event_before_it_is_sent(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await set_paused(db, endpoint.id, True, clock())
    anna = await _sale(db, clock)
    (stored,) = await _rows(db, "SELECT personal FROM webhook_events")
    assert "Анна Смирнова" in stored[0]
    await erase_contact(db, anna, clock(), by="owner 1")
    assert (await _endpoint(db, endpoint.id)).held == 2  # the deal, and contact.forgotten
    await set_paused(db, endpoint.id, False, clock())
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 2
    finally:
        await hooks.close()
    assert receiver.types() == [DEAL_CREATED, "contact.forgotten"]
    for got in receiver.received:
        text = got.body.decode()
        assert "Анна" not in text and "79161234567" not in text and "Кухонный" not in text


async def test_the_hooks_screen_shows_how_many_are_held(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    endpoint, _ = await add_endpoint(db, "https://crm.example.com/in", OWNER_ID, clock())
    await set_paused(db, endpoint.id, True, clock())
    await _sale(db, clock)
    await _sale(db, clock, name="Борис", phone="+79160000001")
    owner = harness.user(OWNER_ID, "Ольга")
    menu = (await harness.send(owner, "/hooks"))[-1]
    assert "на паузе · ждут возобновления: 2" in replies([menu])[-1]
    card = replies(await harness.tap(owner, button_data(menu, "crm.example.com"), as_message(menu)))
    assert "Ждут возобновления: 2" in card[-1] and "хранятся 3 дня" in card[-1]
    english = harness.user(OWNER_ID, "Olga", lang="en")
    menu = (await harness.send(english, "/hooks"))[-1]
    assert "waiting for resume: 2" in replies([menu])[-1]


async def test_a_410_pauses_the_url_at_once_tells_the_owners_once_and_is_not_retried(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    await _sale(db, clock, name="Борис", phone="+79160000001")
    receiver.status = 410
    hooks = deliverer(db, clock)
    try:
        await hooks.drain_once()  # both out at once: two 410s
        assert len(receiver.received) == 2
        found = await _endpoint(db, endpoint.id)
        assert (found.status, found.paused_by, found.held) == ("paused", "gone", 2)
        assert found.last_error is not None and "410" in found.last_error
        # Not retried, not given up: an hour, a day later nothing more has gone.
        for _ in range(3):
            clock.advance(hours=9)
            assert await hooks.drain_once() == 0
        assert len(receiver.received) == 2
        assert await _statuses(db) == ["pending", "pending"]
        notices = await _rows(db, "SELECT chat_id FROM outbox WHERE purpose = ?", PAUSED_PURPOSE)
        assert notices == [(OWNER_ID,)]
        sent = [r for r in await harness.drain() if getattr(r, "chat_id", None) == OWNER_ID]
        assert len(sent) == 1 and "410 Gone" in sent[0].text and "127.0.0.1" in sent[0].text
        owner = harness.user(OWNER_ID, "Ольга")
        assert "получатель ответил 410" in replies(await harness.send(owner, "/hooks"))[-1]
        # The receiver is fixed and the URL resumed: both go.
        receiver.status = 200
        await set_paused(db, endpoint.id, False, clock())
        assert (await _endpoint(db, endpoint.id)).paused_by is None
        assert await hooks.drain_once() == 2
    finally:
        await hooks.close()
    assert await _statuses(db) == ["delivered", "delivered"]


async def test_another_4xx_is_retried_with_back_off_like_a_5xx(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    receiver.status = 404
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 0
        found = await _endpoint(db, endpoint.id)
        assert found.status == "active" and found.last_error == "HTTP 404"
        receiver.status = 200
        clock.advance(seconds=10)
        assert await hooks.drain_once() == 1
    finally:
        await hooks.close()
    assert len(receiver.received) == 2


async def test_the_running_deliverer_drops_what_was_held_too_long(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await set_paused(db, endpoint.id, True, clock())
    await _sale(db, clock)
    clock.advance(days=3, minutes=1)
    hooks = deliverer(db, clock)
    await hooks.start()  # its first round cleans up: prune, then drop what was held too long
    try:
        for _ in range(500):
            if await _statuses(db) == ["failed"]:
                break
            await asyncio.sleep(0.02)
    finally:
        await hooks.stop()
    assert await _statuses(db) == ["failed"]
    assert (await _endpoint(db, endpoint.id)).dropped == 1
    assert receiver.received == []
