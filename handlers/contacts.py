"""/find: a manager (or owner) finds a contact by name, organisation or phone and opens its card.

Managers see only their own contacts, owners see everybody; storage/contacts.py applies that
rule to every read and write, so the card's buttons (which carry only the contact id) are checked
again on each press and a forged id gets the same neutral alert as any stale button.

The card is fitted under CARD_LIMIT characters by trying ever smaller sections (fewer items,
shorter lines) until it fits: a contact with years of history still gets one readable message.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import (
    CallbackQuery,
    Message,
)

from domain.clock import Clock
from domain.parsing import format_phone, parse_birthday, parse_phone
from domain.roles import Role, viewer_scope
from domain.settings import Settings
from domain.vocabulary import LIMITS
from handlers.filters import HasRole, not_command
from handlers.replies import answer, forged, send_or_log
from handlers.sale import start_sale_for_contact
from handlers.states import ContactFlow
from storage import Database
from storage.comments import answer_text
from storage.contacts import (
    ContactBrief,
    ContactCard,
    add_comment,
    get_card,
    get_contact,
    search_contacts,
    searchable,
    set_birthday,
)
from storage.replays import source_key
from views.callbacks import AnswerText, FindBirthday, FindComment, FindDeal, FindOpen
from views.common import local_date
from views.contacts import card_view, display_name, render_list
from views.texts import t
from views.whole_text import whole_text_messages

QUERY_LIMIT = 100
COMMENT_LIMIT = LIMITS["note"].max


def router() -> Router:
    r = Router(name="contacts")
    staff = HasRole(Role.OWNER, Role.MANAGER)
    r.message.filter(staff)
    r.callback_query.filter(staff)
    r.message.register(find_command, Command("find"))
    r.callback_query.register(on_open, FindOpen.filter())
    r.callback_query.register(on_new_deal, FindDeal.filter())
    r.callback_query.register(on_add_comment, FindComment.filter())
    r.callback_query.register(on_set_birthday, FindBirthday.filter())
    r.callback_query.register(on_whole_answer, AnswerText.filter())
    r.message.register(on_comment_text, ContactFlow.comment, F.text, not_command)
    r.message.register(on_birthday_text, ContactFlow.birthday, F.text, not_command)
    r.message.register(on_other, StateFilter(ContactFlow), not_command)
    return r


async def _send_card(
    message: Message,
    card: ContactCard,
    role: Role,
    lang: str,
    settings: Settings,
    notice: str = "",
) -> None:
    text, markup = card_view(card, lang, settings, notice, can_erase=role is Role.OWNER)
    await message.answer(text, reply_markup=markup)


# --- /find -----------------------------------------------------------------------------------


async def find_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    assert message.from_user is not None
    if (await state.get_state() or "").startswith(f"{ContactFlow.__name__}:"):
        await state.clear()  # a new search abandons a half-typed comment, not a half-done sale
    query = " ".join((command.args or "").split())
    if not query:
        await message.answer(t(lang, "find.usage"))
        return
    if len(query) > QUERY_LIMIT:
        await message.answer(t(lang, "find.too_long", length=len(query), limit=QUERY_LIMIT))
        return
    viewer = viewer_scope(role, message.from_user.id)
    phone = parse_phone(query, settings.phone_region)
    if phone is None and not searchable(query):
        await message.answer(t(lang, "find.too_short"))
        return
    found = await search_contacts(db, viewer, phone=phone, text=None if phone else query)
    card = None
    if found.total == 1:
        card = await get_card(db, found.contacts[0].id, viewer)
    if card is not None:
        await _send_card(message, card, role, lang, settings)
    elif found.total > 1:
        text, markup = render_list(found, lang)
        await message.answer(text, reply_markup=markup)
    else:
        if phone:
            text = t(lang, "find.nothing_phone", phone=format_phone(phone))
        else:
            text = t(lang, "find.nothing_text", query=query)
        if viewer is not None:
            text += "\n" + t(lang, "find.scope_own")
        await message.answer(text)


# --- the card's buttons ----------------------------------------------------------------------


async def _forged(query: CallbackQuery, lang: str) -> None:
    await forged(query, lang)


async def on_open(
    query: CallbackQuery,
    callback_data: FindOpen,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    card = await get_card(db, callback_data.contact_id, viewer_scope(role, query.from_user.id))
    if card is None:
        await _forged(query, lang)
        return
    await answer(query)
    if isinstance(query.message, Message):
        await _send_card(query.message, card, role, lang, settings)


async def on_new_deal(
    query: CallbackQuery,
    callback_data: FindDeal,
    state: FSMContext,
    role: Role,
    lang: str,
    clock: Clock,
    settings: Settings,
    db: Database,
) -> None:
    contact = await get_contact(
        db, callback_data.contact_id, viewer_scope(role, query.from_user.id)
    )
    if contact is None:
        await _forged(query, lang)
        return
    await answer(query)
    if not isinstance(query.message, Message):
        return
    await start_sale_for_contact(
        query.message,
        state,
        lang,
        clock,
        settings,
        contact_id=contact.id,
        kind=contact.kind,
        name=display_name(contact, lang),
        organization=contact.organization,
        phone=contact.phone,
        birthday=contact.birthday,
    )


def _question(flow: str | None, contact: ContactBrief, lang: str) -> str:
    name = display_name(contact, lang)
    if flow == ContactFlow.birthday.state:
        return t(lang, "find.ask_birthday", name=name)
    return t(lang, "find.ask_comment", name=name, limit=COMMENT_LIMIT)


async def _start_flow(
    query: CallbackQuery,
    contact_id: int,
    flow: State,
    state: FSMContext,
    role: Role,
    lang: str,
    db: Database,
    replayed: bool,
) -> None:
    contact = await get_contact(db, contact_id, viewer_scope(role, query.from_user.id))
    if contact is None:
        await _forged(query, lang)
        return
    await answer(query)
    if not isinstance(query.message, Message):
        return
    if replayed and await state.get_state() == flow.state:
        data = await state.get_data()
        if data.get("contact_id") == contact.id and data.get("asked") is True:
            return  # handled before a crash, up to the question: the person has it
    await state.clear()
    await state.set_state(flow)
    await state.set_data({"contact_id": contact.id})
    await query.message.answer(_question(flow.state, contact, lang))
    await state.update_data(asked=True)


async def on_add_comment(
    query: CallbackQuery,
    callback_data: FindComment,
    state: FSMContext,
    role: Role,
    lang: str,
    db: Database,
    replayed: bool = False,
) -> None:
    flow = ContactFlow.comment
    await _start_flow(query, callback_data.contact_id, flow, state, role, lang, db, replayed)


async def on_set_birthday(
    query: CallbackQuery,
    callback_data: FindBirthday,
    state: FSMContext,
    role: Role,
    lang: str,
    db: Database,
    replayed: bool = False,
) -> None:
    flow = ContactFlow.birthday
    await _start_flow(query, callback_data.contact_id, flow, state, role, lang, db, replayed)


async def on_whole_answer(
    query: CallbackQuery,
    callback_data: AnswerText,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    """ "📄" under a cut answer (the contact card, /comments): the whole reason, to whoever may see
    the contact's card, and to nobody else."""
    found = await answer_text(db, callback_data.survey_id, viewer_scope(role, query.from_user.id))
    if found is None:
        await _forged(query, lang)
        return
    await answer(query)
    name = display_name(found.contact, lang)
    when = local_date(found.scored_at, settings.timezone)
    for text in whole_text_messages(lang, name, when, found.score, found.reason):
        await send_or_log(bot.send_message(query.from_user.id, text), "whole answer")


