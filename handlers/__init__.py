"""aiogram routers. Built by functions, so every dispatcher (and every test) gets fresh ones."""

from __future__ import annotations

from aiogram import Router

from handlers import fallback, owner, start


def build_router() -> Router:
    root = Router(name="root")
    root.include_routers(start.router(), owner.router(), fallback.router())
    return root
