"""A Bot API session that records every call and answers like Telegram, without a network.

Answers go through aiogram's own `check_response`, so an injected error raises exactly what
production would (`TelegramRetryAfter`, `TelegramForbiddenError`, ...). Results are synthesized per
method (a `Message` for sends and edits, `True` for the rest), and errors are consumed in FIFO
order (aiogram's own `MockedBot` is LIFO, which makes multi-step tests confusing).

Every call is first checked against Telegram's rules (`tests.fakes.telegram_rules`: length after
entity parsing, well-formed HTML, callback_data, deep links): a call Telegram would refuse raises
the same `TelegramBadRequest` and is kept in `refusals`. Every session made during a test is
listed in `SESSIONS`, and an autouse fixture in `tests/conftest.py` fails the test if one of them
holds a refusal the test did not take (`take_refusals()`): product code that catches
`TelegramBadRequest` must not hide a message Telegram would never show.

The session also keeps what each chat shows (`shown`): every message the bot sent, with its
current text and inline keyboard after each edit, and whether it was deleted, as
`tests/helpers/chat.py` reads it. So it refuses, as Telegram does, an edit that changes nothing
("message is not modified") and an edit or deletion of a message it deleted; these raise the
same `TelegramBadRequest` but are not `refusals` (the product meets them in normal use).
Message ids count per chat, shared with the messages users send through `tests.harness`
(`next_message_id`): in a private chat the ids of both sides are one sequence, and the product
may rely on that (how far a question has scrolled away). An edit of a message the session never
sent (a test's made-up message to tap) is carried out, and left out of the chat view.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerInlineQuery,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup, InputFile
from pydantic import BaseModel

from tests.fakes import telegram_rules
from tests.fakes.telegram_rules import Refusal

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"

SESSIONS: list[RecordingSession] = []
"""Every session made since the autouse fixture last cleared the list (once per test)."""


def unexamined_refusals() -> list[str]:
    """ "Method: description" of each refusal in `SESSIONS` that no test took."""
    return [
        f"{type(method).__name__}: {refusal.description}"
        for session in SESSIONS
        for method, refusal in session.refusals
    ]


@dataclass
class Shown:
    """A message the bot sent, as the chat shows it now."""

    chat_id: int
    message_id: int
    kind: str
    """``message``, ``photo`` or ``document``."""
    text: str | None
    """Text or caption as sent (HTML markup kept); see `visible_text`."""
    parse_mode: str | None
    markup: dict[str, Any] | None
    """The inline keyboard as JSON (``{"inline_keyboard": [...]}``), None when it has none."""
    deleted: bool = False
    edits: int = 0
    known: bool = True
    """False for a message first seen in an edit (a test's made-up message, not sent here)."""

    @property
    def visible_text(self) -> str:
        if self.text is None:
            return ""
        return telegram_rules.visible(self.text, self.parse_mode)[0]


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    timeout: bool = False


class RecordingSession(BaseSession):
    def __init__(
        self, bot_username: str = "followup_test_bot", *, supports_inline_queries: bool = False
    ) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.bot_username = bot_username
        self.supports_inline_queries = supports_inline_queries
        """What getMe says of inline mode (/setinline at @BotFather)."""
        self._failures: deque[_Failure] = deque()
        self._answered: set[str] = set()
        self._answered_inline: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.uploads: list[tuple[str | None, bytes]] = []
        """(file name, bytes) of every document the bot sent, read when it was sent."""
        self.refusals: list[tuple[TelegramMethod[Any], Refusal]] = []
        """Calls refused by a rule of `tests.fakes.telegram_rules`, with the refusal."""
        self.shown: dict[tuple[int, int], Shown] = {}
        """(chat id, message id) -> what the bot's message shows now, in the order sent."""
        self._chat_message_ids: dict[int, int] = {}
        self._sent_ids: dict[int, int] = {}
        SESSIONS.append(self)

    def message_id_of(self, method: TelegramMethod[Any]) -> int | None:
        """The id of the message this recorded send created (None if it is not one)."""
        return self._sent_ids.get(id(method))

    def next_message_id(self, chat_id: int) -> int:
        """The next message id in this chat (the bot's and the user's messages share them)."""
        self._chat_message_ids[chat_id] = self._chat_message_ids.get(chat_id, 0) + 1
        return self._chat_message_ids[chat_id]

    def take_refusals(self) -> list[tuple[TelegramMethod[Any], Refusal]]:
        """The refusals so far, which the test has now examined (and which no longer fail it)."""
        taken, self.refusals = self.refusals, []
        return taken

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        self._failures.append(_Failure(method, error_code, description, retry_after, chat_id))

    def time_out_next(self, method: str, *, chat_id: int | None = None) -> None:
        """The next `method` call is carried out (recorded, as the message did arrive) but its
        answer never comes: the read timeout aiogram raises as `TelegramNetworkError`."""
        self._failures.append(_Failure(method, 0, "", None, chat_id, timeout=True))

    async def close(self) -> None:
        pass

    def add_file(self, file_id: str, data: bytes) -> None:
        """A file a user sent: getFile gives its path, and `bot.download` streams these bytes."""
        self.files[file_id] = data

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        data = self.files[url.rsplit("/", 1)[-1]]
        for first in range(0, len(data), chunk_size):
            yield data[first : first + chunk_size]

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.requests.append(method)
        if isinstance(method, SendDocument) and isinstance(method.document, InputFile):
            data = b"".join([chunk async for chunk in method.document.read(bot)])
            self.uploads.append((method.document.filename, data))
        name = type(method).__name__
        for failure in self._failures:
            if failure.method == name and (
                failure.chat_id is None or getattr(method, "chat_id", None) == failure.chat_id
            ):
                self._failures.remove(failure)
                if failure.timeout:
                    raise TelegramNetworkError(method, "Request timeout error") from TimeoutError()
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": failure.error_code,
                    "description": failure.description,
                }
                if failure.retry_after is not None:
                    body["parameters"] = {"retry_after": failure.retry_after}
                self.check_response(bot, method, failure.error_code, json.dumps(body))
        refusal = self._chat_refusal(bot, method)
        if refusal is not None:
            # Refused as Telegram does, but not kept in `refusals`: an edit that changes nothing
            # is an ordinary answer the product handles (a double tap), not a rule broken.
            body = {"ok": False, "error_code": 400, "description": refusal.description}
            self.check_response(bot, method, 400, json.dumps(body))
        refusal = telegram_rules.check_call(method.__api_method__, _params(bot, method))
        if refusal is not None:
            self.refusals.append((method, refusal))
            body = {
                "ok": False,
                "error_code": refusal.error_code,
                "description": refusal.description,
            }
            self.check_response(bot, method, refusal.error_code, json.dumps(body))
        if isinstance(method, AnswerCallbackQuery):
            # Telegram accepts one answer per callback query.
            if method.callback_query_id in self._answered:
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: query is too old and response timeout expired "
                    "or query ID is invalid",
                }
                self.check_response(bot, method, 400, json.dumps(body))
            self._answered.add(method.callback_query_id)
        if isinstance(method, AnswerInlineQuery):
            # Telegram accepts one answer per inline query, too.
            if method.inline_query_id in self._answered_inline:
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: QUERY_ID_INVALID",
                }
                self.check_response(bot, method, 400, json.dumps(body))
            self._answered_inline.add(method.inline_query_id)
        result = self._result(bot, method)
        self._record_shown(bot, method, result)
        content = json.dumps({"ok": True, "result": result})
        return self.check_response(bot, method, 200, content).result

    def _chat_refusal(self, bot: Bot, method: TelegramMethod[Any]) -> Refusal | None:
        """Telegram's refusal of an edit that changes nothing, or of touching a deleted message."""
        if not isinstance(method, EditMessageText | EditMessageReplyMarkup | DeleteMessage):
            return None
        if not isinstance(method.chat_id, int) or method.message_id is None:
            return None
        shown = self.shown.get((method.chat_id, method.message_id))
        if shown is None:
            return None
        if shown.deleted:
            return Refusal(
                400, DELETE_NOT_FOUND if isinstance(method, DeleteMessage) else EDIT_NOT_FOUND
            )
        if isinstance(method, DeleteMessage):
            return None
        markup = _inline(method.reply_markup)
        if isinstance(method, EditMessageText):
            parse_mode = _param(bot, method.parse_mode)
            same = _rendered(method.text, parse_mode) == _rendered(shown.text, shown.parse_mode)
        else:
            same = True
        if same and markup == shown.markup:
            return Refusal(400, NOT_MODIFIED)
        return None

    def _record_shown(self, bot: Bot, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, SendMessage | SendPhoto | SendDocument):
            chat_id = int(result["chat"]["id"])
            text = method.text if isinstance(method, SendMessage) else method.caption
            kind = {SendMessage: "message", SendPhoto: "photo", SendDocument: "document"}
            self._sent_ids[id(method)] = result["message_id"]  # the method stays in `requests`
            self.shown[(chat_id, result["message_id"])] = Shown(
                chat_id=chat_id,
                message_id=result["message_id"],
                kind=kind[type(method)],
                text=text,
                parse_mode=_param(bot, method.parse_mode),
                markup=_inline(method.reply_markup),
            )
            return
        if not isinstance(method, EditMessageText | EditMessageReplyMarkup | DeleteMessage):
            return
        if not isinstance(method.chat_id, int) or method.message_id is None:
            return
        key = (method.chat_id, method.message_id)
        shown = self.shown.get(key)
        if shown is None:
            shown = self.shown[key] = Shown(
                method.chat_id, method.message_id, "message", None, None, None, known=False
            )
        if isinstance(method, DeleteMessage):
            shown.deleted = True
            return
        shown.edits += 1
        shown.markup = _inline(method.reply_markup)
        if isinstance(method, EditMessageText):
            shown.text = method.text
            shown.parse_mode = _param(bot, method.parse_mode)

    def _bot_user(self, bot: Bot) -> dict[str, Any]:
        return {"id": bot.id, "is_bot": True, "first_name": "Bot", "username": self.bot_username}

    def _message(self, bot: Bot, method: Any, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": getattr(method, "message_id", None)
            or self.next_message_id(int(method.chat_id)),
            "date": int(time.time()),
            "chat": {"id": method.chat_id, "type": "private"},
            "from": self._bot_user(bot),
            **extra,
        }
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            message["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return message

    def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return {**self._bot_user(bot), "supports_inline_queries": self.supports_inline_queries}
        if isinstance(method, SendMessage | EditMessageText):
            return self._message(bot, method, text=method.text)
        if isinstance(method, SendPhoto):
            photo = [{"file_id": "photo1", "file_unique_id": "u1", "width": 512, "height": 512}]
            return self._message(bot, method, photo=photo, caption=method.caption)
        if isinstance(method, SendDocument):
            doc = {"file_id": "doc1", "file_unique_id": "d1"}
            return self._message(bot, method, document=doc, caption=method.caption)
        if isinstance(method, GetFile):
            return {
                "file_id": method.file_id,
                "file_unique_id": "f" + method.file_id,
                "file_size": len(self.files.get(method.file_id, b"")),
                "file_path": f"documents/{method.file_id}",
            }
        if isinstance(method, EditMessageReplyMarkup | EditMessageCaption):
            return self._message(bot, method, text="")
        return True


def _plain(bot: Bot, value: Any) -> Any:
    """A parameter JSON-shaped, with the bot's defaults filled in at any depth (a
    `ReplyParameters` carries `Default` fields of its own)."""
    if isinstance(value, Default):
        return bot.default[value.name]
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="python", by_alias=True, exclude_none=True)
        return {key: _plain(bot, item) for key, item in dumped.items()}
    if isinstance(value, dict):
        return {key: _plain(bot, item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(bot, item) for item in value]
    return value


def _param(bot: Bot, value: Any) -> Any:
    return bot.default[value.name] if isinstance(value, Default) else value


def _inline(markup: Any) -> dict[str, Any] | None:
    """An inline keyboard as JSON, None for anything else (an edit without one removes it)."""
    if not isinstance(markup, InlineKeyboardMarkup) or not any(markup.inline_keyboard):
        return None
    return markup.model_dump(mode="json", exclude_none=True)


def _rendered(text: str | None, parse_mode: str | None) -> tuple[Any, ...]:
    """What Telegram compares for "message is not modified": the visible text and entities."""
    if text is None:
        return (None,)
    try:
        return telegram_rules.visible(text, parse_mode)
    except telegram_rules.HtmlError:
        return (text,)


def _params(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The call's parameters as the Bot API receives them: bot defaults filled in (parse_mode),
    objects as JSON-shaped dicts, unset ones left out."""
    params: dict[str, Any] = {}
    for key, value in method:
        if isinstance(value, Default):
            value = bot.default[value.name]
        if value is None:
            continue
        params[key] = _plain(bot, value)
    return params
