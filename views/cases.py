"""Every message about a detractor case: the alert's "take the case" button, …"""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from views.callbacks import CaseTake
from views.common import button
from views.texts import plain


def take_case(lang: str, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(plain(lang, "alert.btn_take"), CaseTake(case_id=case_id).pack())]]
    )
