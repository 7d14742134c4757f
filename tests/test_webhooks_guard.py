"""No server-side request forgery through webhooks (domain/hooks.py, scheduler/hooks_guard.py):
a URL into an internal network is refused at registration, politely, in the chat (Russian and
English) and over the API; at delivery a host name is judged by what it resolves to, inside
the connection, so the address checked is the address connected to (DNS rebinding), and an IP
literal registered before this rule is refused without a request. HOOKS_ALLOW_PRIVATE=1 lifts
it for a receiver on the bot's own network.

No network: a fake resolver answers for the host names, and sends them to the receiver on
127.0.0.1, so a missing guard would show as a request that arrives.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiogram.methods import SendMessage
from aiohttp import test_utils
from aiohttp.abc import AbstractResolver, ResolveResult

from api.server import standalone
from bot.config import ConfigError, load_settings
from domain.hooks import private_url, public_address
from domain.settings import Settings
from scheduler.hooks_guard import GuardedResolver, Refused
from scheduler.webhooks import INTERNAL, Webhooks
from storage import Database
from storage.api_tokens import create_token
from storage.staff import touch_owner
from storage.webhooks import add_endpoint, get_endpoint, list_endpoints
from tests.conftest import OWNER_ID, START, make_settings
from tests.harness import TOKEN, FakeClock, Harness, as_message, button_data
from tests.helpers.receiver import Receiver
from views.hooks import paused_notice

INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5:8080/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.10/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 in an old spelling resolvers still take
    "http://0x7f.1/hook",
    "http://127.1/hook",
]


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The default settings (internal addresses refused); `indirect` True allows them."""
    return make_settings(tmp_path, hooks_allow_private=getattr(request, "param", False))


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_recognised(url: str) -> None:
    assert private_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/in",
        "http://8.8.8.8/in",
        "http://[2606:4700:4700::1111]/in",
        "http://[::ffff:8.8.8.8]/in",
        "http://deadbeef.example/in",
        "http://1e100.net/in",
    ],
)
def test_public_addresses_and_names_pass(url: str) -> None:
    assert not private_url(url)


def _last(sent: list) -> SendMessage:
    sends = [r for r in sent if isinstance(r, SendMessage)]
    assert sends, sent
    return sends[-1]


async def _typed(h: Harness, url: str, lang: str = "ru") -> SendMessage:
    owner = h.user(OWNER_ID, "Ольга", lang=lang)
    menu = _last(await h.send(owner, "/hooks"))
    add = "Добавить адрес" if lang == "ru" else "Add a URL"
    await h.tap(owner, button_data(menu, add), as_message(menu))
    return _last(await h.send(owner, url))


async def test_an_owner_is_refused_an_internal_url_politely_and_the_prompt_stays(
    harness: Harness, db: Database
) -> None:
    reply = await _typed(harness, "http://169.254.169.254/latest/meta-data/")
    assert "внутреннюю сеть (169.254.169.254)" in reply.text
    assert "только на публичные адреса" in reply.text and "HOOKS_ALLOW_PRIVATE=1" in reply.text
    assert reply.reply_markup is not None  # the Cancel button: still asked for a URL
    assert await list_endpoints(db) == []
    owner = harness.user(OWNER_ID, "Ольга")
    for url in ("http://localhost:9000/x", "http://[::1]/x", "http://10.1.2.3/x"):
        assert "внутреннюю сеть" in _last(await harness.send(owner, url)).text
    assert await list_endpoints(db) == []
    fixed = _last(await harness.send(owner, "https://crm.example.com/in"))
    assert "Адрес добавлен" in fixed.text
    assert [e.url for e in await list_endpoints(db)] == ["https://crm.example.com/in"]


async def test_an_english_owner_is_refused_in_english(harness: Harness, db: Database) -> None:
    reply = await _typed(harness, "http://192.168.0.1/hook", lang="en")
    assert "internal network (192.168.0.1)" in reply.text and "public addresses" in reply.text
    assert await list_endpoints(db) == []


@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_allowed_by_the_setting_an_internal_url_is_added(
    harness: Harness, db: Database
) -> None:
    reply = await _typed(harness, "http://10.0.0.5:8080/hook")
    assert "Адрес добавлен" in reply.text
    assert [e.url for e in await list_endpoints(db)] == ["http://10.0.0.5:8080/hook"]


async def test_the_api_refuses_an_internal_url_naming_the_field(
    harness: Harness, db: Database, settings: Settings
) -> None:
    await touch_owner(db, OWNER_ID, "Ольга", None, "ru", START)
    _, write = await create_token(db, "crm", "deals:write", OWNER_ID, START)
    app = standalone(harness.dp, harness.bot, settings)
    async with test_utils.TestClient(test_utils.TestServer(app)) as http:
        for url in ("http://127.0.0.1:8080/in", "http://[::1]/in", "http://169.254.169.254/"):
            r = await http.post(
                "/api/v1/webhooks", json={"url": url}, headers={"Authorization": f"Bearer {write}"}
            )
            assert r.status == 422, url
            body = await r.json()
            (problem,) = body["errors"]
            assert problem["field"] == "url" and problem["code"] == "private_address"
            assert "internal network" in problem["message"]
        r = await http.post(
            "/api/v1/webhooks",
            json={"url": "https://crm.example.com/in"},
            headers={"Authorization": f"Bearer {write}"},
        )
        assert r.status == 201
    assert [e.url for e in await list_endpoints(db)] == ["https://crm.example.com/in"]


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)


