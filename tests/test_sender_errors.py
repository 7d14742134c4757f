"""The outbox sender with each exception class a request can raise: no row is ever left
"claimed", a row that keeps failing is retried with back-off and given up after a day, a timeout
is never repeated, and the owners' daily delivery line counts what failed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import time, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiohttp import ServerDisconnectedError

import scheduler.sender as sender_module
from domain.settings import Settings
from scheduler.followup import FollowUp
from scheduler.health import report_delivery
from scheduler.jobs import create_scheduler, move_digest
from scheduler.sender import Sender
from storage import Database
from storage.outbox import delivery_health, enqueue
from storage.settings import LiveSettings
from storage.timefmt import ts
from tests.conftest import OWNER_ID
from tests.harness import TOKEN, FakeClock

CHAT = 4001
Raiser = Callable[[TelegramMethod[Any]], BaseException]


def network(message: str, cause: BaseException) -> Raiser:
    def make(method: TelegramMethod[Any]) -> BaseException:
        exc = TelegramNetworkError(method, message)
        exc.__cause__ = cause
        return exc

    return make


class ScriptedSession(BaseSession):
    """Raises the scripted exceptions in turn, then delivers (records) every message."""

    def __init__(self, *script: Raiser) -> None:
        super().__init__()
        self.script = list(script)
        self.delivered: list[str] = []
        self.attempts = 0

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.attempts += 1
        if self.script:
            raise self.script.pop(0)(method)
        self.delivered.append(method.text)  # type: ignore[attr-defined]
        message = {
            "message_id": len(self.delivered),
            "date": 0,
            "chat": {"id": method.chat_id, "type": "private"},  # type: ignore[attr-defined]
            "text": method.text,  # type: ignore[attr-defined]
        }
        content = json.dumps({"ok": True, "result": message})
        return self.check_response(bot, method, 200, content).result


def sender_with(db: Database, clock: FakeClock, *script: Raiser) -> tuple[Sender, ScriptedSession]:
    session = ScriptedSession(*script)
    return Sender(Bot(TOKEN, session=session), db, clock, rate=0, per_chat_interval=0), session


async def queue(db: Database, clock: FakeClock, text: str, chat_id: int = CHAT) -> None:
    async with db.transaction() as conn:
        await enqueue(conn, chat_id=chat_id, purpose="test", payload={"text": text}, now=clock())


async def rows(db: Database) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT status, fail_reason, attempts, not_before, failing_since FROM outbox "
            "ORDER BY id"
        )
        return [tuple(r) for r in await cur.fetchall()]


HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

RETRIED: dict[str, Raiser] = {
    "RuntimeError": lambda m: RuntimeError("something unexpected"),
    "ClientDecodeError (HTML page)": lambda m: ClientDecodeError(
        "Failed to decode object", ValueError("Expecting value"), HTML_PAGE
    ),
    "TelegramServerError": lambda m: TelegramServerError(m, "Internal Server Error"),
    "dropped connection": network("ServerDisconnectedError", ServerDisconnectedError()),
}


@pytest.mark.parametrize("name", list(RETRIED))
async def test_a_retried_failure_leaves_the_row_pending_then_delivers_once(
    name: str, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock, "привет")
    sender, session = sender_with(db, clock, RETRIED[name])
    assert await sender.drain_once() == 0
    ((status, reason, attempts, not_before, since),) = await rows(db)
    assert (status, reason, attempts) == ("pending", None, 1)
    assert not_before == ts(clock() + timedelta(seconds=2)) and since == ts(clock())
    assert await sender.drain_once() == 0  # not due yet
    clock.advance(seconds=2)
    assert await sender.drain_once() == 1
    assert session.delivered == ["привет"]
    assert (await rows(db))[0][0] == "sent"


FAILED: dict[str, tuple[Raiser, str]] = {
    "timeout": (network("Request timeout error", TimeoutError()), "timeout"),
    "unreadable ok answer": (
        lambda m: ClientDecodeError("Failed to deserialize object", ValueError(), {"ok": True}),
        "unreadable",
    ),
    "403": (
        lambda m: TelegramForbiddenError(m, "Forbidden: bot was blocked by the user"),
        "blocked",
    ),
    "400": (lambda m: TelegramBadRequest(m, "Bad Request: chat not found"), "refused"),
}


@pytest.mark.parametrize("name", list(FAILED))
async def test_a_final_failure_fails_the_row_and_never_repeats_it(
    name: str, db: Database, clock: FakeClock
) -> None:
    raiser, reason = FAILED[name]
    await queue(db, clock, "привет")
    sender, session = sender_with(db, clock, raiser)
    assert await sender.drain_once() == 0
    assert [r[:2] for r in await rows(db)] == [("failed", reason)]
    clock.advance(days=2)
    assert await sender.drain_once() == 0
    assert session.attempts == 1 and session.delivered == []


async def test_flood_control_re_queues_after_retry_after(db: Database, clock: FakeClock) -> None:
    await queue(db, clock, "привет")
    sender, _ = sender_with(db, clock, lambda m: TelegramRetryAfter(m, "Too Many Requests", 40))
    assert await sender.drain_once() == 0
    assert (await rows(db))[0][:4] == ("pending", None, 1, ts(clock() + timedelta(seconds=40)))


async def test_a_decode_error_no_longer_strands_the_batch(db: Database, clock: FakeClock) -> None:
    """The defect: a 502 page raised ClientDecodeError out of the sender, and every row claimed
    with it stayed "claimed" until a restart."""
    for text in ("первое", "второе", "третье"):
        await queue(db, clock, text)
    sender, session = sender_with(db, clock, RETRIED["ClientDecodeError (HTML page)"])
    assert await sender.drain_once() == 2
    assert session.delivered == ["второе", "третье"]
    assert [r[0] for r in await rows(db)] == ["pending", "sent", "sent"]


async def test_a_failure_in_the_sender_itself_releases_the_row(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> bool:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(sender_module, "still_claimed", broken)
    await queue(db, clock, "привет")
    sender, session = sender_with(db, clock)
    assert await sender.drain_once() == 0
    assert (await rows(db))[0][0] == "pending" and session.attempts == 0


async def test_a_delivery_that_cannot_be_recorded_at_once_is_not_sent_again(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sender_module.mark_sent
    failures = [RuntimeError("disk I/O error")]

    async def flaky(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(*args)

    monkeypatch.setattr(sender_module, "mark_sent", flaky)
    real_sleep = asyncio.sleep
    monkeypatch.setattr(sender_module.asyncio, "sleep", lambda s: real_sleep(0))
    await queue(db, clock, "привет")
    sender, session = sender_with(db, clock)
    assert await sender.drain_once() == 1
    assert session.delivered == ["привет"] and (await rows(db))[0][0] == "sent"


async def test_a_row_failing_for_a_day_is_given_up_and_reported_once(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock, "тревога")
    fails: list[Raiser] = [RETRIED["TelegramServerError"]] * 400
    sender, session = sender_with(db, clock, *fails)
    for _ in range(200):  # back-off grows to 10 minutes; keep trying for more than a day
        await sender.drain_once()
        clock.advance(minutes=10)
        if (await rows(db))[0][0] == "failed":
            break
    ((status, reason, attempts, _, _),) = await rows(db)
    assert (status, reason) == ("failed", "expired")
    assert 140 < attempts < 160  # about every 10 minutes for a day
    assert session.delivered == []

    # blocked people are not news for the owners: the line counts only the rest
    await queue(db, clock, "заблокировал", chat_id=CHAT + 1)
    blocked, _ = sender_with(db, clock, FAILED["403"][0])
    await blocked.drain_once()
    health = await delivery_health(db, clock())
    assert (health.expired, health.refused, health.maybe_arrived) == (1, 0, 0)

    async with db.transaction() as conn:  # the owner speaks English
        await conn.execute(
            "INSERT INTO staff (user_id, role, full_name, language, active, created_at, "
            "updated_at) VALUES (?, 'owner', 'Olga', 'en', 1, ?, ?)",
            (OWNER_ID, ts(clock()), ts(clock())),
        )
    reporter, owner_session = sender_with(db, clock)
    followup = FollowUp(db, LiveSettings(settings, db), clock, reporter)
    assert await report_delivery(followup) == 1
    assert await report_delivery(followup) == 0  # once a day, and these failures once
    await reporter.drain_once()
    (line,) = owner_session.delivered
    assert line.startswith("⚠️ <b>Delivery</b>: messages not sent since the last summary: 1.")
    assert "Telegram did not take them for a day: 1" in line and "refused" not in line
    clock.advance(days=1)
    assert await report_delivery(followup) == 0  # nothing new failed: no line


async def test_the_delivery_line_in_russian_counts_timeouts(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    await queue(db, clock, "а")
    await queue(db, clock, "б")
    sender, _ = sender_with(db, clock, FAILED["timeout"][0], FAILED["400"][0])
    await sender.drain_once()
    reporter, owner_session = sender_with(db, clock)
    followup = FollowUp(db, LiveSettings(settings, db), clock, reporter)
    assert await report_delivery(followup) == 1
    await reporter.drain_once()
    (line,) = owner_session.delivered
    assert "не отправлено сообщений с прошлой сводки — 2" in line
    assert "Telegram отказал (ошибка в запросе): 1" in line
    assert "возможно, дошли, повторно не отправлялись: 1" in line


async def test_the_delivery_line_runs_with_the_plan_and_moves_with_it(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    sender, _ = sender_with(db, clock)
    scheduler = create_scheduler(settings, FollowUp(db, LiveSettings(settings, db), clock, sender))
    assert str(scheduler.get_job("delivery").trigger) == str(scheduler.get_job("digest").trigger)
    move_digest(
        scheduler, replace(settings, cadence=replace(settings.cadence, digest_time=time(8, 30)))
    )
    trigger = str(scheduler.get_job("delivery").trigger)
    assert "hour='8'" in trigger and "minute='30'" in trigger


async def test_a_stop_in_the_middle_of_retries_leaves_nothing_claimed(
    db: Database, clock: FakeClock
) -> None:
    """The sender's stop gives up after 10 s while the retry middleware may wait for 30: the row
    goes back to pending (re-sent at the next start, as a restart always did), not "claimed"."""
    started = asyncio.Event()

    class Hanging(ScriptedSession):
        async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:
            started.set()
            await asyncio.Event().wait()  # a request that never ends

    await queue(db, clock, "привет")
    sender = Sender(Bot(TOKEN, session=Hanging()), db, clock, rate=0, per_chat_interval=0)
    task = asyncio.create_task(sender.drain_once())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r[0] for r in await rows(db)] == ["pending"]
