"""A reason (or any long text a person typed) sent whole, in as many messages as it takes.

One decision: the text is escaped first and split after, on whitespace, so no message ends inside
an `&amp;` and each stays within Telegram's 4096 characters; the line breaks the person typed are
kept (the one-line `cut` of the cards is for lists, this is for reading)."""

from __future__ import annotations

import html
import re

from views.texts import t

TEXT_LIMIT = 4096
_WORDS = re.compile(r"\s*\S+\s*|\s+")


def split_escaped(text: str, limit: int = TEXT_LIMIT, first_room: int | None = None) -> list[str]:
    """`text` HTML-escaped in pieces of at most `limit` characters (the first of at most
    `first_room`), cut between words; a word longer than a piece is cut between characters."""
    pieces: list[str] = []
    current = ""
    room = limit if first_room is None else first_room

    def flush() -> None:
        nonlocal current, room
        if current.strip():
            pieces.append(current.strip())
            room = limit
        current = ""

    for word in _WORDS.findall(text):
        escaped = html.escape(word, quote=False)
        if len(current) + len(escaped) <= room:
            current += escaped
            continue
        flush()
        if len(escaped) <= room:
            current = escaped
            continue
        for char in word:  # one word longer than a message: between characters
            one = html.escape(char, quote=False)
            if len(current) + len(one) > room:
                flush()
            current += one
    flush()
    return pieces


def whole_text_messages(lang: str, name: str, date: str, score: int | None, text: str) -> list[str]:
    """The messages that carry `text` whole: a heading naming whose answer it is, then the text."""
    head = t(lang, "whole.head", name=name, date=date, score="—" if score is None else score)
    room = TEXT_LIMIT - len(head) - 2
    pieces = split_escaped(text, TEXT_LIMIT, room) or ["—"]
    return [f"{head}\n\n{pieces[0]}", *pieces[1:]]
