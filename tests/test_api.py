"""The HTTP API through a real aiohttp test client, against the real application (the dispatcher
the bot runs, `api.server.standalone`, and the webhook server's app) and a real SQLite file:
tokens made in the chat, scopes, idempotency, every bad-input class, 20 parallel posts of one
external id, batches, answer paging, /nps figures, the QR PNG, the rate limit."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
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
from storage.answers_feed import answers_page
from storage.api_tokens import create_token
from storage.migrations import ANSWERS_FEED, MIGRATIONS
from storage.surveys import record_score
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


async def test_a_deal_without_a_survey_is_shown_with_survey_null(api: Api) -> None:
    """A deal /import brought has no survey: it is shown (survey null), not 404."""
    async with api.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (kind, full_name, manager_id, source, created_at, updated_at) "
            "VALUES ('client', 'Ivan', ?, 'import', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')",
            (OWNER_ID,),
        )
        contact_id = cur.lastrowid
        cur = await conn.execute(
            "INSERT INTO deals (contact_id, manager_id, description, deal_date, source, "
            "idem_key, created_at) VALUES (?, ?, 'Шкаф', '2025-12-01', 'import', 'imp:1', "
            "'2026-01-01 00:00:00')",
            (contact_id, OWNER_ID),
        )
        deal_id = cur.lastrowid
    r = await api.client.get(f"/api/v1/deals/{deal_id}", headers=api.read)
    assert r.status == 200
    got = await r.json()
    assert got["survey"] is None and got["deal"]["product"] == "Шкаф"
    assert got["deal"]["kind"] == "client" and got["contact"]["name"] == "Ivan"


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


async def test_two_systems_sending_the_same_external_id_are_two_deals(api: Api) -> None:
    """Keys are per token: the shop's "1001" is not the CRM's "1001"."""
    c = api.client
    _, shop = await create_token(api.db, "shop", "deals:write", OWNER_ID, START)
    first = await c.post("/api/v1/deals", json=body(external_id="1001"), headers=api.write)
    other = body(external_id="1001", person={"name": "Иван Сидоров", "phone": "+7 903 555-11-22"})
    other["product"] = "Стол"
    second = await c.post("/api/v1/deals", json=other, headers={"Authorization": f"Bearer {shop}"})
    assert first.status == second.status == 201
    assert "Idempotent-Replayed" not in second.headers
    got = await second.json()
    assert got["contact"]["name"] == "Иван Сидоров" and got["deal"]["product"] == "Стол"
    assert got["deal"]["external_id"] == "1001"
    assert got["deal"]["id"] != (await first.json())["deal"]["id"]
    assert await count(api.db, "deals") == 2


async def test_a_writing_token_reads_only_its_own_deals(api: Api) -> None:
    c = api.client
    _, shop = await create_token(api.db, "shop", "deals:write", OWNER_ID, START)
    shop_auth = {"Authorization": f"Bearer {shop}"}
    mine = await (await c.post("/api/v1/deals", json=body(), headers=api.write)).json()
    deal_id = mine["deal"]["id"]
    assert (await c.get(f"/api/v1/deals/{deal_id}", headers=api.write)).status == 200
    assert (await c.get(f"/api/v1/deals/{deal_id}", headers=api.read)).status == 200
    # Another writing token cannot walk the ids to read names and phones.
    r = await c.get(f"/api/v1/deals/{deal_id}", headers=shop_auth)
    assert r.status == 404 and "phone" not in await r.text()


async def test_a_deactivated_or_demoted_owners_tokens_stop_working(
    api: Api, harness: Harness, db: Database, settings: Settings
) -> None:
    c = api.client
    assert (await c.get("/api/v1/answers", headers=api.read)).status == 200
    async with db.transaction() as conn:
        await conn.execute("UPDATE staff SET active = 0 WHERE user_id = ?", (OWNER_ID,))
    r = await c.post("/api/v1/deals", json=body(), headers=api.write)
    assert r.status == 401
    assert (await c.get("/api/v1/answers", headers=api.read)).status == 401
    assert await count(db, "deals") == 0
    async with db.transaction() as conn:
        await conn.execute("UPDATE staff SET active = 1 WHERE user_id = ?", (OWNER_ID,))
    assert (await c.get("/api/v1/answers", headers=api.read)).status == 200
    # Taken out of OWNER_IDS (the row still says owner): the tokens stop too.
    async for other in _client(harness, db, settings, api_rate=10_000, owner_ids=frozenset()):
        assert (await other.client.get("/api/v1/answers", headers=api.read)).status == 200
    no_longer = frozenset({OWNER_ID + 1})
    async for other in _client(harness, db, settings, api_rate=10_000, owner_ids=no_longer):
        assert (await other.client.get("/api/v1/answers", headers=api.read)).status == 401


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
    # Scored out of id order and time order: the page order is the order the scores were
    # written (committed), whatever times they carry.
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
    assert seen == ids
    second = (await (await c.get("/api/v1/answers", headers=api.read)).json())["answers"][1]
    assert second["category"] == "detractor" and second["score"] == 3
    assert second["kind"] == "client"
    # Nothing new: an empty page and the same cursor to keep.
    page = await (await c.get("/api/v1/answers", params={"since": cursor}, headers=api.read)).json()
    assert page == {"answers": [], "next": cursor}
    for bad in ({"since": "garbage!"}, {"limit": "0"}, {"limit": "x"}):
        r = await c.get("/api/v1/answers", params=bad, headers=api.read)
        assert r.status == 400 and (await r.json())["errors"][0]["field"] in bad


async def test_two_answers_of_one_second_committed_out_of_id_order_are_both_paged(
    api: Api, clock: Any
) -> None:
    """The cursor was (scored_at, id) with one-second times: survey 2 answered, paged, then
    survey 1 answered in the same second sorted before the cursor and was never paged."""
    c = api.client
    for i in (1, 2):
        person = {"name": f"P{i}", "phone": f"+7 916 123-45-6{i}"}
        await c.post(
            "/api/v1/deals", json=body(external_id=f"E{i}", person=person), headers=api.write
        )
    async with api.db.transaction() as conn:
        await conn.execute("UPDATE surveys SET respondent_tg_id = 1000 + id, status = 'opened'")
    now = clock()
    assert await record_score(api.db, 2, 1002, 9, now) is not None
    p1 = await (await c.get("/api/v1/answers", headers=api.read)).json()
    assert await record_score(api.db, 1, 1001, 3, now) is not None  # same second, later
    since = {"since": p1["next"]}
    p2 = await (await c.get("/api/v1/answers", params=since, headers=api.read)).json()
    assert [a["survey_id"] for a in p1["answers"]] == [2]
    assert [a["survey_id"] for a in p2["answers"]] == [1]


async def test_the_answers_feed_migration_numbers_old_answers_in_their_old_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(migrate_to=MIGRATIONS.index(ANSWERS_FEED))
    async with old.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (kind, full_name, source, created_at, updated_at) "
            "VALUES ('client', 'Ivan', 'import', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        for token, at in (("tok-b", "2026-11-20 11:00:00"), ("tok-a", "2026-11-20 10:00:00")):
            await conn.execute(
                "INSERT INTO surveys (token, contact_id, kind, status, score, scored_at, "
                "created_at) VALUES (?, ?, 'client', 'answered', 8, ?, ?)",
                (token, cur.lastrowid, at, at),
            )
        await conn.execute(
            "INSERT INTO surveys (token, contact_id, kind, created_at) "
            "VALUES ('tok-c', ?, 'client', '2026-11-20 09:00:00')",
            (cur.lastrowid,),
        )
    await old.close()
    new = Database(path)
    await new.open()
    try:
        items, cursor = await answers_page(new, None, 10)
        assert [a["scored_at"] for a in items] == ["2026-11-20 10:00:00", "2026-11-20 11:00:00"]
        # An old-form cursor (scored_at, id) of the first answer still pages from there.
        legacy = encode_legacy(items[0]["scored_at"], items[0]["survey_id"])
        rest, _ = await answers_page(new, legacy, 10)
        assert [a["survey_id"] for a in rest] == [items[1]["survey_id"]]
        assert (await answers_page(new, cursor, 10))[0] == []
    finally:
        await new.close()


def encode_legacy(scored_at: str, survey_id: int) -> str:
    raw = json.dumps([scored_at, survey_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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
