"""A long answer kept and read whole: the stored reason (and the upgrade that restores those cut
at 1,000), the "📄" buttons of the contact card, and the messages that carry it: escaped, then
split between words into messages Telegram takes."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

from aiogram.methods import AnswerCallbackQuery, SendMessage
from hypothesis import given
from hypothesis import strategies as st

from storage import Database
from storage.migrations import MIGRATIONS, RESTORED_REASONS
from storage.timefmt import ts
from tests.conftest import OWNER_ID
from tests.fakes.telegram_rules import check_call
from tests.harness import Harness, as_message, button_data, buttons
from tests.helpers.cases import add_manager, detractor
from tests.helpers.survey import MANAGER_ID
from views.whole_text import split_escaped, whole_text_messages

OTHER_MANAGER = 333
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


async def test_the_contact_card_opens_a_cut_answer_whole_for_who_may_see_it(
    harness: Harness, db: Database
) -> None:
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await add_manager(db, OTHER_MANAGER, "Мария Козлова", harness.clock())
    await detractor(harness, db)  # Anna, Peter's client: "Сломали дверцу"
    long = "Мастер & <бригада> опоздали.\n" + "Ждали весь день. " * 200
    at = ts(harness.clock() + timedelta(days=1))
    async with db.transaction() as conn:  # her answer about a second purchase, a day later
        await conn.execute(
            "INSERT INTO surveys (id, token, contact_id, manager_id, kind, created_at, score, "
            "scored_at, reason, reason_at) VALUES (2, 't2', 1, ?, 'client', ?, 3, ?, ?, ?)",
            (MANAGER_ID, at, at, long.strip(), at),
        )
    for who in (OWNER_ID, MANAGER_ID):
        card = next(
            r
            for r in await harness.send(harness.user(who, "Сотрудник"), "/find Смирнова")
            if isinstance(r, SendMessage)
        )
        assert "Сломали дверцу" in card.text and "Мастер &amp; &lt;бригада&gt;" in card.text
        # one button: the cut answer's, not the short one's
        assert [text for text, _ in buttons(card) if text.startswith("📄")] == [
            "📄 Ответ 21.11.2026, оценка 3"
        ]
        sent = await harness.tap(
            harness.user(who, "Сотрудник"), button_data(card, "📄 Ответ"), as_message(card)
        )
        messages = [r for r in sent if isinstance(r, SendMessage)]
        assert messages[0].text.startswith("📄 <b>Весь ответ</b> · Анна Смирнова · 21.11.2026")
        body = messages[0].text.split("\n\n", 1)[1] + " " + " ".join(m.text for m in messages[1:])
        assert " ".join(html.unescape(body).split()) == " ".join(long.split())
        assert all(m.chat_id == who and len(m.text) <= 4096 for m in messages)
    # another manager's forged button: refused, nothing sent
    sent = await harness.tap(harness.user(OTHER_MANAGER, "Мария"), "aw:2")
    assert [type(r) for r in sent] == [AnswerCallbackQuery] and sent[0].show_alert
