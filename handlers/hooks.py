"""Webhooks in the chat (owners only): `/hooks` and every `hooks:*` / `hk:*` button — the list
of URLs, adding one (the secret is shown in that one reply, then only masked), choosing its
events, pausing, resuming, a new secret, deleting. The /api menu's "hooks:menu" button leads here.

A URL typed after "Add" is stored under the message's source key, so the same message handled
again (a replay after a crash) gives the same endpoint instead of a second one.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.clock import Clock
from domain.hooks import private_url, webhook_url
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, forged, show
from handlers.states import HooksFlow
from storage import Database
from storage.events import EVENT_TYPES
from storage.replays import source_key
from storage.webhooks import (
    MAX_ENDPOINTS,
    TooMany,
    add_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    rotate_secret,
    set_paused,
    toggle_event,
)
from views import hooks as view
from views.callbacks import HookAct, HooksMenu
from views.texts import t


def prompt_router() -> Router:
    """Among the first routers: any other command, or a file, ends an open "send the URL" prompt
    and goes on to its own handler, so a later text is never taken as a URL."""
    r = Router(name="hooks_prompt")
    r.message.register(leave_prompt, HooksFlow.url, F.text.startswith("/") | F.document)
    return r


def router() -> Router:
    r = Router(name="hooks")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(hooks_command, Command("hooks"))
    r.message.register(typed_url, HooksFlow.url, F.text)
    r.message.register(not_text, HooksFlow.url)
    r.callback_query.register(on_menu, HooksMenu.filter())
    r.callback_query.register(on_endpoint, HookAct.filter())
    return r


async def _leave(state: FSMContext) -> None:
    if await state.get_state() == HooksFlow.url.state:
        await state.clear()


async def leave_prompt(message: Message, state: FSMContext) -> None:
    await state.clear()
    raise SkipHandler  # the command (or file) is handled as if no prompt had been open


async def hooks_command(message: Message, state: FSMContext, lang: str, db: Database) -> None:
    await _leave(state)
    text, markup = view.menu(await list_endpoints(db), lang)
    await message.answer(text, reply_markup=markup)


async def on_menu(
    query: CallbackQuery,
    callback_data: HooksMenu,
    bot: Bot,
    state: FSMContext,
    lang: str,
    db: Database,
) -> None:
    if callback_data.action == "add":
        if len(await list_endpoints(db)) >= MAX_ENDPOINTS:
            await answer(query, t(lang, "hooks.too_many"), alert=True)
            return
        await state.set_state(HooksFlow.url)
        await answer(query)
        await show(query, bot, *view.ask_url(lang))
        return
    await _leave(state)  # "menu" and "cancel"
    await answer(query)
    await show(query, bot, *view.menu(await list_endpoints(db), lang))


async def typed_url(
    message: Message,
    state: FSMContext,
    lang: str,
    db: Database,
    clock: Clock,
    settings: Settings,
) -> None:
    assert message.from_user is not None and message.text is not None
    url = webhook_url(message.text)
    if url is None:
        await message.answer(t(lang, "hooks.bad_url"), reply_markup=view.cancel_keyboard(lang))
        return
    if not settings.hooks_allow_private and private_url(url):
        text, markup = view.private_url(url, lang)
        await message.answer(text, reply_markup=markup)
        return
    try:
        endpoint, _ = await add_endpoint(
            db,
            url,
            message.from_user.id,
            clock(),
            source_key=source_key(message.chat.id, message.message_id),
        )
    except TooMany:
        await state.clear()
        await message.answer(t(lang, "hooks.too_many"))
        return
    await state.clear()
    notes = [t(lang, "hooks.added"), view.secret_once(endpoint.secret, lang), ""]
    text, markup = view.card(endpoint, lang, notes)
    await message.answer(text, reply_markup=markup)


async def not_text(message: Message, lang: str) -> None:
    await message.answer(t(lang, "hooks.not_text"), reply_markup=view.cancel_keyboard(lang))


async def on_endpoint(
    query: CallbackQuery,
    callback_data: HookAct,
    bot: Bot,
    state: FSMContext,
    lang: str,
    db: Database,
    clock: Clock,
) -> None:
    await _leave(state)
    endpoint_id, action = callback_data.endpoint_id, callback_data.action
    notes: list[str] = []
    if (callback_data.arg != 0 and action != "ev") or callback_data.arg >= len(EVENT_TYPES):
        await forged(query, lang)  # no button the bot made carries it
        return
    if action == "ev":
        endpoint = await toggle_event(db, endpoint_id, EVENT_TYPES[callback_data.arg], clock())
    elif action in ("pause", "resume"):
        endpoint = await set_paused(db, endpoint_id, action == "pause", clock())
    elif action == "rotate":
        endpoint = await rotate_secret(db, endpoint_id, clock())
        if endpoint is not None:
            notes = [t(lang, "hooks.rotated"), view.secret_once(endpoint.secret, lang), ""]
    elif action == "delok":
        if not await delete_endpoint(db, endpoint_id):
            await forged(query, lang)
            return
        await answer(query, t(lang, "hooks.deleted"))
        await show(query, bot, *view.menu(await list_endpoints(db), lang))
        return
    else:  # "open", "del"
        endpoint = await get_endpoint(db, endpoint_id)
    if endpoint is None:
        await forged(query, lang)
        return
    await answer(query)
    if action == "del":
        await show(query, bot, *view.delete_ask(endpoint, lang))
        return
    await show(query, bot, *view.card(endpoint, lang, notes))
