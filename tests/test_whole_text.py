"""A long answer sent whole: escaped, then split between words into messages Telegram takes."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.telegram_rules import check_call
from views.whole_text import split_escaped, whole_text_messages

alphabet = st.sampled_from(["a", "я", "&", "<", ">", " ", "\n", "ё", '"', "'"])


@given(text=st.text(alphabet, max_size=400), limit=st.integers(8, 60))
def test_pieces_fit_and_hold_the_whole_text(text: str, limit: int) -> None:
    pieces = split_escaped(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    # each piece stands alone: no entity is split between two messages
    assert all(html.escape(html.unescape(p), quote=False) == p for p in pieces)
    words = "".join(html.unescape(p) for p in pieces)
    assert "".join(words.split()) == "".join(text.split())  # every character, in order


def test_words_are_kept_whole_and_a_giant_word_is_cut() -> None:
    assert split_escaped("один два три", 8) == ["один", "два три"]
    assert split_escaped("&&&&&", 10) == ["&amp;&amp;", "&amp;&amp;", "&amp;"]
    assert split_escaped("   \n ", 10) == []


def test_the_messages_of_a_4096_character_answer_are_each_accepted() -> None:
    text = ("<b>не тег</b> & " * 300)[:4096]
    messages = whole_text_messages("ru", "Анна", "01.03.2026", 3, text)
    assert len(messages) == 3  # escaping makes it longer than one message
    for message in messages:
        assert check_call("sendMessage", {"text": message, "parse_mode": "HTML"}) is None
    assert messages[0].startswith("📄 <b>Весь ответ</b> · Анна · 01.03.2026 · оценка 3\n\n")
