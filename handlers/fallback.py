"""Last router: whatever nobody else handled gets a polite answer that tells the truth.

A command that does not exist says so and lists what this person can do; a real command that is
not theirs says who may use it (it exists: its name is in every owner's menu, hiding it protects
nothing). A forged or stale button gets the same neutral "no longer works", so nobody can probe
which records exist.

A stranger (neither staff nor answering a survey: those are handled before this router) hears
the full greeting at most once a day and then a short line at most every few minutes, counted
in the database so a restart does not greet again (storage/strangers.py): ten stickers in a row
bring one greeting, not ten.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from domain.clock import Clock
from domain.roles import Role
from domain.settings import Settings
from handlers.replies import forged
from storage import Database
from storage.strangers import Reply, claim_reply
from views.common import cut
from views.menus import command_list, command_of, refusal_key
from views.start import guest_greeting
from views.texts import Raw, t

# Telegram's commands are at most 32 characters; a longer "command" is quoted cut.
_COMMAND_WIDTH = 33


def router() -> Router:
    r = Router(name="fallback")
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(other_message)
    r.callback_query.register(stale_button)
    return r


async def unknown_command(message: Message, role: Role, lang: str) -> None:
    command = command_of(message.text or "/")
    key = refusal_key(role, command)
    await message.answer(
        t(
            lang,
            key,
            command="/" + cut(command, _COMMAND_WIDTH),
            commands=Raw(command_list(role, lang)),
        )
    )


async def other_message(
    message: Message, role: Role, lang: str, settings: Settings, db: Database, clock: Clock
) -> None:
    if role.is_staff:
        await message.answer(t(lang, "unknown_message"))
        return
    assert message.from_user is not None
    reply = await claim_reply(db, message.from_user.id, clock())
    if reply is Reply.GREETING:
        await message.answer(guest_greeting(lang, settings))
    elif reply is Reply.SHORT:
        await message.answer(t(lang, "stranger.short"))


async def stale_button(query: CallbackQuery, lang: str) -> None:
    await forged(query, lang)
