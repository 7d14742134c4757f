"""The router tree: every feature's router, in the order updates should meet them.

Routers are built by functions, so every dispatcher (and every test) gets fresh ones; this module
is the only one that imports every handler module.

Filters run on the event loop. aiogram (3.31) runs every filter that is not a coroutine function
in a worker thread (`asyncio.to_thread`), and ours are all such: the magic filters (`F.text`, the
private-chat filter every update meets) and the states (`SurveyFlow.reason`). Each is a lookup
of microseconds, yet cost a thread hop, a context copy and a wake-up of the loop, two to five
times per update. `build_router` turns every synchronous filter of the tree into a coroutine
that calls it directly, so filters must stay pure and quick: anything that waits belongs in an
`async` filter or the handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.enums import ChatType

from handlers import (
    api_tokens,
    cases,
    comments,
    contacts,
    crm,
    fallback,
    forget,
    hooks,
    imports,
    inline,
    membership,
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
    """Order matters: groups and membership first, then (private chats only) commands,
    conversations, and the polite fallback last."""
    top = Router(name="top")
    root = Router(name="root")
    # Private chats only: in a group the bot would leak links, phones and figures to everybody.
    root.message.filter(F.chat.type == ChatType.PRIVATE)
    root.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    root.include_routers(
        settings.prompt_router(),
        hooks.prompt_router(),
        start.router(),
        forget.router(),
        owner.router(),
        crm.router(),
        api_tokens.router(),
        settings.router(),
        hooks.router(),
        sale.router(),
        survey.router(),
        cases.router(),
        contacts.router(),
        tasks.router(),
        comments.router(),
        referral.router(),
        reports.router(),
        imports.router(),
        inline.router(),
        replays.router(),
        fallback.router(),
    )
    # Outside the private-only tree: it answers what groups send (handlers/membership.py).
    top.include_routers(membership.router(), root)
    run_filters_inline(top)
    return top


def run_filters_inline(router: Router) -> int:
    """Make every synchronous filter of `router` and its sub-routers run on the loop, without a
    thread; how many there were. Which arguments a filter gets is unchanged (aiogram read them
    from its signature when it was registered)."""
    changed = 0
    for observer in router.observers.values():
        # `_handler` holds the observer's own filters (`router.message.filter(...)`).
        for handler in (observer._handler, *observer.handlers):
            for flt in handler.filters or ():
                if not flt.awaitable:
                    _inline(flt)
                    changed += 1
    for sub in router.sub_routers:
        changed += run_filters_inline(sub)
    return changed


def _inline(flt: FilterObject) -> None:
    check: Callable[..., Any] = flt.callback

    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    flt.callback = inline
    flt.awaitable = True
