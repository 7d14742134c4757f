"""/comments (owners): the latest answers to "what influenced your score", filtered by category
and kind of person, five to a page, each with the person, the manager and the date; pages go by
key (storage/comments.py), so ◀ ▶ cost the same at any depth."""

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
from storage.comments import CATEGORIES, comment_page, comment_total
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
    db: Database,
    settings: Settings,
    lang: str,
    category: str,
    kind: str,
    number: int = 0,
    anchor: int = 0,
    back: bool = False,
) -> tuple[str, InlineKeyboardMarkup] | None:
    """Page `number` of a filter, from the answer `anchor` (see CommentsView); None for a
    button that no longer works (its anchor was erased since) or never did."""
    if category not in CATEGORIES or (kind != "all" and kind not in KINDS):
        return None
    if back and number == 0:  # ◀ to the first page: the newest answers, whatever came in since
        anchor, back = 0, False
    page = await comment_page(db, category, kind, PAGE, anchor, back)
    if page is None:
        return None
    if anchor and not (page.newer if back else page.items):
        # ◀ reached the newest answers (or ▶ found the older ones erased): the first page, full
        number, page = 0, await comment_page(db, category, kind, PAGE)
        assert page is not None
    total = await comment_total(db, category, kind)
    return comments_view_for(page, total, PAGE, lang, settings, category, kind, number)


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
    data = callback_data
    built = await render(
        db, settings, lang, data.category, data.kind, data.page, data.anchor, data.back
    )
    if built is None:
        await forged(query, lang)
        return
    await answer(query)
    await edit_in_place(query, built[0], built[1])
