"""Webhook URLs over the HTTP API (api/webhooks.py) through a real aiohttp test client against
the real application: scopes (registering needs deals:write), the secret answered once and then
masked, bad input named by field, events and pause changed, deletion; and a URL registered this
way receives a deal recorded through the API, signed with the secret it was given."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import test_utils

from api.server import standalone
from domain.settings import Settings
from scheduler.webhooks import SIGNATURE_HEADER, Webhooks
from storage import Database
from storage.api_tokens import create_token
from storage.events import EVENT_TYPES
from storage.staff import touch_owner
from tests.conftest import OWNER_ID, START, make_settings
from tests.harness import FakeClock, Harness
from tests.helpers.cases import add_manager
from tests.helpers.receiver import Receiver, readme_verify
from tests.helpers.survey import MANAGER_ID
from views.hooks import paused_notice


@dataclasses.dataclass
class Client:
    http: test_utils.TestClient
    write: dict[str, str]
    read: dict[str, str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The receiver is on 127.0.0.1: internal addresses allowed here (HOOKS_ALLOW_PRIVATE); the
    refusal is tested with the default settings in test_webhooks_guard.py."""
    return make_settings(tmp_path, hooks_allow_private=True)


@pytest.fixture
async def client(harness: Harness, db: Database, settings: Settings) -> AsyncIterator[Client]:
    await touch_owner(db, OWNER_ID, "Ольга", None, "ru", START)  # a token's default manager
    await add_manager(db, MANAGER_ID, "Пётр", START)
    _, write = await create_token(db, "crm", "deals:write", OWNER_ID, START)
    _, read = await create_token(db, "bi", "read", OWNER_ID, START)
    app = standalone(harness.dp, harness.bot, dataclasses.replace(settings, api_rate=10_000))
    async with test_utils.TestClient(test_utils.TestServer(app)) as http:
        yield Client(
            http, {"Authorization": f"Bearer {write}"}, {"Authorization": f"Bearer {read}"}
        )


async def test_register_list_change_and_delete_a_webhook(client: Client) -> None:
    c = client.http
    url = "https://crm.example.com/hooks/in"
    assert (await c.post("/api/v1/webhooks", json={"url": url})).status == 401
    assert (await c.post("/api/v1/webhooks", json={"url": url}, headers=client.read)).status == 403
    r = await c.post("/api/v1/webhooks", json={"url": url}, headers=client.write)
    assert r.status == 201
    made = await r.json()
    assert made["secret"].startswith("whsec_") and made["events"] == list(EVENT_TYPES)
    assert made["secret_hint"] == "whsec_…" + made["secret"][-4:]
    listed = await (await c.get("/api/v1/webhooks", headers=client.read)).json()
    assert [w["id"] for w in listed["webhooks"]] == [made["id"]]
    assert made["secret"] not in str(listed)  # shown once, in the answer that made it
    patch = {"events": ["answer.completed", "case.opened"], "paused": True}
    r = await c.patch(f"/api/v1/webhooks/{made['id']}", json=patch, headers=client.write)
    changed = await r.json()
    assert r.status == 200
    assert (changed["events"], changed["status"], changed["paused_by"]) == (
        ["answer.completed", "case.opened"],
        "paused",
        "owner",
    )
    r = await c.patch(
        f"/api/v1/webhooks/{made['id']}", json={"paused": False}, headers=client.write
    )
    assert (await r.json())["status"] == "active"
    assert (await c.patch("/api/v1/webhooks/999", json={}, headers=client.write)).status == 404
    assert (await c.delete(f"/api/v1/webhooks/{made['id']}", headers=client.read)).status == 403
    r = await c.delete(f"/api/v1/webhooks/{made['id']}", headers=client.write)
    assert r.status == 200 and (await r.json()) == {"deleted": made["id"]}
    assert (await c.delete(f"/api/v1/webhooks/{made['id']}", headers=client.write)).status == 404
    assert (await (await c.get("/api/v1/webhooks", headers=client.write)).json()) == {
        "webhooks": []
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "ftp://crm.example.com/in"}, "url"),
        ({"url": "https://user:pw@crm.example.com/in"}, "url"),
        ({"url": "https://crm.example.com/" + "a" * 2000}, "url"),
        ({"url": 42}, "url"),
        ({}, "url"),
        ({"url": "https://crm.example.com/in", "events": ["deal.deleted"]}, "events.0"),
        ({"url": "https://crm.example.com/in", "events": []}, "events"),
        ({"url": "https://crm.example.com/in", "secret": "mine"}, "secret"),
    ],
)
async def test_bad_registrations_name_the_field_and_add_nothing(
    client: Client, payload: dict[str, object], field: str
) -> None:
    r = await client.http.post("/api/v1/webhooks", json=payload, headers=client.write)
    assert r.status == 422
    assert field in [e["field"] for e in (await r.json())["errors"]]
    listed = await (await client.http.get("/api/v1/webhooks", headers=client.write)).json()
    assert listed == {"webhooks": []}


