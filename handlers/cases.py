"""Detractor cases from the staff side: the "take the case" button on the alert."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from domain.cases import Take
from domain.clock import Clock
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, forged
from scheduler.alerts import refresh_case_alerts
from storage import Database
from storage.cases import take_case
from views.callbacks import CaseTake
from views.texts import plain


def router() -> Router:
    r = Router(name="cases")
    r.callback_query.filter(HasRole(Role.OWNER, Role.MANAGER))
    r.callback_query.register(on_take, CaseTake.filter())
    return r


async def on_take(
    query: CallbackQuery,
    callback_data: CaseTake,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    outcome, card = await take_case(
        db, callback_data.case_id, query.from_user.id, role is Role.OWNER, clock()
    )
    if outcome in (Take.NOT_FOUND, Take.NOT_ALLOWED) or card is None:
        await forged(query, lang)
        return
    if outcome is Take.ALREADY_TAKEN:
        await answer(
            query, plain(lang, "alert.already_taken", name=card.owner_name or "—"), alert=True
        )
        return
    await answer(query, plain(lang, "alert.taken_you", case_id=card.case_id), alert=True)
    # Everybody who got the alert now sees who took it, and the button is gone (also from
    # alerts still waiting in the outbox).
    await refresh_case_alerts(db, bot, settings, card.case_id)
