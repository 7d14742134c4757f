"""Inline mode: the manager's "Send to the client" button types `@bot s_<token>` in the chat they
picked, and the bot answers with the invitation card (views/invitation.py); a chosen card is
noted on the survey (`invited_at`).

The decision: anything but a valid, current survey of the person asking (storage/invitations.py
says which) gets the same empty answer, personal and not cached, whoever asks and whatever they
typed: no hint about which links exist, and a link used a second ago is not offered from
Telegram's cache. A query typed in a group or channel is refused too: the link is personal and
would reach everybody there.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ChosenInlineResult, InlineQuery, InlineQueryResultArticle

from domain.clock import Clock
from domain.deeplinks import LinkKind, parse_payload
from domain.roles import Role, viewer_scope
from domain.settings import Settings
from handlers.replies import answer_inline
from storage import Database
from storage.invitations import invitable_survey, note_invited
from views.invitation import invitation_article, parse_result_id
from views.texts import LANGUAGES

log = logging.getLogger(__name__)

# Where an invitation may be sent from: a private chat with a person, the chat with the bot
# ("sender"), or a secret chat (Telegram gives no chat type for one).
_GROUP_CHATS = frozenset({"group", "supergroup", "channel"})


def router() -> Router:
    r = Router(name="inline")
    r.inline_query.register(on_inline_query)
    r.chosen_inline_result.register(on_chosen)
    return r


async def on_inline_query(
    query: InlineQuery,
    bot: Bot,
    role: Role,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> None:
    results: list[InlineQueryResultArticle] = []
    token = _survey_token(query.query)
    if token is not None and role.is_staff and query.chat_type not in _GROUP_CHATS:
        scope = viewer_scope(role, query.from_user.id)
        invitable = await invitable_survey(db, token, query.from_user.id, scope, clock())
        if invitable is not None:
            me = await bot.me()
            known = invitable.contact_language
            card_lang = known if known in LANGUAGES else settings.default_language
            results.append(
                invitation_article(
                    invitable,
                    card_lang=card_lang,
                    manager_lang=lang,
                    company=settings.company_name,
                    bot_username=me.username or "",
                )
            )
    await answer_inline(query, results)


async def on_chosen(result: ChosenInlineResult, role: Role, db: Database, clock: Clock) -> None:
    """The manager sent the card (Telegram reports it only with inline feedback on)."""
    survey_id = parse_result_id(result.result_id)
    if survey_id is None or not role.is_staff:
        return
    scope = viewer_scope(role, result.from_user.id)
    if await note_invited(db, survey_id, scope, clock()):
        log.info("survey %s: the invitation was sent by %s", survey_id, result.from_user.id)


def _survey_token(text: str) -> str | None:
    parsed = parse_payload(text.strip())
    if parsed is None or parsed[0] is not LinkKind.SURVEY:
        return None
    return parsed[1]