async def test_malformed_json_and_a_bad_id(client: Client) -> None:
    r = await client.http.post(
        "/api/v1/webhooks",
        data=b"{not json",
        headers={**client.write, "Content-Type": "application/json"},
    )
    assert r.status == 400 and (await r.json())["error"] == "bad_json"
    assert (await client.http.delete("/api/v1/webhooks/abc", headers=client.write)).status == 404


async def test_a_url_registered_over_the_api_receives_a_deal_sent_over_the_api(
    client: Client, db: Database, clock: FakeClock
) -> None:
    async with Receiver() as receiver:
        r = await client.http.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["deal.created"]},
            headers=client.write,
        )
        secret = (await r.json())["secret"]
        deal = {
            "external_id": "CRM-7",
            "person": {"name": "Анна Петрова", "phone": "+7 916 123-45-67", "kind": "client"},
            "product": "Диван",
            "date": "2026-11-19",
        }
        assert (
            await client.http.post("/api/v1/deals", json=deal, headers=client.write)
        ).status == 201
        hooks = Webhooks(
            db,
            clock,
            owner_ids=frozenset({OWNER_ID}),
            notice=lambda kind, url, lang: paused_notice(url, "ru", kind),
            allow_private=True,
        )
        try:
            assert await hooks.drain_once() == 1
        finally:
            await hooks.close()
    (got,) = receiver.received
    assert got.event["type"] == "deal.created"
    assert got.event["data"]["contact"]["name"] == "Анна Петрова"
    assert got.event["data"]["deal"]["description"] == "Диван"
    assert got.event["data"]["deal"]["source"] == "api"  # was 'bot' for every deal
    now = clock().timestamp()
    assert readme_verify()(secret, got.headers[SIGNATURE_HEADER], got.body, now=now)


async def test_events_made_while_paused_are_held_and_counted_in_the_endpoint_view(
    client: Client,
) -> None:
    r = await client.http.post(
        "/api/v1/webhooks", json={"url": "https://crm.example.com/in"}, headers=client.write
    )
    hook = await r.json()
    assert (hook["held"], hook["dropped"]) == (0, 0)
    r = await client.http.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"paused": True}, headers=client.write
    )
    assert (await r.json())["status"] == "paused"
    deal = {
        "external_id": "CRM-9",
        "person": {"name": "Анна Петрова", "phone": "+7 916 123-45-67", "kind": "client"},
        "product": "Диван",
        "date": "2026-11-19",
    }
    assert (await client.http.post("/api/v1/deals", json=deal, headers=client.write)).status == 201
    (shown,) = (await (await client.http.get("/api/v1/webhooks", headers=client.read)).json())[
        "webhooks"
    ]
    assert (shown["status"], shown["held"], shown["pending"]) == ("paused", 1, 1)
    r = await client.http.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"paused": False}, headers=client.write
    )
    resumed = await r.json()
    assert (resumed["status"], resumed["held"], resumed["pending"]) == ("active", 0, 1)
