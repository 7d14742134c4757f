"""`/settings`: the owner changes company name, plan time, working days, offer interval, birthday
lead, contact budget and default language in the chat.

A change is stored in the `settings` table and put in force at once through `LiveSettings`
(the scheduler's plan job moves, the next tick plans with the new rules). Typed values are
validated by `domain.tunables` and a wrong one gets the rule and the same buttons again.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain import tunables
from domain.clock import Clock
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, forged, show
from handlers.states import SettingsFlow
from storage import Database
from storage.replays import Stored, source_key, stored_from
from storage.settings import LiveSettings
from views.callbacks import SettingDay, SettingOpen, SettingPick, SettingReset
from views.settings import card, decode, editor, shown
from views.texts import Raw, plain, t


def prompt_router() -> Router:
    """First of all routers: any other command, or a file (an import), ends an open settings
    prompt and then goes on to its own handler, so a later text is never taken as a value."""
    r = Router(name="settings_prompt")
    r.message.register(leave_prompt, SettingsFlow.value, F.text.startswith("/") | F.document)
    return r


def router() -> Router:
    r = Router(name="settings")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(settings_command, Command("settings"))
    r.message.register(typed_value, SettingsFlow.value, F.text)
    r.message.register(not_text, SettingsFlow.value)
    r.callback_query.register(open_view, SettingOpen.filter())
    r.callback_query.register(pick_value, SettingPick.filter())
    r.callback_query.register(toggle_day, SettingDay.filter())
    r.callback_query.register(reset_value, SettingReset.filter())
    return r


# A value typed this long after the prompt is not taken as an answer to it.
PROMPT_MINUTES = 15


async def _leave(state: FSMContext) -> None:
    """End the settings prompt, and only it (never an owner's half-done /sale or comment)."""
    if await state.get_state() == SettingsFlow.value.state:
        await state.clear()


async def leave_prompt(message: Message, state: FSMContext) -> None:
    await state.clear()
    raise SkipHandler  # the command or the file is handled as if no prompt had been open


async def settings_command(
    message: Message, state: FSMContext, lang: str, live_settings: LiveSettings
) -> None:
    await _leave(state)
    settings = await live_settings.get()
    text, markup = card(settings, live_settings.overrides, lang)
    await message.answer(text, reply_markup=markup)


async def open_view(
    query: CallbackQuery,
    callback_data: SettingOpen,
    bot: Bot,
    state: FSMContext,
    lang: str,
    live_settings: LiveSettings,
    clock: Clock,
) -> None:
    settings = await live_settings.get()
    key = callback_data.key
    if key == "card":
        await _leave(state)
        await answer(query)
        await show(query, bot, *card(settings, live_settings.overrides, lang))
        return
    if key not in tunables.KEYS:
        await forged(query, lang)
        return
    if key in tunables.TAP_ONLY:
        await _leave(state)
    else:
        await state.set_state(SettingsFlow.value)
        await state.set_data({"setting": key, "asked_at": clock().timestamp()})
    await answer(query)
    overridden = key in live_settings.overrides
    await show(query, bot, *editor(settings, live_settings.base, key, overridden, lang))


async def _save(
    key: str,
    raw: str,
    owner_id: int,
    lang: str,
    live: LiveSettings,
    clock: Clock,
    source: str | None = None,
    stored: bool = False,
) -> str:
    """Store a value; the note to show above the list (`InvalidValue` if it does not fit).
    `stored`: this very message already saved it (a replay after a crash): say "saved" again."""
    value = tunables.parse(key, raw)
    settings = await live.get()
    if value == tunables.value_of(settings, key) and not stored:
        return t(lang, "settings.unchanged")
    if not stored:
        settings = await live.set(key, value, owner_id, clock(), source)
    return t(
        lang,
        "settings.saved",
        name=plain(lang, f"settings.name.{key}"),
        value=Raw(shown(settings, key, lang)),
    )


async def typed_value(
    message: Message,
    state: FSMContext,
    lang: str,
    live_settings: LiveSettings,
    clock: Clock,
    db: Database,
    replayed: bool = False,
) -> None:
    assert message.from_user is not None and message.text is not None
    data = await state.get_data()
    key = data.get("setting")
    if clock().timestamp() - float(data.get("asked_at", 0)) > PROMPT_MINUTES * 60:
        await state.clear()  # a stale prompt: this text is about something else
        raise SkipHandler
    if key not in tunables.KEYS or key in tunables.TAP_ONLY:
        await state.clear()
        await message.answer(t(lang, "settings.bad.unknown"))
        return
    source = source_key(message.chat.id, message.message_id)
    stored = replayed and await stored_from(db, source) == Stored("setting", key)
    try:
        note = await _save(
            key, message.text, message.from_user.id, lang, live_settings, clock, source, stored
        )
    except tunables.InvalidValue as bad:
        settings = live_settings.current
        _, markup = editor(settings, live_settings.base, key, key in live_settings.overrides, lang)
        await message.answer(t(lang, bad.key, **bad.values), reply_markup=markup)
        return
    await state.clear()
    text, markup = card(live_settings.current, live_settings.overrides, lang, note)
    await message.answer(text, reply_markup=markup)


async def not_text(message: Message, lang: str) -> None:
    await message.answer(t(lang, "settings.bad.not_text"))


async def pick_value(
    query: CallbackQuery,
    callback_data: SettingPick,
    bot: Bot,
    state: FSMContext,
    lang: str,
    live_settings: LiveSettings,
    clock: Clock,
) -> None:
    key = callback_data.key
    if key not in tunables.PRESETS and key != tunables.LANGUAGE:
        await forged(query, lang)
        return
    try:
        note = await _save(
            key, decode(callback_data.value), query.from_user.id, lang, live_settings, clock
        )
    except tunables.InvalidValue:
        await forged(query, lang)
        return
    await _leave(state)
    await answer(query)
    await show(query, bot, *card(live_settings.current, live_settings.overrides, lang, note))


async def toggle_day(
    query: CallbackQuery,
    callback_data: SettingDay,
    bot: Bot,
    lang: str,
    live_settings: LiveSettings,
    clock: Clock,
) -> None:
    day = callback_data.day
    if day not in range(7):
        await forged(query, lang)
        return

    def switch(settings: Settings) -> str:
        days = set(settings.cadence.workdays)
        days = days | {day} if callback_data.on else days - {day}
        return ",".join(map(str, sorted(days)))

    try:
        settings = await live_settings.update(
            tunables.WORKDAYS, switch, query.from_user.id, clock()
        )
    except tunables.InvalidValue as bad:
        await answer(query, plain(lang, bad.key, **bad.values), alert=True)
        return
    await answer(query)
    await show(query, bot, *editor(settings, live_settings.base, tunables.WORKDAYS, True, lang))


async def reset_value(
    query: CallbackQuery,
    callback_data: SettingReset,
    bot: Bot,
    state: FSMContext,
    lang: str,
    live_settings: LiveSettings,
) -> None:
    key = callback_data.key
    if key not in tunables.KEYS:
        await forged(query, lang)
        return
    await _leave(state)
    settings = await live_settings.reset(key, query.from_user.id)
    note = t(
        lang,
        "settings.was_reset",
        name=plain(lang, f"settings.name.{key}"),
        value=Raw(shown(settings, key, lang)),
    )
    await answer(query)
    await show(query, bot, *card(settings, live_settings.overrides, lang, note))
