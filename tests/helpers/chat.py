"""The chat a person ends up with: the bot's messages as they look now, and their live buttons.

Built from what the bot really sent, never from what a handler returned: the in-process
`RecordingSession` (a `Harness`) and the HTTP `FakeBotAPI` both keep every message the bot sent
with its current text and inline keyboard after each sendMessage / editMessageText /
editMessageReplyMarkup / deleteMessage (a deleted message is gone from the chat). Both fakes
refuse what Telegram refuses on the way (an edit that changes nothing, callback data over 64
bytes, bad HTML), so a chat built here is one Telegram would have shown.

    chat = chat_of(h, manager)            # or chat_of(api, alice) in an end-to-end test
    assert [m.text for m in bot_messages(chat)] == [...]
    assert_one_live_set(chat)              # at most one message still has buttons to tap
    await tap(h, manager, chat, "Пропустить")  # press a button of the message that shows it

The one decision: a "live set" is a message whose current inline keyboard has at least one
callback button (a URL button opens a link and changes no conversation, so it does not count).
Whether a stale button would still *do* something cannot be seen without pressing it; the tests
press them. A conversation that keeps its buttons on one message leaves exactly one live set;
messages outside the conversation under test (a menu, a card) can be left out with `ignore`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram.types import Chat, InlineKeyboardMarkup, Message, User

from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.fakes.recording import RecordingSession, Shown
from tests.harness import Harness


@dataclass(frozen=True)
class BotMessage:
    """One message of the bot as the chat shows it now."""

    chat_id: int
    message_id: int
    kind: str
    """``message``, ``photo`` or ``document``."""
    text: str
    """What the person reads: text or caption, HTML tags removed."""
    markup: dict[str, Any] | None
    """The current inline keyboard as JSON, None when it has none."""
    edits: int

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """(label, callback_data or url) of each inline button, row by row."""
        return [
            (b["text"], b.get("callback_data", b.get("url")))
            for row in (self.markup or {}).get("inline_keyboard", [])
            for b in row
        ]

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]

    @property
    def callbacks(self) -> list[str]:
        return [
            b["callback_data"]
            for row in (self.markup or {}).get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        ]

    @property
    def reply_markup(self) -> InlineKeyboardMarkup | None:
        """The keyboard as aiogram's object (so `tests.harness.buttons` and friends read it)."""
        return InlineKeyboardMarkup.model_validate(self.markup) if self.markup else None

    @property
    def live(self) -> bool:
        return bool(self.callbacks)

    def data(self, label_contains: str) -> str:
        """callback_data of the first button whose label contains `label_contains`."""
        for row in (self.markup or {}).get("inline_keyboard", []):
            for b in row:
                if label_contains in b["text"] and "callback_data" in b:
                    return str(b["callback_data"])
        raise AssertionError(f"no button {label_contains!r} in {self.labels} ({self.text!r})")

    def as_message(self, now: datetime | None = None) -> Message:
        """The aiogram `Message` Telegram puts in a callback query for a tap on this message."""
        markup = self.reply_markup
        fields: dict[str, Any] = {"caption" if self.kind != "message" else "text": self.text}
        return Message(
            message_id=self.message_id,
            date=now or datetime.now(UTC),
            chat=Chat(id=self.chat_id, type="private"),
            reply_markup=markup,
            **fields,
        )


Source = Harness | RecordingSession | FakeBotAPI
Who = User | FakeUser | int


@dataclass(frozen=True)
class ChatView:
    """One private chat (chat id == the person's id) of one fake."""

    source: Source
    chat_id: int

    def messages(self) -> list[BotMessage]:
        """Every message of the bot in this chat, oldest first, deleted ones left out."""
        source = self.source.session if isinstance(self.source, Harness) else self.source
        if isinstance(source, RecordingSession):
            return [
                _from_shown(s)
                for (chat_id, _), s in source.shown.items()
                if chat_id == self.chat_id and not s.deleted and s.known
            ]
        return [_from_sent(m) for m in source.sent if m.chat_id == self.chat_id and not m.deleted]


def chat_of(source: Source, who: Who) -> ChatView:
    """The private chat with `who` (a harness `User`, a `FakeUser` or a user id)."""
    return ChatView(source, who if isinstance(who, int) else who.id)


def bot_messages(chat: ChatView) -> list[BotMessage]:
    """The bot's messages in this chat as they look now, oldest first."""
    return chat.messages()


def live_button_sets(
    chat: ChatView, ignore: Callable[[BotMessage], bool] | None = None
) -> list[BotMessage]:
    """The messages whose keyboard still has a button to press (see the module docstring)."""
    return [m for m in chat.messages() if m.live and not (ignore and ignore(m))]


def assert_one_live_set(
    chat: ChatView,
    ignore: Callable[[BotMessage], bool] | None = None,
    *,
    exactly: bool = False,
) -> BotMessage | None:
    """Fail when more than one message of the chat still has buttons (or, with `exactly`, none);
    the one that has them, if any."""
    live = live_button_sets(chat, ignore)
    assert len(live) <= 1, "more than one live set of buttons: " + "; ".join(
        f"#{m.message_id} {m.text[:60]!r} {m.labels}" for m in live
    )
    if exactly:
        assert live, "no message has buttons: " + "; ".join(
            f"#{m.message_id} {m.text[:60]!r}" for m in chat.messages()
        )
    return live[0] if live else None


def describe(chat: ChatView) -> str:
    """The chat as text, for assertion messages."""
    return "\n".join(f"#{m.message_id} [{m.kind}] {m.text!r} {m.labels}" for m in chat.messages())


async def tap(h: Harness, user: User, chat: ChatView, label: str) -> list[Any]:
    """Press the button labelled `label` (contained) on the message that shows it now (the last
    such message); returns the calls the bot made."""
    for message in reversed(chat.messages()):
        if any(label in text for text in message.labels):
            return await h.tap(user, message.data(label), message.as_message(h.clock()))
    raise AssertionError(f"no button {label!r} in the chat:\n{describe(chat)}")


def _from_shown(shown: Shown) -> BotMessage:
    return BotMessage(
        chat_id=shown.chat_id,
        message_id=shown.message_id,
        kind=shown.kind,
        text=shown.visible_text,
        markup=shown.markup,
        edits=shown.edits,
    )


def _from_sent(message: SentMessage) -> BotMessage:
    kind = "photo" if "photo" in message.media else "document" if message.media else "message"
    markup = {"inline_keyboard": message.inline_keyboard} if message.inline_keyboard else None
    return BotMessage(
        chat_id=message.chat_id,
        message_id=message.message_id,
        kind=kind,
        text=message.visible_text or "",
        markup=markup,
        edits=len(message.edits),
    )
