"""Telegram's rules for what a bot may send, checked by both fakes on every call.

The in-process `RecordingSession` and the HTTP `FakeBotAPI` both pass each call's parameters
(JSON-shaped: ``text``, ``caption``, ``parse_mode``, ``reply_markup`` as a dict) to
:func:`check_call`, which answers ``None`` or the :class:`Refusal` Telegram would send. So every
test that drives the bot also checks that Telegram would accept what it sent.

What is checked, as the Bot API documents it (core.telegram.org/bots/api, "Formatting options"
and ``sendMessage``) and as TDLib, which the Bot API server runs, implements it (``parse_html``
and ``decode_html_entity`` in td/telegram/MessageEntity.cpp):

* HTML parse mode: only the documented tags (b/strong, i/em, u/ins, s/strike/del,
  span class="tg-spoiler", tg-spoiler, a, code, pre, blockquote [expandable], tg-emoji,
  tg-time), each closed by its own end tag in order (``</>`` closes the innermost one).
  Errors carry TDLib's text and UTF-8 byte offsets, behind the Bot API's
  ``Bad Request: can't parse entities: ``.
* Entities: ``&lt; &gt; &amp; &quot;`` and numeric ones are decoded; anything else after ``&``
  stays as written (Telegram does not refuse ``AT&T`` or ``&nbsp;``, it shows them literally); a
  numeric entity naming a UTF-16 surrogate is refused.
* Length: text 1-4096 and caption 0-1024 characters *after entity parsing* (tags removed,
  entities decoded, surrounding whitespace trimmed), counted as TDLib's ``utf8_length`` counts:
  Unicode code points, i.e. ``len()`` of a Python str.
* ``callback_data`` of an inline button: 1-64 bytes (UTF-8), else ``BUTTON_DATA_INVALID``.
* Deep links ``t.me/<bot>?start=<payload>`` (in a text, a caption or a URL button): the payload
  must be 1-64 characters of ``A-Za-z0-9_-``. Telegram does not refuse such a message, but the
  link would open the bot without its payload (a plain ``/start``), so the fakes refuse it with
  a description that says it is the fake's rule.
* ``answerInlineQuery``: at most 50 results (``RESULTS_TOO_MUCH``), each with an id of 1-64
  bytes (``RESULT_ID_INVALID``), ids unique (``RESULT_ID_DUPLICATE``); a result's text
  (``input_message_content.message_text``) obeys the text rules above, answered with the
  MTProto-style names inline mode uses (``MESSAGE_EMPTY``, ``MESSAGE_TOO_LONG``); its keyboard
  obeys the keyboard rules, and the results button's ``start_parameter`` the payload rule.
* ``switch_inline_query_chosen_chat`` (the "pick a chat" button) only in a keyboard sent to a
  private chat (a positive chat id): the fake's own rule, stricter than the documented one (which
  excludes channel direct-message chats and business messages): the button types an inline query
  for whoever taps it, and in a group or in an inline result it would be offered to everybody
  who sees the message. Refused with ``BUTTON_TYPE_INVALID`` and a note that it is the fake's.

The one decision worth knowing: a refusal is also *recorded* by each fake (``refusals``) and the
test fixtures fail a test that leaves one unexamined, because product code may catch
``TelegramBadRequest`` and carry on, which would hide the bug the rule is there to find.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DEEP_LINK_PAYLOAD = 64

# Descriptions word for word as the Bot API sends them.
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
CANT_PARSE = "Bad Request: can't parse entities: "
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
# Not a Telegram error (Telegram sends the message; the link just loses its payload).
DEEP_LINK_INVALID = (
    "Fake Bot API rule: a t.me ?start= payload must be 1-64 characters of A-Za-z0-9_-, got "
)
MAX_INLINE_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
RESULTS_TOO_MUCH = "Bad Request: RESULTS_TOO_MUCH"
RESULT_ID_INVALID = "Bad Request: RESULT_ID_INVALID"
RESULT_ID_DUPLICATE = "Bad Request: RESULT_ID_DUPLICATE"
MESSAGE_EMPTY = "Bad Request: MESSAGE_EMPTY"
MESSAGE_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
START_PARAM_INVALID = "Bad Request: START_PARAM_INVALID"
# Telegram's name for a button it does not take there; the rule is the fake's (see above).
CHOSEN_CHAT_PRIVATE_ONLY = (
    "Bad Request: BUTTON_TYPE_INVALID (fake Bot API rule: switch_inline_query_chosen_chat only "
    "in a keyboard sent to a private chat)"
)

_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SPACE = " \t\n\r\f\v"  # TDLib's is_space
_TEXT_METHODS = frozenset({"sendmessage", "editmessagetext"})
_CAPTION_METHODS = frozenset(
    {
        "sendphoto",
        "senddocument",
        "sendvideo",
        "sendaudio",
        "sendvoice",
        "sendanimation",
        "copymessage",
        "editmessagecaption",
    }
)
_DEEP_LINK_RE = re.compile(
    r"(?:https?://)?(?:t\.me|telegram\.me)/[A-Za-z0-9_]+\?start(?:group|app)?=([^\s\"'<>&#]*)",
    re.IGNORECASE,
)
_PAYLOAD_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Refusal:
    """What Telegram answers instead of carrying the call out."""

    error_code: int
    description: str


@dataclass(frozen=True)
class Span:
    """One formatting entity from HTML: its tag, where it is (code points) and its argument."""

    tag: str
    offset: int
    length: int
    argument: str = ""


class HtmlError(ValueError):
    """TDLib's reason for refusing the markup (without the Bot API's prefix)."""


# ------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """(character, index after the entity) for ``&...`` at ``pos``, or None when TDLib keeps the
    ``&`` as an ordinary character."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        code = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end] in "0123456789":
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, tuple[Span, ...]]:
    """The visible text and the entities of ``text`` in HTML parse mode, as Telegram parses it;
    raises :class:`HtmlError` with Telegram's message for markup it refuses."""
    n = len(text)
    out: list[str] = []
    length = 0  # code points written to out
    spans: list[Span] = []
    stack: list[tuple[str, int, str, int]] = []  # tag, offset, argument, start index
    i = 0
    while i < n:
        c = text[i]
        if c == "&" and (decoded := _decode_entity(text, i)) is not None:
            out.append(decoded[0])
            length += 1
            i = decoded[1]
            continue
        if c != "<":
            out.append(c)
            length += 1
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            end_name = text[begin + 2 : i].lower()
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            tag, offset, argument, _start = stack.pop()
            if end_name and end_name != tag:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            if tag == "tg-emoji" and not (argument.isdigit() and int(argument) > 0):
                raise HtmlError("Invalid custom emoji identifier specified")
            if length > offset:
                spans.append(Span(tag, offset, length - offset, argument))
            continue
        while i < n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise HtmlError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attributes, i = _read_attributes(text, begin, i, tag)
        argument = ""
        if tag == "a":
            argument = attributes.get("href", "")
        elif tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise HtmlError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
        elif tag == "code":
            language = attributes.get("class", "")
            argument = (
                language.removeprefix("language-") if language.startswith("language-") else ""
            )
        elif tag == "tg-emoji":
            argument = attributes.get("emoji-id", "")
        elif tag == "blockquote" and "expandable" in attributes:
            argument = "expandable"
        stack.append((tag, length, argument, len(out)))
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    plain = "".join(out)
    if any("\ud800" <= ch <= "\udfff" for ch in plain):
        raise HtmlError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    return plain, tuple(sorted(spans, key=lambda s: (s.offset, -s.length)))


