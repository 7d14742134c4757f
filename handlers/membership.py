"""Where the bot is a member: groups it is added to, buttons pressed there, and people who block
or unblock it (`my_chat_member` updates).

The bot works in private chats only (in a group it would show links, phones and figures to
everybody), so this router sits outside the private-only tree (bot/routers.py): a button pressed
in a group is answered with an alert, so its spinner stops, and a group the bot is added to is
told why and left at once; the person who added it hears it privately too, if they have ever
started the bot (Telegram refuses a bot's first message to anybody else). A channel gets no
post: a message there would go to all its subscribers.

In a private chat, `kicked` is the person blocking the bot (or deleting their account) and
`member` unblocking it; the contact is marked at once (storage/reachability.py), so no nudge is
tried in vain, and the manager's notice comes from the same place as a failed send's.

A person can also block the bot in the middle of a conversation: a handler's reply to their own
chat then fails with 403. `blocked_mid_update` (an error handler, registered before the generic
one in bot/app.py) marks them the same way, logs one INFO line, and sends nothing more: what the
handler stored before the reply (their answer) stays. A 403 from a call to anybody else's chat
is not theirs to answer for, and goes to the generic error handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramNetworkError
from aiogram.types import CallbackQuery, ChatMemberUpdated, ErrorEvent, Update

from domain.clock import Clock
from handlers.replies import answer
from storage import Database
from storage.reachability import set_reachable
from views.common import cut
from views.texts import plain, t

log = logging.getLogger(__name__)

_GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL}
_IN_CHAT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.RESTRICTED}
_TITLE_WIDTH = 64


def router() -> Router:
    r = Router(name="membership")
    r.callback_query.register(group_button, F.message.chat.type.in_(_GROUPS))
    r.my_chat_member.register(
        added_to_group, F.chat.type.in_(_GROUPS), F.new_chat_member.status.in_(_IN_CHAT)
    )
    r.my_chat_member.register(private_status, F.chat.type == ChatType.PRIVATE)
    return r


async def group_button(query: CallbackQuery, lang: str) -> None:
    await answer(query, plain(lang, "group.only_private"), alert=True)


async def added_to_group(event: ChatMemberUpdated, bot: Bot, lang: str) -> None:
    chat = event.chat
    me = await bot.me()
    if chat.type != ChatType.CHANNEL:
        await _try(bot.send_message(chat.id, t(lang, "group.leaving", bot=me.username or "")))
    if not await _try(bot.leave_chat(chat.id)):
        return
    log.info("left %s %s, where user %s had added the bot", chat.type, chat.id, event.from_user.id)
    adder = event.from_user
    if not adder.is_bot:
        title = cut(chat.title or "", _TITLE_WIDTH)
        await _try(bot.send_message(adder.id, t(lang, "group.left", chat=title)))


async def private_status(event: ChatMemberUpdated, db: Database, clock: Clock) -> None:
    status = event.new_chat_member.status
    if status == ChatMemberStatus.KICKED:
        reachable = False
    elif status == ChatMemberStatus.MEMBER:
        reachable = True
    else:
        return
    contact_id = await set_reachable(db, event.chat.id, reachable, clock())
    if contact_id is not None:
        what = "unblocked" if reachable else "blocked"
        log.info("contact %d %s the bot", contact_id, what)


def blocked_by_the_person(event: ErrorEvent) -> dict[str, int] | bool:
    """Filter: a 403 for a call to the private chat of the person whose update this is (they
    blocked the bot or deleted their account while it was being handled)."""
    exc = event.exception
    if not isinstance(exc, TelegramForbiddenError):
        return False
    person = _person_chat(event.update)
    target = getattr(exc.method, "chat_id", None)
    if person is None or target is None or str(target) != str(person):
        return False
    return {"blocked_chat": person}


def _person_chat(update: Update) -> int | None:
    """The private chat of the person who sent this update, if it has one."""
    if update.message is not None:
        chat = update.message.chat
        return chat.id if chat.type == ChatType.PRIVATE else None
    if update.callback_query is not None:
        return update.callback_query.from_user.id  # a private chat's id is the person's
    return None


async def blocked_mid_update(
    event: ErrorEvent, blocked_chat: int, db: Database, clock: Clock
) -> bool:
    """The person blocked the bot while their update was handled: marked unreachable (one
    notice to the manager, as for `my_chat_member`), and nothing more sent to them."""
    contact_id = await set_reachable(db, blocked_chat, False, clock())
    reason = event.exception.message if isinstance(event.exception, TelegramAPIError) else ""
    if contact_id is not None:
        log.info("contact %d blocked the bot in the middle of an update (%s)", contact_id, reason)
    else:
        log.info("user %d blocked the bot in the middle of an update (%s)", blocked_chat, reason)
    return True


async def _try(call: Awaitable[object]) -> bool:
    """A courtesy request: whether it went through; a refusal (not allowed to write in the
    group, a person who never started the bot) is only logged."""
    try:
        await call
    except (TelegramAPIError, TelegramNetworkError) as exc:
        log.info("not done: %s", exc)
        return False
    return True
