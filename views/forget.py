"""The buttons of /forget: the person's own confirmation and an owner's, from the contact card."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from views.callbacks import ForgetContact
from views.texts import plain


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


def ask_owner_keyboard(lang: str, contact_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        (
            plain(lang, "forget.owner_btn_yes"),
            ForgetContact(contact_id=contact_id, action="yes").pack(),
        ),
        (
            plain(lang, "forget.owner_btn_no"),
            ForgetContact(contact_id=contact_id, action="no").pack(),
        ),
    )
