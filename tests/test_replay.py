"""Updates handled again after a crash: recognised, and changing nothing the person already has.

A crash is played by the bot's session raising `Crash` (a BaseException, as the process dying
leaves no handler a chance to run) at a chosen request, before or after Telegram got it; the same
`Update` is then fed again, as Telegram delivers it again after the restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Update

from handlers.survey import catch_up_waiting
from storage import Database
from storage.migrations import MIGRATIONS, UPDATE_INBOX
from storage.updates import (
    Incoming,
    Seen,
    begin_update,
    finish_update,
    prune_updates,
    store_updates,
    take_leftovers,
    unfinished,
)
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


def _rows(db: Database) -> dict[int, tuple[bool, bool, bool]]:
    """update id → (begun, finished, payload kept)."""
    with sqlite3.connect(db.path) as conn:
        return {
            row[0]: (row[1] is not None, row[2] is not None, row[3] is not None)
            for row in conn.execute(
                "SELECT update_id, started_at, done_at, payload FROM handled_updates"
            )
        }


async def test_the_inbox_tells_apart_new_stored_finished_and_interrupted(
    harness: Harness, db: Database
) -> None:
    now = harness.clock()
    await begin_update(db, 1, now)  # a webhook's update, begun and interrupted
    await begin_update(db, 2, now)
    await finish_update(db, 2, now)  # finished
    taken = await store_updates(
        db,
        [
            Incoming(1, '{"update_id": 1}', False),  # delivered again: a replay
            Incoming(2, '{"update_id": 2}', False),  # delivered again: finished, skipped
            Incoming(3, '{"update_id": 3}', True),  # new, starts at once
            Incoming(4, '{"update_id": 4}', False),  # new, waits behind its person
        ],
        now,
    )
    assert taken == {1: Seen.INTERRUPTED, 3: Seen.NEW, 4: Seen.NEW}
    assert _rows(db) == {
        1: (True, False, True),
        2: (True, True, False),
        3: (True, False, True),
        4: (False, False, True),
    }
    # stored again (a crash before the next getUpdates confirmed them): all in hand, none taken
    assert await store_updates(db, [Incoming(3, "{}", False), Incoming(4, "{}", False)], now) == {}
    assert [(s.update_id, s.begun) for s in await unfinished(db)] == [
        (1, True),
        (3, True),
        (4, False),
    ]
    # finishing one notes the next begun in the same write, and drops its payload
    await finish_update(db, 3, now, begin=[4])
    assert _rows(db)[3] == (True, True, False) and _rows(db)[4] == (True, False, True)
    # stored but never begun is new to a webhook too (the mode changed in between)
    await store_updates(db, [Incoming(5, '{"update_id": 5}', False)], now)
    assert await begin_update(db, 5, now) is Seen.NEW
    assert await begin_update(db, 5, now) is Seen.INTERRUPTED


async def test_pruning_keeps_what_is_still_to_be_handled(harness: Harness, db: Database) -> None:
    now = harness.clock()
    old = now - timedelta(days=3)
    await store_updates(db, [Incoming(1, "{}", True), Incoming(2, "{}", False)], old)
    await finish_update(db, 1, old)
    await begin_update(db, 3, old)  # a webhook's, never finished: Telegram gave up on it
    assert await prune_updates(db, now) == 2
    assert set(_rows(db)) == {2}


async def test_a_journal_write_never_wakes_the_loop(harness: Harness, db: Database) -> None:
    """begin, store and finish run in the loop's own thread (storage/db.py), with the planner
    attached as in production: no hop to a thread and back, not one wake-up."""
    assert db._planner is not None
    await begin_update(db, 999, harness.clock())  # the planner's triggers made at the first write
    loop = asyncio.get_running_loop()
    calls = 0
    original = loop.call_soon_threadsafe

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    now = harness.clock()
    counts = []
    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        for write in (
            lambda: begin_update(db, 1, now),
            lambda: begin_update(db, 1, now),  # seen before: an insert and a read, one hop
            lambda: store_updates(db, [Incoming(n, "{}", n == 2) for n in range(2, 40)], now),
            lambda: finish_update(db, 2, now, begin=[3]),
        ):
            calls = 0
            await write()
            counts.append(calls)
    finally:
        loop.call_soon_threadsafe = original  # type: ignore[method-assign]
    assert counts == [0, 0, 0, 0]


async def test_the_migration_keeps_the_journal_and_a_redelivery_is_a_replay(
    tmp_path: Path,
) -> None:
    """A database whose journal was written before the inbox: an update interrupted then (no
    payload kept) and delivered again by Telegram is handled as a replay, a finished one skipped."""
    path = tmp_path / "old.sqlite3"
    before = Database(path)
    await before.open(migrate_to=MIGRATIONS.index(UPDATE_INBOX))
    async with before.transaction() as conn:
        await conn.execute(
            "INSERT INTO handled_updates (update_id, started_at, done_at) VALUES "
            "(7, '2026-11-20 07:00:00', NULL), (8, '2026-11-20 07:00:00', '2026-11-20 07:00:01')"
        )
    await before.close()
    db = Database(path)
    await db.open()
    try:
        assert _rows(db) == {7: (True, False, False), 8: (True, True, False)}
        now = datetime(2026, 11, 20, 7, 1, tzinfo=UTC)
        taken = await store_updates(db, [Incoming(7, "{}", False), Incoming(8, "{}", False)], now)
        assert taken == {7: Seen.INTERRUPTED}
        assert await prune_updates(db, now + timedelta(days=3)) == 1  # the finished one
    finally:
        await db.close()


async def test_storing_a_batch_goes_ahead_of_the_handlers_waiting_writes(db: Database) -> None:
    """Every update of a batch waits for its store: it must not queue behind fifty handlers."""
    now = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    order: list[str] = []
    async with db.transaction():  # a handler holds the lock
        handlers = [
            asyncio.create_task(db.write(lambda conn: conn.execute("SELECT 1").fetchone()))
            for _ in range(3)
        ]
        for task in handlers:
            task.add_done_callback(lambda _: order.append("handler"))
        await asyncio.sleep(0)
        storing = asyncio.create_task(store_updates(db, [Incoming(1, "{}", True)], now))
        storing.add_done_callback(lambda _: order.append("store"))
        await asyncio.sleep(0)
    await asyncio.gather(storing, *handlers)
    assert order == ["store", "handler", "handler", "handler"]


async def test_an_update_that_never_finishes_is_given_up_at_its_third_start(db: Database) -> None:
    """A stored update that crashes the process every time would crash-loop the bot; one older
    than Telegram keeps an update is no news either. Both are given up, payload dropped."""
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    await store_updates(
        db,
        [
            Incoming(1, '{"update_id": 1}', True),  # begun: crashes every start
            Incoming(2, '{"update_id": 2}', False),  # stored, never begun: not an attempt
        ],
        now,
    )
    for start in (1, 2):
        stored, given_up = await take_leftovers(db, now)
        assert ([s.update_id for s in stored], given_up) == ([1, 2], []), start
    stored, given_up = await take_leftovers(db, now)
    assert ([s.update_id for s in stored], given_up) == ([2], [1])
    assert _rows(db)[1] == (True, True, False)  # finished, payload gone
    # a day later the never-begun one is stale
    stored, given_up = await take_leftovers(db, now + timedelta(days=1, minutes=1))
    assert (stored, given_up) == ([], [2])
    assert _rows(db)[2] == (True, True, False)
