"""Updates handled again after a crash: recognised, and changing nothing the person already has.

A crash is played by the bot's session raising `Crash` (a BaseException, as the process dying
leaves no handler a chance to run) at a chosen request, before or after Telegram got it; the same
`Update` is then fed again, as Telegram delivers it again after the restart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Update

from handlers.survey import catch_up_waiting
from storage import Database
from storage.updates import Seen, begin_update, prune_updates
from tests.harness import Harness, replies
from tests.helpers.replay import Crash, crash_on, feed
from tests.helpers.survey import Respondent, setup_sale


def is_question(number: str) -> Callable[[TelegramMethod[Any]], bool]:
    return lambda m: isinstance(m, SendMessage) and m.text.startswith(f"{number} из 3")


def reason_update(harness: Harness, anna: Respondent, text: str) -> Update:
    return Update(update_id=next(harness._update_ids), message=harness._msg(anna.user, text=text))


async def at_reason(harness: Harness, db: Database) -> Respondent:
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    await anna.tap("8")
    return anna


async def stored_reasons(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT text FROM comments")).fetchall()
    return [row[0] for row in rows]


async def test_an_update_delivered_again_after_it_was_handled_is_skipped(
    harness: Harness, db: Database
) -> None:
    anna = await at_reason(harness, db)
    update = reason_update(harness, anna, "Дольше ждали доставку")
    assert any("3 из 3" in t for t in await feed(harness, update))
    assert await feed(harness, update) == []
    assert await stored_reasons(db) == ["Дольше ждали доставку"]
    assert await begin_update(db, update.update_id, harness.clock()) is Seen.DONE


@pytest.mark.parametrize("delivered", [False, True], ids=["question-lost", "question-delivered"])
async def test_crash_between_the_answer_and_the_next_question(
    harness: Harness, db: Database, delivered: bool
) -> None:
    anna = await at_reason(harness, db)
    update = reason_update(harness, anna, "Дольше ждали доставку")
    crash_on(harness, is_question("3"), delivered=delivered)
    with pytest.raises(Crash):
        await feed(harness, update)
    # Restarted: the answer is stored, the state already routes to the next question; the same
    # update comes again. No "use the buttons" hint for the person's own answer, the question
    # only if it never went out (a delivered one the bot never learnt of goes out again: no bot
    # can know, and a lost question would leave the person waiting forever).
    texts = await feed(harness, update)
    assert texts == [
        "3 из 3. Можно ли связаться с вами, если у нас будут вопросы о качестве обслуживания?"
    ]
    assert await stored_reasons(db) == ["Дольше ждали доставку"]
    assert await feed(harness, update) == []


async def test_crash_after_the_question_was_noted_repeats_nothing(
    harness: Harness, db: Database
) -> None:
    anna = await at_reason(harness, db)
    update = reason_update(harness, anna, "Дольше ждали доставку")
    assert any("3 из 3" in t for t in await feed(harness, update))
    # the process died after the handler's last write, before the journal noted the end
    async with db.transaction() as conn:
        await conn.execute("UPDATE handled_updates SET done_at = NULL")
    assert await feed(harness, update) == []
    assert await stored_reasons(db) == ["Дольше ждали доставку"]


async def test_a_replayed_tap_answers_quietly_and_catches_up(
    harness: Harness, db: Database
) -> None:
    anna = Respondent(harness)
    await anna.open(await setup_sale(harness, db))
    q1 = anna.question
    assert q1 is not None
    crash_on(harness, is_question("2"), delivered=False)
    with pytest.raises(Crash):
        await anna.tap("9")
    tap = Update.model_validate(harness.last_update, context={"bot": harness.bot})
    # The callback query was answered before the crash: answering it again is refused by
    # Telegram ("query is too old"), which must not turn into "something went wrong".
    texts = await feed(harness, tap)
    assert len(texts) == 1 and texts[0].startswith("2 из 3. Спасибо! Что вы цените")
    assert await feed(harness, tap) == []


async def test_everyone_left_waiting_gets_the_question_once_at_start_up(
    harness: Harness, db: Database
) -> None:
    anna = await at_reason(harness, db)
    update = reason_update(harness, anna, "Дольше ждали доставку")
    crash_on(harness, is_question("3"), delivered=False)
    with pytest.raises(Crash):
        await feed(harness, update)
    before = len(harness.session.requests)
    data = dict(harness.dp.workflow_data)
    await catch_up_waiting(harness.bot, harness.dp, db, data["live_settings"])
    await catch_up_waiting(harness.bot, harness.dp, db, data["live_settings"])  # a second start
    texts = replies(harness.session.requests[before:])
    assert texts == [
        "3 из 3. Можно ли связаться с вами, если у нас будут вопросы о качестве обслуживания?"
    ]
    assert await feed(harness, update) == []  # and the redelivered update adds nothing
    anna.question = harness.sent(anna.user.id)[-1]  # type: ignore[assignment]
    await anna.tap("Нет")  # the person goes on from the question they were sent
    assert harness.last_text(anna.user.id).startswith("Спасибо за ответы")


async def test_the_journal_forgets_old_updates(harness: Harness, db: Database) -> None:
    now = harness.clock()
    await begin_update(db, 1, now - timedelta(days=3))
    await begin_update(db, 2, now)
    assert await prune_updates(db, now) == 1
    assert await begin_update(db, 1, now) is Seen.NEW
    assert await begin_update(db, 2, now) is Seen.INTERRUPTED
