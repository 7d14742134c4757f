"""The CRM connectors in tests: the dispatcher's own `CrmService` with fast limits, its event
addresses served by a real aiohttp server, and a connection to a fake CRM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import test_utils, web

from crm import store
from crm import web as crm_web
from crm.http import Transport
from crm.service import CrmService
from storage import Database
from storage.staff import touch_owner
from tests.conftest import OWNER_ID
from tests.harness import Harness
from tests.helpers.cases import add_manager
from tests.helpers.survey import MANAGER_ID

FAST = {"bitrix24": 0.02, "amocrm": 0.02}


async def prepare(h: Harness, intervals: dict[str, float] | None = None) -> CrmService:
    service: CrmService = h.dp["crm"]
    service.intervals = dict(intervals or FAST)
    service.transport = Transport(backoff=0.05, timeout=5)
    service.bind(h.bot)
    db: Database = h.dp["db"]
    await touch_owner(db, OWNER_ID, "Ольга Владелец", None, "ru", h.clock())
    await add_manager(db, MANAGER_ID, "Пётр Иванов", h.clock())
    return service


@asynccontextmanager
async def serving(service: CrmService) -> AsyncIterator[test_utils.TestServer]:
    app = web.Application()
    crm_web.add_routes(app, service)
    # As the bot's own servers run it (bot/webhook.py): no access log, which would show the
    # secret in each event's path.
    server = test_utils.TestServer(app, host="127.0.0.1")
    await server.start_server(access_log=None)
    try:
        yield server
    finally:
        await server.close()
        await service.transport.close()


def address(server: test_utils.TestServer, connection: store.Connection) -> str:
    return str(server.make_url(f"/crm/{connection.kind}/{connection.path_secret}"))


async def run_all(service: CrmService, rounds: int = 30) -> int:
    """Rounds of the worker until one does nothing; the work done."""
    total = 0
    for _ in range(rounds):
        done = await service.run_once()
        total += done
        if not done:
            return total
    raise AssertionError("the CRM worker never went idle")


async def rows(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        return [tuple(r) for r in await (await conn.execute(sql, params)).fetchall()]
