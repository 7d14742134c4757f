"""/crm: an owner connects Bitrix24 or amoCRM, sees how the connector is doing (last event, last
error, deals created today), matches the CRM's responsible users to staff, or disconnects.

The pasted webhook URL or token is checked with one call before anything is stored, and the
owner's message holding it is deleted from the chat right after (a secret should not sit in a
chat history); the bot shows it masked from then on.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from urllib.parse import urlsplit

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from crm import store
from crm.http import CrmError, Failure
from crm.service import CrmService
from crm.urls import amo_account, bitrix_webhook, mask, masked_webhook
from domain.clock import Clock
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, edit_in_place, forged
from handlers.states import CrmFlow
from storage import Database
from storage.staff import list_active_staff
from views import crm as view
from views.callbacks import CrmDisconnect, CrmMenu, CrmUserMatch, CrmUserPick
from views.texts import plain, t

log = logging.getLogger(__name__)

text_input = F.text & ~F.text.startswith("/")


def router() -> Router:
    r = Router(name="crm")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(crm_command, Command("crm"))
    r.callback_query.register(on_menu, CrmMenu.filter())
    r.callback_query.register(on_disconnect, CrmDisconnect.filter())
    r.callback_query.register(on_user_pick, CrmUserPick.filter())
    r.callback_query.register(on_user_match, CrmUserMatch.filter())
    r.message.register(on_bitrix_url, CrmFlow.bitrix_url, text_input)
    r.message.register(on_amo_account, CrmFlow.amo_account, text_input)
    r.message.register(on_amo_token, CrmFlow.amo_token, text_input)
    return r


def public_base(settings: Settings) -> str | None:
    if settings.api_public_url:
        return settings.api_public_url.rstrip("/")
    if settings.webhook_url:
        parts = urlsplit(settings.webhook_url)
        return f"{parts.scheme}://{parts.netloc}"
    return None


def address(settings: Settings, connection: store.Connection, *, masked: bool) -> str:
    base = public_base(settings) or "API_PUBLIC_URL"
    secret = mask(connection.path_secret) if masked else connection.path_secret
    return f"{base}/crm/{connection.kind}/{secret}"


async def _status(db: Database, settings: Settings, clock: Clock, lang: str) -> tuple[str, object]:
    now = clock()
    local = now.astimezone(settings.timezone)
    start = datetime.combine(local.date(), time(0), tzinfo=settings.timezone)
    views = []
    for c in await store.active_connections(db):
        f = await store.figures(db, c.id, start)
        secret = masked_webhook(c.base_url) if c.kind == "bitrix24" else mask(c.token or "")
        views.append(
            view.ConnectionView(
                id=c.id,
                kind=c.kind,
                account=c.account,
                secret=secret,
                address=address(settings, c, masked=True),
                last_event_at=c.last_event_at,
                last_error=c.last_error,
                last_error_at=c.last_error_at,
                auth_failed_at=c.auth_failed_at,
                deals_today=f.deals_today,
                events_waiting=f.events_waiting,
                notes_waiting=f.notes_waiting,
                unmatched=f.unmatched,
            )
        )
    return view.status(views, lang, settings.timezone)


async def crm_command(
    message: Message, state: FSMContext, lang: str, settings: Settings, db: Database, clock: Clock
) -> None:
    if (await state.get_state() or "").startswith("CrmFlow:"):
        await state.clear()
    text, markup = await _status(db, settings, clock, lang)
    await message.answer(text, reply_markup=markup)  # type: ignore[arg-type]


async def on_menu(
    query: CallbackQuery,
    callback_data: CrmMenu,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    action = callback_data.action
    if action == "bitrix24":
        await state.set_state(CrmFlow.bitrix_url)
        await answer(query)
        if query.message is not None:
            await query.message.answer(t(lang, "crm.ask.bitrix_url"))
        return
    if action == "amocrm":
        await state.set_state(CrmFlow.amo_account)
        await answer(query)
        if query.message is not None:
            await query.message.answer(t(lang, "crm.ask.amo_account"))
        return
    if action == "users":
        await _show_users(query, db, lang)
        return
    text, markup = await _status(db, settings, clock, lang)
    await answer(query)
    await edit_in_place(query, text, markup)  # type: ignore[arg-type]


async def _show_users(query: CallbackQuery, db: Database, lang: str) -> None:
    unmatched = await store.unmatched_users(db)
    connections = {c.id: c for c in await store.active_connections(db)}
    rows = []
    for u in unmatched:
        if u.connection_id in connections:
            crm = plain(lang, f"crm.kind.{connections[u.connection_id].kind}")
            rows.append(
                (u.connection_id, u.crm_user_id, f"{u.name or '#' + u.crm_user_id} · {crm}")
            )
    text, markup = view.users(rows, lang)
    await answer(query)
    await edit_in_place(query, text, markup)


async def on_user_pick(
    query: CallbackQuery, callback_data: CrmUserPick, lang: str, db: Database
) -> None:
    connection = await store.get_connection(db, callback_data.connection_id)
    user = await store.get_user(db, connection.id, callback_data.user) if connection else None
    if connection is None or user is None:
        await forged(query, lang)
        return
    staff = await list_active_staff(db)
    text, markup = view.staff_picker(
        connection.id,
        user.crm_user_id,
        user.name or f"#{user.crm_user_id}",
        plain(lang, f"crm.kind.{connection.kind}"),
        staff,
        lang,
    )
    await answer(query)
    await edit_in_place(query, text, markup)


async def on_user_match(
    query: CallbackQuery, callback_data: CrmUserMatch, lang: str, db: Database
) -> None:
    connection = await store.get_connection(db, callback_data.connection_id)
    user = await store.get_user(db, connection.id, callback_data.user) if connection else None
    if (
        connection is None
        or user is None
        or not await store.match_user(db, connection.id, user.crm_user_id, callback_data.staff_id)
    ):
        await forged(query, lang)  # a user, staff member or CRM gone since the list was shown
        return
    staff = {m.user_id: m for m in await list_active_staff(db)}
    member = staff.get(callback_data.staff_id)
    log.info(
        "crm %s: user %s matched to staff %s",
        connection.account,
        user.crm_user_id,
        callback_data.staff_id,
    )
    await answer(query)
    await edit_in_place(
        query,
        t(
            lang,
            "crm.users.matched",
            name=user.name or f"#{user.crm_user_id}",
            staff=member.full_name if member else str(callback_data.staff_id),
        ),
        None,
    )


async def on_disconnect(
    query: CallbackQuery,
    callback_data: CrmDisconnect,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    connection = await store.get_connection(db, callback_data.connection_id)
    if connection is None or not await store.disconnect(db, connection.id):
        await forged(query, lang)
        return
    log.info("crm %s disconnected", connection.account)
    await answer(
        query, plain(lang, "crm.disconnected", crm=plain(lang, f"crm.kind.{connection.kind}"))
    )
    text, markup = await _status(db, settings, clock, lang)
    await edit_in_place(query, text, markup)  # type: ignore[arg-type]


async def _delete_secret(bot: Bot, message: Message) -> None:
    try:
        await bot.delete_message(message.chat.id, message.message_id)
    except (TelegramAPIError, TelegramNetworkError) as exc:  # too old, or already gone
        log.info("could not delete a message with a CRM secret: %s", type(exc).__name__)


def _check_failed(lang: str, exc: CrmError) -> str:
    detail = str(exc).split(": ", 1)[-1][:120]
    key = "crm.check.auth" if exc.failure is Failure.AUTH else "crm.check.unreachable"
    return t(lang, key, detail=detail)


async def _connected(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    crm: CrmService,
    *,
    kind: str,
    base_url: str,
    account: str,
    token: str | None,
) -> None:
    assert message.from_user is not None
    try:
        user = await crm.check(kind, base_url, account, token)
    except CrmError as exc:
        log.info("crm %s: the pasted credentials failed the check (%s)", account, exc.failure.value)
        await _delete_secret(bot, message)
        await message.answer(_check_failed(lang, exc))
        return
    connection = await store.save_connection(
        db,
        kind=kind,
        account=account,
        base_url=base_url,
        token=token,
        created_by=message.from_user.id,
        now=clock(),
    )
    await state.clear()
    await _delete_secret(bot, message)
    log.info("crm %s connected (%s) by %s", account, kind, message.from_user.id)
    crm.wake()
    if public_base(settings) is None:
        await message.answer(t(lang, "crm.no_public_url"))
        return
    await message.answer(
        t(
            lang,
            f"crm.connected.{kind}",
            account=account,
            user=user,
            address=address(settings, connection, masked=False),
        )
    )


async def on_bitrix_url(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    crm: CrmService,
) -> None:
    endpoint = bitrix_webhook(message.text or "")
    if endpoint is None:
        if "/rest/" in (message.text or ""):  # a mistyped webhook URL still holds its code
            await _delete_secret(bot, message)
        await message.answer(t(lang, "crm.bad.bitrix_url"))
        return
    await _connected(
        message, bot, state, lang, settings, db, clock, crm,
        kind="bitrix24", base_url=endpoint.base_url, account=endpoint.account, token=None,
    )  # fmt: skip


async def on_amo_account(message: Message, state: FSMContext, lang: str) -> None:
    endpoint = amo_account(message.text or "")
    if endpoint is None:
        await message.answer(t(lang, "crm.bad.amo_account"))
        return
    await state.update_data(amo_base=endpoint.base_url, amo_account=endpoint.account)
    await state.set_state(CrmFlow.amo_token)
    await message.answer(t(lang, "crm.ask.amo_token"))


async def on_amo_token(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    crm: CrmService,
) -> None:
    token = (message.text or "").strip()
    data = await state.get_data()
    if not 20 <= len(token) <= 4000 or any(c.isspace() for c in token) or "amo_base" not in data:
        await _delete_secret(bot, message)
        await message.answer(t(lang, "crm.bad.amo_token"))
        return
    await _connected(
        message, bot, state, lang, settings, db, clock, crm,
        kind="amocrm", base_url=data["amo_base"], account=data["amo_account"], token=token,
    )  # fmt: skip