def _read_attributes(text: str, begin: int, i: int, tag: str) -> tuple[dict[str, str], int]:
    """The attributes of the start tag at ``begin`` (its name ends at ``i``), and the index after
    its ``>``."""
    n = len(text)
    attributes: dict[str, str] = {}
    where = _byte_offset(text, begin)
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {where}")
        if text[i] == ">":
            return attributes, i + 1
        name_begin = i
        while i < n and text[i] not in _SPACE and text[i] not in "=>":
            i += 1
        name = text[name_begin:i].lower()
        if not name:
            raise HtmlError(f'Empty attribute name in the tag "{tag}" at byte offset {where}')
        while i < n and text[i] in _SPACE:
            i += 1
        if i < n and text[i] != "=" and tag == "blockquote" and name == "expandable":
            attributes[name] = ""
            continue
        if i >= n or text[i] != "=":
            raise HtmlError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte '
                f"offset {where}"
            )
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {where}')
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            value: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&" and (decoded := _decode_entity(text, i)) is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                    continue
                value.append(text[i])
                i += 1
            if i < n:
                i += 1
            attributes[name] = "".join(value)
        else:
            token_begin = i
            while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                i += 1
            if i < n and text[i] not in _SPACE and text[i] != ">":
                raise HtmlError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
            attributes[name] = text[token_begin:i].lower()
        if i >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {where}")


def is_html(parse_mode: str | None) -> bool:
    return (parse_mode or "").lower() == "html"


def visible(text: str, parse_mode: str | None) -> tuple[str, tuple[Span, ...]]:
    """What the reader sees, and its formatting, for a text Telegram accepted."""
    if not is_html(parse_mode):
        return text, ()
    return parse_html(text)


