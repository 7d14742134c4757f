"""The router tree: every feature's router, in the order updates should meet them.

Routers are built by functions, so every dispatcher (and every test) gets fresh ones; this module
is the only one that imports every handler module."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from handlers import (
    cases,
    comments,
    contacts,
    fallback,
    forget,
    imports,
    owner,
    referral,
    replays,
    reports,
    sale,
    settings,
    start,
    survey,
    tasks,
)


def build_router() -> Router:
    """Order matters: commands first, then conversations, and the polite fallback last."""
    root = Router(name="root")
    # Private chats only: in a group the bot would leak links, phones and figures to everybody.
    root.message.filter(F.chat.type == ChatType.PRIVATE)
    root.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    root.include_routers(
        settings.prompt_router(),
        start.router(),
        forget.router(),
        owner.router(),
        settings.router(),
        sale.router(),
        survey.router(),
        cases.router(),
        contacts.router(),
        tasks.router(),
        comments.router(),
        referral.router(),
        reports.router(),
        imports.router(),
        replays.router(),
        fallback.router(),
    )
    return root
