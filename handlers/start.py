"""/start (plain and with a deep-link payload) and /help, for every role."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from domain.clock import Clock
from domain.deeplinks import LinkKind, parse_payload
from domain.roles import Role, StaffMember
from domain.settings import Settings
from handlers import referral, survey
from handlers.replies import send_or_log
from handlers.sale import close_card
from scheduler.menus import set_chat_menu
from storage import Database
from storage.followup import set_opt_out
from storage.staff import Redeem, get_member, redeem_invite
from views.start import role_help
from views.texts import t

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="start")
    r.message.register(start_with_payload, CommandStart(deep_link=True))
    r.message.register(start_plain, CommandStart())
    r.message.register(help_command, Command("help"))
    r.message.register(cancel_command, Command("cancel"))
    r.message.register(stop_command, Command("stop"))
    return r


async def cancel_command(message: Message, bot: Bot, state: FSMContext, lang: str) -> None:
    current = await state.get_state()
    await close_card(bot, message.chat.id, state)  # a /sale card loses its buttons
    await state.clear()
    if current is None:
        await message.answer(t(lang, "nothing_to_cancel"), reply_markup=ReplyKeyboardRemove())
    elif current.startswith("SurveyFlow"):
        await message.answer(t(lang, "survey.paused"), reply_markup=ReplyKeyboardRemove())
    else:
        await message.answer(t(lang, "cancelled"))


async def start_plain(
    message: Message, role: Role, lang: str, settings: Settings, db: Database, clock: Clock
) -> None:
    assert message.from_user is not None
    if not role.is_staff and await set_opt_out(db, message.from_user.id, False, clock()):
        await send_or_log(message.answer(t(lang, "stop.resumed")), "contact resumed")
        return
    await message.answer(role_help(role, lang, message.from_user.first_name, settings))


async def stop_command(message: Message, role: Role, lang: str, db: Database, clock: Clock) -> None:
    """A client's or partner's /stop: no message from the bot first, until they /start again."""
    assert message.from_user is not None
    if role.is_staff:
        await message.answer(t(lang, "stop.staff"))
        return
    await set_opt_out(db, message.from_user.id, True, clock())
    await message.answer(t(lang, "stop.done"))


async def help_command(message: Message, role: Role, lang: str, settings: Settings) -> None:
    assert message.from_user is not None
    if role.is_staff:
        await message.answer(role_help(role, lang, message.from_user.first_name, settings))
    else:
        await message.answer(t(lang, "help.guest", company=settings.company_name))


async def start_with_payload(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    bot: Bot,
    role: Role,
    member: StaffMember | None,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    replayed: bool = False,
) -> None:
    parsed = parse_payload(command.args)
    if parsed is None:
        await message.answer(t(lang, "link.invalid"))
        return
    kind, token = parsed
    if kind is LinkKind.INVITE:
        await _redeem_invite(message, token, bot, role, lang, settings, db, clock)
    elif kind is LinkKind.SURVEY:
        await survey.open_link(
            message,
            token,
            state,
            bot,
            role,
            member is not None,
            lang,
            settings,
            db,
            clock,
            replayed,
        )
    else:
        await referral.open_referral(
            message, token, state, role, member is not None, lang, settings, db
        )


async def _redeem_invite(
    message: Message,
    token: str,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    user = message.from_user
    assert user is not None
    if role is Role.OWNER:
        await message.answer(t(lang, "invite.owner_self"))
        return
    outcome, invited_by = await redeem_invite(
        db, token, user.id, user.full_name, user.username, lang, clock()
    )
    if outcome is Redeem.INVALID:
        await message.answer(t(lang, "invite.invalid"))
        return
    if outcome is Redeem.ALREADY_STAFF:
        await message.answer(t(lang, "invite.already_staff"))
        return
    key = "invite.welcome" if outcome is Redeem.REGISTERED else "invite.reactivated"
    welcome = t(lang, key, name=user.first_name, company=settings.company_name)
    await send_or_log(message.answer(welcome), "manager welcome")
    log.info("manager %s registered through an invite of %s", user.id, invited_by)
    await set_chat_menu(bot, user.id, Role.MANAGER, lang)
    if invited_by is not None:
        owner = await get_member(db, invited_by)
        owner_lang = (owner.language if owner else None) or settings.default_language
        try:
            await bot.send_message(
                invited_by, t(owner_lang, "invite.notify_owner", name=user.full_name)
            )
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("could not tell owner %s about the new manager: %s", invited_by, exc)
