"""/find: a manager (or owner) finds a contact by name, organisation or phone and opens its card.

Managers see only their own contacts, owners see everybody; storage/contact_card.py applies that
rule to every read and write, so the card's buttons (which carry only the contact id) are checked
again on each press and a forged id gets the same neutral alert as any stale button.

The card is fitted under CARD_LIMIT characters by trying ever smaller sections (fewer items,
shorter lines) until it fits: a contact with years of history still gets one readable message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from domain.clock import Clock
from domain.nps import category
from domain.parsing import Birthday, format_phone, parse_birthday, parse_phone
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, forged
from handlers.sale import start_sale_for_contact
from handlers.states import ContactFlow
from storage import Database
from storage.contact_card import (
    ContactBrief,
    ContactCard,
    Found,
    Section,
    add_comment,
    get_card,
    get_contact,
    search_contacts,
    set_birthday,
)
from storage.replays import source_key
from views.callbacks import FindBirthday, FindComment, FindDeal, FindOpen, ForgetContact
from views.common import cut, local_date
from views.texts import CATALOGS, plain, t

QUERY_LIMIT = 100
COMMENT_LIMIT = 2000
CARD_LIMIT = 3500
# (items per section, characters per line), tried in order until the card fits CARD_LIMIT.
CARD_FITS = ((5, 200), (5, 120), (3, 120), (3, 60), (1, 60), (1, 30))
LIST_WIDTHS = (60, 30, 15)
BUTTON_NAME_LIMIT = 40

T = TypeVar("T")

not_command = ~F.text.startswith("/")


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
    r.message.register(on_comment_text, ContactFlow.comment, F.text, not_command)
    r.message.register(on_birthday_text, ContactFlow.birthday, F.text, not_command)
    r.message.register(on_other, StateFilter(ContactFlow), not_command)
    return r


def _viewer(role: Role, user_id: int) -> int | None:
    """Whose contacts this person may see: their own (a manager) or everybody's (None, an owner)."""
    return None if role is Role.OWNER else user_id


# --- rendering -------------------------------------------------------------------------------


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _label(lang: str, key: str, fallback: str, **values: str) -> str:
    """The text for a stored code (a task kind, a call outcome), or a generic one naming it."""
    if key in CATALOGS.get(lang, CATALOGS["ru"]):
        return plain(lang, key)
    return plain(lang, fallback, **values)


def display_name(contact: ContactBrief, lang: str) -> str:
    return contact.full_name or contact.organization or plain(lang, "find.no_name")


def _section(
    lines: list[str],
    lang: str,
    header: str,
    section: Section[T],
    items: int,
    line: Callable[[T], str],
) -> None:
    if not section.total:
        return
    lines += ["", t(lang, header, count=section.total)]
    shown = section.items[:items]
    lines += [line(item) for item in shown]
    if section.total > len(shown):
        lines.append(t(lang, "find.more", count=section.total - len(shown)))


def _card_text(
    card: ContactCard, lang: str, settings: Settings, items: int, width: int, notice: str
) -> str:
    c, tz = card.contact, settings.timezone
    unset = t(lang, "find.not_set")
    lines = [notice, ""] if notice else []
    lines += [
        t(lang, "find.card_title", name=cut(display_name(c, lang), width)),
        t(lang, "find.card_kind", kind=plain(lang, f"kind.{c.kind}")),
        t(lang, "find.card_org", org=cut(c.organization, width) if c.organization else unset),
        t(lang, "find.card_phone", phone=format_phone(c.phone) if c.phone else unset),
        t(lang, "find.card_birthday", birthday=str(Birthday(*c.birthday)) if c.birthday else unset),
        t(
            lang,
            "find.card_manager",
            manager=cut(card.manager_name, width) if card.manager_name else unset,
        ),
    ]
    if card.consent is not None:
        lines.append(t(lang, "find.flag_consent_yes" if card.consent else "find.flag_consent_no"))
    if card.opted_out_at:
        lines.append(t(lang, "find.flag_opted_out", date=local_date(card.opted_out_at, tz)))
    if card.unreachable_at:
        lines.append(t(lang, "find.flag_unreachable", date=local_date(card.unreachable_at, tz)))
    _section(
        lines,
        lang,
        "find.deals_header",
        card.deals,
        items,
        lambda d: t(lang, "find.deal_line", date=_day(d.deal_date), text=cut(d.description, width)),
    )
    _section(
        lines,
        lang,
        "find.answers_header",
        card.answers,
        items,
        lambda a: t(
            lang,
            "find.answer_line",
            date=local_date(a.at, tz),
            score=a.score,
            category=plain(lang, f"find.cat_{category(a.score)}"),
            reason=cut(a.reason, width) if a.reason else plain(lang, "find.answer_no_reason"),
        ),
    )
    _section(
        lines,
        lang,
        "find.comments_header",
        card.comments,
        items,
        lambda m: t(
            lang,
            "find.comment_line",
            date=local_date(m.at, tz),
            source=_label(lang, f"find.source_{m.source}", "find.source_manual"),
            text=cut(m.text, width),
        ),
    )
    _section(
        lines,
        lang,
        "find.calls_header",
        card.calls,
        items,
        lambda call: t(
            lang,
            "find.call_line",
            date=local_date(call.at, tz),
            outcome=_label(
                lang,
                f"find.outcome_{call.outcome}",
                "find.outcome_other",
                code=cut(call.outcome, 40),
            ),
        ),
    )
    _section(
        lines,
        lang,
        "find.tasks_header",
        card.tasks,
        items,
        lambda task: t(
            lang,
            "find.task_line",
            kind=_label(lang, f"find.task_{task.kind}", "find.task_other", kind=cut(task.kind, 40)),
            date=_day(task.due_date),
        ),
    )
    return "\n".join(lines)


