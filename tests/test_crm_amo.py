"""amoCRM (Kommo) → the bot → amoCRM, against a fake account answering HAL JSON: a lead moved to
won (142) becomes one deal with its main contact's phone and birthday and the responsible
user's manager; the link and the answer come back as common notes; several leads in one
webhook, other statuses ignored, a wrong secret, malformed bodies, 401, 429 and the 7/s pace."""

from __future__ import annotations

from crm import store
from crm.http import AMO_INTERVAL, AMO_LIMIT
from crm.service import CrmService
from storage import Database
from storage.surveys import open_survey, record_reason, record_score
from tests.conftest import OWNER_ID
from tests.fakes.amocrm import TOKEN, FakeAmoCRM, contact, post_status
from tests.harness import Harness
from tests.helpers.crm import address, prepare, rows, run_all, serving
from tests.helpers.survey import CLIENT_ID, MANAGER_ID


async def connect(service: CrmService, fake: FakeAmoCRM) -> store.Connection:
    connection = await store.save_connection(
        service.db,
        kind="amocrm",
        account=fake.account,
        base_url=fake.url + "/",
        token=TOKEN,
        created_by=OWNER_ID,
        now=service.clock(),
    )
    await store.remember_user(service.db, connection.id, "11", "Ольга", service.clock())
    assert await store.match_user(service.db, connection.id, "11", MANAGER_ID)
    return connection


async def test_a_won_lead_becomes_one_deal_and_notes_go_back(
    harness: Harness, db: Database
) -> None:
    service = await prepare(harness)
    async with FakeAmoCRM() as fake, serving(service) as server:
        connection = await connect(service, fake)
        where = address(server, connection)
        fake.won(301, contact=contact())
        fake.won(302, contact=contact("Олег Сомов", "+7 903 555-00-00"), status=27445648)
        # One webhook, two leads: only the one moved to 142 is kept; then the same again.
        status, _ = await post_status(where, (301, 142), (302, 27445648))
        assert status == 200
        await post_status(where, (301, 142))
        await run_all(service)
        people = await rows(
            db,
            "SELECT c.full_name, c.phone, c.birth_day, c.birth_month, c.birth_year, d.manager_id, "
            "d.description FROM deals d JOIN contacts c ON c.id = d.contact_id",
        )
        assert people == [
            ("Мария Кузнецова", "+79035551234", 14, 5, 1990, MANAGER_ID, "Сделка 301")
        ]
        assert [lead for lead, _ in fake.notes] == [301]
        note = fake.notes[0][1]
        assert note["note_type"] == "common" and "t.me/followup_test_bot" in note["params"]["text"]
        assert fake.calls("lead")  # read with its contacts
        token = (await rows(db, "SELECT token FROM surveys"))[0][0]
        _, survey = await open_survey(db, token, CLIENT_ID, "ru", harness.clock())
        assert survey is not None
        await record_score(db, survey.id, CLIENT_ID, 8, harness.clock())
        await record_reason(db, survey.id, CLIENT_ID, "Долго ждали", harness.clock())
        await run_all(service)
        assert len(fake.notes) == 1  # neither finished nor settled: not yet
        harness.clock.advance(minutes=31)
        await run_all(service)
        assert fake.notes[1][1]["params"]["text"] == (
            "Ответ клиента: 8 из 10 (нейтрал). Причина: Долго ждали"
        )
        await run_all(service)
        assert len(fake.notes) == 2


async def test_wrong_secret_and_malformed_bodies(harness: Harness, db: Database) -> None:
    service = await prepare(harness)
    async with FakeAmoCRM() as fake, serving(service) as server:
        connection = await connect(service, fake)
        where = address(server, connection)
        assert (await post_status(where[:-3] + "xyz", (1, 142)))[0] == 404
        async with __import__("aiohttp").ClientSession() as session:
            async with session.post(where, data=b"\xff\xfe", headers={"Content-Type": "x"}) as r:
                assert r.status == 400
            async with session.post(where, data={"leads[add][0][id]": "5"}) as r:
                assert r.status == 400  # not the status webhook we asked for
        assert await rows(db, "SELECT id FROM crm_events") == []
        c = await store.get_connection(db, connection.id)
        assert c is not None and "unreadable" in (c.last_error or "")


async def test_401_tells_the_owners_once_and_429_is_waited_out(
    harness: Harness, db: Database
) -> None:
    service = await prepare(harness, {"bitrix24": 0.02, "amocrm": 0.0})
    async with FakeAmoCRM(per_second=2) as fake, serving(service) as server:
        connection = await connect(service, fake)
        where = address(server, connection)
        for lead in (1, 2, 3):
            fake.won(lead, contact=contact(phone=f"+7 903 555-00-0{lead}"))
        await post_status(where, (1, 142), (2, 142), (3, 142))
        for _ in range(5):  # what the in-place back-off did not get through waits its turn
            await run_all(service)
            harness.clock.advance(minutes=1)
        assert fake.limited >= 1  # our pace was set too fast on purpose: 429s, waited out
        assert len(await rows(db, "SELECT id FROM deals")) == 3
        assert len(fake.notes) == 3
        fake.revoked = True
        fake.won(4, contact=contact(phone="+7 903 555-00-04"))
        await post_status(where, (4, 142))
        await run_all(service)
        harness.clock.advance(hours=2)
        await run_all(service)
        await harness.drain()
        told = harness.texts(OWNER_ID)
        assert len(told) == 1 and "amoCRM" in told[0]
        assert len(await rows(db, "SELECT id FROM deals")) == 3
        assert await rows(db, "SELECT status FROM crm_events WHERE entity_id = '4'") == [
            ("pending",)
        ]


async def test_requests_keep_amocrms_pace(harness: Harness, db: Database) -> None:
    """The real pace (AMO_INTERVAL) against amoCRM's 7 requests a second: the spacing measured by
    the fake on arrival."""
    service = await prepare(harness, {"bitrix24": 0.02, "amocrm": AMO_INTERVAL})
    async with FakeAmoCRM() as fake, serving(service) as server:
        connection = await connect(service, fake)
        for lead in (1, 2, 3, 4):
            fake.won(lead, contact=contact(phone=f"+7 903 555-00-0{lead}"))
        await post_status(address(server, connection), *((lead, 142) for lead in (1, 2, 3, 4)))
        await run_all(service)
        assert len(await rows(db, "SELECT id FROM deals")) == 4
        assert fake.limited == 0
        assert len(fake.gaps()) >= 11
        assert min(fake.gaps()) >= AMO_LIMIT, fake.gaps()
