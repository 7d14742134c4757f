"""storage/deals_in.py, the write path of the API and the CRM connectors, on a real SQLite file:
/import's rules (matching, gap filling, refusals, forgotten people), one deal per (source, key)
even under twenty racing calls, nothing written when a deal or a batch is refused, the
next-day call planned, and the stored answer emptied when the person is forgotten."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.deals_in import DealIn, DealRefused, Intake, KeyReused
from storage import Database
from storage.deals_in import map_external_user, record_deal, record_deals
from storage.forget import erase_contact
from storage.migrations import MIGRATIONS, deal_sources
from tests.conftest import OWNER_ID, START
from tests.harness import Harness

MANAGER = 222
MSK = ZoneInfo("Europe/Moscow")


def intake(now: datetime = START) -> Intake:
    return Intake(default_manager_id=OWNER_ID, now=now, timezone=MSK, region="RU")


def deal(**over: Any) -> DealIn:
    body: dict[str, Any] = {
        "external_id": "D-1",
        "person": {
            "name": "Анна Петрова",
            "phone": "+7 916 123-45-67",
            "organization": "ООО Ромб",
            "external_id": "P-9",
        },
        "product": "Диван",
        "date": "2026-11-19",
    }
    for key, value in over.items():
        if key.startswith("person_"):
            body["person"][key[7:]] = value
        elif value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return DealIn.model_validate_json(json.dumps(body))


async def add_staff(db: Database, user_id: int, username: str | None = None) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO staff (user_id, role, full_name, username, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (user_id, "owner" if user_id == OWNER_ID else "manager", f"Staff {user_id}", username),
        )


async def count(db: Database, table: str) -> int:
    async with db.read() as conn:
        row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
    return int(row[0])


@pytest.fixture
async def staffed(db: Database) -> Database:
    await add_staff(db, OWNER_ID)
    await add_staff(db, MANAGER, "anna_sales")
    return db


async def test_a_new_deal_makes_contact_deal_and_survey(staffed: Database) -> None:
    out = await record_deal(staffed, deal(), intake(), source="api", key="D-1")
    assert out.contact.phone == "+79161234567"
    assert out.contact.name == "Анна Петрова" and not out.contact.merged
    assert out.deal.product == "Диван" and out.deal.external_id == "D-1"
    assert out.contact.external_id == "P-9"
    assert out.deal.manager_id == OWNER_ID and not out.replayed
    async with staffed.read() as conn:
        d = await (await conn.execute("SELECT * FROM deals")).fetchone()
        s = await (await conn.execute("SELECT * FROM surveys")).fetchone()
    assert d["idem_key"] == "api:D-1" and d["source"] == "api"
    assert s["token"] == out.survey.token and s["deal_id"] == out.deal.id


async def test_the_same_key_twice_is_one_deal_and_the_same_answer(staffed: Database) -> None:
    first = await record_deal(staffed, deal(), intake(), source="api", key="D-1")
    again = await record_deal(
        staffed, deal(), intake(START + timedelta(hours=1)), source="api", key="D-1"
    )
    assert again.replayed
    assert again.model_dump_json() == first.model_dump_json()
    assert await count(staffed, "deals") == 1
    # Another sender's key of the same text is another deal (of the same person).
    other = await record_deal(staffed, deal(), intake(), source="bitrix24", key="D-1")
    assert other.deal.id != first.deal.id and other.contact.id == first.contact.id


async def test_twenty_racing_calls_make_one_deal(staffed: Database) -> None:
    outs = await asyncio.gather(
        *(record_deal(staffed, deal(), intake(), source="api", key="D-1") for _ in range(20))
    )
    assert await count(staffed, "deals") == 1
    assert await count(staffed, "surveys") == 1
    assert len({o.model_dump_json() for o in outs}) == 1
    assert sum(not o.replayed for o in outs) == 1


async def test_a_reused_idempotency_key_with_another_body_is_refused(staffed: Database) -> None:
    await record_deal(staffed, deal(), intake(), source="api", key="K", strict_key=True)
    with pytest.raises(KeyReused):
        await record_deal(
            staffed, deal(product="Стол"), intake(), source="api", key="K", strict_key=True
        )
    # Without strict keys (a CRM's deal id) the first answer comes back.
    out = await record_deal(staffed, deal(product="Стол"), intake(), source="api", key="K")
    assert out.deal.product == "Диван" and out.replayed


async def test_a_known_phone_is_merged_filling_gaps_only(staffed: Database) -> None:
    await record_deal(staffed, deal(person_organization=None), intake(), source="api", key="A")
    out = await record_deal(
        staffed,
        deal(person_name="Другое Имя", person_organization="ООО Новое", person_kind="partner"),
        intake(),
        source="api",
        key="B",
    )
    assert out.contact.merged
    # The name stays, the empty organisation is filled, the kind stays (as /import does).
    assert out.contact.name == "Анна Петрова"
    assert out.contact.organization == "ООО Новое"
    assert out.contact.kind == "client"
    assert out.deal.kind == "partner"  # the survey's wording follows this deal's kind (/sale)
    assert await count(staffed, "contacts") == 1 and await count(staffed, "deals") == 2


async def test_a_phoneless_person_is_matched_by_folded_name_and_organisation(
    staffed: Database,
) -> None:
    first = await record_deal(
        staffed,
        deal(person_phone=None, person_name="Пётр  Иванов"),
        intake(),
        source="api",
        key="A",
    )
    out = await record_deal(
        staffed,
        deal(person_phone=None, person_name="петр иванов", person_organization="ооо ромб"),
        intake(),
        source="api",
        key="B",
    )
    assert out.contact.id == first.contact.id and out.contact.merged


async def test_a_batch_matches_within_itself(staffed: Database) -> None:
    outs = await record_deals(
        staffed,
        [
            ("A", deal(person_phone=None)),
            ("B", deal(person_phone=None, product="Стол")),
            ("A", deal(person_phone=None)),
        ],
        intake(),
        source="api",
    )
    assert outs[0].contact.id == outs[1].contact.id
    assert outs[2].deal.id == outs[0].deal.id and outs[2].replayed
    assert await count(staffed, "deals") == 2 and await count(staffed, "contacts") == 1


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"person_phone": "12345"}, "person.phone", "not_a_phone"),
        ({"person_phone": "позвоните мне"}, "person.phone", "not_a_phone"),
        ({"date": "2026-11-21"}, "date", "in_future"),
        ({"date": "1901-01-01"}, "date", "bad_date"),
        ({"person_birthday": "2030-01-01"}, "person.birthday", "bad_birthday"),
        ({"person_name": None, "person_phone": None}, "person", "name_or_phone_required"),
        ({"manager": {"telegram_id": 999}}, "manager", "unknown_manager"),
        ({"manager": {"username": "@nobody_here"}}, "manager", "unknown_manager"),
        ({"manager": {"external_id": "u-7"}}, "manager.external_id", "unknown_manager"),
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    staffed: Database, over: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(DealRefused) as caught:
        await record_deal(staffed, deal(**over), intake(), source="api", key="X")
    assert [(e.field, e.code) for e in caught.value.errors] == [(field, code)]
    for table in ("contacts", "deals", "surveys", "deal_keys"):
        assert await count(staffed, table) == 0


async def test_a_manager_by_username_telegram_id_or_mapped_id(staffed: Database) -> None:
    by_name = await record_deal(
        staffed, deal(manager={"username": "Anna_Sales"}), intake(), source="api", key="1"
    )
    by_id = await record_deal(
        staffed, deal(manager={"telegram_id": MANAGER}), intake(), source="api", key="2"
    )
    await map_external_user(staffed, "api", "u-7", MANAGER, START)
    mapped = await record_deal(
        staffed, deal(manager={"external_id": "u-7"}), intake(), source="api", key="3"
    )
    assert {by_name.deal.manager_id, by_id.deal.manager_id, mapped.deal.manager_id} == {MANAGER}


async def test_a_batch_with_one_bad_deal_is_refused_whole(staffed: Database) -> None:
    with pytest.raises(DealRefused) as caught:
        await record_deals(
            staffed,
            [("A", deal()), ("B", deal(person_phone="nope")), ("C", deal(date="2027-01-01"))],
            intake(),
            source="api",
        )
    assert [e.field for e in caught.value.errors] == ["deals.1.person.phone", "deals.2.date"]
    assert await count(staffed, "deals") == 0 and await count(staffed, "contacts") == 0


async def test_an_inactive_default_manager_is_refused(staffed: Database) -> None:
    async with staffed.transaction() as conn:
        await conn.execute("UPDATE staff SET active = 0 WHERE user_id = ?", (OWNER_ID,))
    with pytest.raises(DealRefused) as refused:
        await record_deal(staffed, deal(), intake(), source="api", key="D-1")
    assert [(e.field, e.code) for e in refused.value.errors] == [("manager", "inactive_manager")]
    assert await count(staffed, "deals") == 0
    # A deal naming an active manager still goes through.
    named = deal(manager={"telegram_id": MANAGER})
    out = await record_deal(staffed, named, intake(), source="api", key="D-2")
    assert out.deal.manager_id == MANAGER


async def test_a_forgotten_person_stays_forgotten(staffed: Database) -> None:
    out = await record_deal(staffed, deal(), intake(), source="api", key="D-1")
    await erase_contact(staffed, out.contact.id, START, by="test")
    async with staffed.read() as conn:
        row = await (
            await conn.execute("SELECT result, external_id, person_id FROM deal_keys")
        ).fetchone()
    # The stored answer named her, the sender's ids point at her: all gone.
    assert tuple(row) == (None, None, None)
    again = await record_deal(staffed, deal(), intake(), source="api", key="D-1")
    assert again.contact.name is None and again.contact.phone is None
    assert again.contact.external_id is None and again.deal.external_id is None
    assert again.deal.id == out.deal.id
    with pytest.raises(DealRefused) as caught:
        await record_deal(staffed, deal(), intake(), source="api", key="D-2")
    assert caught.value.errors[0].code == "forgotten"
    assert await count(staffed, "deals") == 1


async def test_each_sender_is_the_deals_source(staffed: Database) -> None:
    # crm/ names a connection's sender "<system>:<account>": the system is the source.
    for source in ("api", "bitrix24:a.bitrix24.ru", "amocrm:shop"):
        await record_deal(staffed, deal(), intake(), source=source, key="D-1")
    async with staffed.read() as conn:
        got = [r[0] for r in await conn.execute_fetchall("SELECT source FROM deals ORDER BY id")]
    assert got == ["api", "bitrix24", "amocrm"]


async def test_the_deal_sources_migration_keeps_deals_and_their_links(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(migrate_to=MIGRATIONS.index(deal_sources))
    await add_staff(old, OWNER_ID)
    async with old.transaction() as conn:  # as the old code wrote a deal: source 'bot'
        cur = await conn.execute(
            "INSERT INTO contacts (kind, full_name, source, created_at, updated_at) "
            "VALUES ('client', 'Ivan', 'sale', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        contact_id = cur.lastrowid
        cur = await conn.execute(
            "INSERT INTO deals (contact_id, manager_id, description, deal_date, source, "
            "idem_key, created_at) VALUES (?, ?, 'Диван', '2026-11-19', 'bot', 'api:D-0', "
            "'2026-11-19 10:00:00')",
            (contact_id, OWNER_ID),
        )
        await conn.execute(
            "INSERT INTO surveys (token, contact_id, deal_id, kind, created_at) "
            "VALUES ('tok-0', ?, ?, 'client', '2026-11-19 10:00:00')",
            (contact_id, cur.lastrowid),
        )
    async with old.read() as conn:
        before = [tuple(r) for r in await conn.execute_fetchall("SELECT * FROM deals")]
    await old.close()
    new = Database(path)
    await new.open()
    try:
        async with new.read() as conn:
            after = [tuple(r) for r in await conn.execute_fetchall("SELECT * FROM deals")]
            assert after == before
            assert (await (await conn.execute("PRAGMA foreign_key_check")).fetchall()) == []
            assert (await (await conn.execute("PRAGMA integrity_check")).fetchone())[0] == "ok"
            indexes = {
                r[0]
                for r in await conn.execute_fetchall(
                    "SELECT name FROM sqlite_master WHERE tbl_name = 'deals' AND type = 'index' "
                    "AND sql IS NOT NULL"
                )
            }
        assert {"deals_contact", "deals_manager", "deals_date", "deals_created"} <= indexes
        again = await record_deal(new, deal(external_id="D-2"), intake(), source="api", key="D-2")
        async with new.read() as conn:
            row = await (
                await conn.execute("SELECT source FROM deals WHERE id = ?", (again.deal.id,))
            ).fetchone()
        assert row[0] == "api"
    finally:
        await new.close()


async def test_the_next_day_call_is_planned(harness: Harness, db: Database) -> None:
    await add_staff(db, OWNER_ID)
    now = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    out = await record_deal(db, deal(), intake(now), source="api", key="D-1")
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT idem_key, status, manager_id FROM tasks WHERE contact_id = ?", (out.contact.id,)
        )
    assert (f"call:{out.deal.id}", "pending", OWNER_ID) in [tuple(r) for r in rows]


async def test_a_big_batch_is_checked_whole_then_written_in_chunks(staffed: Database) -> None:
    def many(n: int, bad: int | None = None) -> list[tuple[str, DealIn]]:
        return [
            (
                f"K{i % 4}",  # keys repeat across chunks: K0 at 0 and 4
                deal(
                    person_phone="12" if i == bad else f"+7916000000{i % 4}",
                    product=f"Товар {i % 4}",
                ),
            )
            for i in range(6)
        ]

    with pytest.raises(DealRefused) as caught:
        await record_deals(staffed, many(6, bad=5), intake(), source="api", chunk=2)
    assert [e.field for e in caught.value.errors] == ["deals.5.person.phone"]
    assert await count(staffed, "deals") == 0
    outs = await record_deals(staffed, many(6), intake(), source="api", chunk=2)
    assert await count(staffed, "deals") == 4
    assert outs[4].deal.id == outs[0].deal.id and outs[4].replayed
    assert [o.deal.product for o in outs] == [f"Товар {i % 4}" for i in range(6)]
    with pytest.raises(KeyReused):  # a strict key repeated with another body, across chunks
        await record_deals(
            staffed,
            [("N1", deal()), ("N2", deal()), ("N1", deal(product="Иное"))],
            intake(),
            source="api",
            strict_key=True,
            chunk=2,
        )
    assert await count(staffed, "deals") == 4