def render_card(card: ContactCard, lang: str, settings: Settings, notice: str = "") -> str:
    """The card text, with as much history as fits CARD_LIMIT characters."""
    text = ""
    for items, width in CARD_FITS:
        text = _card_text(card, lang, settings, items, width, notice)
        if len(text) < CARD_LIMIT:
            break
    return text


def card_keyboard(lang: str, contact_id: int, *, can_erase: bool = False) -> InlineKeyboardMarkup:
    """The card's buttons; `can_erase` (owners only) adds "delete personal data" (/forget)."""

    def button(key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=plain(lang, key), callback_data=data)

    rows = [
        [button("find.btn_deal", FindDeal(contact_id=contact_id).pack())],
        [
            button("find.btn_comment", FindComment(contact_id=contact_id).pack()),
            button("find.btn_birthday", FindBirthday(contact_id=contact_id).pack()),
        ],
    ]
    if can_erase:
        erase = ForgetContact(contact_id=contact_id, action="ask").pack()
        rows.append([button("forget.btn_card", erase)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _list_text(found: Found, lang: str, width: int) -> str:
    lines = [t(lang, "find.list_header", count=found.total)]
    for n, c in enumerate(found.contacts, 1):
        parts = [c.organization, format_phone(c.phone) if c.phone else None]
        details = ", ".join(p for p in parts if p)
        lines.append(
            t(
                lang,
                "find.list_line",
                n=n,
                name=cut(display_name(c, lang), width),
                details=f" — {cut(details, width)}" if details else "",
            )
        )
    if found.total > len(found.contacts):
        lines.append(t(lang, "find.list_more", count=found.total - len(found.contacts)))
    return "\n".join(lines)


def render_list(found: Found, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    text = ""
    for width in LIST_WIDTHS:
        text = _list_text(found, lang, width)
        if len(text) < CARD_LIMIT:
            break
    rows = [
        [
            InlineKeyboardButton(
                text=plain(
                    lang, "find.btn_open", n=n, name=cut(display_name(c, lang), BUTTON_NAME_LIMIT)
                ),
                callback_data=FindOpen(contact_id=c.id).pack(),
            )
        ]
        for n, c in enumerate(found.contacts, 1)
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


async def _send_card(
    message: Message,
    card: ContactCard,
    role: Role,
    lang: str,
    settings: Settings,
    notice: str = "",
) -> None:
    await message.answer(
        render_card(card, lang, settings, notice),
        reply_markup=card_keyboard(lang, card.contact.id, can_erase=role is Role.OWNER),
    )


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
    viewer = _viewer(role, message.from_user.id)
    phone = parse_phone(query, settings.phone_region)
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
    card = await get_card(db, callback_data.contact_id, _viewer(role, query.from_user.id))
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
    contact = await get_contact(db, callback_data.contact_id, _viewer(role, query.from_user.id))
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
    contact = await get_contact(db, contact_id, _viewer(role, query.from_user.id))
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


# --- what the person types after a button ----------------------------------------------------


async def _flow_contact(
    message: Message, state: FSMContext, role: Role, lang: str, db: Database
) -> ContactBrief | None:
    """The contact this conversation is about, if still visible; otherwise end it and say so."""
    assert message.from_user is not None
    contact_id = (await state.get_data()).get("contact_id")
    contact = None
    if isinstance(contact_id, int):
        contact = await get_contact(db, contact_id, _viewer(role, message.from_user.id))
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
    card = await get_card(db, contact_id, _viewer(role, message.from_user.id))
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
    viewer = _viewer(role, message.from_user.id)
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
    viewer = _viewer(role, message.from_user.id)
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
