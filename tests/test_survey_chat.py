"""The survey as the respondent's chat ends up: wrong inputs, typed answers, foreign buttons.

Each test follows one person's chat through the real dispatcher (`tests.helpers.chat`) and
fails if a conversation leaves more than one live set of buttons.
"""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Update

from domain.scrolling import below, scrolled_away
from handlers.survey import typed_consent, typed_score
from storage import Database
from tests.harness import Harness
from tests.helpers.chat import assert_one_live_set, bot_messages, chat_of, describe, tap
from tests.helpers.replay import Crash, crash_on, feed
from tests.helpers.survey import Respondent, setup_sale
from views.texts import t

Q1 = "порекомендуете"


async def surveys(db: Database) -> list[tuple]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT score, reason_at IS NOT NULL, consent FROM surveys")
        return [tuple(r) for r in await cur.fetchall()]


async def test_five_wrong_inputs_leave_a_tidy_chat(harness: Harness, db: Database) -> None:
    """A sticker, a text, a photo-like message and 5,000 characters: one short hint, then
    nothing while the question is in sight; when it has scrolled away it comes down to the
    bottom (the old copy loses its buttons). Before: ten messages for five stickers."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    chat = chat_of(harness, anna.user)
    assert len(bot_messages(chat)) == 2  # greeting, question
    await harness.send_sticker(anna.user)  # 1: the hint
    assert_one_live_set(chat, exactly=True)
    await anna.send("не знаю")  # 2: nothing (told once)
    await anna.send("x" * 5000)  # 3: nothing
    await harness.send_sticker(anna.user)  # 4: nothing, four messages below the question
    texts = [m.text for m in bot_messages(chat)]
    assert len(texts) == 3 and texts[2].startswith("Нажмите оценку"), describe(chat)
    await harness.send_sticker(anna.user)  # 5: scrolled away: asked again below
    messages = bot_messages(chat)
    assert len(messages) == 4, describe(chat)
    assert Q1 in messages[1].text and messages[1].labels == []
    assert Q1 in messages[3].text and len(messages[3].labels) == 11
    assert_one_live_set(chat, exactly=True)
    # the question that came down works as the first did
    await tap(harness, anna.user, chat, "9")
    assert await surveys(db) == [(9, 0, None)]
    assert_one_live_set(chat, exactly=True)


async def test_typed_answers_count_as_taps(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    chat = chat_of(harness, anna.user)
    await anna.send(" 10 ")
    assert await surveys(db) == [(10, 0, None)]
    first = bot_messages(chat)[1]
    assert first.labels == [] and first.text.endswith("Ваша оценка: 10 из 10")
    assert_one_live_set(chat, exactly=True)
    await anna.send("Всё отлично")
    await anna.send("ДА")
    assert await surveys(db) == [(10, 1, 1)]
    consent = [m for m in bot_messages(chat) if m.text.endswith("Связаться можно: Да")]
    assert len(consent) == 1 and consent[0].labels == []
    assert assert_one_live_set(chat) is None
    # a second "10" is not a new answer: the survey is over
    await anna.send("10")
    assert await surveys(db) == [(10, 1, 1)]


async def test_typed_answers_in_english(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness, lang="en")
    await anna.open(payload)
    await anna.send("3")
    await harness.drain()
    await anna.send("Late delivery")
    await anna.send("No")
    assert await surveys(db) == [(3, 1, 0)]
    async with db.read() as conn:
        cases = (await (await conn.execute("SELECT count(*) FROM cases")).fetchone())[0]
    assert cases == 1  # a typed 3 opens a case like a tapped one
    assert assert_one_live_set(chat_of(harness, anna.user)) is None


def test_a_question_is_in_sight_up_to_four_messages_below_it() -> None:
    assert below(10, 11) == 0 and below(10, 15) == 4
    assert not scrolled_away(10, 15)  # four messages below: in sight
    assert scrolled_away(10, 16)  # five: the question comes down
    assert not scrolled_away(10, None)  # a tap on the message itself
    assert scrolled_away(None, 16)  # never known (sent before the upgrade, or lost)


def test_only_unambiguous_text_is_taken() -> None:
    assert [typed_score(t) for t in ("0", "10", " 9 ", "7\n")] == [0, 10, 9, 7]
    for text in ("11", "-1", "9/10", "9.5", "девять", "10 баллов", "", "01"):
        assert typed_score(text) is None, text
    assert [typed_consent(t) for t in ("да", "Да", "НЕТ", "yes", " No ")] == [
        True,
        True,
        False,
        True,
        False,
    ]
    for text in ("да, можно", "ага", "no thanks", "y"):
        assert typed_consent(text) is None, text


async def test_a_button_that_is_not_yours_says_so(harness: Harness, db: Database) -> None:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    q1 = anna.question
    await anna.tap("8", q1)
    # somebody else presses Анна's button (a forwarded message, a forged query)
    boris = harness.user(5002, "Борис")
    for user, data in ((boris, "q1:1:5"), (boris, "q3:1:1"), (boris, "q1:999:5")):
        sent = await harness.tap(user, data)
        (reply,) = [r for r in sent if isinstance(r, AnswerCallbackQuery)]
        assert reply.text == "Эта кнопка не для вас.", data
    # Борис in English
    sent = await harness.tap(harness.user(5003, "Bob", lang="en"), "q1:1:5")
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == [
        "This button is not for you."
    ]
    # Анна's own double tap is a thank-you, truthfully
    sent = await harness.tap(anna.user, "q1:1:3")
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == [
        "Ответ уже записан, спасибо."
    ]
    assert await surveys(db) == [(8, 0, None)]


async def test_a_finished_survey_nobody_answered_for_the_presser(
    harness: Harness, db: Database
) -> None:
    """Анна finished her survey; Борис, who never answered it, presses its consent button."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    await anna.send("9")
    await anna.send("Хорошо")
    await anna.send("нет")
    sent = await harness.tap(harness.user(5002, "Борис"), "q3:1:1")
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == [
        "Эта кнопка не для вас."
    ]
    assert await surveys(db) == [(9, 1, 0)]


