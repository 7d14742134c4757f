"""Logging: one line per event, `time level module [context] message`; never a secret or a phone.

The context is what the line is about: `update 123` for anything logged while an update is
handled (set by `bot.dispatching.Dispatcher.feed_update`, error handler included), `outbox 45`
for the sender's row, `tick` for the follow-up run, `-` otherwise. It lives in a contextvar,
so concurrent updates never see each other's id.

Redaction sits on the handler, so it covers every logger in the process (aiohttp or aiogram may put
a Bot API URL, which holds the token, into an error message). Phone numbers are masked down to
their last two digits. The rule has to tell phones from ids, which are digits too: a number is
treated as a phone when it starts with `+` and has 7-15 digits (E.164 and international
formats), when it is written with separators (space, `-`, brackets) and has 10-11 digits
(`8 (912) 345-67-89`, `912 345-67-89`) and is not followed by `:` (a time after a date), or when
it is a bare run of exactly 11 digits starting with 7 or 8 (a Russian number, `89123456789`).
Bare runs of other lengths stay: update, user, chat and message ids are at most 10 digits today,
a supergroup id is `-100` and 10 digits. An ISO date (`2026-11-20 07:00`) is never a phone.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from domain.log_context import current_context

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"

# A candidate: digits with separators in between, optionally led by "+"; not glued to letters,
# digits or a preceding "+"/"-" (a negative chat id is an id).
_NUMBER_RE = re.compile(r"(?<![\w+\-])\+?\d(?:[ \-()]*\d)*(?![\w])")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        phone = 7 <= len(digits) <= 15
    elif text.isdigit():
        phone = len(digits) == 11 and text[0] in "78"
    else:
        following = match.string[match.end() : match.end() + 1]
        phone = 10 <= len(digits) <= 11 and following != ":" and not _ISO_DATE_RE.search(text)
    return f"<phone ..{digits[-2:]}>" if phone else text


def redact_phones(text: str) -> str:
    return _NUMBER_RE.sub(_mask_phone, text)


class RedactingFilter(logging.Filter):
    """Masks the given secrets and phone numbers in the message, its args and the traceback."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return redact_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        record.context = current_context()
        return True


class OneLineFormatter(logging.Formatter):
    """A traceback (or a message with newlines) is folded with " | ": one event, one line."""

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "context"):
            record.context = current_context()
        return super().format(record).replace("\r\n", " | ").replace("\n", " | ")


def build_handler(secrets: list[str], stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(RedactingFilter(secrets))
    return handler


def setup_logging(level: str, secrets: list[str]) -> None:
    root = logging.getLogger()
    root.handlers[:] = [build_handler(secrets)]
    root.setLevel(level)
    # aiosqlite logs every statement with its parameters at DEBUG: stored secrets (a CRM's
    # webhook URL and token) would reach the log with LOG_LEVEL=DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
