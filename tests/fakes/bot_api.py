"""A fake Telegram Bot API server for end-to-end tests and benchmarks.

The real bot (``python -m bot`` started as a subprocess with ``TELEGRAM_API_URL=<api.url>``, or an
in-process ``aiogram.Bot`` built with ``TelegramAPIServer.from_base(api.url)``) talks HTTP to this
server exactly as it would to api.telegram.org. The test plays the users and inspects what the bot
did::

    async with FakeBotAPI(TOKEN) as api:
        bot_process = start_bot(env={"TELEGRAM_API_URL": api.url, "BOT_TOKEN": TOKEN})
        alice = api.user(1001, "Alice")
        await alice.send("/start")
        survey = await alice.wait_message(lambda m: "оцените" in (m.text or ""))
        await alice.tap(survey, survey.button("10"))
        await alice.wait_edit(survey)
        assert api.calls("answerCallbackQuery")

What is modelled:

* ``getUpdates`` long polling with ``offset`` confirmation, ``limit`` and ``timeout``; updates are
  queued by :class:`FakeUser` (``send``, ``send_contact``, ``send_document``, ``tap``) or raw with
  :meth:`FakeBotAPI.add_update`.
* Sending and editing messages in private chats (chat id == user id), photos and
  documents (uploaded bytes are kept; files users send are served by ``getFile`` and the
  ``/file/bot<token>/<path>`` download), inline and reply keyboards, callback answers, bot commands,
  menu button, webhook settings. Result objects have the shapes aiogram expects.
* Inline mode (off unless ``FakeBotAPI(..., supports_inline_queries=True)``, as getMe tells the
  bot): :meth:`FakeUser.inline_query` queues an ``inline_query`` update (the query as typed, and
  the chat type it was typed in), :meth:`FakeUser.wait_inline_answer` gives the bot's
  ``answerInlineQuery`` (one per query, ``QUERY_ID_INVALID`` otherwise), and
  :meth:`FakeUser.choose` sends one of its results to another user, as Telegram does when the
  user picks it: the message lands in that user's ``via_bot`` list and a
  ``chosen_inline_result`` update is queued (with ``inline_feedback``, the default).
* Webhook mode: after the bot's ``setWebhook``, :meth:`FakeBotAPI.deliver_webhook` posts the
  queued updates to its URL with the secret token, as Telegram does.
* Telegram's errors for the common mistakes ("message is not modified", "message to edit not
  found"), and every rule of :mod:`tests.fakes.telegram_rules` (length after entity parsing,
  well-formed HTML, callback_data, deep links) on every call: a refused call is answered as
  Telegram would and kept in :attr:`FakeBotAPI.refusals`; leaving the ``async with`` block with
  a refusal nobody took (:meth:`FakeBotAPI.take_refusals`) fails the test. Injected faults:
  :meth:`FakeBotAPI.fail_next` (any error code, e.g. 429 with ``retry_after``),
  :meth:`FakeBotAPI.drop_next` (connection closed without a reply) and :meth:`FakeBotAPI.block`
  (403 "bot was blocked by the user").
* Chaos: :meth:`FakeBotAPI.chaos` answers a random share of all calls (seeded) with 429 +
  ``retry_after``, a 5xx as JSON, a 5xx as a proxy's HTML page, a dropped connection (the call
  is NOT carried out) or a timeout (the call IS carried out and the reply held until the client
  gives up: the message arrived, the bot does not know it). :attr:`FakeBotAPI.chaos_served`
  lists what was served.

Any method not listed is recorded and answered ``{"ok": true, "result": true}``. Everything runs in
the test's event loop; the waiting helpers wake on changes (no sleep-polling), and raise
``AssertionError`` with what was received so far when they time out.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import random
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Self, TypeVar

from aiohttp import ClientSession, web

from tests.fakes import telegram_rules
from tests.fakes.telegram_rules import (
    CAPTION_TOO_LONG,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    Refusal,
)

__all__ = [
    "BLOCKED",
    "CAPTION_TOO_LONG",
    "CHAT_NOT_FOUND",
    "DELETE_NOT_FOUND",
    "EDIT_NOT_FOUND",
    "NOT_MODIFIED",
    "NO_CAPTION_TO_EDIT",
    "NO_TEXT_TO_EDIT",
    "QUERY_INVALID",
    "TEXT_EMPTY",
    "TEXT_TOO_LONG",
    "UNAUTHORIZED",
    "WEBHOOK_ACTIVE",
    "WRONG_FILE",
    "ApiCall",
    "FakeBotAPI",
    "FakeUser",
    "SentMessage",
]

# Error descriptions, word for word as Telegram sends them (tests may compare against these).
UNAUTHORIZED = "Unauthorized"
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
CHAT_NOT_FOUND = "Bad Request: chat not found"
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: UNAUTHORIZED,
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

BOT_FIRST_NAME = "Follow-up Bot"

# Form fields whose value is free text: kept as str even when it looks like JSON ("123", "true").
# Every other field is JSON-decoded when it parses (numbers, booleans, reply_markup, scope ...).
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "next_offset",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "title",
        "description",
        "short_description",
        "name",
        "question",
        "explanation",
        "address",
        "emoji",
        "payload",
        "start_parameter",
        "custom_title",
        "action",
        "photo",
        "document",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "file_id",
    }
)

# Methods that "send to a chat": answered 403 for a blocked user.
_SEND_PREFIXES = ("send", "forwardmessage")

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?(?=\s|$)")

_T = TypeVar("_T")

ChaosKind = Literal["429", "5xx_json", "5xx_html", "drop", "timeout"]
CHAOS_KINDS: tuple[ChaosKind, ...] = ("429", "5xx_json", "5xx_html", "drop", "timeout")
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
    "</html>\r\n"
)

# How long a test waits for what a user would wait for. Generous: a loaded machine (CI, or
# several suites at once on two cores) can take seconds where an idle one takes milliseconds, and
# a passing wait returns as soon as the thing arrives.
WAIT_SECONDS = 30.0


# ------------------------------------------------------------------------------------------------
# Records
# ------------------------------------------------------------------------------------------------


@dataclass
class ApiCall:
    """One HTTP request the bot made, as the fake understood it."""

    method: str
    """Method name as sent (aiogram sends e.g. ``sendMessage``); compare case-insensitively."""
    params: dict[str, Any]
    """Form fields; numbers, booleans and JSON objects (``reply_markup``, ``scope``) decoded."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Uploaded files keyed by the parameter that references them (``photo``, ``document``)."""
    file_names: dict[str, str] = field(default_factory=dict)
    outcome: Literal["pending", "ok", "error", "dropped", "cancelled", "timed_out"] = "pending"
    """``ok`` (answered with a result), ``error`` (answered ok=false, or a chaos error page),
    ``dropped`` (connection closed by drop_next or chaos), ``cancelled`` (the client went away,
    e.g. during a long poll) or ``timed_out`` (carried out by chaos, the reply never sent)."""
    error_code: int | None = None
    description: str | None = None
    result: Any = None
    at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the request arrived (for rate measurements)."""

    @property
    def name(self) -> str:
        """The method name in lower case."""
        return self.method.lower()

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent, kept up to date by later edits."""

    message_id: int
    chat_id: int
    text: str | None
    """Text, or the caption of a photo/document."""
    reply_markup: dict[str, Any] | None
    """The last markup set: inline keyboard, reply keyboard, remove_keyboard... as sent."""
    method: str
    """``sendMessage``, ``sendPhoto``, ``sendDocument``..."""
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    edits: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """Previous versions, oldest first: ``{"text": ..., "reply_markup": ...}``."""
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    """Decoded parameters of the call that sent it (``parse_mode``, ``chat_id`` ...)."""
    parse_mode: str | None = field(default=None, repr=False)
    """parse_mode of the current text (from the send or the last edit)."""
    date: int = field(default_factory=lambda: int(time.time()), repr=False)
    edit_date: int | None = field(default=None, repr=False)
    media: dict[str, Any] = field(default_factory=dict, repr=False)
    """Message fields of the attachment, as Telegram returns them (``photo``, ``document``)."""
    deleted: bool = False
    """Deleted by the bot (deleteMessage): gone from the chat; kept here for assertions."""

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        return _inline_rows(self.reply_markup)

    @property
    def visible_text(self) -> str | None:
        """The text as the user sees it: HTML tags removed and entities unescaped when the
        parse_mode is HTML (``text`` keeps the markup as sent)."""
        if self.text is None:
            return None
        return _visible_text(self.text, self.parse_mode)

    def buttons(self) -> list[tuple[str, str | None]]:
        """Flattened keyboard: ``(text, callback_data or url or None)`` for an inline keyboard,
        ``(text, None)`` for a reply keyboard (including request_contact buttons)."""
        markup = self.reply_markup or {}
        if "inline_keyboard" in markup:
            return [
                (button["text"], button.get("callback_data", button.get("url")))
                for row in markup["inline_keyboard"]
                for button in row
            ]
        if "keyboard" in markup:
            return [(_button_text(button), None) for row in markup["keyboard"] for button in row]
        return []

    def url(self, text_contains: str) -> str:
        """url of the first inline URL button whose text contains ``text_contains``."""
        for row in self.inline_keyboard:
            for button in row:
                if text_contains in button["text"] and "url" in button:
                    return str(button["url"])
        raise AssertionError(
            f"no inline URL button containing {text_contains!r} in message "
            f"{self.message_id} ({self.text!r}); buttons: {self.buttons()}"
        )

    def button(self, text_contains: str) -> str:
        """callback_data of the first inline button whose text contains ``text_contains``."""
        for row in self.inline_keyboard:
            for button in row:
                if text_contains in button["text"] and "callback_data" in button:
                    return str(button["callback_data"])
        raise AssertionError(
            f"no inline callback button containing {text_contains!r} in message "
            f"{self.message_id} ({self.text!r}); buttons: {self.buttons()}"
        )