# ------------------------------------------------------------------------------------------------
# Calls
# ------------------------------------------------------------------------------------------------


def check_text(text: Any, parse_mode: str | None, *, caption: bool = False) -> Refusal | None:
    """Telegram's answer to a message text (or caption) it refuses; None if it accepts it."""
    if text is None and caption:
        return None
    if not isinstance(text, str):
        return Refusal(400, TEXT_EMPTY)
    try:
        plain, _ = visible(text, parse_mode)
    except HtmlError as error:
        return Refusal(400, CANT_PARSE + str(error))
    plain = plain.strip()
    if caption:
        if len(plain) > MAX_CAPTION_LENGTH:
            return Refusal(400, CAPTION_TOO_LONG)
    else:
        if not plain:
            return Refusal(400, TEXT_EMPTY)
        if len(plain) > MAX_TEXT_LENGTH:
            return Refusal(400, TEXT_TOO_LONG)
    return check_deep_links(text)


def check_deep_links(text: str) -> Refusal | None:
    for match in _DEEP_LINK_RE.finditer(text):
        payload = match.group(1)
        if not _PAYLOAD_RE.fullmatch(payload):
            return Refusal(400, DEEP_LINK_INVALID + repr(payload))
    return None


def check_markup(markup: Any, *, private: bool = True) -> Refusal | None:
    """Refusal for an inline keyboard Telegram would not take (callback_data, deep links, the
    chat-picking button outside a private chat: ``private`` says where the keyboard goes)."""
    if not isinstance(markup, Mapping):
        return None
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            if not isinstance(button, Mapping):
                continue
            if not private and button.get("switch_inline_query_chosen_chat") is not None:
                return Refusal(400, CHOSEN_CHAT_PRIVATE_ONLY)
            data = button.get("callback_data")
            if data is not None and not (
                1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                return Refusal(400, BUTTON_DATA_INVALID)
            url = button.get("url")
            if isinstance(url, str) and (refusal := check_deep_links(url)):
                return refusal
    return None


def check_call(method: str, params: Mapping[str, Any]) -> Refusal | None:
    """Telegram's refusal of this call (method name in any case, JSON-shaped parameters), or
    None when Telegram would carry it out as far as these rules go."""
    name = method.lower()
    if name == "answerinlinequery":
        return check_inline_answer(params)
    parse_mode = params.get("parse_mode")
    refusal: Refusal | None = None
    if name in _TEXT_METHODS:
        refusal = check_text(params.get("text"), parse_mode)
    elif name in _CAPTION_METHODS:
        refusal = check_text(params.get("caption"), parse_mode, caption=True)
    return refusal or check_markup(params.get("reply_markup"), private=_private_chat(params))


def _private_chat(params: Mapping[str, Any]) -> bool:
    """Whether the call's message is in a private chat: a positive chat id (groups and channels
    have negative ones, or an ``@name``); an inline message (no chat id) may be anywhere."""
    chat_id = params.get("chat_id")
    if chat_id is None:
        return "inline_message_id" not in params
    if isinstance(chat_id, str):
        return chat_id.isdigit()
    return isinstance(chat_id, int) and chat_id > 0


def check_inline_answer(params: Mapping[str, Any]) -> Refusal | None:
    """Telegram's refusal of an ``answerInlineQuery`` (results, ids, texts, keyboards)."""
    results = params.get("results") or []
    if not isinstance(results, list):
        return Refusal(400, "Bad Request: can't parse inline query results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        return Refusal(400, RESULTS_TOO_MUCH)
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, Mapping):
            return Refusal(400, "Bad Request: can't parse inline query result")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not (
            1 <= len(result_id.encode("utf-8")) <= MAX_RESULT_ID_BYTES
        ):
            return Refusal(400, RESULT_ID_INVALID)
        if result_id in seen:
            return Refusal(400, RESULT_ID_DUPLICATE)
        seen.add(result_id)
        content = result.get("input_message_content")
        if isinstance(content, Mapping) and "message_text" in content:
            refusal = check_text(content.get("message_text"), content.get("parse_mode"))
            if refusal is not None:
                renamed = {TEXT_EMPTY: MESSAGE_EMPTY, TEXT_TOO_LONG: MESSAGE_TOO_LONG}
                return Refusal(400, renamed.get(refusal.description, refusal.description))
        # the message may land in any chat the user picks: not a private-chat keyboard
        refusal = check_markup(result.get("reply_markup"), private=False)
        if refusal is not None:
            return refusal
    button = params.get("button")
    if (
        isinstance(button, Mapping)
        and "start_parameter" in button
        and not _PAYLOAD_RE.fullmatch(str(button["start_parameter"]))
    ):
        return Refusal(400, START_PARAM_INVALID)
    return None
