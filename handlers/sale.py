"""/sale: a manager (or owner) records a deal and gets the person's survey link and QR code.

The conversation lives in the SQLite FSM storage, so a restart in the middle loses nothing. Each
conversation carries an idempotency key: a double tap on "Save" records one deal.

A typed answer handled again after a crash (`replayed`) must not be taken as the answer to the
*next* question (the conversation had already moved on): each step notes in the conversation data
which message moved it to which state (`moved`), and each question which state it was sent for
(`asked`). `_ReplayGuard` skips a replayed message that already moved the conversation, and only
asks the current question if it never went out.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)

from domain.clock import Clock
from domain.deeplinks import LinkKind, make_link
from domain.parsing import (
    parse_birthday,
    parse_deal_date,
    parse_phone,
    parse_shared_phone,
)
from domain.roles import Role
from domain.settings import Settings
from domain.vocabulary import DATE, KINDS, LIMITS
from handlers.filters import HasRole
from handlers.replies import answer, send_or_log
from handlers.states import Sale
from storage import Database
from storage.sale import SaleInput, claim_link_delivery, record_sale, release_link_delivery
from views.callbacks import SaleAction, SaleDate, SaleKind, SaleSkip
from views.qr import qr_png
from views.sale import limit_values, question
from views.texts import t

# The order of the questions, and which state asks for which field when editing.
ORDER: list[State] = [
    Sale.kind,
    Sale.name,
    Sale.organization,
    Sale.phone,
    Sale.birthday,
    Sale.product,
    Sale.deal_date,
]
FIELD_STATE: dict[str, State] = {
    "kind": Sale.kind,
    "name": Sale.name,
    "org": Sale.organization,
    "phone": Sale.phone,
    "birthday": Sale.birthday,
    "product": Sale.product,
    "date": Sale.deal_date,
}
SKIPPABLE = {"org": Sale.organization, "phone": Sale.phone, "birthday": Sale.birthday}

text_input = F.text & ~F.text.startswith("/")


def router() -> Router:
    r = Router(name="sale")
    staff = HasRole(Role.OWNER, Role.MANAGER)
    r.message.filter(staff)
    r.callback_query.filter(staff)
    r.message.middleware(_ReplayGuard())
    r.message.register(start_sale, Command("sale"))
    r.callback_query.register(on_kind, SaleKind.filter(), Sale.kind)
    r.message.register(on_name, Sale.name, text_input)
    r.message.register(on_org, Sale.organization, text_input)
    r.message.register(on_phone_text, Sale.phone, text_input)
    r.message.register(on_phone_contact, Sale.phone, F.contact)
    r.message.register(on_birthday, Sale.birthday, text_input)
    r.message.register(on_product, Sale.product, text_input)
    r.message.register(on_date_text, Sale.deal_date, text_input)
    r.callback_query.register(on_date_button, SaleDate.filter(), Sale.deal_date)
    r.callback_query.register(on_skip, SaleSkip.filter(), StateFilter(Sale))
    r.callback_query.register(on_action, SaleAction.filter(), StateFilter(Sale))
    r.message.register(on_other, StateFilter(Sale), ~F.text.startswith("/"))
    return r


def _today(clock: Clock, settings: Settings) -> date:
    return clock().astimezone(settings.timezone).date()


def _question(
    target: State, data: dict[str, Any], lang: str, clock: Clock, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the question asked in `target`."""
    step = target.state.split(":", 1)[1] if target.state else "confirm"
    return question(step, data, lang, _today(clock, settings))


async def _ask(
    message: Message, state: FSMContext, target: State, lang: str, clock: Clock, settings: Settings
) -> None:
    """Put the conversation in `target` and ask its question (noted as asked once it went)."""
    await state.set_state(target)
    text, markup = _question(target, await state.get_data(), lang, clock, settings)
    await message.answer(text, reply_markup=markup)
    await state.update_data(asked=target.state)


