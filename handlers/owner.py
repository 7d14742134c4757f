"""Owner commands: manager invites and the managers list with access toggles."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.clock import Clock
from bot.config import Settings
from bot.deeplinks import LinkKind, make_link
from bot.formatting import local_datetime
from bot.menus import set_chat_menu
from bot.owner_views import (
    NpsReport,
    manager_picker,
    managers_period_row,
    nps_keyboard,
    nps_text,
    period_label,
    signed,
)
from bot.periods import Period, resolve
from bot.roles import Role
from bot.texts import plain, t
from handlers.callbacks import ManagersPeriod, ManagerToggle, NpsPickManager, NpsView
from handlers.filters import HasRole
from handlers.replies import answer, edit_in_place, edit_markup, edit_message, forged
from storage import Database
from storage.case_admin import case_stats
from storage.staff import (
    StaffMember,
    create_invite,
    get_member,
    list_managers,
    set_manager_active,
)
from storage.stats import (
    KINDS,
    Filters,
    ManagerRow,
    kinds_in_period,
    manager_rows,
    margin_of_error,
    median_hours_to_answer,
    nps_counts,
    sum_counts,
)

log = logging.getLogger(__name__)

# Telegram refuses a message over 4096 characters: at most 40 managers, names cut to 40 characters;
# the list stops at the last whole line that fits (cutting the HTML could cut a tag or an entity,
# which Telegram refuses) and says how many more there are.
MAX_LISTED = 40
NAME_CUT = 40
TEXT_LIMIT = 4096


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


def render_managers(
    managers: list[StaffMember],
    rows: list[ManagerRow],
    period: Period,
    lang: str,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The managers' discipline for a period (problems on top), and their access toggles."""
    if not managers:
        return t(lang, "managers.empty"), None
    lines = [t(lang, "managers.stats_head", period=period_label(period, lang)), ""]
    listed = 0
    for n, row in enumerate(rows[:MAX_LISTED], start=1):
        name = row.name if len(row.name) <= NAME_CUT else row.name[: NAME_CUT - 1] + "…"
        nps = row.counts.nps
        line = t(
            lang,
            "managers.stats_line",
            n=n,
            name=name,
            inactive=t(lang, "managers.inactive_mark") if not row.active else "",
            deals=row.deals,
            sent=row.sent,
            opened=row.opened,
            answered=row.counts.responded,
            share=row.counts.response_rate,
            nps=signed(nps) if nps is not None else t(lang, "managers.stats_none"),
            overdue=row.overdue,
            missed=row.missed,
            cases=row.open_cases,
        )
        more = len(rows) - n
        tail = [t(lang, "managers.more", count=more, shown=n)] if more else []
        # The markup only adds characters, so the raw length bounds what Telegram counts.
        if len("\n".join([*lines, line, *tail])) > TEXT_LIMIT:
            break
        lines.append(line)
        listed = n
    if len(rows) > listed:
        lines.append(t(lang, "managers.more", count=len(rows) - listed, shown=listed))
    buttons: list[list[InlineKeyboardButton]] = [managers_period_row(period.code, lang)]
    for m in managers[:MAX_LISTED]:
        name = m.full_name if len(m.full_name) <= NAME_CUT else m.full_name[: NAME_CUT - 1] + "…"
        key = "managers.btn_deactivate" if m.active else "managers.btn_reactivate"
        data = ManagerToggle(user_id=m.user_id, active=not m.active).pack()
        buttons.append([InlineKeyboardButton(text=plain(lang, key, name=name), callback_data=data)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


async def _managers_view(
    db: Database, settings: Settings, clock: Clock, lang: str, code: str
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    today = clock().astimezone(settings.timezone).date()
    period = resolve(code, today, settings.timezone)
    if period is None:
        return None
    rows = await manager_rows(db, period.start, period.end, today.isoformat())
    return render_managers(await list_managers(db), rows, period, lang, settings)


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
    view = await _managers_view(db, settings, clock, lang, callback_data.period)
    if view is None:
        await forged(query, lang)
        return
    await answer(query)
    await edit_in_place(query, view[0], view[1])


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
    stats = await case_stats(db, period.start, period.end) if not manager else None
    report = NpsReport(
        period=period,
        kind=kind,
        manager_name=name,
        counts=counts,
        previous=previous,
        by_kind=by_kind,
        median_hours=await median_hours_to_answer(db, filters),
        cases=(stats.opened, stats.resolved, stats.median_hours_to_resolve) if stats else None,
    )
    text = nps_text(report, lang, margin_of_error(counts))
    return text, nps_keyboard(period.code, kind, manager, name, lang)


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
    member = await set_manager_active(db, callback_data.user_id, callback_data.active, clock())
    if member is None:
        await forged(query, lang)
        return
    key = "managers.reactivated" if member.active else "managers.deactivated"
    await answer(query, plain(lang, key, name=member.full_name))
    view = await _managers_view(db, settings, clock, lang, "30")
    assert view is not None
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
