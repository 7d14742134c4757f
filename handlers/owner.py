"""Owner commands: manager invites and the managers list with access toggles."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from domain.clock import Clock
from domain.deeplinks import LinkKind, make_link
from domain.nps import margin_of_error, sum_counts
from domain.periods import resolve
from domain.roles import Role
from domain.settings import Settings
from domain.vocabulary import KINDS
from handlers.filters import HasRole
from handlers.replies import answer, edit_in_place, edit_markup, edit_message, forged
from scheduler.menus import set_chat_menu
from storage import Database
from storage.staff import create_invite, get_member, list_managers, set_manager_active
from storage.stats import (
    Filters,
    case_stats,
    kinds_in_period,
    manager_rows,
    median_hours_to_answer,
    nps_counts,
)
from views.callbacks import ManagersPeriod, ManagerToggle, NpsPickManager, NpsView
from views.common import local_datetime
from views.owner import (
    NpsReport,
    manager_picker,
    nps_keyboard,
    nps_text,
    render_managers,
)
from views.texts import plain, t

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="owner")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(invite_command, Command("invite"))
    r.message.register(managers_command, Command("managers"))
    r.message.register(nps_command, Command("nps"))
    r.callback_query.register(nps_view, NpsView.filter())
    r.callback_query.register(nps_pick_manager, NpsPickManager.filter())
    r.callback_query.register(toggle_manager, ManagerToggle.filter())
    r.callback_query.register(managers_period, ManagersPeriod.filter())
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


async def _managers_view(
    db: Database, settings: Settings, clock: Clock, lang: str, code: str, page: int = 0
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    today = clock().astimezone(settings.timezone).date()
    period = resolve(code, today, settings.timezone)
    if period is None:
        return None
    rows = await manager_rows(db, period.start, period.end, today.isoformat())
    return render_managers(await list_managers(db), rows, period, lang, settings, page)


async def managers_command(
    message: Message, lang: str, settings: Settings, db: Database, clock: Clock
) -> None:
    view = await _managers_view(db, settings, clock, lang, "30")
    assert view is not None
    await message.answer(view[0], reply_markup=view[1])


async def managers_period(
    query: CallbackQuery,
    callback_data: ManagersPeriod,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    view = await _managers_view(db, settings, clock, lang, callback_data.period, callback_data.page)
    if view is None:
        await forged(query, lang)
        return
    await answer(query)
    await edit_in_place(query, view[0], view[1])


async def nps_report(
    db: Database, settings: Settings, clock: Clock, period_code: str, kind: str, manager: int
) -> NpsReport | None:
    """The /nps figures for a period, a kind ("all" or one) and a manager (0 = all); None for a
    filter that does not exist. GET /api/v1/nps answers the same figures (api/routes.py)."""
    period = resolve(period_code, clock().astimezone(settings.timezone).date(), settings.timezone)
    if period is None or (kind != "all" and kind not in KINDS) or manager < 0:
        return None
    one_kind = None if kind == "all" else kind
    filters = Filters(period.start, period.end, one_kind, manager or None)
    by_kind = await kinds_in_period(db, filters) if kind == "all" else {}
    # Every survey has one of the four kinds, so "all groups" is the sum of the kinds.
    counts = sum_counts(by_kind.values()) if kind == "all" else await nps_counts(db, filters)
    previous = None
    if period.previous is not None:
        before = period.previous
        previous = await nps_counts(
            db, Filters(before.start, before.end, one_kind, manager or None)
        )
    name = None
    if manager:
        member = await get_member(db, manager)
        if member is None:
            return None
        name = member.full_name
    stats = await case_stats(db, period.start, period.end, one_kind, manager or None)
    return NpsReport(
        period=period,
        kind=kind,
        manager_name=name,
        counts=counts,
        previous=previous,
        by_kind=by_kind,
        median_hours=await median_hours_to_answer(db, filters),
        cases=stats,
    )


async def build_nps(
    db: Database,
    settings: Settings,
    clock: Clock,
    lang: str,
    period_code: str,
    kind: str,
    manager: int,
) -> tuple[str, InlineKeyboardMarkup] | None:
    """The /nps message for a period, a kind ("all" or one) and a manager (0 = all)."""
    report = await nps_report(db, settings, clock, period_code, kind, manager)
    if report is None:
        return None
    text = nps_text(report, lang, margin_of_error(report.counts))
    name = report.manager_name
    return text, nps_keyboard(report.period.code, kind, manager, name, lang)


async def nps_command(
    message: Message,
    command: CommandObject,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    code = (command.args or "30").strip()
    built = await build_nps(db, settings, clock, lang, code, "all", 0)
    if built is None:
        await message.answer(t(lang, "period.bad_month"))
        return
    text, markup = built
    await message.answer(text, reply_markup=markup)


async def nps_view(
    query: CallbackQuery,
    callback_data: NpsView,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    built = await build_nps(
        db, settings, clock, lang, callback_data.period, callback_data.kind, callback_data.manager
    )
    if built is None:
        await forged(query, lang)
        return
    await answer(query)
    await edit_in_place(query, built[0], built[1])


async def nps_pick_manager(
    query: CallbackQuery,
    callback_data: NpsPickManager,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    today = clock().astimezone(settings.timezone).date()
    if resolve(callback_data.period, today, settings.timezone) is None:  # a month never shown
        await forged(query, lang)
        return
    await answer(query)
    managers = [(m.user_id, m.full_name) for m in await list_managers(db)]
    await edit_markup(
        query, manager_picker(callback_data.period, callback_data.kind, managers, lang)
    )


async def toggle_manager(
    query: CallbackQuery,
    callback_data: ManagerToggle,
    bot: Bot,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    today = clock().astimezone(settings.timezone).date()
    if resolve(callback_data.period, today, settings.timezone) is None:  # a month never shown
        await forged(query, lang)
        return
    member = await set_manager_active(db, callback_data.user_id, callback_data.active, clock())
    if member is None:
        await forged(query, lang)
        return
    key = "managers.reactivated" if member.active else "managers.deactivated"
    await answer(query, plain(lang, key, name=member.full_name))
    # the same period and page as the message tapped: the toggled manager may move (switched-off
    # managers sort last), the owner's place in the list does not
    view = await _managers_view(db, settings, clock, lang, callback_data.period, callback_data.page)
    assert view is not None  # the period was shown, so it resolves
    text, markup = view
    if query.message is not None:  # an old message as well: it still has a chat and an id
        await edit_message(bot, query.message.chat.id, query.message.message_id, text, markup)
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
