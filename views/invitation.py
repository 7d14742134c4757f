"""The invitation in one tap: the manager's "Send to the client" button under a survey link, and
the card the client receives through inline mode (the company's invitation with an "Answer 3
questions" button that opens the survey).

The button uses `switch_inline_query_chosen_chat` limited to private chats with people: the
manager picks the client's chat, Telegram types `@bot s_<token>` there, and the bot answers
with one card (handlers/inline.py). The query is the deep-link payload itself, so one parser
(`domain.deeplinks.parse_payload`) reads both. The button is shown only when the bot has inline
mode on (`getMe().supports_inline_queries`, known from start-up): otherwise Telegram would type
the query in the chat and nothing would answer it.

The card's language is the person's, when the bot knows it (they used it before), else the
company's default language, not the manager's: the manager's Telegram may be in English while
the company's clients read Russian. The result id carries only the survey's number (`inv-<id>`,
well under Telegram's 64 bytes): no token, no name, as it comes back in ChosenInlineResult.
"""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    SwitchInlineQueryChosenChat,
    User,
)

from domain.deeplinks import LinkKind, make_link, make_payload
from storage.invitations import Invitable
from views.survey import audience, survey_text
from views.texts import plain

RESULT_PREFIX = "inv-"


def inline_query_text(token: str) -> str:
    """What the button types after `@bot`: the survey's deep-link payload."""
    return make_payload(LinkKind.SURVEY, token)


def send_to_client_row(
    inline: bool, token: str, kind: str | None, lang: str
) -> list[InlineKeyboardButton]:
    """The "Send to the client" button as a keyboard row, or an empty row when the bot's inline
    mode is off (`inline`, from `inline_mode(me)`)."""
    if not inline:
        return []
    chosen = SwitchInlineQueryChosenChat(
        query=inline_query_text(token),
        allow_user_chats=True,
        allow_bot_chats=False,
        allow_group_chats=False,
        allow_channel_chats=False,
    )
    label = plain(lang, f"inline.btn_send_{audience(kind)}")
    return [InlineKeyboardButton(text=label, switch_inline_query_chosen_chat=chosen)]


def inline_mode(me: User) -> bool:
    """Whether the bot answers inline queries, as getMe said at start-up (aiogram keeps the
    answer: a change at @BotFather takes effect after a restart)."""
    return bool(me.supports_inline_queries)


def send_to_client_markup(
    me: User, token: str, kind: str, lang: str
) -> InlineKeyboardMarkup | None:
    """The keyboard for the message with the survey link: the button, or None (no keyboard)."""
    row = send_to_client_row(inline_mode(me), token, kind, lang)
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def result_id(survey_id: int) -> str:
    return f"{RESULT_PREFIX}{survey_id}"


def parse_result_id(value: str) -> int | None:
    """The survey id of a result id we made; None for anything else."""
    number = value.removeprefix(RESULT_PREFIX)
    if number == value or not (number.isascii() and number.isdigit()) or len(number) > 18:
        return None
    return int(number)


def invitation_article(
    invitable: Invitable,
    *,
    card_lang: str,
    manager_lang: str,
    company: str,
    bot_username: str,
) -> InlineQueryResultArticle:
    """The one inline result: what the manager sees in the list (title and description in their
    language) and the card the client receives (in `card_lang`)."""
    link = make_link(bot_username, LinkKind.SURVEY, invitable.token)
    name = invitable.contact_name
    text = survey_text(
        card_lang, "sale.invitation", invitable.kind, name=name, company=company, link=link
    )
    answer = InlineKeyboardButton(text=plain(card_lang, "inline.btn_answer"), url=link)
    return InlineQueryResultArticle(
        id=result_id(invitable.survey_id),
        title=plain(manager_lang, "inline.title", name=name),
        description=plain(manager_lang, "inline.description", company=company),
        input_message_content=InputTextMessageContent(message_text=text),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[answer]]),
    )
