"""Drive the production dispatcher with real `Update` objects and see what users would see."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import EditMessageText, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Sticker,
    Update,
    User,
)

from scheduler.sender import Sender
from tests.fakes import recording
from tests.fakes.recording import RecordingSession

TOKEN = "123456789:AAHfakeTokenForTests_abcdefghijklmno"
BOT_USERNAME = "followup_test_bot"


class FakeClock:
    """An injectable clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# One sequence for every harness of the run, as Telegram's update ids never repeat: a test that
# builds a second dispatcher on the same database (a restart) must not feed ids the update
# journal has already seen, or they would be skipped as redeliveries.
_UPDATE_IDS = itertools.count(1)


@dataclass
class Harness:
    bot: Bot
    dp: Dispatcher
    session: RecordingSession
    clock: FakeClock
    sender: Sender
    _update_ids: Any = field(default_factory=lambda: _UPDATE_IDS)
    last_update_id: int = 0
    """The id of the update fed last."""
    last_update: dict[str, Any] = field(default_factory=dict)
    """The update fed last, as JSON (to feed it again, as Telegram redelivers)."""

    @staticmethod
    def user(user_id: int, first_name: str = "Иван", lang: str | None = "ru", **kw: Any) -> User:
        return User(id=user_id, is_bot=False, first_name=first_name, language_code=lang, **kw)

    def _chat(self, user: User) -> Chat:
        return Chat(id=user.id, type="private", first_name=user.first_name)

    def _msg(self, user: User, **fields: Any) -> Message:
        return Message(
            message_id=self.session.next_message_id(user.id),
            date=self.clock(),
            chat=self._chat(user),
            from_user=user,
            **fields,
        )

    async def feed(self, update_kwargs: dict[str, Any]) -> list[TelegramMethod[Any]]:
        before = len(self.session.requests)
        update = Update(update_id=next(self._update_ids), **update_kwargs)
        self.last_update_id = update.update_id
        self.last_update = update.model_dump(mode="json", exclude_none=True)
        await self.dp.feed_update(self.bot, update)
        return self.session.requests[before:]

    async def send(self, user: User, text: str) -> list[TelegramMethod[Any]]:
        entities = None
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            entities = [MessageEntity(type="bot_command", offset=0, length=length)]
        return await self.feed({"message": self._msg(user, text=text, entities=entities)})

    async def send_sticker(self, user: User) -> list[TelegramMethod[Any]]:
        sticker = Sticker(
            file_id="s1",
            file_unique_id="s1",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
        )
        return await self.feed({"message": self._msg(user, sticker=sticker)})

    async def send_contact(
        self, user: User, phone: str, owner_id: int | None = None
    ) -> list[TelegramMethod[Any]]:
        contact = Contact(phone_number=phone, first_name=user.first_name, user_id=owner_id)
        return await self.feed({"message": self._msg(user, contact=contact)})

    async def tap(
        self, user: User, data: str, message: Message | None = None
    ) -> list[TelegramMethod[Any]]:
        if message is None:
            message = Message(
                message_id=self.session.next_message_id(user.id),
                date=self.clock(),
                chat=self._chat(user),
                text="…",
            )
        query = CallbackQuery(
            id=str(next(self._update_ids)),
            from_user=user,
            chat_instance="ci",
            data=data,
            message=message,
        )
        return await self.feed({"callback_query": query})

    async def tick(self) -> list[TelegramMethod[Any]]:
        """One scheduler tick at the current (fake) time, then deliver what it queued."""
        await self.dp["followup"].tick()
        return await self.drain()

    async def drain(self) -> list[TelegramMethod[Any]]:
        """Let the sender deliver what is queued in the outbox; returns the calls it made."""
        before = len(self.session.requests)
        await self.sender.drain_once()
        return self.session.requests[before:]

    # --- what the users saw -------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[SendMessage | SendPhoto]:
        return [
            r
            for r in self.session.requests
            if isinstance(r, SendMessage | SendPhoto) and (chat_id is None or r.chat_id == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [
            (r.text if isinstance(r, SendMessage) else r.caption) or "" for r in self.sent(chat_id)
        ]

    def last_text(self, chat_id: int) -> str:
        texts = self.texts(chat_id)
        assert texts, f"nothing was sent to {chat_id}"
        return texts[-1]


def replies(requests: list[TelegramMethod[Any]]) -> list[str]:
    """The texts of messages sent or edited by these requests, in order."""
    out = []
    for r in requests:
        if isinstance(r, SendMessage | EditMessageText):
            out.append(r.text)
        elif isinstance(r, SendPhoto):
            out.append(r.caption or "")
    return out


def buttons(request: TelegramMethod[Any]) -> list[tuple[str, str | None]]:
    markup = getattr(request, "reply_markup", None)
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]


def button_data(request: TelegramMethod[Any], text_contains: str) -> str:
    for text, data in buttons(request):
        if text_contains in text and data is not None:
            return data
    raise AssertionError(f"no button with {text_contains!r} in {buttons(request)}")


def as_message(request: Any, message_id: int | None = None, now: datetime | None = None) -> Message:
    """The message a user sees for a recorded send or edit (or a `tests.helpers.chat.BotMessage`),
    to tap its buttons: with the id Telegram gave it, unless `message_id` says otherwise."""
    if hasattr(request, "as_message"):
        return request.as_message(now)
    if message_id is None:
        message_id = getattr(request, "message_id", None)
    if message_id is None:
        message_id = next(
            (found for s in recording.SESSIONS if (found := s.message_id_of(request))), 1
        )
    markup = (
        request.reply_markup if isinstance(request.reply_markup, InlineKeyboardMarkup) else None
    )
    return Message(
        message_id=message_id,
        date=now or datetime.now(UTC),
        chat=Chat(id=int(request.chat_id), type="private"),
        text=request.text,
        reply_markup=markup,
    )
