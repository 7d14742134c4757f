"""/api: an owner makes, lists and revokes the HTTP API's tokens in the chat.

A token is shown once, in the message that answers its making; the database keeps only its
digest (storage/api_tokens.py). Only owners may: a manager's /api is answered politely, and
every button is re-checked against the role, since callback data can be forged. The menu's
"Webhooks" button (`hooks:menu`) belongs to the webhooks feature. Logs name a token by its name
and id, never its text.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from domain.clock import Clock
from domain.roles import Role
from handlers.replies import answer, edit_in_place, forged
from storage import Database
from storage.api_tokens import MAX_NAME, create_token, list_tokens, revoke_token
from views.api import api_menu
from views.callbacks import ApiTokenAction
from views.texts import plain, t

log = logging.getLogger(__name__)

SCOPE_WORDS = {"deals": "deals:write", "deals:write": "deals:write", "write": "deals:write"}
SCOPE_WORDS |= {"read": "read", "чтение": "read", "сделки": "deals:write"}


def router() -> Router:
    r = Router(name="api_tokens")
    r.message.register(api_command, Command("api"))
    r.callback_query.register(on_action, ApiTokenAction.filter())
    return r


async def api_command(
    message: Message, command: CommandObject, role: Role, lang: str, db: Database, clock: Clock
) -> None:
    if role is not Role.OWNER or message.from_user is None:
        await message.answer(t(lang, "api.owners_only"))
        return
    args = (command.args or "").split()
    if not args:
        text, markup = api_menu(await list_tokens(db), lang)
        await message.answer(text, reply_markup=markup)
        return
    scope = SCOPE_WORDS.get(args[-1].casefold()) if len(args) >= 3 else None
    name = " ".join(args[1:-1])
    if args[0].casefold() != "new" or scope is None or not 1 <= len(name) <= MAX_NAME:
        await message.answer(t(lang, "api.new_usage"))
        return
    await _make(message, name, scope, message.from_user.id, lang, db, clock)


async def _make(
    message: Message, name: str, scope: str, owner_id: int, lang: str, db: Database, clock: Clock
) -> None:
    token, secret = await create_token(db, name, scope, owner_id, clock())
    log.info("api token %r (id %d, %s) made by %d", token.name, token.id, scope, owner_id)
    await message.answer(t(lang, "api.created", name=token.name, scope=scope, token=secret))


async def on_action(
    query: CallbackQuery,
    callback_data: ApiTokenAction,
    role: Role,
    lang: str,
    db: Database,
    clock: Clock,
) -> None:
    if role is not Role.OWNER or not isinstance(query.message, Message):
        await forged(query, lang)
        return
    owner_id = query.from_user.id
    if callback_data.action == "new":
        if callback_data.scope == "-":
            await forged(query, lang)
            return
        await answer(query)
        count = len(await list_tokens(db)) + 1
        prefix = "deals" if callback_data.scope == "write" else "read"
        scope = "deals:write" if callback_data.scope == "write" else "read"
        await _make(query.message, f"{prefix}-{count}", scope, owner_id, lang, db, clock)
        return
    revoked = await revoke_token(db, callback_data.token_id, clock())
    if revoked is None:
        await answer(query, plain(lang, "api.gone"))
    else:
        log.info("api token %r (id %d) revoked by %d", revoked.name, revoked.id, owner_id)
        await answer(query, plain(lang, "api.revoked", name=revoked.name))
    text, markup = api_menu(await list_tokens(db), lang)
    await edit_in_place(query, text, markup)