# ------------------------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------------------------


class FakeUser:
    """A Telegram user in a private chat with the bot. Create with :meth:`FakeBotAPI.user`.

    The ``send*``/``tap`` coroutines only queue an update and never yield to the event loop, so a
    ``wait_*`` call right after them cannot miss the bot's reaction.
    """

    def __init__(
        self,
        api: FakeBotAPI,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None = "ru",
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self.api = api
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.last_name = last_name
        self.username = username
        self.messages: list[SentMessage] = []
        """Every message the bot sent to this private chat, in order."""
        self.answers: list[dict[str, Any]] = []
        """Params of answerCallbackQuery calls for this user's callback queries."""
        self.via_bot: list[SentMessage] = []
        """Inline results other users sent to this user (``FakeUser.choose``), in order."""
        """The reply keyboard currently shown (the last ``keyboard`` markup not yet removed)."""
        self._cursor = 0

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.first_name!r})"

    @property
    def blocked(self) -> bool:
        return self.id in self.api.blocked

    @property
    def texts(self) -> list[str | None]:
        """Texts (or captions) of all messages received, for assertions and error messages."""
        return [message.text for message in self.messages]

    def to_json(self) -> dict[str, Any]:
        """This user as a Telegram ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data

    def chat_json(self) -> dict[str, Any]:
        """The private chat with this user as a Telegram ``Chat`` object."""
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        return data

    # -- things the user does ------------------------------------------------------------------

    async def send(self, text: str) -> int:
        """Queue a text message; a leading ``/command`` gets a bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if match := _COMMAND_RE.match(text):
            length = _utf16_len(match.group())
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.api._user_message(self, content)

    async def send_contact(
        self,
        phone_number: str,
        *,
        user_id: int | Literal["self"] | None = "self",
        first_name: str | None = None,
    ) -> int:
        """Queue a shared contact: by default the user's own (as a request_contact button sends);
        ``user_id=None`` is a contact without a Telegram account, an int someone else's."""
        own = user_id == "self"
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or (self.first_name if own else "Contact"),
        }
        if own and self.last_name is not None:
            contact["last_name"] = self.last_name
        if own:
            contact["user_id"] = self.id
        elif user_id is not None:
            contact["user_id"] = user_id
        return self.api._user_message(self, {"contact": contact})

    async def send_document(
        self, data: bytes, file_name: str | None, *, mime_type: str | None = None
    ) -> int:
        """Queue a document (a file sent with the paperclip); the bot can getFile and download
        it from ``/file/bot<token>/<file_path>``."""
        file_id = self.api._register_file("BQAC", data)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": "U" + file_id,
            "file_size": len(data),
        }
        if file_name is not None:
            document["file_name"] = file_name
        if mime_type is not None:
            document["mime_type"] = mime_type
        return self.api._user_message(self, {"document": document})

    async def tap(self, message: SentMessage, callback_data: str) -> str:
        """Press an inline button of ``message``; returns the callback query id. AssertionError if
        the message is not in this chat, or its current keyboard has no such button."""
        if message.chat_id != self.id:
            raise AssertionError(f"message {message.message_id} is not in the chat with {self}")
        current = [b.get("callback_data") for row in message.inline_keyboard for b in row]
        if callback_data not in current:
            raise AssertionError(
                f"{callback_data!r} is not a button of message {message.message_id} "
                f"({message.text!r}); current buttons: {message.buttons()}"
            )
        return await self.tap_forged(message, callback_data)

    async def tap_forged(self, message: SentMessage, callback_data: str) -> str:
        """Send a callback query with any data for ``message`` (a forged or stale button)."""
        return self.api._callback_query(self, message, callback_data)

    async def inline_query(self, query: str, *, chat_type: str | None = "private") -> str:
        """Type ``@bot <query>`` in a chat of ``chat_type`` ("sender" is the chat with the bot,
        None a secret chat); returns the inline query id. Telegram sends at most 256
        characters of a query; a longer one is cut, as the app does."""
        return self.api._inline_query(self, query[:256], chat_type)

    async def choose(self, query_id: str, result_id: str, *, to: FakeUser) -> SentMessage:
        """Pick result ``result_id`` of the answer to ``query_id`` in the chat with ``to``: the
        message arrives there (``to.via_bot``), and the bot hears ``chosen_inline_result``
        when the fake has ``inline_feedback``."""
        return self.api._choose(self, query_id, result_id, to)

    # -- waiting for the bot -------------------------------------------------------------------

    async def wait_message(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        timeout: float = WAIT_SECONDS,
    ) -> SentMessage:
        """The next message not returned by an earlier ``wait_message`` that matches
        ``predicate``; messages that do not match are skipped over for good."""

        def probe() -> SentMessage | None:
            while self._cursor < len(self.messages):
                message = self.messages[self._cursor]
                self._cursor += 1
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.api._wait(
            probe,
            timeout,
            lambda: f"{self} got no expected message in {timeout}s; received: {self.texts}",
        )

    async def wait_edit(
        self, message: SentMessage, *, timeout: float = WAIT_SECONDS
    ) -> SentMessage:
        """Wait until ``message`` is edited (text, caption or markup) after this call."""
        seen = len(message.edits)
        return await self.api._wait(
            lambda: message if len(message.edits) > seen else None,
            timeout,
            lambda: (
                f"message {message.message_id} to {self} ({message.text!r}) was not edited in "
                f"{timeout}s; received: {self.texts}"
            ),
        )

    async def wait_inline_answer(
        self, query_id: str, *, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        """The bot's answerInlineQuery parameters for ``query_id`` (``results`` decoded)."""
        return await self.api._wait(
            lambda: self.api.inline_answers.get(query_id),
            timeout,
            lambda: f"inline query {query_id} of {self} was not answered in {timeout}s",
        )

    async def wait_answer(
        self, callback_query_id: str | None = None, *, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        """Wait for answerCallbackQuery of ``callback_query_id`` (default: the latest tap)."""
        query_id = callback_query_id or self.api._last_callback.get(self.id)
        if query_id is None:
            raise AssertionError(f"{self} has not tapped any button")

        def probe() -> dict[str, Any] | None:
            return next((a for a in self.answers if a.get("callback_query_id") == query_id), None)

        return await self.api._wait(
            probe,
            timeout,
            lambda: f"callback query {query_id} of {self} was not answered in {timeout}s",
        )


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


@dataclass
class _Chaos:
    rate: float
    rng: random.Random
    kinds: tuple[ChaosKind, ...]
    retry_after: int
    max_streak: int
    hold_seconds: float
    streaks: dict[tuple[str, Any], int] = field(default_factory=dict)

    bag: list[ChaosKind] = field(default_factory=list)

    def pick(self, call: ApiCall) -> ChaosKind | None:
        """The fault for this call, or None to serve it. Kinds come out of a shuffled bag, so
        every kind is served once in each run of ``len(kinds)`` faults (in random order). A key
        (method, chat) never fails more than ``max_streak`` times in a row, so a test's outcome
        does not hang on a lucky run."""
        key = (call.name, call.chat_id)
        if self.rng.random() >= self.rate or self.streaks.get(key, 0) >= self.max_streak:
            self.streaks[key] = 0
            return None
        if not self.bag:
            self.bag = list(self.kinds)
            self.rng.shuffle(self.bag)
        if self.bag[-1] == "timeout" and call.name == "getupdates":
            # A held long poll only delays everything by the client's whole poll timeout: the
            # timeout is kept for the next call.
            self.streaks[key] = 0
            return None
        self.streaks[key] = self.streaks.get(key, 0) + 1
        return self.bag.pop()


@dataclass
class _Fault:
    method: str  # lower case
    remaining: int
    chat_id: int | None
    error_code: int | None = None  # None: drop the connection
    description: str = ""
    retry_after: int | None = None
    executed: bool = False  # a drop after the method ran: delivered, but the reply is lost

    def matches(self, call: ApiCall) -> bool:
        if self.remaining <= 0 or self.method != call.name:
            return False
        return self.chat_id is None or call.chat_id == self.chat_id


class _ApiError(Exception):
    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after


class _Changes:
    """Broadcast "something changed" to every waiter (an event that re-arms itself)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, probe: Callable[[], _T | None]) -> _T:
        """Return the first truthy value of ``probe()``, re-checking after every change."""
        while True:
            event = self._event
            if found := probe():
                return found
            await event.wait()


class FakeBotAPI:
    """The fake server. ``async with FakeBotAPI(token) as api:`` starts it on 127.0.0.1."""

    def __init__(
        self,
        token: str,
        *,
        bot_id: int = 7000001,
        bot_username: str = "followup_test_bot",
        supports_inline_queries: bool = False,
        inline_feedback: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.supports_inline_queries = supports_inline_queries
        """Inline mode on (/setinline at @BotFather): what getMe says, and whether users' inline
        queries reach the bot at all."""
        self.inline_feedback = inline_feedback
        """/setinlinefeedback: whether a chosen result is reported (``chosen_inline_result``)."""
        self.inline_answers: dict[str, dict[str, Any]] = {}
        """answerInlineQuery parameters by inline query id."""
        self.url = ""
        """Base URL for ``TELEGRAM_API_URL`` / ``TelegramAPIServer.from_base``; set by start()."""

        self.users: dict[int, FakeUser] = {}
        self.requests: list[ApiCall] = []
        """Every call made with the right token, in arrival order (failed and dropped included)."""
        self.sent: list[SentMessage] = []
        """Every message the bot sent, to any chat, in order."""
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """setMyCommands storage: ``(scope_key(scope), language_code or "")`` -> commands."""
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        """Contents of every file known by file_id (uploaded by the bot or sent by users)."""
        self.blocked: set[int] = set()
        self.webhook_url: str | None = None
        self.webhook_secret_token: str | None = None
        self.confirmed_offset = 0
        """Highest offset the bot confirmed via getUpdates."""

        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], SentMessage] = {}
        self._callbacks: dict[str, FakeUser] = {}
        self._last_callback: dict[int, str] = {}
        self._callback_count = 0
        self._answered: set[str] = set()
        self._inline_queries: dict[str, tuple[FakeUser, str]] = {}
        self._file_count = 0
        self._faults: list[_Fault] = []
        self._chaos: _Chaos | None = None
        self.refusals: list[tuple[ApiCall, Refusal]] = []
        """Calls refused by a rule of :mod:`tests.fakes.telegram_rules`, with the refusal."""
        self.chaos_served: list[tuple[str, ChaosKind]] = []
        """(method, kind) of every call chaos answered with a fault, in order."""
        self._active_polls = 0
        self._closing = False
        self._changes = _Changes()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[ApiCall], Any]] = {
            "getme": lambda call: self.bot_user,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getfile": self._get_file,
        }

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # handler_cancellation: a long poll ends as soon as the client goes away.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._closing = False

    async def stop(self) -> None:
        """End pending long polls at once (with what is queued, usually ``[]``) and shut down."""
        self._closing = True
        self._changes.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        await self.stop()
        if exc_type is None and self.refusals:
            raise AssertionError(
                "Telegram would have refused these calls: "
                + "; ".join(f"{c.method}: {r.description}" for c, r in self.refusals)
            )

    def take_refusals(self) -> list[tuple[ApiCall, Refusal]]:
        """The refusals so far, which the test has now examined (and which no longer fail it)."""
        taken, self.refusals = self.refusals, []
        return taken

    # -- setting the scene ---------------------------------------------------------------------

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a Telegram ``User`` (what getMe returns)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.supports_inline_queries,
        }

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None = "ru",
        last_name: str | None = None,
        username: str | None = None,
    ) -> FakeUser:
        """The user with this id (created, or updated with these details if already known)."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = FakeUser(self, user_id, first_name)
        user.first_name = first_name
        user.language_code = language_code
        user.last_name = last_name
        user.username = username
        return user

    def add_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``{"message": {...}}`` etc.); returns its update_id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **update})
        self._changes.notify()
        return update_id

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (only those to ``chat_id`` if given) with
        this error instead of executing them. ``description`` defaults to Telegram's usual one."""
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        self._faults.append(
            _Fault(method.lower(), times, chat_id, error_code, description, retry_after)
        )

    def drop_next(
        self,
        method: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        executed: bool = False,
    ) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without replying. The
        call is recorded (outcome "dropped") but not executed, unless ``executed=True``: then it
        takes effect (the message is delivered) and only the reply is lost."""
        self._faults.append(_Fault(method.lower(), times, chat_id, executed=executed))

    def chaos(
        self,
        rate: float = 1 / 3,
        *,
        seed: int = 0,
        kinds: tuple[ChaosKind, ...] = CHAOS_KINDS,
        retry_after: int = 1,
        max_streak: int = 3,
        hold_seconds: float = 120.0,
    ) -> None:
        """From now on answer about ``rate`` of all calls (any method, chosen with a seeded
        random generator) with a fault of one of ``kinds``: ``429`` (with ``retry_after``),
        ``5xx_json`` (500/502 as Telegram's JSON), ``5xx_html`` (a proxy's 502 page),
        ``drop`` (connection closed without a reply, the call not carried out) or ``timeout``
        (the call carried out, the reply held for ``hold_seconds`` or until the client goes
        away). getUpdates gets every kind but the timeout. Explicit ``fail_next`` and
        ``drop_next`` faults come first."""
        self._chaos = _Chaos(
            rate, random.Random(seed), kinds, retry_after, max_streak, hold_seconds
        )

    def calm(self) -> None:
        """End chaos: every call is served again."""
        self._chaos = None

    def block(self, user_id: int) -> None:
        """The user blocks the bot: every send to the chat answers 403 from now on."""
        self.blocked.add(user_id)

    def calls(self, method: str) -> list[ApiCall]:
        """Calls of ``method`` (case-insensitive), in order."""
        name = method.lower()
        return [call for call in self.requests if call.name == name]

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._updates)

    @property
    def active_polls(self) -> int:
        """getUpdates requests currently waiting (long polling)."""
        return self._active_polls

    @staticmethod
    def scope_key(scope: dict[str, Any] | None) -> str:
        """Key of a BotCommandScope in :attr:`commands`: canonical JSON, or "default"."""
        if not scope or scope == {"type": "default"}:
            return "default"
        return json.dumps(scope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]] | None:
        """Commands set for that scope and language, or None if never set."""
        return self.commands.get((self.scope_key(scope), language_code))

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """A message the bot sent, by chat and id."""
        return self._messages[(chat_id, message_id)]

    async def wait_calls(
        self, method: str, count: int = 1, *, timeout: float = WAIT_SECONDS
    ) -> list[ApiCall]:
        """Wait until ``method`` has been called at least ``count`` times; returns all calls."""
        return await self._wait(
            lambda: calls if len(calls := self.calls(method)) >= count else None,
            timeout,
            lambda: f"{method} called {len(self.calls(method))} times, expected {count}",
        )

    async def wait_polling(self, *, timeout: float = WAIT_SECONDS) -> None:
        """Wait until the bot is long polling (a getUpdates request is waiting)."""
        await self.wait_until(
            lambda: self._active_polls > 0, timeout=timeout, description="the bot to poll"
        )

    async def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = WAIT_SECONDS, description: str = ""
    ) -> None:
        """Wait until ``condition()`` (about this fake's state) is true; it is re-checked after
        every request, update, message, edit and answer. AssertionError on timeout."""
        await self._wait(
            lambda: condition() or None,
            timeout,
            lambda: (
                f"timed out after {timeout}s waiting for {description or condition}; "
                f"calls so far: {[call.method for call in self.requests]}"
            ),
        )

    async def wait_updates_confirmed(self, *, timeout: float = WAIT_SECONDS) -> None:
        """Wait until the bot has confirmed (fetched and acknowledged) every queued update."""
        await self._wait(
            lambda: not self._updates,
            timeout,
            lambda: f"{len(self._updates)} updates not confirmed in {timeout}s",
        )

    async def deliver_webhook(self, *, secret_token: str | None = None) -> list[int]:
        """Webhook mode: POST the queued updates, in order, to the URL set by setWebhook, with
        its secret token as Telegram does (``secret_token`` overrides it, ``""`` sends none).
        An update answered 2xx leaves the queue; the first refusal stops the delivery (Telegram
        would retry it later). Returns the HTTP statuses."""
        if not self.webhook_url:
            raise AssertionError("no webhook is set: the bot did not call setWebhook")
        token = self.webhook_secret_token if secret_token is None else secret_token
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        statuses: list[int] = []
        async with ClientSession() as session:
            while self._updates:
                update = self._updates[0]
                async with session.post(self.webhook_url, json=update, headers=headers) as reply:
                    await reply.read()
                statuses.append(reply.status)
                if reply.status // 100 != 2:
                    break
                self._updates.remove(update)
                self._changes.notify()
        return statuses

    async def _wait(
        self, probe: Callable[[], _T | None], timeout: float, describe: Callable[[], str]
    ) -> _T:
        try:
            async with asyncio.timeout(timeout):
                return await self._changes.wait_for(probe)
        except TimeoutError:
            raise AssertionError(describe()) from None

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error_response(401, UNAUTHORIZED)
        call = await _read_call(request)
        self.requests.append(call)
        self._changes.notify()
        fault = next((f for f in self._faults if f.matches(call)), None)
        if fault is not None:
            fault.remaining -= 1
        elif self._chaos is not None and (kind := self._chaos.pick(call)) is not None:
            self.chaos_served.append((call.method, kind))
            return await self._chaotic(request, call, kind)
        try:
            if fault is not None and fault.error_code is not None:
                raise _ApiError(fault.error_code, fault.description, fault.retry_after)
            if fault is None or fault.executed:
                call.result = await self._execute(call)
            call.outcome = "ok"
        except asyncio.CancelledError:
            call.outcome = "cancelled"
            raise
        except _ApiError as error:
            call.outcome = "error"
            call.error_code, call.description = error.error_code, error.description
            response = _error_response(error.error_code, error.description, error.retry_after)
        else:
            response = web.json_response({"ok": True, "result": call.result})
        if fault is not None and fault.error_code is None:
            call.outcome = "dropped"
            if request.transport is not None:
                request.transport.close()
        self._changes.notify()
        return response

    async def _chaotic(
        self, request: web.Request, call: ApiCall, kind: ChaosKind
    ) -> web.StreamResponse:
        chaos = self._chaos
        assert chaos is not None
        call.outcome = "error"
        if kind == "429":
            call.error_code = 429
            call.description = f"Too Many Requests: retry after {chaos.retry_after}"
            response = _error_response(429, call.description, chaos.retry_after)
        elif kind == "5xx_json":
            call.error_code = chaos.rng.choice((500, 502))
            call.description = _DEFAULT_DESCRIPTIONS[call.error_code]
            response = _error_response(call.error_code, call.description)
        elif kind == "5xx_html":
            call.error_code, call.description = 502, "Bad Gateway (HTML)"
            response = web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
        elif kind == "drop":
            call.outcome = "dropped"
            response = web.Response(status=500)
            if request.transport is not None:
                request.transport.close()
        else:  # timeout: carried out (the message arrives), the answer never does
            try:
                call.result = await self._execute(call)
            except _ApiError as error:
                call.error_code, call.description = error.error_code, error.description
            call.outcome = "timed_out"
            self._changes.notify()
            await asyncio.sleep(chaos.hold_seconds)  # cancelled when the client gives up
            response = web.Response(status=504)
        self._changes.notify()
        return response

    async def _execute(self, call: ApiCall) -> Any:
        if call.name.startswith(_SEND_PREFIXES) and call.chat_id in self.blocked:
            raise _ApiError(403, BLOCKED)
        refusal = telegram_rules.check_call(call.method, call.params)
        if refusal is not None:
            self.refusals.append((call, refusal))
            raise _ApiError(refusal.error_code, refusal.description)
        if call.name == "getupdates":
            return await self._get_updates(call)
        return self._handlers.get(call.name, _default_handler)(call)

    # -- updates -------------------------------------------------------------------------------

    async def _get_updates(self, call: ApiCall) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise _ApiError(409, WEBHOOK_ACTIVE)
        offset = int(call.params.get("offset") or 0)
        limit = min(max(int(call.params.get("limit") or 100), 1), 100)
        timeout = max(float(call.params.get("timeout") or 0), 0.0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        elif offset < 0:
            self._updates = self._updates[offset:]
        if not self._updates and timeout > 0 and not self._closing:
            self._active_polls += 1
            self._changes.notify()
            try:
                async with asyncio.timeout(timeout):
                    await self._changes.wait_for(lambda: bool(self._updates) or self._closing)
            except TimeoutError:
                pass
            finally:
                self._active_polls -= 1
                self._changes.notify()
        return self._updates[:limit]

    def _user_message(self, user: FakeUser, content: dict[str, Any]) -> int:
        message_id = self._next_message_id(user.id)
        message = {
            "message_id": message_id,
            "from": user.to_json(),
            "chat": user.chat_json(),
            "date": int(time.time()),
            **content,
        }
        self.add_update({"message": message})
        return message_id

    def _callback_query(self, user: FakeUser, message: SentMessage, data: str) -> str:
        self._callback_count += 1
        query_id = f"{user.id}-{self._callback_count}"
        self._callbacks[query_id] = user
        self._last_callback[user.id] = query_id
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": self._message_json(message),
            "chat_instance": f"-{user.id}{self.bot_id}",
            "data": data,
        }
        self.add_update({"callback_query": query})
        return query_id

    def _inline_query(self, user: FakeUser, query: str, chat_type: str | None) -> str:
        if not self.supports_inline_queries:
            raise AssertionError("inline mode is off: Telegram would not send the bot the query")
        self._callback_count += 1
        query_id = f"iq{user.id}-{self._callback_count}"
        self._inline_queries[query_id] = (user, query)
        inline: dict[str, Any] = {
            "id": query_id,
            "from": user.to_json(),
            "query": query,
            "offset": "",
        }
        if chat_type is not None:
            inline["chat_type"] = chat_type
        self.add_update({"inline_query": inline})
        return query_id

    def _choose(self, user: FakeUser, query_id: str, result_id: str, to: FakeUser) -> SentMessage:
        answer = self.inline_answers.get(query_id)
        if answer is None or self._inline_queries[query_id][0] is not user:
            raise AssertionError(f"inline query {query_id} of {user} has no answer to choose from")
        result = next((r for r in answer.get("results") or [] if r.get("id") == result_id), None)
        if result is None:
            raise AssertionError(f"no result {result_id!r} in the answer: {answer}")
        content = result.get("input_message_content") or {}
        message = SentMessage(
            message_id=len(to.via_bot) + 1,
            chat_id=to.id,
            text=content.get("message_text"),
            reply_markup=result.get("reply_markup"),
            method="inline",
            params=result,
            parse_mode=content.get("parse_mode"),
        )
        to.via_bot.append(message)
        if self.inline_feedback:
            chosen: dict[str, Any] = {
                "result_id": result_id,
                "from": user.to_json(),
                "query": self._inline_queries[query_id][1],
            }
            if result.get("reply_markup"):
                chosen["inline_message_id"] = f"im-{query_id}-{result_id}"
            self.add_update({"chosen_inline_result": chosen})
        self._changes.notify()
        return message

    # -- messages ------------------------------------------------------------------------------

    def _user_for(self, chat_id: int) -> FakeUser:
        user = self.users.get(chat_id)
        if user is None:
            user = self.users[chat_id] = FakeUser(self, chat_id, f"User {chat_id}")
        return user

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _register_file(self, prefix: str, data: bytes) -> str:
        self._file_count += 1
        file_id = f"{prefix}{self._file_count:08d}"
        self.files[file_id] = data
        return file_id

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        return self._user_for(chat_id).chat_json()

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self._chat_json(message.chat_id),
            "date": message.date,
            **message.media,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.text is not None:
            # Telegram returns the parsed text (its entities are not modelled here).
            data["caption" if message.media else "text"] = message.visible_text
        # Telegram echoes only inline keyboards (aiogram's Message.reply_markup is inline-only).
        if message.inline_keyboard:
            data["reply_markup"] = message.reply_markup
        return data

    def _store(
        self,
        call: ApiCall,
        chat_id: int,
        text: str | None,
        *,
        media: dict[str, Any] | None = None,
        files: dict[str, bytes] | None = None,
    ) -> SentMessage:
        user = self._user_for(chat_id)
        message = SentMessage(
            message_id=self._next_message_id(chat_id),
            chat_id=chat_id,
            text=text,
            reply_markup=call.params.get("reply_markup"),
            method=call.method,
            files=files or {},
            params=call.params,
            parse_mode=call.params.get("parse_mode"),
            media=media or {},
        )
        self._messages[(chat_id, message.message_id)] = message
        user.messages.append(message)
        self.sent.append(message)
        self._changes.notify()
        return message

    def _send_message(self, call: ApiCall) -> dict[str, Any]:
        chat_id = _chat_id(call)
        text = call.params.get("text")
        return self._message_json(self._store(call, chat_id, text))

    def _send_photo(self, call: ApiCall) -> dict[str, Any]:
        chat_id = _chat_id(call)
        caption = call.params.get("caption")
        data, file_id, _ = self._input_file(call, "photo", "AgAC")
        media = {"photo": _photo_sizes(file_id, data or b"")}
        files = {"photo": data} if data is not None else {}
        return self._message_json(self._store(call, chat_id, caption, media=media, files=files))

    def _send_document(self, call: ApiCall) -> dict[str, Any]:
        chat_id = _chat_id(call)
        caption = call.params.get("caption")
        data, file_id, file_name = self._input_file(call, "document", "BQAC")
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": "U" + file_id}
        if file_name:
            document["file_name"] = file_name
            document["mime_type"] = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        if data is not None:
            document["file_size"] = len(data)
        files = {"document": data} if data is not None else {}
        message = self._store(call, chat_id, caption, media={"document": document}, files=files)
        return self._message_json(message)

    def _input_file(
        self, call: ApiCall, param: str, prefix: str
    ) -> tuple[bytes | None, str, str | None]:
        """(bytes or None for a URL, file_id, file name) of an uploaded, re-used or URL file."""
        if param in call.files:
            data = call.files[param]
            return data, self._register_file(prefix, data), call.file_names.get(param)
        value = call.params.get(param)
        if isinstance(value, str) and value in self.files:
            return self.files[value], value, None
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return None, self._register_file(prefix, b""), value.rsplit("/", 1)[-1]
        if not value:
            raise _ApiError(400, f"Bad Request: there is no {param} in the request")
        raise _ApiError(400, WRONG_FILE)

    def _find_message(self, call: ApiCall, not_found: str) -> SentMessage:
        key = (_int(call.params.get("chat_id")), _int(call.params.get("message_id")))
        message = self._messages.get(key)
        if message is None or message.deleted:
            raise _ApiError(400, not_found)
        return message

    def _edit(
        self,
        message: SentMessage,
        *,
        text: str | None,
        parse_mode: str | None,
        reply_markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        current_inline = message.reply_markup if message.inline_keyboard else None
        same_text = _rendered(text, parse_mode) == _rendered(message.text, message.parse_mode)
        if same_text and reply_markup == current_inline:
            raise _ApiError(400, NOT_MODIFIED)
        message.edits.append({"text": message.text, "reply_markup": message.reply_markup})
        message.text = text
        message.parse_mode = parse_mode
        message.reply_markup = reply_markup
        message.edit_date = int(time.time())
        self._changes.notify()
        return self._message_json(message)

    def _edit_message_text(self, call: ApiCall) -> dict[str, Any]:
        message = self._find_message(call, EDIT_NOT_FOUND)
        if message.media:
            raise _ApiError(400, NO_TEXT_TO_EDIT)
        text = call.params.get("text")
        # As in Telegram, an edit without reply_markup removes the inline keyboard.
        return self._edit(
            message,
            text=text,
            parse_mode=call.params.get("parse_mode"),
            reply_markup=call.params.get("reply_markup"),
        )

    def _edit_message_caption(self, call: ApiCall) -> dict[str, Any]:
        message = self._find_message(call, EDIT_NOT_FOUND)
        if not message.media:
            raise _ApiError(400, NO_CAPTION_TO_EDIT)
        caption = call.params.get("caption")
        return self._edit(
            message,
            text=caption,
            parse_mode=call.params.get("parse_mode"),
            reply_markup=call.params.get("reply_markup"),
        )

    def _edit_message_reply_markup(self, call: ApiCall) -> dict[str, Any]:
        message = self._find_message(call, EDIT_NOT_FOUND)
        return self._edit(
            message,
            text=message.text,
            parse_mode=message.parse_mode,
            reply_markup=call.params.get("reply_markup"),
        )

    def _delete_message(self, call: ApiCall) -> bool:
        message = self._find_message(call, DELETE_NOT_FOUND)
        message.deleted = True
        self._changes.notify()
        return True

    def _answer_callback_query(self, call: ApiCall) -> bool:
        query_id = str(call.params.get("callback_query_id"))
        user = self._callbacks.get(query_id)
        if user is None or query_id in self._answered:  # Telegram takes one answer per query
            raise _ApiError(400, QUERY_INVALID)
        self._answered.add(query_id)
        user.answers.append(call.params)
        self._changes.notify()
        return True

    def _answer_inline_query(self, call: ApiCall) -> bool:
        query_id = str(call.params.get("inline_query_id"))
        if query_id not in self._inline_queries or query_id in self.inline_answers:
            raise _ApiError(400, "Bad Request: QUERY_ID_INVALID")
        self.inline_answers[query_id] = call.params
        self._changes.notify()
        return True

    # -- bot settings --------------------------------------------------------------------------

    def _commands_key(self, call: ApiCall) -> tuple[str, str]:
        return self.scope_key(call.params.get("scope")), call.params.get("language_code") or ""

    def _set_my_commands(self, call: ApiCall) -> bool:
        self.commands[self._commands_key(call)] = list(call.params.get("commands") or [])
        return True

    def _delete_my_commands(self, call: ApiCall) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _set_chat_menu_button(self, call: ApiCall) -> bool:
        button = call.params.get("menu_button") or {"type": "default"}
        self.menu_buttons[_int(call.params.get("chat_id"))] = button
        return True

    def _set_webhook(self, call: ApiCall) -> bool:
        self.webhook_url = call.params.get("url") or None
        self.webhook_secret_token = call.params.get("secret_token")
        if call.params.get("drop_pending_updates"):
            self._drop_pending_updates()
        return True

    def _delete_webhook(self, call: ApiCall) -> bool:
        self.webhook_url = None
        self.webhook_secret_token = None
        if call.params.get("drop_pending_updates"):
            self._drop_pending_updates()
        return True

    def _drop_pending_updates(self) -> None:
        self._updates.clear()
        self._changes.notify()

    def _get_webhook_info(self, call: ApiCall) -> dict[str, Any]:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _get_file(self, call: ApiCall) -> dict[str, Any]:
        file_id = call.params.get("file_id")
        if not isinstance(file_id, str) or file_id not in self.files:
            raise _ApiError(400, WRONG_FILE)
        return {
            "file_id": file_id,
            "file_unique_id": "U" + file_id,
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """A file's bytes, as api.telegram.org/file/bot<token>/<file_path> serves them."""
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def _default_handler(call: ApiCall) -> bool:
    return True


def _error_response(
    error_code: int, description: str, retry_after: int | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=error_code)


async def _read_call(request: web.Request) -> ApiCall:
    """Parse query string and body (urlencoded or multipart, as aiogram sends) into an ApiCall."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    file_names: dict[str, str] = {}
    if request.body_exists:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                file_names[key] = value.filename
            else:
                raw[key] = value
    params = {key: _decode_param(key, value) for key, value in raw.items()}
    # aiogram uploads a file under a random field name and passes "attach://<name>" in the
    # parameter: re-key the upload by the parameter ("photo", "document").
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            field_name = value.removeprefix("attach://")
            if field_name in files:
                files[key] = files.pop(field_name)
                file_names[key] = file_names.pop(field_name)
    return ApiCall(request.match_info["method"], params, files, file_names)


def _decode_param(key: str, value: Any) -> Any:
    if key in _TEXT_PARAMS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _chat_id(call: ApiCall) -> int:
    chat_id = call.params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise _ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(chat_id, int):
        raise _ApiError(400, CHAT_NOT_FOUND)
    return chat_id


def _visible_text(text: str, parse_mode: str | None) -> str:
    return telegram_rules.visible(text, parse_mode)[0]


def _rendered(text: str | None, parse_mode: str | None) -> tuple[str | None, tuple[Any, ...]]:
    """What Telegram compares for "message is not modified": the visible text and its
    entities (a stored text was accepted, so it parses)."""
    if text is None:
        return None, ()
    return telegram_rules.visible(text, parse_mode)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _button_text(button: str | dict[str, Any]) -> str:
    return button if isinstance(button, str) else str(button["text"])


def _inline_rows(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    rows = (markup or {}).get("inline_keyboard")
    return rows if isinstance(rows, list) and any(rows) else []


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (the bot's QR codes and charts); 512x512 if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 512, 512


def _photo_sizes(file_id: str, data: bytes) -> list[dict[str, Any]]:
    """PhotoSize array as Telegram returns it, smallest first: a thumbnail (if the image is
    larger than 90px) and the full size, whose file_id is ``file_id``."""
    width, height = _image_size(data)
    full = {
        "file_id": file_id,
        "file_unique_id": "U" + file_id,
        "width": width,
        "height": height,
        "file_size": len(data),
    }
    longest = max(width, height)
    if longest <= 90:
        return [full]
    thumbnail = {
        "file_id": file_id + "_s",
        "file_unique_id": "U" + file_id + "_s",
        "width": max(1, width * 90 // longest),
        "height": max(1, height * 90 // longest),
        "file_size": max(1, len(data) // 10),
    }
    return [thumbnail, full]
