"""Detractor cases from the staff side: the "take the case" button on the alert."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import CallbackQuery

from bot.cards import case_alert
from bot.clock import Clock
from bot.config import Settings
from bot.roles import Role
from bot.texts import plain
from handlers.callbacks import CaseTake
from handlers.filters import HasRole
from storage import Database
from storage.cases import ALERT_PURPOSE, Take, take_case
from storage.outbox import sent_messages
from storage.staff import get_member

log = logging.getLogger(__name__)


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
        await query.answer(plain(lang, "button.forged"), show_alert=True)
        return
    if outcome is Take.ALREADY_TAKEN:
        await query.answer(
            plain(lang, "alert.already_taken", name=card.owner_name or "—"), show_alert=True
        )
        return
    await query.answer(plain(lang, "alert.taken_you", case_id=card.case_id), show_alert=True)
    # Everybody who got the alert now sees who took it, and the button is gone.
    for chat_id, message_id in await sent_messages(db, f"case:{card.case_id}", ALERT_PURPOSE):
        member = await get_member(db, chat_id)
        reader_lang = (member.language if member else None) or settings.default_language
        text, markup = case_alert(card, reader_lang, settings)
        try:
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("case %d: alert in chat %d not updated: %s", card.case_id, chat_id, exc)
