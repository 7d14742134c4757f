"""aiogram routers. Built by functions, so every dispatcher (and every test) gets fresh ones."""

from __future__ import annotations

from aiogram import Router

from handlers import cases, fallback, owner, sale, start, survey


def build_router() -> Router:
    """Order matters: commands first, then conversations, and the polite fallback last."""
    root = Router(name="root")
    root.include_routers(
        start.router(),
        owner.router(),
        sale.router(),
        survey.router(),
        cases.router(),
        fallback.router(),
    )
    return root
