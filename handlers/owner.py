"""Owner commands: manager invites and the managers list with access toggles."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.cards import nps_summary
from bot.clock import Clock
from bot.config import Settings
from bot.deeplinks import LinkKind, make_link
from bot.formatting import local_date, local_datetime
from bot.menus import set_chat_menu
from bot.roles import Role
from bot.texts import plain, t
from handlers.callbacks import ManagerToggle
from handlers.filters import HasRole
from storage import Database
from storage.staff import StaffMember, create_invite, list_managers, set_manager_active
from storage.stats import nps_by_kind

log = logging.getLogger(__name__)

# Telegram refuses a message over 4096 characters: at most 40 managers, names cut to 40 characters
# (about 70 characters a line); beyond that the list says how many more there are.
MAX_LISTED = 40
NAME_CUT = 40


def router() -> Router:
    r = Router(name="owner")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(invite_command, Command("invite"))
    r.message.register(managers_command, Command("managers"))
    r.message.register(nps_command, Command("nps"))
    r.callback_query.register(toggle_manager, ManagerToggle.filter())
    return r


async def invite_command(
    message: Message, bot: Bot, lang: str, settings: Settings, db: Database, clock: Clock
) -> None:
    assert message.from_user is not None
    invite = await create_invite(db, message.from_user.id, clock())
    me = await bot.me()
    link = make_link(me.username or "", LinkKind.INVITE, invite.token)
    expires = local_datetime(invite.expires_at, settings.timezone)
    await message.answer(t(lang, "invite.created", link=link, expires=expires))


def render_managers(
    managers: list[StaffMember], lang: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not managers:
        return t(lang, "managers.empty"), None
    lines = [t(lang, "managers.header", count=len(managers))]
    buttons: list[list[InlineKeyboardButton]] = []
    for n, m in enumerate(managers[:MAX_LISTED], start=1):
        name = m.full_name if len(m.full_name) <= NAME_CUT else m.full_name[: NAME_CUT - 1] + "…"
        if m.active:
            since = local_date(m.created_at, settings.timezone)
            lines.append(t(lang, "managers.line_active", n=n, name=name, since=since))
            label = plain(lang, "managers.btn_deactivate", name=name)
        else:
            lines.append(t(lang, "managers.line_inactive", n=n, name=name))
            label = plain(lang, "managers.btn_reactivate", name=name)
        data = ManagerToggle(user_id=m.user_id, active=not m.active).pack()
        buttons.append([InlineKeyboardButton(text=label, callback_data=data)])
    if len(managers) > MAX_LISTED:
        lines.append(t(lang, "managers.more", count=len(managers) - MAX_LISTED))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


async def nps_command(message: Message, lang: str, settings: Settings, db: Database) -> None:
    await message.answer(nps_summary(await nps_by_kind(db), lang, settings))


async def managers_command(message: Message, lang: str, settings: Settings, db: Database) -> None:
    text, markup = render_managers(await list_managers(db), lang, settings)
    await message.answer(text, reply_markup=markup)


async def toggle_manager(
    query: CallbackQuery,
    callback_data: ManagerToggle,
    bot: Bot,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    member = await set_manager_active(db, callback_data.user_id, callback_data.active, clock())
    if member is None:
        await query.answer(t(lang, "managers.not_found"), show_alert=True)
        return
    key = "managers.reactivated" if member.active else "managers.deactivated"
    await query.answer(plain(lang, key, name=member.full_name))
    text, markup = render_managers(await list_managers(db), lang, settings)
    if query.message is not None:
        try:
            await bot.edit_message_text(
                text=text,
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                reply_markup=markup,
            )
        except TelegramAPIError as exc:  # "message is not modified" after a double tap
            log.debug("managers list not edited: %s", exc)
    member_lang = member.language or settings.default_language
    await set_chat_menu(
        bot, member.user_id, Role.MANAGER if member.active else Role.GUEST, member_lang
    )
    notice = "manager.access_restored" if member.active else "manager.access_removed"
    try:
        await bot.send_message(
            member.user_id, t(member_lang, notice, company=settings.company_name)
        )
    except (TelegramAPIError, TelegramNetworkError) as exc:
        log.warning("could not tell manager %s about the access change: %s", member.user_id, exc)
