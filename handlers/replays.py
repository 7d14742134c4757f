"""A typed message handled again after a crash, after its conversation had already ended.

The note, resolution, comment or settings value it carried was saved (under its source key,
"chat id:message id") and the conversation state cleared before the process died, so nothing
routes it any more: without this router, the fallback would answer "I didn't understand" to
something the bot did understand. It sits just before the fallback and acts only on a replay
(`replayed` from the update journal) whose key is stored; it repeats the short "saved" line,
since the process may have died before that line went out (a second copy is the lesser harm).
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import Message

from domain.settings import Settings
from scheduler.alerts import refresh_case_alerts
from scheduler.sender import Sender
from storage import Database
from storage.replays import source_key, stored_from
from storage.settings import LiveSettings
from views.settings import shown
from views.texts import Raw, plain, t


def router() -> Router:
    r = Router(name="replays")
    r.message.register(on_replayed_text, F.text)
    return r


async def on_replayed_text(
    message: Message,
    bot: Bot,
    lang: str,
    settings: Settings,
    db: Database,
    live_settings: LiveSettings,
    sender: Sender,
    replayed: bool = False,
) -> None:
    if not replayed:
        raise SkipHandler
    stored = await stored_from(db, source_key(message.chat.id, message.message_id))
    if stored is None:
        raise SkipHandler
    if stored.kind == "note":
        text = t(lang, "cases.note_added", case_id=stored.ref)
    elif stored.kind == "resolved":
        text = t(lang, "cases.resolved_done", case_id=stored.ref)
        # the crash may have come before the alerts were re-rendered or the sender woken
        sender.kick()
        await refresh_case_alerts(db, bot, settings, int(stored.ref))
    elif stored.kind == "comment":
        text = t(lang, "find.comment_saved")
    else:
        text = t(
            lang,
            "settings.saved",
            name=plain(lang, f"settings.name.{stored.ref}"),
            value=Raw(shown(live_settings.current, stored.ref, lang)),
        )
    await message.answer(text)
