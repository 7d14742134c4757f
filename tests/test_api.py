"""The HTTP API through a real aiohttp test client, against the real application (the dispatcher
the bot runs, `api.server.standalone`, and the webhook server's app) and a real SQLite file:
tokens made in the chat, scopes, idempotency, every bad-input class, 20 parallel posts of one
external id, batches, answer paging, /nps figures, the QR PNG, the rate limit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.methods import SendMessage
from aiohttp import test_utils

from api.server import standalone
from bot.config import ConfigError, load_settings
from bot.webhook import build_app
from domain.settings import Settings
from handlers.owner import nps_report
from storage import Database
from storage.api_tokens import create_token
from tests.conftest import OWNER_ID, START
from tests.harness import TOKEN, Harness, as_message, button_data

MANAGER = 222


async def add_staff(db: Database, user_id: int, role: str = "manager") -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO staff (user_id, role, full_name, username, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (user_id, role, f"Staff {user_id}", f"staff_{user_id}"),
        )


async def count(db: Database, table: str) -> int:
    async with db.read() as conn:
        row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
    return int(row[0])


def body(**over: Any) -> dict[str, Any]:
    deal: dict[str, Any] = {
        "external_id": "CRM-1",
        "person": {"name": "Анна Петрова", "phone": "+7 916 123-45-67", "kind": "client"},
        "product": "Диван",
        "date": "2026-11-19",
    }
    deal.update(over)
    return deal


@dataclasses.dataclass
class Api:
    client: test_utils.TestClient
    write: dict[str, str]
    read: dict[str, str]
    db: Database


async def _client(
    harness: Harness, db: Database, settings: Settings, **over: Any
) -> AsyncIterator[Api]:
    await add_staff(db, OWNER_ID, "owner")
    await add_staff(db, MANAGER)
    _, write = await create_token(db, "crm", "deals:write", OWNER_ID, START)
    _, read = await create_token(db, "bi", "read", OWNER_ID, START)
    app = standalone(harness.dp, harness.bot, dataclasses.replace(settings, **over))
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield Api(
            client,
            {"Authorization": f"Bearer {write}"},
            {"Authorization": f"Bearer {read}"},
            db,
        )


@pytest.fixture
async def api(harness: Harness, db: Database, settings: Settings) -> AsyncIterator[Api]:
    async for a in _client(harness, db, settings, api_rate=10_000):
        yield a


# ---- tokens and scopes ---------------------------------------------------------------------


async def test_tokens_are_required_and_scoped(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    c = api.client
    caplog.set_level(logging.INFO)
    assert (await c.post("/api/v1/deals", json=body())).status == 401
    bad = {"Authorization": "Bearer fb_not-a-token"}
    r = await c.post("/api/v1/deals", json=body(), headers=bad)
    assert r.status == 401 and (await r.json())["error"] == "unauthorized"
    assert (await c.post("/api/v1/deals", json=body(), headers=api.read)).status == 403
    assert (await c.get("/api/v1/answers", headers=api.write)).status == 403
    assert (await c.get("/api/v1/nps", headers=api.write)).status == 403
    assert (await c.get("/api/v1/answers", headers=api.read)).status == 200
    assert (await c.post("/api/v1/deals", json=body(), headers=api.write)).status == 201
    assert await count(api.db, "deals") == 1
    # The log names the token; neither the token's text nor the person's phone appear.
    assert "'bi'" in caplog.text and "'crm'" in caplog.text
    for secret in (api.write["Authorization"][7:], api.read["Authorization"][7:], "fb_not"):
        assert secret not in caplog.text
    assert "916" not in caplog.text


async def test_an_owner_makes_uses_and_revokes_a_token_in_the_chat(
    harness: Harness, db: Database, settings: Settings
) -> None:
    await add_staff(db, OWNER_ID, "owner")
    owner = harness.user(OWNER_ID)
    sent = await harness.send(owner, "/api")
    menu = sent[-1]
    assert isinstance(menu, SendMessage)
    assert "Токенов пока нет" in menu.text
    assert button_data(menu, "Вебхуки") == "hooks:menu"
    sent = await harness.tap(owner, button_data(menu, "Токен для сделок"), as_message(menu))
    shown = [m for m in sent if isinstance(m, SendMessage)][-1]
    token = re.search(r"<code>(fb_[A-Za-z0-9_-]+)</code>", shown.text)
    assert token is not None
    async with db.read() as conn:
        rows = await conn.execute_fetchall("SELECT * FROM api_tokens")
    assert len(rows) == 1 and token.group(1) not in json.dumps([tuple(r) for r in rows])
    app = standalone(harness.dp, harness.bot, settings)
    async with test_utils.TestClient(test_utils.TestServer(app)) as c:
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        assert (await c.post("/api/v1/deals", json=body(), headers=auth)).status == 201
        menu = (await harness.send(owner, "/api"))[-1]
        assert "deals-1" in menu.text and token.group(1) not in menu.text
        await harness.tap(owner, button_data(menu, "Отозвать"), as_message(menu))
        r = await c.post("/api/v1/deals", json=body(external_id="CRM-2"), headers=auth)
        assert r.status == 401
    # A named token by command; a manager is refused politely.
    sent = await harness.send(owner, "/api new 1С Бухгалтерия read")
    assert "1С Бухгалтерия" in sent[-1].text and "(read)" in sent[-1].text
    await add_staff(db, MANAGER)
    sent = await harness.send(harness.user(MANAGER), "/api")
    assert "только владельцы" in sent[-1].text
    assert await count(db, "api_tokens") == 2


# ---- recording deals -------------------------------------------------------------------------


async def test_a_deal_is_recorded_with_link_and_qr(api: Api) -> None:
    c = api.client
    r = await c.post("/api/v1/deals", json=body(), headers=api.write)
    assert r.status == 201
    got = await r.json()
    assert got["contact"]["phone"] == "+79161234567" and got["contact"]["merged"] is False
    assert got["deal"]["product"] == "Диван" and got["deal"]["manager_id"] == OWNER_ID
    token = got["survey"]["token"]
    assert got["survey"]["link"].endswith(f"?start=s_{token}")
    qr_path = got["survey"]["qr_url"].split("://", 1)[1].split("/", 1)[1]
    png = await c.get("/" + qr_path)
    assert png.status == 200 and png.content_type == "image/png"
    assert (await png.read()).startswith(b"\x89PNG")
    assert (await c.get("/api/v1/qr/unknownunknown.png")).status == 404
    shown = await c.get(f"/api/v1/deals/{got['deal']['id']}", headers=api.read)
    status = await shown.json()
    assert status["survey"]["status"] == "created" and status["deal"] == got["deal"]
    assert (await c.get("/api/v1/deals/999", headers=api.read)).status == 404
    # The next-day call is planned, as for /sale.
    async with api.db.read() as conn:
        keys = [r[0] for r in await conn.execute_fetchall("SELECT idem_key FROM tasks")]
    assert f"call:{got['deal']['id']}" in keys


async def test_the_same_external_id_or_key_is_one_deal_and_the_same_body(api: Api) -> None:
    c = api.client
    first = await c.post("/api/v1/deals", json=body(), headers=api.write)
    again = await c.post("/api/v1/deals", json=body(), headers=api.write)
    assert first.status == again.status == 201
    assert await first.json() == await again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    headers = {**api.write, "Idempotency-Key": "order-77"}
    no_id = body(external_id=None)
    del no_id["external_id"]
    one = await c.post("/api/v1/deals", json=no_id, headers=headers)
    two = await c.post("/api/v1/deals", json=no_id, headers=headers)
    assert await one.json() == await two.json()
    assert await count(api.db, "deals") == 2
    other = await c.post("/api/v1/deals", json={**no_id, "product": "Стол"}, headers=headers)
    assert other.status == 409
    assert (await other.json())["errors"][0]["field"] == "Idempotency-Key"
    bad = await c.post("/api/v1/deals", json=no_id, headers={**api.write, "Idempotency-Key": "é"})
    assert bad.status == 400
    assert await count(api.db, "deals") == 2


async def test_twenty_parallel_posts_of_one_external_id_make_one_deal(api: Api) -> None:
    responses = await asyncio.gather(
        *(api.client.post("/api/v1/deals", json=body(), headers=api.write) for _ in range(20))
    )
    assert {r.status for r in responses} == {201}
    bodies = [await r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert await count(api.db, "deals") == 1
    assert await count(api.db, "surveys") == 1
    assert await count(api.db, "contacts") == 1


async def test_a_batch_records_all_or_nothing(api: Api) -> None:
    c = api.client
    deals = [body(external_id=f"B-{i}", product=f"Товар {i}") for i in range(3)]
    r = await c.post("/api/v1/deals/batch", json={"deals": deals}, headers=api.write)
    assert r.status == 201
    got = (await r.json())["deals"]
    assert [d["deal"]["product"] for d in got] == ["Товар 0", "Товар 1", "Товар 2"]
    assert len({d["contact"]["id"] for d in got}) == 1  # one person, three deals
    bad = [body(external_id="B-9"), body(external_id="B-10", date="2099-01-01")]
    r = await c.post("/api/v1/deals/batch", json={"deals": bad}, headers=api.write)
    assert r.status == 422
    assert (await r.json())["errors"][0]["field"] == "deals.1.date"
    too_many = {"deals": [body(external_id=f"X-{i}") for i in range(1001)]}
    r = await c.post("/api/v1/deals/batch", json=too_many, headers=api.write)
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "deals"
    assert await count(api.db, "deals") == 3


async def test_a_manager_named_by_our_own_user_id(api: Api) -> None:
    c = api.client
    unmapped = body(manager={"external_id": "u-42"})
    r = await c.post("/api/v1/deals", json=unmapped, headers=api.write)
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "manager.external_id"
    r = await c.put("/api/v1/managers/u-42", json={"username": "@nobody"}, headers=api.write)
    assert r.status == 422
    r = await c.put("/api/v1/managers/u-42", json={"username": "@staff_222"}, headers=api.write)
    assert r.status == 200 and (await r.json()) == {"external_id": "u-42", "telegram_id": MANAGER}
    assert (await c.put("/api/v1/managers/u-42", json={}, headers=api.write)).status == 422
    assert (
        await c.put("/api/v1/managers/u-42", json={"telegram_id": 1}, headers=api.read)
    ).status == 403
    r = await c.post("/api/v1/deals", json=unmapped, headers=api.write)
    assert r.status == 201 and (await r.json())["deal"]["manager_id"] == MANAGER


# ---- bad input ------------------------------------------------------------------------------

BAD: list[tuple[str, Any, int, str, str]] = [
    ("malformed JSON", b'{"person": {"name": "A"', 400, "", "bad_json"),
    ("not an object", b"[1, 2]", 422, "body", "model_type"),
    ("wrong type", body(person={"name": 12345}), 422, "person.name", "string_type"),
    ("wrong type of date", body(date=20261119), 422, "date", "date_type"),
    ("unknown field", body(colour="red"), 422, "colour", "extra_forbidden"),
    (
        "unknown nested",
        body(person={"name": "A B", "age": 3}),
        422,
        "person.age",
        "extra_forbidden",
    ),
    ("over-long", body(person={"name": "Я" * 201}), 422, "person.name", "string_too_long"),
    ("over-long product", body(product="x" * 501), 422, "product", "string_too_long"),
    (
        "not a phone",
        body(person={"name": "A B", "phone": "12"}),
        422,
        "person.phone",
        "not_a_phone",
    ),
    ("future date", body(date="2026-11-21"), 422, "date", "in_future"),
    ("no product", {"person": {"name": "A B"}}, 422, "product", "missing"),
    ("two managers", body(manager={"telegram_id": 1, "username": "ab_cd"}), 422, "manager", ""),
    ("unknown manager", body(manager={"telegram_id": 999}), 422, "manager", "unknown_manager"),
]


@pytest.mark.parametrize(
    ("case", "payload", "status", "field", "code"), BAD, ids=[b[0] for b in BAD]
)
async def test_bad_input_names_the_field_and_writes_nothing(
    api: Api, case: str, payload: Any, status: int, field: str, code: str
) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    r = await api.client.post(
        "/api/v1/deals", data=data, headers={**api.write, "Content-Type": "application/json"}
    )
    assert r.status == status, case
    answer = await r.json()
    if field:
        assert answer["errors"][0]["field"] == field
    if code:
        assert code in (answer["error"], answer["errors"][0]["code"] if answer["errors"] else "")
    for table in ("contacts", "deals", "surveys", "deal_keys"):
        assert await count(api.db, table) == 0


async def test_a_body_over_one_mebibyte_is_413(api: Api) -> None:
    huge = json.dumps(body(product="x" * (1024 * 1024))).encode()
    r = await api.client.post("/api/v1/deals", data=huge, headers=api.write)
    assert r.status == 413 and (await r.json())["error"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while reading
        for _ in range(20):
            yield b" " * 65536

    r = await api.client.post("/api/v1/deals", data=chunks(), headers=api.write)
    assert r.status == 413 and (await r.json())["error"] == "too_large"
    assert await count(api.db, "deals") == 0


async def test_the_rate_limit_answers_429_with_retry_after(
    harness: Harness, db: Database, settings: Settings
) -> None:
    async for a in _client(harness, db, settings, api_rate=0.1):
        first = await a.client.get("/api/v1/answers", headers=a.read)
        second = await a.client.get("/api/v1/answers", headers=a.read)
        assert first.status == 200 and second.status == 429
        assert 1 <= int(second.headers["Retry-After"]) <= 10
        # Per token: the other token still has its own.
        assert (await a.client.get("/api/v1/deals/1", headers=a.write)).status == 404


# ---- reading ---------------------------------------------------------------------------------


async def _score(db: Database, deal_id: int, score: int, at: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE surveys SET status = 'answered', score = ?, scored_at = ?, answered_at = ?, "
            "opened_at = ? WHERE deal_id = ?",
            (score, at, at, at, deal_id),
        )


async def test_answers_are_paged_by_cursor(api: Api) -> None:
    c = api.client
    ids = []
    for i in range(5):
        r = await c.post(
            "/api/v1/deals",
            json=body(external_id=f"P-{i}", person={"name": f"Клиент {i}"}),
            headers=api.write,
        )
        ids.append((await r.json())["deal"]["id"])
    # Scored out of id order: the page order is the order of the scores.
    for deal_id, score, at in zip(
        ids, (10, 3, 8, 9, 0), ("12:00", "10:00", "11:00", "10:00", "13:00"), strict=True
    ):
        await _score(api.db, deal_id, score, f"2026-11-20 {at}:00")
    seen: list[int] = []
    cursor = None
    for _ in range(4):
        query = {"limit": "2"} | ({"since": cursor} if cursor else {})
        page = await (await c.get("/api/v1/answers", params=query, headers=api.read)).json()
        seen += [a["deal_id"] for a in page["answers"]]
        cursor = page["next"]
    assert seen == [ids[1], ids[3], ids[2], ids[0], ids[4]]
    first = (await (await c.get("/api/v1/answers", headers=api.read)).json())["answers"][0]
    assert first["category"] == "detractor" and first["score"] == 3 and first["kind"] == "client"
    # Nothing new: an empty page and the same cursor to keep.
    page = await (await c.get("/api/v1/answers", params={"since": cursor}, headers=api.read)).json()
    assert page == {"answers": [], "next": cursor}
    for bad in ({"since": "garbage!"}, {"limit": "0"}, {"limit": "x"}):
        r = await c.get("/api/v1/answers", params=bad, headers=api.read)
        assert r.status == 400 and (await r.json())["errors"][0]["field"] in bad


async def test_nps_gives_the_figures_of_nps(api: Api, harness: Harness, settings: Settings) -> None:
    c = api.client
    for i, score in enumerate((10, 9, 7, 2)):
        r = await c.post("/api/v1/deals", json=body(external_id=f"N-{i}"), headers=api.write)
        await _score(api.db, (await r.json())["deal"]["id"], score, "2026-11-20 06:00:00")
    got = await (await c.get("/api/v1/nps", params={"period": "30"}, headers=api.read)).json()
    report = await nps_report(api.db, settings, harness.clock, "30", "all", 0)
    assert report is not None
    assert got["figures"]["nps"] == report.counts.nps == 25
    assert got["figures"]["promoters"] == 2 and got["figures"]["detractors"] == 1
    assert got["by_kind"]["client"]["answered"] == 4
    # What the owner's /nps says in the chat.
    chat = (await harness.send(harness.user(OWNER_ID), "/nps 30"))[-1].text
    assert "+25" in chat or "25" in chat
    one = await c.get(
        "/api/v1/nps", params={"kind": "partner", "manager": str(OWNER_ID)}, headers=api.read
    )
    assert (await one.json())["figures"]["answered"] == 0
    for bad in ({"period": "13"}, {"kind": "aliens"}, {"manager": "-1"}):
        assert (await c.get("/api/v1/nps", params=bad, headers=api.read)).status == 400


# ---- the webhook server serves it too ------------------------------------------------------


async def test_the_webhook_server_serves_the_api(
    harness: Harness, db: Database, settings: Settings
) -> None:
    await add_staff(db, OWNER_ID, "owner")
    _, write = await create_token(db, "crm", "deals:write", OWNER_ID, START)
    hooked = dataclasses.replace(
        settings, webhook_url="https://bot.example.com/tg/hook", webhook_secret="s3cret"
    )
    async with test_utils.TestClient(
        test_utils.TestServer(build_app(harness.dp, harness.bot, hooked))
    ) as c:
        assert (await c.get("/api/v1/openapi.json")).status == 200
        r = await c.post("/api/v1/deals", json=body(), headers={"Authorization": f"Bearer {write}"})
        assert r.status == 201
        assert (await c.get("/healthz")).status == 200


def test_api_settings_are_checked() -> None:
    base = {"BOT_TOKEN": TOKEN}
    s = load_settings(base)
    assert (s.api_port, s.api_listen, s.api_rate) == (None, "127.0.0.1", 10.0)
    s = load_settings(base | {"API_PORT": "8081", "API_LISTEN": "0.0.0.0", "API_RATE": "2.5"})
    assert (s.api_port, s.api_listen, s.api_rate) == (8081, "0.0.0.0", 2.5)
    for bad in ({"API_PORT": "http"}, {"API_RATE": "0"}, {"API_PUBLIC_URL": "bot.example"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_settings(base | bad)