class _ReplayGuard(BaseMiddleware):
    """A replayed message that already moved the conversation on changes nothing more; the
    question it led to is sent only if it never went out (the crash came before it)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        if not data.get("replayed") or state is None or not isinstance(event, Message):
            return await handler(event, data)
        current = await state.get_state()
        fsm = await state.get_data()
        if fsm.get("moved") != [event.message_id, current]:
            return await handler(event, data)  # not taken before the crash: handle it now
        if fsm.get("asked") != current:
            target = next((s for s in [*ORDER, Sale.confirm] if s.state == current), None)
            if target is not None:
                await _ask(event, state, target, data["lang"], data["clock"], data["settings"])
        return None


async def _retry(
    message: Message, state: FSMContext, key: str, lang: str, clock: Clock, settings: Settings
) -> None:
    """Explain what was wrong, with the question's own buttons (Skip, Cancel) right there."""
    current = await state.get_state()
    target = next((s for s in [*ORDER, Sale.confirm] if s.state == current), Sale.kind)
    _, markup = _question(target, await state.get_data(), lang, clock, settings)
    await message.answer(t(lang, key, **limit_values()), reply_markup=markup)


async def _next(
    message: Message,
    state: FSMContext,
    current: State,
    lang: str,
    clock: Clock,
    settings: Settings,
    **values: Any,
) -> None:
    """Store the answer and go on: to the next question, or back to the summary when editing."""
    data = await state.get_data()
    if data.get("editing") or current == ORDER[-1]:
        target = Sale.confirm
    else:
        target = ORDER[ORDER.index(current) + 1]
    await state.update_data(**values, moved=[message.message_id, target.state])
    await _ask(message, state, target, lang, clock, settings)