class FakeResolver(AbstractResolver):
    """Answers from a table, records the questions; no network."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return [_result(host, a, port) for a in self.table[host]]

    async def close(self) -> None:
        pass


async def test_the_guard_keeps_only_public_answers_and_refuses_when_none_is_left() -> None:
    inner = FakeResolver(
        {
            "mixed.example": ["127.0.0.1", "93.184.216.34", "10.0.0.1", "2606:4700::1"],
            "inside.example": ["169.254.169.254", "::1", "fd00::1"],
        }
    )
    guard = GuardedResolver(inner)
    kept = await guard.resolve("mixed.example", 443)
    assert [r["host"] for r in kept] == ["93.184.216.34", "2606:4700::1"]
    with pytest.raises(Refused):
        await guard.resolve("inside.example", 443)
    assert public_address("93.184.216.34") and not public_address("169.254.169.254")


def _deliverer(
    db: Database, clock: FakeClock, resolver: FakeResolver, allow_private: bool
) -> Webhooks:
    return Webhooks(
        db,
        clock,
        owner_ids=frozenset({OWNER_ID}),
        notice=lambda kind, url, lang: paused_notice(url, "ru", kind),
        timeout=5.0,
        jitter=lambda: 0.0,
        allow_private=allow_private,
        resolver=lambda: resolver,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def _event(db: Database, clock: FakeClock) -> None:
    from storage.events import emit

    def made(conn: object) -> int:
        return emit(
            conn,  # type: ignore[arg-type]
            "contact.forgotten",
            contact_id=None,
            payload={"contact": {"id": 1}},
            at="2026-11-20 07:00:00",
        )

    assert await db.write(made) == 1


async def test_a_name_that_resolves_inside_is_refused_at_delivery_dns_rebinding(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    """The name passed registration (it is a name); at delivery it resolves to 127.0.0.1, where
    the receiver listens: the guard refuses it, and nothing arrives."""
    port = urlsplit(receiver.url).port
    url = f"http://hooks.crm.example:{port}/hooks/in"
    endpoint, _ = await add_endpoint(db, url, OWNER_ID, clock())
    assert not private_url(url)
    await _event(db, clock)
    resolver = FakeResolver({"hooks.crm.example": ["127.0.0.1"]})
    hooks = _deliverer(db, clock, resolver, allow_private=False)
    try:
        assert await hooks.drain_once() == 0
    finally:
        await hooks.close()
    assert resolver.asked == ["hooks.crm.example"]  # judged after the lookup, by the connector
    assert receiver.received == []
    found = await get_endpoint(db, endpoint.id)
    assert found is not None and found.last_error == INTERNAL
    # The same answer with HOOKS_ALLOW_PRIVATE: the request goes to the address the resolver
    # gave, which is the one the guard would have checked.
    clock.advance(seconds=10)
    allowed = _deliverer(db, clock, FakeResolver({"hooks.crm.example": ["127.0.0.1"]}), True)
    try:
        assert await allowed.drain_once() == 1
    finally:
        await allowed.close()
    assert len(receiver.received) == 1


async def test_an_internal_ip_registered_earlier_is_refused_without_a_request(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    """Added before the rule (or while the setting allowed it): aiohttp asks no resolver about
    an IP literal, so the deliverer checks it itself."""
    endpoint, _ = await add_endpoint(db, receiver.url, OWNER_ID, clock())  # 127.0.0.1
    await _event(db, clock)
    resolver = FakeResolver({})
    hooks = _deliverer(db, clock, resolver, allow_private=False)
    try:
        assert await hooks.drain_once() == 0
    finally:
        await hooks.close()
    assert receiver.received == [] and resolver.asked == []
    found = await get_endpoint(db, endpoint.id)
    assert found is not None and found.last_error == INTERNAL and found.status == "active"


def test_the_setting_is_read_from_the_environment() -> None:
    assert load_settings({"BOT_TOKEN": TOKEN}).hooks_allow_private is False
    assert load_settings({"BOT_TOKEN": TOKEN, "HOOKS_ALLOW_PRIVATE": "1"}).hooks_allow_private
    assert not load_settings({"BOT_TOKEN": TOKEN, "HOOKS_ALLOW_PRIVATE": "0"}).hooks_allow_private
    with pytest.raises(ConfigError, match="HOOKS_ALLOW_PRIVATE"):
        load_settings({"BOT_TOKEN": TOKEN, "HOOKS_ALLOW_PRIVATE": "maybe"})
