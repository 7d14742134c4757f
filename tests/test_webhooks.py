"""Signed webhooks out (storage/events.py, storage/webhooks.py, scheduler/webhooks.py) against a
real aiohttp receiver in the test process, on real SQLite files, with the fake clock.

Provoked here: the signature checked with the README's own snippet (and a forged one refused);
a 500 retried on the back-off schedule, not before its time, and delivered once it recovers; a
receiver that does not answer within the timeout; a slow receiver while a respondent answers
the survey (answered meanwhile) and the cap on deliveries out at once; a person's events in order
while the first is retried (another person's not held up); a day of failures: the delivery given
up, the URL paused, the owners told once (what is made meanwhile is held: test_webhooks_held.py);
an event of a fact that rolled back (never queued); a delivery claimed by a process that died
(sent again); /forget before delivery (the queued events go without personal data, and the
later ones never had it).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from handlers.imports import import_jobs
from scheduler.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, Webhooks, retry_delay
from storage import Database
from storage.events import CASE_OPENED, DEAL_CREATED, emit, emit_on
from storage.forget import erase_contact
from storage.sale import SaleInput, record_sale
from storage.timefmt import from_ts, ts
from storage.webhooks import (
    add_endpoint,
    any_due,
    claim_due,
    get_endpoint,
    next_due,
    prune,
    recover_claimed,
    set_events,
    set_paused,
)
from tests.conftest import OWNER_ID
from tests.harness import FakeClock, Harness
from tests.helpers.cases import add_manager, detractor, take_and_resolve
from tests.helpers.imports import csv_bytes, feed_file, owner
from tests.helpers.receiver import Receiver, readme_verify
from tests.helpers.survey import MANAGER_ID, Respondent, setup_sale
from views.hooks import paused_notice


def deliverer(db: Database, clock: FakeClock, **kw: Any) -> Webhooks:
    # The receiver is on 127.0.0.1: allowed here (the guard itself: test_webhooks_guard.py).
    options: dict[str, Any] = {
        "timeout": 5.0,
        "max_in_flight": 4,
        "jitter": lambda: 0.0,
        "allow_private": True,
    }
    options.update(kw)
    return Webhooks(
        db,
        clock,
        owner_ids=frozenset({OWNER_ID}),
        notice=lambda kind, url, lang: paused_notice(url, lang or "ru", kind),
        **options,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def _rows(db: Database, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return await db.fetch(lambda conn: [tuple(r) for r in conn.execute(sql, args)])


async def _statuses(db: Database) -> list[str]:
    return [r[0] for r in await _rows(db, "SELECT status FROM webhook_deliveries ORDER BY id")]


_idem = iter(range(1, 100_000))


async def _sale(
    db: Database,
    clock: FakeClock,
    name: str = "Анна Смирнова",
    phone: str = "+79161234567",
    contact_id: int | None = None,
) -> int:
    known = await _rows(db, "SELECT 1 FROM staff WHERE user_id = ?", MANAGER_ID)
    if not known:
        await add_manager(db, MANAGER_ID, "Пётр Иванов", clock())
    result = await record_sale(
        db,
        SaleInput(
            idem_key=f"w{next(_idem)}",
            manager_id=MANAGER_ID,
            kind="client",
            full_name=name,
            organization="ООО «Берёзка»",
            phone=phone,
            contact_tg_id=None,
            birthday=None,
            description="Кухонный гарнитур",
            deal_date=date(2026, 11, 19),
            existing_contact_id=contact_id,
        ),
        clock(),
    )
    return result.contact_id


async def test_a_sale_arrives_signed_and_the_readmes_snippet_verifies_it(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, created = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    assert created and endpoint.secret.startswith("whsec_")
    await setup_sale(harness, db)
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 1
    finally:
        await hooks.close()
    (got,) = receiver.received
    event = got.event
    assert event["type"] == DEAL_CREATED and event["id"].startswith("evt_")
    assert got.headers[EVENT_ID_HEADER] == event["id"]
    assert event["created_at"] == "2026-11-20T07:00:00Z"
    assert event["data"]["contact"]["name"] == "Анна Смирнова"
    assert event["data"]["contact"]["phone"] == "+79161234567"
    assert event["data"]["deal"]["description"] == "Кухонный гарнитур"
    assert event["data"]["deal"]["survey_id"] == 1
    verify = readme_verify()
    header = got.headers[SIGNATURE_HEADER]
    now = clock().timestamp()
    assert header.startswith(f"t={int(now)},v1=")
    assert verify(endpoint.secret, header, got.body, now=now)
    assert not verify("whsec_other", header, got.body, now=now)
    assert not verify(endpoint.secret, header, got.body + b" ", now=now)
    assert not verify(endpoint.secret, header, got.body, now=now + 3600)  # a replay, too old
    assert not verify(endpoint.secret, "garbage", got.body, now=now)
    assert await _statuses(db) == ["delivered"]
    # Delivered is delivered: nothing more goes out.
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 0
    finally:
        await hooks.close()
    assert len(receiver.received) == 1


async def test_a_500_is_retried_on_the_back_off_schedule_then_delivered_once(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    receiver.status = 500
    hooks = deliverer(db, clock)
    waits: list[float] = []
    try:
        for _ in range(6):
            before = len(receiver.received)
            assert await hooks.drain_once() == 0
            assert len(receiver.received) == before + 1
            (next_at,) = (r[0] for r in await _rows(db, "SELECT next_at FROM webhook_deliveries"))
            wait = (next_at_dt := _dt(next_at)) - clock()
            waits.append(wait.total_seconds())
            # Not a moment early: just before it is due, nothing is sent.
            clock.now = next_at_dt - timedelta(seconds=1)
            assert await hooks.drain_once() == 0
            assert len(receiver.received) == before + 1
            clock.now = next_at_dt
        assert waits == [10, 20, 40, 80, 160, 320]
        receiver.status = 204
        assert await hooks.drain_once() == 1
    finally:
        await hooks.close()
    assert len(receiver.received) == 7
    assert len({r.event["id"] for r in receiver.received}) == 1  # the same event each time
    assert await _statuses(db) == ["delivered"]
    (row,) = await _rows(db, "SELECT failing_since, last_success_at FROM webhook_endpoints")
    assert row[0] is None and row[1] == ts(clock())


def _dt(stamp: str) -> datetime:
    return from_ts(stamp)


def test_the_back_off_doubles_to_an_hour_and_jitter_takes_at_most_half() -> None:
    assert [retry_delay(n, 0.0).total_seconds() for n in (1, 2, 3, 9, 10, 11, 40)] == [
        10,
        20,
        40,
        2560,
        3600,
        3600,
        3600,
    ]
    assert retry_delay(3, 0.999999).total_seconds() == pytest.approx(20, abs=0.01)
    assert retry_delay(3, 0.5).total_seconds() == 30


async def test_a_receiver_that_does_not_answer_in_time_is_a_failure_retried(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    receiver.hold = True  # answers only when released: never, within the timeout
    hooks = deliverer(db, clock, timeout=0.3)
    try:
        assert await hooks.drain_once() == 0
    finally:
        await hooks.close()
    (row,) = await _rows(db, "SELECT status, last_error, attempts FROM webhook_deliveries")
    assert row == ("pending", "no answer within 0.3 s", 1)
    (error,) = (r[0] for r in await _rows(db, "SELECT last_error FROM webhook_endpoints"))
    assert error == "no answer within 0.3 s"


async def test_a_slow_receiver_never_slows_the_survey_and_deliveries_out_are_capped(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    payload = await setup_sale(harness, db)
    for n in range(5):  # five more people: six events of six contacts, all due
        await _sale(db, clock, name=f"Клиент {n}", phone=f"+7916000000{n}")
    receiver.hold = True
    hooks = deliverer(db, clock, max_in_flight=2, timeout=30.0)
    drain = asyncio.create_task(hooks.drain_once())
    try:
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        await asyncio.wait_for(receiver.two_waiting.wait(), 10)
        # The receiver holds two deliveries; the respondent answers all the same.
        person = Respondent(harness)
        assert any("1 из 3" in text for text in await person.open(payload))
        await person.tap("9")
        assert person.question is not None and "2 из 3" in person.question.text
        await person.tap("Пропустить")
        assert "3 из 3" in person.question.text
        assert hooks.in_flight == 2 and not drain.done()
        receiver.release.set()
        delivered = await asyncio.wait_for(drain, 30)
    finally:
        receiver.release.set()
        if not drain.done():
            drain.cancel()
            await asyncio.gather(drain, return_exceptions=True)
        await hooks.close()
    assert receiver.most_concurrent == 2
    # The six deals, and the survey opened meanwhile (queued while the others were out).
    assert delivered == len(receiver.received) >= 6
    assert receiver.types().count(DEAL_CREATED) == 6


async def test_one_persons_events_arrive_in_order_while_the_first_is_retried(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    payload = await setup_sale(harness, db)  # contact 1: deal.created
    await Respondent(harness).open(payload)  # contact 1: survey.opened
    await _sale(db, clock, name="Борис", phone="+79160000001")  # contact 2: deal.created
    receiver.fail_first = 1
    hooks = deliverer(db, clock)
    try:
        # Contact 1's deal fails; its survey.opened waits; contact 2's deal goes.
        assert await hooks.drain_once() == 1
        first, second = receiver.received
        assert first.event["type"] == DEAL_CREATED and first.event["data"]["contact"]["id"] == 1
        assert second.event["data"]["contact"]["id"] == 2
        assert await _statuses(db) == ["pending", "pending", "delivered"]
        # The waiting survey.opened is due already, but nothing may go before the retry: an
        # idle deliverer sleeps until then instead of looking again and again.
        assert await next_due(db) == clock() + timedelta(seconds=10)
        assert not await any_due(db, clock())
        clock.advance(seconds=10)
        assert await hooks.drain_once() == 2
    finally:
        await hooks.close()
    ones = [r.event for r in receiver.received if r.event["data"]["contact"]["id"] == 1]
    assert [e["type"] for e in ones] == [DEAL_CREATED, DEAL_CREATED, "survey.opened"]
    assert ones[0]["id"] == ones[1]["id"]


async def test_a_day_of_failures_gives_up_pauses_the_url_and_tells_the_owners_once(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    await _sale(db, clock, name="Борис", phone="+79160000001")
    receiver.status = 503
    hooks = deliverer(db, clock)
    start = clock()
    try:
        for _ in range(200):
            await hooks.drain_once()
            found = await get_endpoint(db, endpoint.id)
            assert found is not None
            if found.status == "paused":
                break
            pending = "SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending'"
            (due,) = (r[0] for r in await _rows(db, pending))
            clock.now = _dt(due)
        else:
            raise AssertionError("never paused")
        assert found.paused_by == "failures"
        assert clock() - start >= timedelta(days=1)
        assert await _statuses(db) == ["failed", "failed"]
        # Paused: nothing more is tried; a new event is held for it, not sent.
        tried = len(receiver.received)
        clock.advance(hours=2)
        await _sale(db, clock, name="Вера", phone="+79160000002")
        assert await hooks.drain_once() == 0
        assert len(receiver.received) == tried
    finally:
        await hooks.close()
    assert await _statuses(db) == ["failed", "failed", "pending"]
    assert (await get_endpoint(db, endpoint.id)).held == 1  # type: ignore[union-attr]
    notices = await _rows(db, "SELECT chat_id FROM outbox WHERE purpose = 'webhook_paused'")
    assert notices == [(OWNER_ID,)]
    sent = await harness.drain()
    told = [r for r in sent if getattr(r, "chat_id", None) == OWNER_ID]
    assert len(told) == 1 and "Вебхук приостановлен" in told[0].text and "127.0.0.1" in told[0].text
    # Resumed by an owner: the next failing spell is a new one (told again only after a new day).
    await set_paused(db, endpoint.id, False, clock())
    assert (await get_endpoint(db, endpoint.id)).status == "active"  # type: ignore[union-attr]


async def test_an_event_rolls_back_with_its_fact(db: Database, clock: FakeClock) -> None:
    await add_endpoint(db, "https://example.com/in", OWNER_ID, clock())

    def sale_that_fails(conn: sqlite3.Connection) -> None:
        (contact_id,) = conn.execute(
            "INSERT INTO contacts (kind, full_name, created_at, updated_at) "
            "VALUES ('client', 'Анна', ?, ?) RETURNING id",
            (ts(clock()), ts(clock())),
        ).fetchone()
        queued = emit(
            conn,
            CASE_OPENED,
            contact_id=contact_id,
            payload={"case": {"id": 1}},
            at=ts(clock()),
        )
        assert queued == 1
        raise RuntimeError("the fact did not commit")

    with pytest.raises(RuntimeError):
        await db.write(sale_that_fails)
    assert await _rows(db, "SELECT count(*) FROM webhook_events") == [(0,)]
    assert await _rows(db, "SELECT count(*) FROM webhook_deliveries") == [(0,)]

    # The same through an aiosqlite transaction (the path /sale and /import take).
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO contacts (kind, full_name, created_at, updated_at) "
                "VALUES ('client', 'Борис', ?, ?)",
                (ts(clock()), ts(clock())),
            )
            await emit_on(conn, emit, CASE_OPENED, contact_id=None, payload={}, at=ts(clock()))
            raise RuntimeError("nor did this one")
    assert await _rows(db, "SELECT count(*) FROM webhook_events") == [(0,)]
    # And a fact that commits has its event.
    await _sale(db, clock)
    assert await _rows(db, "SELECT type FROM webhook_events") == [(DEAL_CREATED,)]


async def test_nobody_listening_stores_nothing(db: Database, clock: FakeClock) -> None:
    await _sale(db, clock)
    endpoint, _ = await add_endpoint(
        db, "https://example.com/in", OWNER_ID, clock(), events=(CASE_OPENED,)
    )
    await _sale(db, clock, name="Борис", phone="+79160000001")  # not a type it receives
    assert await _rows(db, "SELECT count(*) FROM webhook_events") == [(0,)]
    # A paused endpoint does listen: its events are held for it (test_webhooks_held.py).
    await set_paused(db, endpoint.id, True, clock())
    await set_events(db, endpoint.id, (DEAL_CREATED,), clock())
    await _sale(db, clock, name="Вера", phone="+79160000002")
    assert await _rows(db, "SELECT count(*) FROM webhook_events") == [(1,)]


async def test_a_delivery_claimed_by_a_process_that_died_is_sent_again(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    # A deliverer claims it and is killed before the request (or before recording the answer).
    (claimed,) = await claim_due(db, clock(), 10)
    assert await _statuses(db) == ["claimed"]
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 0  # claimed rows are nobody else's
        assert await recover_claimed(db) == 1  # what `start()` does first
        assert await hooks.drain_once() == 1
    finally:
        await hooks.close()
    assert receiver.received[0].event["id"] == claimed.event_uid
    # What a debug log of the database job's arguments would show of it: no secret, URL or body.
    shown = repr(claimed)
    assert claimed.secret not in shown and "127.0.0.1" not in shown and "Анна" not in shown
    assert await _statuses(db) == ["delivered"]


async def test_start_recovers_and_the_loop_delivers(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    await claim_due(db, clock(), 10)
    hooks = deliverer(db, clock)
    await hooks.start()
    try:
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        for _ in range(200):
            if await _statuses(db) == ["delivered"]:
                break
            await asyncio.sleep(0.02)
    finally:
        await hooks.stop()
    assert await _statuses(db) == ["delivered"]


async def test_a_forgotten_persons_events_carry_no_personal_data(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    contact_id = await _sale(db, clock)  # queued with name, phone, description
    (stored,) = await _rows(db, "SELECT personal FROM webhook_events")
    assert "Анна Смирнова" in stored[0]
    await erase_contact(db, contact_id, clock(), by="owner 1")
    # A new deal for the forgotten contact (a new relationship): no personal data either.
    await _sale(db, clock, name="Анна Смирнова", phone="+79161234567", contact_id=contact_id)
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 3
    finally:
        await hooks.close()
    assert receiver.types() == [DEAL_CREATED, "contact.forgotten", DEAL_CREATED]
    for got in receiver.received:
        text = got.body.decode()
        assert "Анна" not in text and "79161234567" not in text and "Кухонный" not in text
    first = receiver.received[0].event["data"]
    assert first["contact"] == {"id": contact_id, "kind": "client", "manager_id": MANAGER_ID}
    assert receiver.received[1].event["data"] == {
        "contact": {"id": contact_id, "forgotten_at": "2026-11-20T07:00:00Z"}
    }
    assert await _rows(db, "SELECT count(*) FROM webhook_events WHERE personal IS NOT NULL") == [
        (0,)
    ]


async def test_answer_and_case_events_carry_score_category_and_changes(
    harness: Harness, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await add_manager(db, MANAGER_ID, "Пётр Иванов", clock())
    case_id = await detractor(harness, db, score=3, consent=False)
    await take_and_resolve(harness, MANAGER_ID, case_id)
    hooks = deliverer(db, clock)
    try:
        await hooks.drain_once()
    finally:
        await hooks.close()
    assert receiver.types() == [
        DEAL_CREATED,
        "survey.opened",
        CASE_OPENED,
        "answer.completed",
        "case.taken",
        "case.resolved",
    ]
    events = {r.event["type"]: r.event["data"] for r in receiver.received}
    answer = events["answer.completed"]["answer"]
    assert (answer["score"], answer["category"], answer["consent"]) == (3, "detractor", False)
    assert answer["reason"] == "Сломали дверцу" and "phone" not in answer
    assert answer["case_id"] == case_id
    assert events[CASE_OPENED]["case"]["score"] == 3
    assert events["case.taken"]["case"]["owner_id"] == MANAGER_ID
    assert events["case.resolved"]["case"]["resolution"] == "Заменили дверцу"
    assert json.loads(receiver.received[0].body)["data"]["deal"]["source"] == "bot"


async def test_finished_deliveries_are_forgotten_after_a_month_pending_ones_never(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    hooks = deliverer(db, clock)
    try:
        assert await hooks.drain_once() == 1
    finally:
        await hooks.close()
    receiver.status = 500
    await _sale(db, clock, name="Борис", phone="+79160000001")  # stays pending
    clock.advance(days=29)
    assert await prune(db, clock()) == 0
    clock.advance(days=2)
    assert await prune(db, clock()) == 1
    assert await _statuses(db) == ["pending"]
    assert await _rows(db, "SELECT count(*) FROM webhook_events") == [(1,)]


async def test_an_import_reports_each_new_deal_once(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    await add_endpoint(db, "https://crm.example.com/in", OWNER_ID, clock())
    header = ["Имя", "Телефон", "Дата последней покупки", "Что купил"]
    data = csv_bytes(
        [
            header,
            ["Щукина Ёлка", "8 916 123-45-67", "01.10.2026", "Кухня"],
            ["Борис Шевчук", "+7 (903) 765 43 21", "", ""],  # no purchase: no deal
            ["Вера Лис", "+7 903 765 43 22", "02.10.2026", "Шкаф"],
        ]
    )
    for _ in range(2):  # the same file again adds no deal, and reports none
        await feed_file(harness, owner(harness), "base.csv", data)
        await import_jobs(harness.dp).wait_idle()
    events = await _rows(db, "SELECT type, data, personal FROM webhook_events ORDER BY id")
    assert [e[0] for e in events] == [DEAL_CREATED, DEAL_CREATED]
    deals = [json.loads(e[1])["deal"] for e in events]
    assert [(d["source"], d["date"], d["survey_id"]) for d in deals] == [
        ("import", "2026-10-01", None),
        ("import", "2026-10-02", None),
    ]
    assert json.loads(events[0][2])["contact"]["name"] == "Щукина Ёлка"
    assert await _rows(db, "SELECT count(*) FROM webhook_deliveries") == [(2,)]


async def test_a_new_event_does_not_wait_for_a_slow_receivers_answer(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url, OWNER_ID, clock())
    await _sale(db, clock)
    receiver.hold = True
    hooks = deliverer(db, clock, max_in_flight=2, timeout=30.0)
    drain = asyncio.create_task(hooks.drain_once())
    try:
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        await _sale(db, clock, name="Борис", phone="+79160000001")  # while the first is held
        await asyncio.wait_for(receiver.two_waiting.wait(), 10)  # it went out meanwhile
        receiver.release.set()
        assert await asyncio.wait_for(drain, 30) == 2
    finally:
        receiver.release.set()
        if not drain.done():
            drain.cancel()
            await asyncio.gather(drain, return_exceptions=True)
        await hooks.close()


async def test_a_failed_read_while_idle_does_not_end_the_deliverer(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait between drains reads the next due time; a read that fails there (a locked or
    damaged file for a moment) must not end the loop silently: it waits the idle time and looks
    again (review: it sat outside the loop's guard)."""
    import scheduler.webhooks as module

    async def broken(_db: Database) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(module, "next_due", broken)
    hooks = deliverer(db, clock)
    assert await hooks._idle() == module.IDLE_SECONDS