# --- what the person types after a button ----------------------------------------------------


async def _flow_contact(
    message: Message, state: FSMContext, role: Role, lang: str, db: Database
) -> ContactBrief | None:
    """The contact this conversation is about, if still visible; otherwise end it and say so."""
    assert message.from_user is not None
    contact_id = (await state.get_data()).get("contact_id")
    contact = None
    if isinstance(contact_id, int):
        contact = await get_contact(db, contact_id, viewer_scope(role, message.from_user.id))
    if contact is None:
        await state.clear()
        await message.answer(t(lang, "find.gone"))
    return contact


async def _show_after_change(
    message: Message,
    contact_id: int,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    notice: str,
) -> None:
    assert message.from_user is not None
    card = await get_card(db, contact_id, viewer_scope(role, message.from_user.id))
    if card is None:
        await message.answer(notice)
        return
    await _send_card(message, card, role, lang, settings, notice)


async def on_comment_text(
    message: Message,
    state: FSMContext,
    role: Role,
    lang: str,
    clock: Clock,
    settings: Settings,
    db: Database,
) -> None:
    assert message.from_user is not None
    text = (message.text or "").strip()
    if len(text) > COMMENT_LIMIT:
        await message.answer(
            t(lang, "find.comment_too_long", limit=COMMENT_LIMIT, length=len(text))
        )
        return
    if not text:
        await on_other(message, state, role, lang, db)
        return
    contact = await _flow_contact(message, state, role, lang, db)
    if contact is None:
        return
    viewer = viewer_scope(role, message.from_user.id)
    key = source_key(message.chat.id, message.message_id)
    saved = await add_comment(db, contact.id, viewer, message.from_user.id, text, clock(), key)
    await state.clear()
    if not saved:
        await message.answer(t(lang, "find.gone"))
        return
    notice = t(lang, "find.comment_saved")
    await _show_after_change(message, contact.id, role, lang, settings, db, notice)


async def on_birthday_text(
    message: Message,
    state: FSMContext,
    role: Role,
    lang: str,
    clock: Clock,
    settings: Settings,
    db: Database,
) -> None:
    assert message.from_user is not None
    today = clock().astimezone(settings.timezone).date()
    birthday = parse_birthday(message.text or "", today)
    if birthday is None:
        await message.answer(t(lang, "find.birthday_invalid"))
        return
    contact = await _flow_contact(message, state, role, lang, db)
    if contact is None:
        return
    viewer = viewer_scope(role, message.from_user.id)
    value = (birthday.day, birthday.month, birthday.year)
    saved = await set_birthday(db, contact.id, viewer, value, clock())
    await state.clear()
    if not saved:
        await message.answer(t(lang, "find.gone"))
        return
    notice = t(lang, "find.birthday_saved", birthday=str(birthday))
    await _show_after_change(message, contact.id, role, lang, settings, db, notice)


async def on_other(
    message: Message, state: FSMContext, role: Role, lang: str, db: Database
) -> None:
    """A sticker, photo or anything but text: say so kindly and ask the question again."""
    contact = await _flow_contact(message, state, role, lang, db)
    if contact is None:
        return
    flow = await state.get_state()
    await message.answer(t(lang, "find.text_expected") + "\n\n" + _question(flow, contact, lang))
