"""Detractor cases in handler tests: a manager, a detractor answer that opens case 1, the case's
events and the case buttons."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from aiogram.methods import SendMessage, TelegramMethod

from storage import Database
from storage.cases import case_of_survey
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from storage.surveys import open_survey, record_consent, record_reason, record_score
from tests.conftest import OWNER_ID
from tests.harness import Harness, buttons
from tests.helpers.survey import CLIENT_ID, MANAGER_ID
from views.callbacks import CaseAct

_phones: Iterator[int] = itertools.count(1000)


def sends(sent: list[TelegramMethod[Any]], chat_id: int) -> list[SendMessage]:
    return [r for r in sent if isinstance(r, SendMessage) and r.chat_id == chat_id]


async def add_manager(db: Database, user_id: int, name: str, now: datetime) -> None:
    invite = await create_invite(db, OWNER_ID, now)
    await redeem_invite(db, invite.token, user_id, name, None, "ru", now)


async def detractor(
    h: Harness,
    db: Database,
    *,
    manager_id: int = MANAGER_ID,
    kind: str = "client",
    name: str = "Анна Смирнова",
    tg_id: int = CLIENT_ID,
    score: int = 3,
    consent: bool = True,
    language: str = "ru",
) -> int:
    """A sale and a finished detractor answer, written through storage; returns the case id."""
    now = h.clock()
    sale = await record_sale(
        db,
        SaleInput(
            idem_key=f"d{tg_id}:{now.isoformat()}",
            manager_id=manager_id,
            kind=kind,
            full_name=name,
            organization=None,
            phone=f"+7916123{next(_phones):04d}",
            contact_tg_id=None,
            birthday=None,
            description="Кухонный гарнитур",
            deal_date=date(2026, 11, 19),
        ),
        now,
    )
    _, survey = await open_survey(db, sale.survey_token, tg_id, language, now)
    assert survey is not None
    await record_score(db, survey.id, tg_id, score, now)
    await record_reason(db, survey.id, tg_id, "Сломали дверцу", now)
    await record_consent(db, survey.id, tg_id, consent, now)
    case_id = await case_of_survey(db, survey.id)
    assert case_id is not None
    return case_id


async def events(db: Database, case_id: int = 1) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT action, actor_id, note FROM case_events WHERE case_id = ? ORDER BY id",
                (case_id,),
            )
        ).fetchall()
    return [tuple(r) for r in rows]


async def act(h: Harness, user_id: int, case_id: int, action: str) -> list[TelegramMethod[Any]]:
    user = h.user(user_id, "Сотрудник")
    return await h.tap(user, CaseAct(case_id=case_id, action=action).pack())


async def take_and_resolve(
    h: Harness, user_id: int, case_id: int = 1, reason: str = "Заменили дверцу"
) -> list[TelegramMethod[Any]]:
    await act(h, user_id, case_id, "take")
    await act(h, user_id, case_id, "resolve")
    return await h.send(h.user(user_id, "Сотрудник"), reason)


async def question_to(h: Harness, chat_id: int = CLIENT_ID) -> SendMessage:
    delivered = sends(await h.drain(), chat_id)
    asked = [r for r in delivered if any(d and d.startswith("kc:") for _, d in buttons(r))]
    assert len(asked) == 1
    return asked[0]
