"""/comments (owners): the latest answers to "what influenced your score", filtered by category
and kind of person, five to a page, each with the person, the manager and the date."""

from __future__ import annotations

import logging
import math

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from domain.roles import Role
from domain.settings import Settings
from domain.vocabulary import KINDS
from handlers.filters import HasRole
from handlers.replies import answer, edit_in_place, forged
from storage import Database
from storage.stats import CATEGORY_SQL, latest_comments
from views.callbacks import CommentsView
from views.texts import plain, t

log = logging.getLogger(__name__)

PAGE = 5
REASON_CUT = 500


def router() -> Router:
    r = Router(name="comments")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(comments_command, Command("comments"))
    r.callback_query.register(comments_view, CommentsView.filter())
    return r


async def render(
    db: Database, settings: Settings, lang: str, category: str, kind: str, page: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    if category not in CATEGORY_SQL or (kind != "all" and kind not in KINDS) or page < 0:
        return None
    items, total = await latest_comments(
        db, category, None if kind == "all" else kind, page * PAGE, PAGE
    )
    pages = max(1, math.ceil(total / PAGE))
    kind_name = t(lang, "comments.kind_all") if kind == "all" else t(lang, f"kinds.{kind}")
    lines = [
        t(
            lang,
            "comments.head",
            category=t(lang, f"comments.cat_{category}"),
            kind=kind_name,
            total=total,
        ),
        "",
    ]
    if not items:
        lines.append(t(lang, "comments.empty"))
    for item in items:
        reason = item.reason if len(item.reason) <= REASON_CUT else item.reason[:REASON_CUT] + "…"
        lines.append(
            t(
                lang,
                "comments.item",
                score=item.score,
                date=item.scored_at.astimezone(settings.timezone).strftime("%d.%m.%Y"),
                name=item.contact_name or "—",
                kind=t(lang, f"kind.{item.kind}").lower(),
                manager=item.manager_name or "—",
                reason=reason,
            )
        )
        lines.append("")
    if pages > 1:
        lines.append(t(lang, "comments.page", page=page + 1, pages=pages))

    def view(c: str, k: str, p: int) -> str:
        return CommentsView(category=c, kind=k, page=p).pack()

    def mark(label: str, on: bool) -> str:
        return f"• {label}" if on else label

    categories = [
        InlineKeyboardButton(
            text=mark(plain(lang, f"comments.cat_{c}"), c == category),
            callback_data=view(c, kind, 0),
        )
        for c in CATEGORY_SQL
    ]
    kinds = [
        InlineKeyboardButton(
            text=mark(plain(lang, "nps.btn_all_kinds"), kind == "all"),
            callback_data=view(category, "all", 0),
        )
    ] + [
        InlineKeyboardButton(
            text=mark(plain(lang, f"kinds.{k}"), kind == k), callback_data=view(category, k, 0)
        )
        for k in KINDS
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=view(category, kind, page - 1)))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(text="▶", callback_data=view(category, kind, page + 1)))
    rows = [categories[:2], categories[2:], kinds[:3], kinds[3:]]
    if nav:
        rows.append(nav)
    return "\n".join(lines).strip(), InlineKeyboardMarkup(inline_keyboard=rows)


async def comments_command(message: Message, lang: str, settings: Settings, db: Database) -> None:
    built = await render(db, settings, lang, "all", "all", 0)
    assert built is not None
    await message.answer(built[0], reply_markup=built[1])


async def comments_view(
    query: CallbackQuery,
    callback_data: CommentsView,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    built = await render(
        db, settings, lang, callback_data.category, callback_data.kind, callback_data.page
    )
    if built is None:
        await forged(query, lang)
        return
    await answer(query)
    await edit_in_place(query, built[0], built[1])
