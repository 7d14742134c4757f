"""Placeholder: filled in by issue 6 work."""

from __future__ import annotations

from aiogram import Router


def router() -> Router:
    return Router(name="imports")
