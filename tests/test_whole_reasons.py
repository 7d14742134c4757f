"""A long answer kept and read whole: the stored reason (and the upgrade that restores those cut
at 1,000), the "📄" buttons of the contact card, and the messages that carry it: escaped, then
split between words into messages Telegram takes."""

from __future__ import annotations

import html
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from storage import Database
from storage.migrations import MIGRATIONS, RESTORED_REASONS
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


async def test_reasons_cut_at_1000_get_their_whole_text_back_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(migrate_to=MIGRATIONS.index(RESTORED_REASONS))  # the schema before it
    at, later = "2026-11-01 10:00:00", "2026-11-01 10:00:05"
    whole = "Долго. " * 400  # 2,800 characters, as the person typed them
    exact = "я" * 1000  # exactly 1,000: never cut
    other = "Другое. " * 300
    rows = [
        # (survey id, stored reason, reason_at, the comment written with it)
        (1, whole[:1000], at, whole),  # cut: restored
        (2, exact, at, exact),  # whole already
        (3, whole[:1000], at, None),  # its comment is gone (erased): left as it is
        (4, other[:1000], later, whole),  # a comment of the same second that is not its text
        (5, None, None, None),  # skipped
    ]
    async with db.transaction() as conn:
        for survey_id, reason, reason_at, comment in rows:
            await conn.execute(
                "INSERT INTO contacts (id, kind, created_at, updated_at) "
                "VALUES (?, 'client', ?, ?)",
                (survey_id, at, at),
            )
            await conn.execute(
                "INSERT INTO surveys (id, token, contact_id, kind, created_at, score, scored_at, "
                "reason, reason_at) VALUES (?, ?, ?, 'client', ?, 3, ?, ?, ?)",
                (survey_id, f"t{survey_id}", survey_id, at, at, reason, reason_at),
            )
            if comment is not None:
                await conn.execute(
                    "INSERT INTO comments (contact_id, source, text, created_at) "
                    "VALUES (?, 'survey', ?, ?)",
                    (survey_id, comment, reason_at),
                )
    await db.close()
    db = Database(path)
    await db.open()
    try:
        async with db.read() as conn:
            found = await (await conn.execute("SELECT reason FROM surveys ORDER BY id")).fetchall()
    finally:
        await db.close()
    assert [r[0] for r in found] == [whole, exact, whole[:1000], other[:1000], None]
