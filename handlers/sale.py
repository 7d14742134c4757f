"""/sale: a manager (or owner) records a deal and gets the person's survey link and QR code.

The whole conversation is one message of the bot, the card (its id is `card` in the conversation
data), edited from the first question to the saved deal; the manager's typed answers stay below
it. While the card is in sight of the newest message (`domain.scrolling`) every question and
every "that was not right" is an edit of it; once it has scrolled away, the card is sent anew at
the bottom and the old one loses its buttons. So the chat always has one set of /sale buttons,
and a button of any other message (an old card, a finished or cancelled deal) is answered "this
step is already done" and loses its buttons too. Who and what come first: at any optional
question "save without the rest" saves the deal.

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
from domain.scrolling import scrolled_away
from domain.settings import Settings
from domain.vocabulary import DATE, KINDS, LIMITS
from handlers.filters import HasRole
from handlers.replies import answer, edit_in_place, edit_message, send_or_log, strip_buttons
from handlers.states import Sale
from storage import Database
from storage.sale import SaleInput, claim_link_delivery, record_sale, release_link_delivery
from views.callbacks import SaleAction, SaleDate, SaleKind, SaleSkip
from views.invitation import send_to_client_markup
from views.qr import qr_png
from views.sale import card, limit_values, progress
from views.texts import plain, t

# The order of the questions: who and what first (a deal needs them), then the optional ones,
# so "save without the rest" can save the deal at any optional question.
ORDER: list[State] = [
    Sale.kind,
    Sale.name,
    Sale.product,
    Sale.deal_date,
    Sale.organization,
    Sale.phone,
    Sale.birthday,
]
# The conversation-data key each question fills (a skipped question stores None).
ANSWERS: dict[str, str] = {
    Sale.kind.state: "kind",  # type: ignore[dict-item]
    Sale.name.state: "name",  # type: ignore[dict-item]
    Sale.product.state: "product",  # type: ignore[dict-item]
    Sale.deal_date.state: "deal_date",  # type: ignore[dict-item]
    Sale.organization.state: "org",  # type: ignore[dict-item]
    Sale.phone.state: "phone",  # type: ignore[dict-item]
    Sale.birthday.state: "birthday",  # type: ignore[dict-item]
}
REQUIRED = ("idem", "kind", "name", "product", "deal_date")
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
OPTIONAL = {s.state for s in SKIPPABLE.values()}

text_input = F.text & ~F.text.startswith("/")


def router() -> Router:
    r = Router(name="sale")
    staff = HasRole(Role.OWNER, Role.MANAGER)
    r.message.filter(staff)
    r.callback_query.filter(staff)
    r.message.middleware(_ReplayGuard())
    r.message.register(start_sale, Command("sale"))
    # Buttons are routed without a state filter: a button of a finished or abandoned step is
    # answered here ("this step is already done"), not by the fallback.
    r.callback_query.register(on_kind, SaleKind.filter())
    r.message.register(on_name, Sale.name, text_input)
    r.message.register(on_org, Sale.organization, text_input)
    r.message.register(on_phone_text, Sale.phone, text_input)
    r.message.register(on_phone_contact, Sale.phone, F.contact)
    r.message.register(on_birthday, Sale.birthday, text_input)
    r.message.register(on_product, Sale.product, text_input)
    r.message.register(on_date_text, Sale.deal_date, text_input)
    r.callback_query.register(on_date_button, SaleDate.filter())
    r.callback_query.register(on_skip, SaleSkip.filter())
    r.callback_query.register(on_action, SaleAction.filter())
    r.message.register(on_other, StateFilter(Sale), ~F.text.startswith("/"))
    return r


def _today(clock: Clock, settings: Settings) -> date:
    return clock().astimezone(settings.timezone).date()


def _step(target: State) -> str:
    return target.state.split(":", 1)[1] if target.state else "confirm"


def _state_of(name: str | None) -> State:
    return next((s for s in [*ORDER, Sale.confirm] if s.state == name), Sale.kind)


def _following(data: dict[str, Any]) -> State:
    """The first question not answered yet (in `ORDER`), or the summary when all are."""
    return next((s for s in ORDER if ANSWERS[s.state] not in data), Sale.confirm)  # type: ignore[index]


async def _place(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    text: str,
    markup: InlineKeyboardMarkup | None,
    newest: int | None,
) -> None:
    """Show `text` on the card: edited in place while it is in sight of the newest message
    (`newest`, None for a tap on the card itself), else sent anew at the bottom with the old
    card's buttons taken off, so the conversation keeps one set of buttons."""
    card_id = (await state.get_data()).get("card")
    in_sight = isinstance(card_id, int) and not scrolled_away(card_id, newest)
    if in_sight and await edit_message(bot, chat_id, card_id, text, markup):
        return
    if isinstance(card_id, int):
        await strip_buttons(bot, chat_id, card_id)
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    await state.update_data(card=sent.message_id)


