"""End to end: the real bot process delivers a signed webhook, and a delivery cut short by a
SIGKILL (the request out, the receiver not yet answering) is sent again after the restart, with
the same event id and a valid signature: at least once, never lost (HOOKS_ALLOW_PRIVATE=1: the
receiver is on 127.0.0.1). Without that setting the running bot refuses the same URL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scheduler.webhooks import EVENT_ID_HEADER, INTERNAL, SIGNATURE_HEADER
from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import touch_owner
from storage.webhooks import add_endpoint
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.helpers.e2e import OWNER_ID, bot_env
from tests.helpers.receiver import Receiver, readme_verify

pytestmark = pytest.mark.e2e  # starts the real bot process


async def _prepare(path: Path, url: str) -> str:
    """A URL registered and a sale recorded, through the bot's own storage; the URL's secret."""
    db = Database(path)
    await db.open()
    now = datetime.now(UTC)
    await touch_owner(db, OWNER_ID, "Ольга", None, "ru", now)
    endpoint, _ = await add_endpoint(db, url, OWNER_ID, now)
    sale = SaleInput(
        idem_key="hook-1",
        manager_id=OWNER_ID,
        kind="client",
        full_name="Анна Смирнова",
        organization=None,
        phone="+79161234567",
        contact_tg_id=None,
        birthday=None,
        description="Кухня",
        deal_date=date(2026, 11, 19),
    )
    await record_sale(db, sale, now)
    await db.close()
    return endpoint.secret


def _statuses(path: Path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return [r[0] for r in conn.execute("SELECT status FROM webhook_deliveries ORDER BY id")]


async def _until(check: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_delivery_cut_by_a_kill_is_sent_again_after_the_restart(
    api: FakeBotAPI, tmp_path: Path, launcher: Launcher
) -> None:
    env = bot_env(api, tmp_path) | {"HOOKS_ALLOW_PRIVATE": "1"}  # the receiver is on 127.0.0.1
    path = Path(env["DATABASE_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    async with Receiver() as receiver:
        secret = await _prepare(path, receiver.url)
        receiver.hold = True  # the first request waits: the bot is killed meanwhile
        process = launcher.bot(tmp_path, env)
        await process.start()
        await asyncio.wait_for(receiver.arrived.wait(), 60)
        assert _statuses(path) == ["claimed"]
        assert await process.kill() == -9
        receiver.hold = False
        receiver.release.set()
        await process.start()
        await _until(lambda: len(receiver.received) >= 2, "the delivery sent again")
        await _until(lambda: _statuses(path) == ["delivered"], "the delivery recorded")
        assert await process.stop() == 0
    first, again = receiver.received[:2]
    assert first.headers[EVENT_ID_HEADER] == again.headers[EVENT_ID_HEADER]
    assert again.event["type"] == "deal.created"
    assert again.event["data"]["contact"]["name"] == "Анна Смирнова"
    verify = readme_verify()
    assert verify(secret, again.headers[SIGNATURE_HEADER], again.body)
    assert secret not in process.log()


def _last_error(path: Path) -> str | None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT last_error FROM webhook_deliveries ORDER BY id").fetchone()
        return None if row is None else row[0]


async def test_without_the_setting_the_real_process_sends_nothing_to_an_internal_address(
    api: FakeBotAPI, tmp_path: Path, launcher: Launcher
) -> None:
    """HOOKS_ALLOW_PRIVATE unset: a URL on 127.0.0.1 stored earlier (before the rule) is refused
    by the running bot, and the receiver there never hears of the sale."""
    env = bot_env(api, tmp_path)
    path = Path(env["DATABASE_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    async with Receiver() as receiver:
        await _prepare(path, receiver.url)
        process = launcher.bot(tmp_path, env)
        await process.start()
        await _until(lambda: _last_error(path) is not None, "the refused attempt recorded")
        assert await process.stop() == 0
    assert receiver.received == []
    assert _last_error(path) == INTERNAL
    assert _statuses(path) == ["pending"]  # a failure like any other: retried, then given up
