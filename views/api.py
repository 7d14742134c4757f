"""The /api menu: the owner's API tokens, buttons to make and revoke them, and the way to the
webhooks menu (`hooks:menu`, handled by the webhooks feature)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from storage.api_tokens import ApiToken
from views.callbacks import ApiTokenAction
from views.texts import t

HOOKS_MENU = "hooks:menu"


def api_menu(tokens: list[ApiToken], lang: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        t(lang, "api.line", name=tok.name, scope=tok.scope, date=tok.created_at[:10])
        for tok in tokens
    ]
    text = t(lang, "api.menu", tokens="\n".join(lines) or t(lang, "api.none"))
    rows = [
        [
            InlineKeyboardButton(
                text=t(lang, "api.btn_new_write"),
                callback_data=ApiTokenAction(action="new", scope="write", token_id=0).pack(),
            ),
            InlineKeyboardButton(
                text=t(lang, "api.btn_new_read"),
                callback_data=ApiTokenAction(action="new", scope="read", token_id=0).pack(),
            ),
        ],
        *(
            [
                InlineKeyboardButton(
                    text=t(lang, "api.btn_revoke", name=tok.name),
                    callback_data=ApiTokenAction(
                        action="revoke", scope="-", token_id=tok.id
                    ).pack(),
                )
            ]
            for tok in tokens
        ),
        [InlineKeyboardButton(text=t(lang, "api.btn_hooks"), callback_data=HOOKS_MENU)],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)
