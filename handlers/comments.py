"""/comments (owners): the latest answers to "what influenced your score", filtered by category
and kind of person, five to a page, each with the person, the manager and the date."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from domain.roles import Role
from domain.settings import Settings
from domain.vocabulary import KINDS
from handlers.filters import HasRole
from handlers.replies import answer, edit_in_place, forged
from storage import Database
from storage.comments import CATEGORY_SQL, latest_comments
from views.callbacks import CommentsView
from views.comments import comments_view_for

log = logging.getLogger(__name__)

PAGE = 5


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
    return comments_view_for(items, total, PAGE, lang, settings, category, kind, page)


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