async def _ask(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    target: State,
    lang: str,
    clock: Clock,
    settings: Settings,
    newest: int | None,
) -> None:
    """Put the conversation in `target` and show its question on the card (noted as asked once
    it is shown)."""
    await state.set_state(target)
    text, markup = card(_step(target), await state.get_data(), lang, _today(clock, settings))
    await _place(bot, chat_id, state, text, markup, newest)
    await state.update_data(asked=target.state)


class _ReplayGuard(BaseMiddleware):
    """A replayed message that already moved the conversation on changes nothing more; the
    question it led to is shown only if it never was (the crash came before it)."""

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
        if fsm.get("asked") != current and current is not None:
            await _ask(
                data["bot"],
                event.chat.id,
                state,
                _state_of(current),
                data["lang"],
                data["clock"],
                data["settings"],
                event.message_id,
            )
        return None


async def _retry(
    message: Message,
    bot: Bot,
    state: FSMContext,
    key: str,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    """Say on the card what was wrong with the answer, under the same question and buttons: no
    new message while the card is in sight."""
    target = _state_of(await state.get_state())
    error = t(lang, key, **limit_values())
    text, markup = card(_step(target), await state.get_data(), lang, _today(clock, settings), error)
    await _place(bot, message.chat.id, state, text, markup, message.message_id)


async def _next(
    bot: Bot,
    chat_id: int,
    moved_by: int,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
    newest: int | None,
    **values: Any,
) -> None:
    """Store the answer and go on: to the next question not answered yet, or back to the
    summary when editing."""
    data = {**(await state.get_data()), **values}
    target = Sale.confirm if data.get("editing") else _following(data)
    await state.update_data(**values, moved=[moved_by, target.state])
    await _ask(bot, chat_id, state, target, lang, clock, settings, newest)


async def _typed(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
    **values: Any,
) -> None:
    """A typed answer taken: the next question on the card (the typed message stays below it)."""
    await _next(
        bot,
        message.chat.id,
        message.message_id,
        state,
        lang,
        clock,
        settings,
        message.message_id,
        **values,
    )


async def _on_card(
    query: CallbackQuery, state: FSMContext, lang: str, bot: Bot, *steps: State
) -> Message | None:
    """The tapped message if it is the live card and the conversation is at one of `steps` (any
    /sale step when none are given); otherwise the tap is answered "this step is already done",
    and a message that is not the card loses its buttons."""
    message = query.message if isinstance(query.message, Message) else None
    current = await state.get_state()
    data = await state.get_data()
    card_id = data.get("card")
    in_sale = current is not None and current.startswith(f"{Sale.__name__}:")
    is_card = message is not None and card_id in (None, message.message_id)
    if in_sale and is_card and (not steps or current in {s.state for s in steps}):
        if card_id is None and message is not None:  # a conversation begun before the card
            await state.update_data(card=message.message_id)
        return message
    await answer(query, plain(lang, "sale.step_done"))
    if message is not None and not (in_sale and is_card):
        await strip_buttons(bot, message.chat.id, message.message_id)
    return None


async def start_sale(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    await close_card(bot, message.chat.id, state)
    await state.clear()
    moved = [message.message_id, Sale.kind.state]
    await state.set_data({"idem": secrets.token_urlsafe(12), "moved": moved})
    await _ask(bot, message.chat.id, state, Sale.kind, lang, clock, settings, message.message_id)


async def close_card(bot: Bot, chat_id: int, state: FSMContext) -> None:
    """Take the buttons off the card of a /sale being left (/cancel, a new /sale)."""
    current = await state.get_state()
    card_id = (await state.get_data()).get("card")
    if current and current.startswith(f"{Sale.__name__}:") and isinstance(card_id, int):
        await strip_buttons(bot, chat_id, card_id)


async def on_kind(
    query: CallbackQuery,
    callback_data: SaleKind,
    bot: Bot,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    message = await _on_card(query, state, lang, bot, Sale.kind)
    if message is None:
        return
    await answer(query)
    if callback_data.kind not in KINDS:
        return
    chat_id, moved_by = message.chat.id, message.message_id
    await _next(bot, chat_id, moved_by, state, lang, clock, settings, None, kind=callback_data.kind)


async def on_name(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    name = " ".join((message.text or "").split())
    if not LIMITS["name"].allows(name):
        await _retry(message, bot, state, "sale.name_invalid", lang, clock, settings)
        return
    await _typed(message, bot, state, lang, clock, settings, name=name)


async def on_org(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    org = " ".join((message.text or "").split())
    if not LIMITS["organization"].allows(org):
        await _retry(message, bot, state, "sale.org_invalid", lang, clock, settings)
        return
    await _typed(message, bot, state, lang, clock, settings, org=org)


async def on_phone_text(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    phone = parse_phone(message.text or "", settings.phone_region)
    if phone is None:
        await _retry(message, bot, state, "sale.phone_invalid", lang, clock, settings)
        return
    await _typed(message, bot, state, lang, clock, settings, phone=phone, contact_tg=None)


async def on_phone_contact(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    assert message.contact is not None
    phone = parse_shared_phone(message.contact.phone_number, settings.phone_region)
    if phone is None:
        await _retry(message, bot, state, "sale.phone_invalid", lang, clock, settings)
        return
    contact_tg = message.contact.user_id
    await _typed(message, bot, state, lang, clock, settings, phone=phone, contact_tg=contact_tg)


async def on_birthday(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    birthday = parse_birthday(message.text or "", _today(clock, settings))
    if birthday is None:
        await _retry(message, bot, state, "sale.birthday_invalid", lang, clock, settings)
        return
    value = [birthday.day, birthday.month, birthday.year]
    await _typed(message, bot, state, lang, clock, settings, birthday=value)


async def on_product(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    product = " ".join((message.text or "").split())
    if not LIMITS["product"].allows(product):
        await _retry(message, bot, state, "sale.product_invalid", lang, clock, settings)
        return
    await _typed(message, bot, state, lang, clock, settings, product=product)


async def on_date_text(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    value = parse_deal_date(message.text or "", _today(clock, settings))
    if value is None:
        await _retry(message, bot, state, "sale.date_invalid", lang, clock, settings)
        return
    await _typed(message, bot, state, lang, clock, settings, deal_date=value.isoformat())


async def on_date_button(
    query: CallbackQuery,
    callback_data: SaleDate,
    bot: Bot,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    message = await _on_card(query, state, lang, bot, Sale.deal_date)
    if message is None:
        return
    await answer(query)
    # The button carries the date it showed: pressed after midnight, it still means that day.
    try:
        shown = date.fromisoformat(callback_data.day)
    except ValueError:  # a forged button
        return
    value = parse_deal_date(shown.strftime(DATE), _today(clock, settings))
    if value is None:
        return
    chat_id, moved_by = message.chat.id, message.message_id
    deal_date = value.isoformat()
    await _next(bot, chat_id, moved_by, state, lang, clock, settings, None, deal_date=deal_date)


async def on_skip(
    query: CallbackQuery,
    callback_data: SaleSkip,
    bot: Bot,
    state: FSMContext,
    lang: str,
    clock: Clock,
    settings: Settings,
) -> None:
    # Only the question being asked can be skipped: a double tap finds the next one asked.
    target = SKIPPABLE.get(callback_data.field)
    message = await _on_card(query, state, lang, bot, *([target] if target else []))
    if message is None:
        return
    await answer(query)
    if target is None:
        return
    cleared: dict[str, Any] = {callback_data.field: None}
    if callback_data.field == "phone":
        cleared["contact_tg"] = None
    chat_id, moved_by = message.chat.id, message.message_id
    await _next(bot, chat_id, moved_by, state, lang, clock, settings, None, **cleared)


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
    action = callback_data.action
    if action == "cancel":
        message = await _on_card(query, state, lang, bot)
        if message is None:
            return
        await state.clear()
        await answer(query)
        await edit_in_place(query, t(lang, "cancelled"), None)
        return
    if action == "rest":
        optional = [s for s in ORDER if s.state in OPTIONAL]
        message = await _on_card(query, state, lang, bot, *optional)
        if message is None:
            return
        # Every optional question not answered yet is skipped; the deal is saved at once.
        data = await state.get_data()
        skipped = {
            ANSWERS[s.state]: None  # type: ignore[index]
            for s in optional
            if ANSWERS[s.state] not in data  # type: ignore[index]
        }
        if "phone" in skipped:
            skipped["contact_tg"] = None
        await state.update_data(**skipped)
        await _save(query, message, state, bot, lang, settings, db, clock)
        return
    message = await _on_card(query, state, lang, bot, Sale.confirm)
    if message is None:
        return
    if action in FIELD_STATE:
        await answer(query)
        await state.update_data(editing=True)
        target = FIELD_STATE[action]
        await _ask(bot, message.chat.id, state, target, lang, clock, settings, None)
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
    if not set(REQUIRED) <= data.keys():
        # A conversation from before "save without the rest" (a required answer still to
        # come): go on to it instead.
        await answer(query)
        target = _following(data)
        await _ask(bot, message.chat.id, state, target, lang, clock, settings, None)
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
    # tap after a failed send (the conversation and the card's buttons are kept until the link
    # is out) sends it again.
    if not await claim_link_delivery(db, result.deal_id, clock()):
        return
    me = await bot.me()
    link = make_link(me.username or "", LinkKind.SURVEY, result.survey_token)
    try:
        key = "sale.invitation_client" if result.kind == "client" else "sale.invitation_partner"
        caption = t(lang, key, name=sale.full_name, company=settings.company_name, link=link)
        photo = BufferedInputFile(qr_png(link), filename="survey-qr.png")
        await send_or_log(message.answer_photo(photo, caption=caption), "survey QR")
    except BaseException:  # not sent at all: a tap on "Save" again sends it
        await release_link_delivery(db, result.deal_id)
        raise
    await state.clear()
    # The card becomes the saved deal: what was recorded and the link, no buttons left.
    merged = t(lang, "sale.merged") if result.merged else ""
    kind = t(lang, f"kind.{result.kind}").lower()
    saved = t(lang, "sale.saved", merged=merged, kind=kind, name=sale.full_name, link=link)
    send = send_to_client_markup(me, result.survey_token, result.kind, lang)
    if not await edit_in_place(query, f"{progress(data, lang)}\n\n{saved}", send):
        await send_or_log(message.answer(saved, reply_markup=send), "deal saved")


async def on_other(
    message: Message, bot: Bot, state: FSMContext, lang: str, clock: Clock, settings: Settings
) -> None:
    """A sticker, photo or anything but the expected answer: said on the card, kindly."""
    await _retry(message, bot, state, "sale.text_expected", lang, clock, settings)


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
    conversation starts at "what was sold" on a card of its own, and `_save` adds the deal to
    that contact."""
    bot = message.bot
    assert bot is not None
    await close_card(bot, message.chat.id, state)
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
    await _ask(bot, message.chat.id, state, Sale.product, lang, clock, settings, None)
