"""/forget: a person asks us to delete their personal data, or an owner erases a contact from the
contact's card (/find). Both are asked first, with a button.

Whose data a person's "yes" erases is decided by who pressed it, never by the button, and an
owner's button is re-checked against the role on every press, since callback data can be forged.
The erasure (storage/forget.py) is one transaction that does nothing twice; afterwards the
detractor alerts already delivered about the person are edited so they no longer show them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    Message,
    ReplyKeyboardRemove,
)

from domain.clock import Clock
from domain.roles import Role
from domain.settings import Settings
from handlers.replies import answer, edit_markup, forged, send_or_log, show
from scheduler.alerts import refresh_case_alerts
from storage import Database
from storage.contacts import get_card
from storage.forget import (
    Outcome,
    contact_status,
    erase_contact,
    erase_respondent,
    holds_data_about,
)
from views.callbacks import ForgetContact, ForgetMe
from views.contacts import card_view, display_name
from views.forget import ask_owner_keyboard, keyboard
from views.texts import plain, t

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="forget")
    r.message.register(forget_command, Command("forget"))
    r.callback_query.register(on_answer, ForgetMe.filter())
    r.callback_query.register(on_owner, ForgetContact.filter())
    return r


async def _refresh_alerts(
    bot: Bot, settings: Settings, db: Database, case_ids: Iterable[int]
) -> None:
    for case_id in case_ids:
        await refresh_case_alerts(db, bot, settings, case_id)


# --- the person's own /forget ----------------------------------------------------------------


async def forget_command(
    message: Message, state: FSMContext, role: Role, lang: str, settings: Settings, db: Database
) -> None:
    assert message.from_user is not None
    if role is Role.OWNER:
        await message.answer(t(lang, "forget.staff_owner"))
        return
    if role is Role.MANAGER:
        await message.answer(t(lang, "forget.staff_manager"))
        return
    if not await holds_data_about(db, message.from_user.id):
        # A half-typed name (someone who came by a referral link) is all we might hold.
        await state.clear()
        await message.answer(t(lang, "forget.nothing"))
        return
    await message.answer(
        t(lang, "forget.ask", days=settings.backup_keep),
        reply_markup=keyboard(
            (plain(lang, "forget.btn_yes"), ForgetMe(yes=True).pack()),
            (plain(lang, "forget.btn_no"), ForgetMe(yes=False).pack()),
        ),
    )


async def on_answer(
    query: CallbackQuery,
    callback_data: ForgetMe,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    if role.is_staff:
        await forged(query, lang)
        return
    if not callback_data.yes:
        await answer(query)
        await show(query, bot, t(lang, "forget.cancelled"), None)
        return
    erasure = await erase_respondent(db, query.from_user.id, clock())
    if not erasure.erased_anything:  # a second tap, or a repeat: there is nothing left
        await answer(query, plain(lang, "forget.nothing_left"), alert=True)
        return
    await answer(query)
    await edit_markup(query, None)  # too old to edit: the buttons now do nothing anyway
    # A new message rather than an edit: it also removes a survey's "share phone" keyboard.
    done = t(lang, "forget.done")
    await send_or_log(
        bot.send_message(query.from_user.id, done, reply_markup=ReplyKeyboardRemove()),
        "erasure done",
    )
    await _refresh_alerts(bot, settings, db, erasure.case_ids)


# --- an owner, from the contact's card -------------------------------------------------------


async def on_owner(
    query: CallbackQuery,
    callback_data: ForgetContact,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    contact_id, action = callback_data.contact_id, callback_data.action
    if role is not Role.OWNER or action not in ("ask", "yes", "no"):
        await forged(query, lang)
        return
    if action == "yes":
        outcome, erasure = await erase_contact(
            db, contact_id, clock(), by=f"owner {query.from_user.id}"
        )
        if outcome is Outcome.NOT_FOUND:
            await forged(query, lang)
        elif outcome is Outcome.ALREADY:  # a double tap, or an old confirmation card
            await answer(query, plain(lang, "forget.owner_already"), alert=True)
        else:
            await answer(query)
            await show(query, bot, t(lang, "forget.owner_done", contact_id=contact_id), None)
            await _refresh_alerts(bot, settings, db, erasure.case_ids)
        return
    card = await get_card(db, contact_id, None)
    if card is None:
        if await contact_status(db, contact_id) is Outcome.ALREADY:
            await answer(query, plain(lang, "forget.owner_already"), alert=True)
        else:
            await forged(query, lang)
        return
    await answer(query)
    if action == "ask":
        name = display_name(card.contact, lang)
        text = t(lang, "forget.owner_ask", name=name, days=settings.backup_keep)
        await show(query, bot, text, ask_owner_keyboard(lang, contact_id))
    else:
        await show(query, bot, *card_view(card, lang, settings, can_erase=True))
