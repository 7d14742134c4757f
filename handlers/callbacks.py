"""All `CallbackData` factories (at most 64 bytes each: ids, never names)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ManagerToggle(CallbackData, prefix="mg"):
    user_id: int
    active: bool