async def reasons(db: Database) -> list[tuple]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT score, reason, reason_at IS NOT NULL FROM surveys")
        return [tuple(r) for r in await cur.fetchall()]


@pytest.mark.parametrize("scored", ["typed", "tapped"])
async def test_the_score_typed_twice_is_not_the_reason(
    harness: Harness, db: Database, scored: str
) -> None:
    """ "10" (typed or tapped), then "10" typed at the reason question: the second is the score
    repeated, not a reason (before: stored as the reason, and the consent question followed).
    It gets the question's own short hint; a real reason with digits in it is still a reason."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)
    chat = chat_of(harness, anna.user)
    await (anna.send("10") if scored == "typed" else anna.tap("10"))
    assert await anna.send("10") == [t("ru", "survey.text_expected")]
    assert await reasons(db) == [(10, None, 0)]
    assert await anna.send(" 10 ") == []  # told once while the question is in sight
    assert await reasons(db) == [(10, None, 0)]
    assert_one_live_set(chat, exactly=True)  # the reason question's "Skip", nothing else
    await anna.send("10 из 10, быстро")
    assert await reasons(db) == [(10, "10 из 10, быстро", 1)]
    assert "3 из 3" in bot_messages(chat)[-1].text, describe(chat)


async def test_a_tapped_score_then_another_number_asks_for_words(
    harness: Harness, db: Database
) -> None:
    """A 9 tapped, then "7" typed at the reason question: the score is taken (typing cannot
    change it), so the hint says so and asks for words; the 7 is stored nowhere."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness, lang="en")
    await anna.open(payload)
    await anna.tap("9")
    assert await anna.send("7") == [t("en", "survey.hint_reason_number", score=9)]
    assert await reasons(db) == [(9, None, 0)]
    await anna.send("Fast delivery, 2 days")
    assert await reasons(db) == [(9, "Fast delivery, 2 days", 1)]


async def test_a_typed_score_handled_again_after_a_crash_is_not_the_reason(
    harness: Harness, db: Database
) -> None:
    """The typed "9" was stored and the process died before the second question went out: the
    update handled again finds the person at the reason question, where "9" used to be stored
    as the reason. It is the score: the question goes out once, and nothing is stored."""
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    await anna.open(payload)

    def second_question(method: object) -> bool:
        return isinstance(method, SendMessage) and method.text.startswith("2 из 3")

    crash_on(harness, second_question, delivered=False)
    with pytest.raises(Crash):
        await anna.send("9")
    typed = Update.model_validate(harness.last_update, context={"bot": harness.bot})
    texts = await feed(harness, typed)
    assert len(texts) == 1 and texts[0].startswith("2 из 3"), texts
    assert await reasons(db) == [(9, None, 0)]
    assert await feed(harness, typed) == []
