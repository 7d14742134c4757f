"""Referrals: the promoter's code in the thank-you, a new person becoming a lead attributed to
them, the manager told at once, and /referrals for the owner."""

from __future__ import annotations

import re

from aiogram.methods import SendMessage

from storage import Database
from tests.conftest import OWNER_ID
from tests.harness import BOT_USERNAME, Harness, replies
from tests.helpers.survey import CLIENT_ID, MANAGER_ID, Respondent, setup_sale

CODE_RE = re.compile(r"start=r_([A-Z2-9]{6})")


async def promoter_code(harness: Harness, db: Database) -> str:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.tap("10")
    await anna.tap("Пропустить")
    sent = await anna.tap("Да")
    thanks = replies(sent)[-1]
    assert thanks.startswith("Спасибо за высокую оценку!")
    assert "Ваш личный код рекомендации: <b>" in thanks
    assert f"https://t.me/{BOT_USERNAME}?start=r_" in thanks
    match = CODE_RE.search(thanks)
    assert match, thanks
    return match.group(1)


async def test_a_referred_person_becomes_the_promoters_lead(harness: Harness, db: Database) -> None:
    code = await promoter_code(harness, db)
    boris = harness.user(6101, "Борис")
    texts = replies(await harness.send(boris, f"/start r_{code}"))
    assert "Вас рекомендует Анна — клиент компании «Ромашка»" in texts[0]
    assert "от 2 до 200" in replies(await harness.send(boris, "Б"))[0]
    assert "от 2 до 200" in replies(await harness.send(boris, "Б" * 201))[0]
    texts = replies(await harness.send(boris, "Борис Петров"))
    assert "Оставьте номер телефона" in texts[0]
    sent = await harness.send_contact(boris, "79990001122", owner_id=6101)
    assert "Менеджер компании «Ромашка» скоро свяжется с вами" in replies(sent)[0]
    notice = [r for r in await harness.drain() if isinstance(r, SendMessage)]
    assert [n.chat_id for n in notice] == [MANAGER_ID]
    assert "Новый клиент по рекомендации" in notice[0].text
    assert "Борис Петров, +7 999 000-11-22" in notice[0].text and f"код {code}" in notice[0].text
    async with db.read() as conn:
        lead = await (
            await conn.execute(
                "SELECT status, source, manager_id, phone, referred_by FROM contacts "
                "WHERE tg_user_id = 6101"
            )
        ).fetchone()
        promoter = await (
            await conn.execute("SELECT id FROM contacts WHERE tg_user_id = ?", (CLIENT_ID,))
        ).fetchone()
    assert tuple(lead) == ("lead", "referral", MANAGER_ID, "+79990001122", promoter[0])
    # the same person again: no duplicate
    assert "уже есть в нашей базе" in replies(await harness.send(boris, f"/start r_{code}"))[0]
    table = replies(await harness.send(harness.user(OWNER_ID, "Ольга"), "/referrals"))[0]
    assert f"1. Анна Смирнова (код {code}) — пришло 1, стали клиентами 0, сделок 0" in table


async def test_referral_links_refused_politely(harness: Harness, db: Database) -> None:
    code = await promoter_code(harness, db)
    assert (
        "сотрудникам она не нужна"
        in replies(await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start r_{code}"))[0]
    )
    stranger = harness.user(6102, "Гость")
    assert "не действует" in replies(await harness.send(stranger, "/start r_ZZZZZZ"))[0]
    assert "недоступна" in replies(await harness.send(stranger, "/referrals"))[0]
    # a person without a phone can still come
    await harness.send(stranger, f"/start r_{code}")
    await harness.send(stranger, "Гость Гостев")
    sent = await harness.send(stranger, "Без телефона")
    assert "скоро свяжется" in replies(sent)[0]