async def start_sale(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    await state.clear()
    moved = [message.message_id, Sale.kind.state]
    await state.set_data({"idem": secrets.token_urlsafe(12), "moved": moved})
    await _ask(message, state, Sale.kind, lang, clock, settings)


async def on_kind(
    query: CallbackQuery,
    callback_data: SaleKind,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    await answer(query)
    if callback_data.kind not in KINDS or not isinstance(query.message, Message):
        return
    await _next(query.message, state, Sale.kind, lang, clock, settings, kind=callback_data.kind)


async def on_name(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    name = " ".join((message.text or "").split())
    if not LIMITS["name"].allows(name):
        await _retry(message, state, "sale.name_invalid", lang, clock, settings)
        return
    await _next(message, state, Sale.name, lang, clock, settings, name=name)


async def on_org(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    org = " ".join((message.text or "").split())
    if not LIMITS["organization"].allows(org):
        await _retry(message, state, "sale.org_invalid", lang, clock, settings)
        return
    await _next(message, state, Sale.organization, lang, clock, settings, org=org)


async def on_phone_text(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    phone = parse_phone(message.text or "", settings.phone_region)
    if phone is None:
        await _retry(message, state, "sale.phone_invalid", lang, clock, settings)
        return
    await _next(message, state, Sale.phone, lang, clock, settings, phone=phone, contact_tg=None)


async def on_phone_contact(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    assert message.contact is not None
    phone = parse_shared_phone(message.contact.phone_number, settings.phone_region)
    if phone is None:
        await _retry(message, state, "sale.phone_invalid", lang, clock, settings)
        return
    await _next(
        message,
        state,
        Sale.phone,
        lang,
        clock,
        settings,
        phone=phone,
        contact_tg=message.contact.user_id,
    )


async def on_birthday(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    birthday = parse_birthday(message.text or "", _today(clock, settings))
    if birthday is None:
        await _retry(message, state, "sale.birthday_invalid", lang, clock, settings)
        return
    value = [birthday.day, birthday.month, birthday.year]
    await _next(message, state, Sale.birthday, lang, clock, settings, birthday=value)


async def on_product(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    product = " ".join((message.text or "").split())
    if not LIMITS["product"].allows(product):
        await _retry(message, state, "sale.product_invalid", lang, clock, settings)
        return
    await _next(message, state, Sale.product, lang, clock, settings, product=product)


async def on_date_text(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    value = parse_deal_date(message.text or "", _today(clock, settings))
    if value is None:
        await _retry(message, state, "sale.date_invalid", lang, clock, settings)
        return
    await _next(message, state, Sale.deal_date, lang, clock, settings, deal_date=value.isoformat())


async def on_date_button(
    query: CallbackQuery,
    callback_data: SaleDate,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    await answer(query)
    # The button carries the date it showed: pressed after midnight, it still means that day.
    try:
        shown = date.fromisoformat(callback_data.day)
    except ValueError:  # a forged button
        return
    value = parse_deal_date(shown.strftime(DATE), _today(clock, settings))
    if value is None or not isinstance(query.message, Message):
        return
    await _next(
        query.message, state, Sale.deal_date, lang, clock, settings, deal_date=value.isoformat()
    )


async def on_skip(
    query: CallbackQuery,
    callback_data: SaleSkip,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    await answer(query)
    target = SKIPPABLE.get(callback_data.field)
    # Only the question being asked can be skipped: an old message's button does nothing.
    if target is None or await state.get_state() != target.state:
        return
    if not isinstance(query.message, Message):
        return
    cleared: dict[str, Any] = {callback_data.field: None}
    if callback_data.field == "phone":
        cleared["contact_tg"] = None
    await _next(query.message, state, target, lang, clock, settings, **cleared)


async def on_action(
    query: CallbackQuery,
    callback_data: SaleAction,
    state: FSMContext,
    bot: Bot,
    lang: str,
    clock: Clock,
    settings: Settings,
    db: Database,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    action = callback_data.action
    if action == "cancel":
        await state.clear()
        await answer(query)
        if message:
            await message.answer(t(lang, "cancelled"))
        return
    if await state.get_state() != Sale.confirm.state or message is None:
        await answer(query)
        return
    if action in FIELD_STATE:
        await answer(query)
        await state.update_data(editing=True)
        await _ask(message, state, FIELD_STATE[action], lang, clock, settings)
        return
    if action == "save":
        await _save(query, message, state, bot, lang, settings, db, clock)
        return
    await answer(query)


async def _save(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    bot: Bot,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    data = await state.get_data()
    if not {"idem", "kind", "name", "product", "deal_date"} <= data.keys():
        await answer(query)
        return
    bday = data.get("birthday")
    sale = SaleInput(
        idem_key=data["idem"],
        manager_id=query.from_user.id,
        kind=data["kind"],
        full_name=data["name"],
        organization=data.get("org"),
        phone=data.get("phone"),
        contact_tg_id=data.get("contact_tg"),
        birthday=(bday[0], bday[1], bday[2]) if bday else None,
        description=data["product"],
        deal_date=date.fromisoformat(data["deal_date"]),
        existing_contact_id=data.get("contact_id"),
    )
    result = await record_sale(db, sale, clock())
    await answer(query)
    # Whoever claims the delivery sends the link: a concurrent second tap gets nothing, and a
    # tap after a failed send (the conversation is kept until the link is out) sends it again.
    if not await claim_link_delivery(db, result.deal_id, clock()):
        return
    try:
        me = await bot.me()
        link = make_link(me.username or "", LinkKind.SURVEY, result.survey_token)
        merged = t(lang, "sale.merged") if result.merged else ""
        kind = t(lang, f"kind.{result.kind}").lower()
        saved = t(lang, "sale.saved", merged=merged, kind=kind, name=sale.full_name, link=link)
        await send_or_log(message.answer(saved), "deal saved")
        key = "sale.invitation_client" if result.kind == "client" else "sale.invitation_partner"
        caption = t(lang, key, name=sale.full_name, company=settings.company(lang), link=link)
        photo = BufferedInputFile(qr_png(link), filename="survey-qr.png")
        await send_or_log(message.answer_photo(photo, caption=caption), "survey QR")
    except BaseException:  # not sent at all: a tap on "Save" again sends it
        await release_link_delivery(db, result.deal_id)
        raise
    await state.clear()


async def on_other(
    message: Message, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    """A sticker, photo or anything but the expected answer: say so kindly and ask again."""
    await message.answer(t(lang, "sale.text_expected"))
    current = await state.get_state()
    target = next((s for s in [*ORDER, Sale.confirm] if s.state == current), Sale.kind)
    await _ask(message, state, target, lang, clock, settings)


async def start_sale_for_contact(
    message: Message,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
    *,
    contact_id: int,
    kind: str,
    name: str,
    organization: str | None,
    phone: str | None,
    birthday: tuple[int, int, int | None] | None = None,
) -> None:
    """A new deal for a known contact (the card's button): who it is is known, so the
    conversation starts at "what was sold" and `_save` adds the deal to that contact."""
    await state.clear()
    await state.set_data(
        {
            "idem": secrets.token_urlsafe(12),
            "contact_id": contact_id,
            "kind": kind,
            "name": name,
            "org": organization,
            "phone": phone,
            "contact_tg": None,
            "birthday": list(birthday) if birthday else None,
        }
    )
    await _ask(message, state, Sale.product, lang, clock, settings)
