"""Telegram's rules (tests/fakes/telegram_rules.py), and both fakes refusing every bad call.

Each rule is provoked twice, through the in-process `RecordingSession` and through the HTTP
`FakeBotAPI` with a real aiogram client, and its boundary is sent too (accepted), so a rule
can neither be skipped by one fake nor refuse more than Telegram does. The error texts are
TDLib's (td/telegram/MessageEntity.cpp and its tests) behind the Bot API's prefix.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.nps import NpsCounts
from domain.periods import resolve
from domain.roles import StaffMember
from domain.settings import Settings
from storage.stats import ManagerRow
from tests.fakes import recording
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.client import http_bot
from tests.fakes.recording import RecordingSession
from tests.fakes.telegram_rules import (
    BUTTON_DATA_INVALID,
    CANT_PARSE,
    CAPTION_TOO_LONG,
    DEEP_LINK_INVALID,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    HtmlError,
    Span,
    check_call,
    parse_html,
)
from tests.harness import TOKEN
from views.owner import render_managers

ALICE = 1001
HTML = DefaultBotProperties(parse_mode="HTML")
PHOTO_URL = "https://example.com/photo.png"

# --- the parser, against TDLib's own cases --------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("<p>a</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("<b>a<i>b</b></i>", 'Unmatched end tag at byte offset 8, expected "</i>", found "</b>"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>a</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units",
        ),
    ],
)
def test_markup_telegram_refuses(markup: str, error: str) -> None:
    with pytest.raises(HtmlError) as refused:
        parse_html(markup)
    assert str(refused.value) == error


@pytest.mark.parametrize(
    ("markup", "text", "spans"),
    [
        # Only four named entities are decoded; the rest stay as written, and so does a bare "&".
        ("&ge;&lt;&gt;&amp;&quot;&laquo;&#12345678;", '&ge;<>&"&laquo;&#12345678;', ()),
        ("AT&T &#1071;", "AT&T Я", ()),
        ("<B>x</B>", "x", (Span("b", 0, 1),)),
        ("🏟 🏟&lt;<i>🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", (Span("i", 4, 4),)),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st", None),
        ("<u>u</u><ins>i</ins><s>s</s><strike>k</strike><del>d</del><em>e</em>", "uiskde", None),
        ('<a href="https://t.me/x?start=i_abc&amp;x=1">link</a>', "link", None),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", None),
        ("<blockquote expandable>a\nb</blockquote><blockquote>c</blockquote>", "a\nbc", None),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", None),
        ('<tg-time unix="1647531900" format="wDT">22:45</tg-time>', "22:45", None),
    ],
)
def test_markup_telegram_accepts(markup: str, text: str, spans: tuple[Span, ...] | None) -> None:
    parsed, entities = parse_html(markup)
    assert parsed == text
    if spans is not None:
        assert entities == spans


def test_lengths_are_counted_after_entity_parsing() -> None:
    assert check_call("sendMessage", {"text": "&lt;" * 4096, "parse_mode": "HTML"}) is None
    refusal = check_call("sendMessage", {"text": "&lt;" * 4097, "parse_mode": "HTML"})
    assert refusal is not None and refusal.description == TEXT_TOO_LONG
    # without a parse mode the markup is text, and counts
    refusal = check_call("sendMessage", {"text": "<b>" + "я" * 4094 + "</b>"})
    assert refusal is not None and refusal.description == TEXT_TOO_LONG
    # code points, not UTF-16 units: 4096 emoji outside the BMP fit
    assert check_call("sendMessage", {"text": "🏟" * 4096}) is None


# --- both fakes refuse every bad call -------------------------------------------------------

Call = Callable[[Bot], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    name: str
    call: Call
    description: str | None
    """What Telegram answers; None: it accepts the call (the boundary of a rule)."""


def _send(text: str, **kw: Any) -> Call:
    return lambda bot: bot.send_message(ALICE, text, **kw)


def _photo(caption: str) -> Call:
    return lambda bot: bot.send_photo(ALICE, PHOTO_URL, caption=caption)


def _button(**button: Any) -> Call:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="b", **button)]])
    return lambda bot: bot.send_message(ALICE, "кнопка", reply_markup=markup)


async def _edit(bot: Bot) -> Any:
    sent = await bot.send_message(ALICE, "было")
    return await bot.edit_message_text("<p>стало</p>", chat_id=ALICE, message_id=sent.message_id)


LINK = "https://t.me/followup_test_bot?start="
CASES = [
    Case("text over 4096", _send("я" * 4097), TEXT_TOO_LONG),
    Case("text of 4096 in tags", _send("<b>" + "я" * 4096 + "</b>"), None),
    Case("entities count as one", _send("&amp;" * 4096), None),
    Case("text empty after parsing", _send("<b> </b>"), TEXT_EMPTY),
    Case("caption over 1024", _photo("я" * 1025), CAPTION_TOO_LONG),
    Case("caption of 1024", _photo("<i>" + "я" * 1024 + "</i>"), None),
    Case(
        "unknown tag", _send("<p>a</p>"), CANT_PARSE + 'Unsupported start tag "p" at byte offset 0'
    ),
    Case("unescaped <", _send("1 < 2"), CANT_PARSE + 'Unsupported start tag "" at byte offset 2'),
    Case(
        "unclosed tag",
        _send("<b>a"),
        CANT_PARSE + 'Can\'t find end tag corresponding to start tag "b"',
    ),
    Case(
        "misnested tags",
        _send("<b>a<i>b</b></i>"),
        CANT_PARSE + 'Unmatched end tag at byte offset 8, expected "</i>", found "</b>"',
    ),
    Case(
        "bad entity",
        _send("a&#xD800;"),
        CANT_PARSE + "Text contains invalid Unicode characters after decoding HTML entities, "
        "check for unmatched surrogate code units",
    ),
    Case(
        "bad HTML in an edit",
        _edit,
        CANT_PARSE + 'Unsupported start tag "p" at byte offset 0',
    ),
    Case("callback_data over 64 bytes", _button(callback_data="я" * 33), BUTTON_DATA_INVALID),
    Case("callback_data of 64 bytes", _button(callback_data="я" * 32), None),
    Case("deep link over 64", _send(LINK + "a" * 65), DEEP_LINK_INVALID + repr("a" * 65)),
    Case("deep link of 64", _send(LINK + "a_-9" * 16), None),
    Case("deep link bad character", _button(url=LINK + "a.b"), DEEP_LINK_INVALID + "'a.b'"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_the_recording_session_applies_telegram_rules(case: Case) -> None:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=HTML)
    await _expect(case, bot)
    refused = [refusal.description for _, refusal in session.take_refusals()]
    assert refused == ([case.description] if case.description else [])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_the_http_fake_applies_telegram_rules(case: Case) -> None:
    async with FakeBotAPI(TOKEN) as api:
        api.user(ALICE, "Alice")
        bot = http_bot(api.url, TOKEN, default=HTML)
        try:
            await _expect(case, bot)
        finally:
            await bot.session.close()
        refused = [refusal.description for _, refusal in api.take_refusals()]
        assert refused == ([case.description] if case.description else [])


async def _expect(case: Case, bot: Bot) -> None:
    if case.description is None:
        await case.call(bot)
        return
    with pytest.raises(TelegramBadRequest) as error:
        await case.call(bot)
    assert error.value.message == case.description


async def test_a_refusal_the_product_swallowed_still_fails_the_test() -> None:
    """The autouse fixture in conftest reads `recording.SESSIONS`; the HTTP fake checks on exit."""
    session = RecordingSession()
    assert recording.SESSIONS[-1] is session
    bot = Bot(TOKEN, session=session, default=HTML)
    with contextlib.suppress(TelegramBadRequest):  # what careless product code would do
        await bot.send_message(ALICE, "<p>")
    assert recording.unexamined_refusals() == [
        "SendMessage: " + CANT_PARSE + 'Unsupported start tag "p" at byte offset 0'
    ]
    session.take_refusals()
    assert recording.unexamined_refusals() == []

    with pytest.raises(AssertionError, match="Telegram would have refused"):
        async with FakeBotAPI(TOKEN) as api:
            bot = http_bot(api.url, TOKEN, default=HTML)
            try:
                await bot.send_message(ALICE, "<p>")
            except TelegramBadRequest:
                pass
            finally:
                await bot.session.close()


# --- product bugs the rules found -----------------------------------------------------------


def _staff(count: int, name: str) -> tuple[list[StaffMember], list[ManagerRow]]:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    managers = [
        StaffMember(1000 + i, "manager", f"{i:02d} {name}", None, "ru", True, at)
        for i in range(count)
    ]
    rows = [
        ManagerRow(m.user_id, m.full_name, True, 12, 10, 9, NpsCounts(5, 2, 1, 10, 8), 3, 1, 2)
        for m in managers
    ]
    return managers, rows


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_managers_list_is_never_cut_inside_its_markup(lang: str, settings: Settings) -> None:
    """45 managers: the list used to be cut at 3,990 raw characters, which for some name lengths
    fell inside `<b>…</b>` or an `&amp;` and Telegram refused the whole message. Now every page
    holds 15 whole lines, whatever the names, and Telegram takes each."""
    period = resolve("30", datetime(2026, 11, 20).date(), settings.timezone)
    assert period is not None
    for length in range(1, 40):
        name = ("Ли & <Ко> " * 5)[:length]
        managers, rows = _staff(45, name)
        for page in range(3):
            text, _ = render_managers(managers, rows, period, lang, settings, page)
            assert check_call("sendMessage", {"text": text, "parse_mode": "HTML"}) is None, length
            visible, _ = parse_html(text)
            listed = re.findall(r"^(\d+)\. ", visible, re.MULTILINE)
            assert listed == [str(n) for n in range(page * 15 + 1, page * 15 + 16)], length
            assert f"{page + 1}" in visible.splitlines()[-1] and "45" in visible.splitlines()[-1]


def test_a_page_of_huge_figures_shortens_the_names_not_the_lines(settings: Settings) -> None:
    """Figures in the millions make a line longer: the names give way, every line stays."""
    period = resolve("30", datetime(2026, 11, 20).date(), settings.timezone)
    assert period is not None
    managers, rows = _staff(15, "Я" * 39)
    huge = [
        ManagerRow(
            r.user_id,
            r.name,
            True,
            10**12,
            10**12,
            10**12,
            NpsCounts(10**12, 0, 0, 10**12, 10**12),
            10**12,
            10**12,
            10**12,
        )
        for r in rows
    ]
    text, _ = render_managers(managers, huge, period, "ru", settings)
    assert check_call("sendMessage", {"text": text, "parse_mode": "HTML"}) is None
    assert len(re.findall(r"^\d+\. ", parse_html(text)[0], re.MULTILINE)) == 15
    assert "Я" * 39 not in text and "Я" * 9 + "…" in text
