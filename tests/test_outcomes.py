"""What each task button does: the outcome table (`domain.outcomes.decide`) row by row, the wire
codes the buttons carry, and the live cadence reaching what storage keeps.

Dates are written out by hand (not computed with the helpers under test). Today is Friday
20.11.2026 in Moscow unless a row says otherwise, so "the next working day" crosses a weekend.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import AnswerCallbackQuery

from domain.outcomes import (
    Action,
    Decision,
    Effect,
    Menu,
    Question,
    decide,
)
from domain.planning import TaskSpec
from domain.settings import Cadence, Settings
from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import create_invite, redeem_invite
from storage.tasks import insert_tasks
from tests.conftest import OWNER_ID, make_settings
from tests.harness import Harness, replies
from views.callbacks import TaskAct, TaskOpen

MSK = ZoneInfo("Europe/Moscow")
DEFAULT = Cadence()
SIX_DAYS = Cadence(workdays=frozenset(range(6)))  # Monday to Saturday
SUN_THU = Cadence(workdays=frozenset({6, 0, 1, 2, 3}))
FIVE_TRIES = Cadence(max_call_attempts=5)

WED18, THU19, FRI20, SAT21, SUN22 = (date(2026, 11, d) for d in (18, 19, 20, 21, 22))
MON23, TUE24, WED25, THU26, FRI27 = (date(2026, 11, d) for d in (23, 24, 25, 26, 27))
SAT28, MON30 = date(2026, 11, 28), date(2026, 11, 30)
WED02, THU03, FRI04, MON07 = (date(2026, 12, d) for d in (2, 3, 4, 7))
THU10, FRI11 = date(2026, 12, 10), date(2026, 12, 11)


def msk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MSK).astimezone(UTC)


@dataclass(frozen=True)
class Task:
    """A task as the rules read it (what `storage.tasks.TaskView` has)."""

    id: int = 7
    kind: str = "call"
    status: str = "pending"
    outcome: str | None = None
    contact_id: int | None = 3
    manager_id: int | None = 222
    deal_id: int | None = 5
    meta: Mapping[str, Any] = field(default_factory=dict)


CLOSED_LIKES = Task(status="done", outcome="likes")


def call_back(key: str, due: date, lapses: date) -> TaskSpec:
    return TaskSpec("call_back", key, 3, 222, due, deal_id=5, lapses_on=lapses)


def started(start: date, due: date, lapses: date) -> Decision:
    return Decision(
        Effect.CLOSE,
        "done",
        "not_yet",
        follow_ups=(call_back("callback:7", due, lapses),),
        meta={"start": start.isoformat()},
        note_key="task.call_back_set",
        note_args={"date": due},
    )


def retry(kind: str, due: date, lapses: date, meta: Mapping[str, Any]) -> Decision:
    return Decision(
        Effect.CLOSE,
        "done",
        "no_answer",
        follow_ups=(TaskSpec(kind, "retry:7", 3, 222, due, deal_id=5, lapses_on=lapses),),
        meta=meta,
        note_key="task.retry_set",
        note_args={"date": due},
    )


def exhausted(n: int) -> Decision:
    return Decision(
        Effect.CLOSE, "done", "no_answer", note_key="task.retries_exhausted", note_args={"n": n}
    )


def snoozed(due: date, lapses: date, until: datetime | None = None) -> Decision:
    return Decision(
        Effect.SNOOZE,
        snooze_to=due,
        snooze_at=until,
        lapses_on=lapses,
        note_key="task.snoozed",
        note_args={"when": until or due},
    )


def again(due: date, lapses: date) -> Decision:
    return Decision(
        Effect.FOLLOW_UP,
        follow_ups=(call_back("callback:7:likes", due, lapses),),
        meta={"likes": True},
        note_key="task.call_back_set",
        note_args={"date": due},
    )


BACK = Decision(Effect.BACK)
GONE = Decision(Effect.GONE, note_key="task.gone")
NOON = msk(FRI20, 12)

# action, task, today, now, cadence, typed answer (start / note), the decision
ROWS = [
    pytest.param(
        Action.LIKES, Task(), FRI20, NOON, DEFAULT, {},
        Decision(Effect.CLOSE, "done", "likes", menu=Menu.LIKES),
        id="likes: closes, then asks whether to call again",
    ),
    pytest.param(
        Action.AGAIN, CLOSED_LIKES, FRI20, NOON, DEFAULT, {}, again(MON23, THU26),
        id="again after likes: a call-back on Monday, shown until Thursday",
    ),
    pytest.param(
        Action.AGAIN, CLOSED_LIKES, FRI20, NOON, SIX_DAYS, {}, again(SAT21, WED25),
        id="again in a six-day week: Saturday, shown three working days",
    ),
    pytest.param(
        Action.AGAIN, Task(), FRI20, NOON, DEFAULT, {}, BACK,
        id="again on a task still open: nothing",
    ),
    pytest.param(
        Action.AGAIN, Task(status="done", outcome="done"), FRI20, NOON, DEFAULT, {}, BACK,
        id="again after done, not likes: nothing",
    ),
    pytest.param(
        Action.AGAIN, Task(status="skipped", outcome="skipped"), FRI20, NOON, DEFAULT, {}, BACK,
        id="again after skip: nothing",
    ),
    pytest.param(
        Action.AGAIN, replace(CLOSED_LIKES, contact_id=None), FRI20, NOON, DEFAULT, {}, BACK,
        id="again without a person: nothing",
    ),
    pytest.param(
        Action.NO_MORE, CLOSED_LIKES, FRI20, NOON, DEFAULT, {}, BACK,
        id="nomore: back to the plan",
    ),
    pytest.param(
        Action.NOT_YET, Task(), FRI20, NOON, DEFAULT, {},
        Decision(Effect.MENU, menu=Menu.NOT_YET),
        id="notyet: when will they start",
    ),
    pytest.param(
        Action.SNOOZE, Task(), FRI20, NOON, DEFAULT, {},
        Decision(Effect.MENU, menu=Menu.SNOOZE),
        id="snz: for how long",
    ),
    pytest.param(
        Action.START_TOMORROW, Task(), FRI20, NOON, DEFAULT, {}, started(SAT21, MON23, THU26),
        id="st1: starts Saturday, call Monday",
    ),
    pytest.param(
        Action.START_IN_3_DAYS, Task(), FRI20, NOON, DEFAULT, {}, started(MON23, TUE24, FRI27),
        id="st3: starts Monday, call Tuesday",
    ),
    pytest.param(
        Action.START_IN_A_WEEK, Task(), FRI20, NOON, DEFAULT, {}, started(FRI27, MON30, THU03),
        id="st7: starts next Friday, call the Monday after",
    ),
    pytest.param(
        Action.START_TOMORROW, Task(kind="call_back"), WED18, NOON, DEFAULT, {},
        started(THU19, FRI20, WED25),
        id="st1 midweek: starts Thursday, call Friday, shown past the weekend",
    ),
    pytest.param(
        Action.START_DATE, Task(), FRI20, NOON, DEFAULT, {},
        Decision(Effect.ASK, question=Question.START_DATE),
        id="stdate: asks the date",
    ),
    pytest.param(
        Action.START_DATE, Task(), FRI20, NOON, DEFAULT, {"start": FRI04},
        started(FRI04, MON07, THU10),
        id="stdate typed 04.12 (a Friday): call Monday 07.12",
    ),
    pytest.param(
        Action.START_DATE, Task(), FRI20, NOON, SIX_DAYS, {"start": FRI04},
        started(FRI04, date(2026, 12, 5), date(2026, 12, 9)),
        id="stdate typed, six-day week: call Saturday 05.12",
    ),
    pytest.param(
        Action.UNSUITABLE, Task(), FRI20, NOON, DEFAULT, {},
        Decision(
            Effect.OPEN_CASE,
            "done",
            "unsuitable",
            follow_ups=(TaskSpec("meet", "meet:7", 3, 222, FRI20, deal_id=5, lapses_on=MON30),),
            note_key="task.meet_set",
        ),
        id="unsuit: a case and a meeting today, shown ten days",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(), FRI20, NOON, DEFAULT, {},
        retry("call", MON23, THU26, {"attempt": 2}),
        id="noans, 1st of 3: again on Monday",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(meta={"attempt": 2, "start": "2026-11-19"}), FRI20, NOON,
        DEFAULT, {}, retry("call", MON23, THU26, {"attempt": 3, "start": "2026-11-19"}),
        id="noans, 2nd of 3: again, the meta kept",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(meta={"attempt": 3}), FRI20, NOON, DEFAULT, {}, exhausted(3),
        id="noans, 3rd of 3: no more",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(meta={"attempt": 3}), FRI20, NOON, FIVE_TRIES, {},
        retry("call", MON23, THU26, {"attempt": 4}),
        id="noans, 3rd of 5: again",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(meta={"attempt": 5}), FRI20, NOON, FIVE_TRIES, {}, exhausted(5),
        id="noans, 5th of 5: no more",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(kind="call_back"), THU19, NOON, SUN_THU, {},
        retry("call_back", SUN22, WED25, {"attempt": 2}),
        id="noans on a Thursday, Sunday-Thursday week: again on Sunday",
    ),
    pytest.param(
        Action.NO_ANSWER, Task(kind="passive"), FRI20, NOON, DEFAULT, {},
        retry("passive", MON23, date(2026, 12, 7), {"attempt": 2}),
        id="noans on another kind: the retry keeps the kind and its shelf life",
    ),
    pytest.param(
        Action.SNOOZE_HOUR, Task(), FRI20, msk(FRI20, 10), DEFAULT, {},
        snoozed(FRI20, WED25, msk(FRI20, 11)),
        id="s1h: until 11:00 today",
    ),
    pytest.param(
        Action.SNOOZE_3_HOURS, Task(), FRI20, msk(FRI20, 22, 30), DEFAULT, {},
        snoozed(SAT21, WED25, msk(SAT21, 1, 30)),
        id="s3h at 22:30: until 01:30, Saturday in Moscow (still Friday in UTC)",
    ),
    pytest.param(
        Action.SNOOZE_TOMORROW, Task(), FRI20, NOON, DEFAULT, {}, snoozed(MON23, THU26),
        id="stom on Friday: Monday",
    ),
    pytest.param(
        Action.SNOOZE_TOMORROW, Task(), WED18, NOON, DEFAULT, {}, snoozed(THU19, TUE24),
        id="stom on Wednesday: Thursday, shown until Tuesday",
    ),
    pytest.param(
        Action.SNOOZE_TOMORROW, Task(), FRI20, NOON, SIX_DAYS, {}, snoozed(SAT21, WED25),
        id="stom on Friday, six-day week: Saturday",
    ),
    pytest.param(
        Action.SNOOZE_WEEK, Task(kind="offer"), FRI20, NOON, DEFAULT, {}, snoozed(FRI27, FRI11),
        id="swk: a week on, an offer shown 14 days",
    ),
    pytest.param(
        Action.SNOOZE_WEEK, Task(kind="meet"), SAT21, NOON, DEFAULT, {},
        snoozed(MON30, date(2026, 12, 10)),
        id="swk from a Saturday: the Monday after",
    ),
    pytest.param(
        Action.DONE, Task(), FRI20, NOON, DEFAULT, {},
        Decision(Effect.CLOSE, "done", "done", note_key="task.done"),
        id="done",
    ),
    pytest.param(
        Action.SKIP, Task(), FRI20, NOON, DEFAULT, {},
        Decision(Effect.CLOSE, "skipped", "skipped", note_key="task.skipped"),
        id="skip",
    ),
    pytest.param(
        Action.NOTE, Task(kind="offer"), FRI20, NOON, DEFAULT, {},
        Decision(Effect.ASK, question=Question.NOTE),
        id="note: asks the note",
    ),
    pytest.param(
        Action.NOTE, Task(kind="offer"), FRI20, NOON, DEFAULT, {"note": "Взял каталог"},
        Decision(
            Effect.CLOSE, "done", "done", note="Взял каталог", note_key="task.note_saved"
        ),
        id="note typed: done, with the note",
    ),
    pytest.param(
        Action.GREET, Task(kind="birthday"), FRI20, msk(FRI20, 12), DEFAULT, {},
        Decision(
            Effect.GREET, "done", "greeted", greet_at=msk(FRI20, 12), note_key="task.greeted"
        ),
        id="greet in the daytime: now",
    ),
    pytest.param(
        Action.GREET, Task(kind="birthday"), FRI20, msk(FRI20, 8), DEFAULT, {},
        Decision(
            Effect.GREET,
            "done",
            "greeted",
            greet_at=msk(FRI20, 10),
            note_key="task.greet_later",
            note_args={"when": msk(FRI20, 10), "start": time(10), "end": time(20)},
        ),
        id="greet at 08:00: at 10:00",
    ),
    pytest.param(
        Action.GREET, Task(kind="birthday"), FRI20, msk(FRI20, 21), DEFAULT, {},
        Decision(
            Effect.GREET,
            "done",
            "greeted",
            greet_at=msk(SAT21, 10),
            note_key="task.greet_later",
            note_args={"when": msk(SAT21, 10), "start": time(10), "end": time(20)},
        ),
        id="greet at 21:00: tomorrow at 10:00",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("action", "task", "today", "now", "cadence", "typed", "expected"), ROWS)
def test_outcome_table(
    action: Action,
    task: Task,
    today: date,
    now: datetime,
    cadence: Cadence,
    typed: dict[str, Any],
    expected: Decision,
) -> None:
    assert decide(action, task, today, now, cadence, MSK, **typed) == expected


def test_every_action_has_a_row() -> None:
    assert {row.values[0] for row in ROWS} == set(Action)


@pytest.mark.parametrize("action", sorted(set(Action) - {Action.AGAIN, Action.NO_MORE}))
@pytest.mark.parametrize("status", ["done", "skipped", "cancelled", "missed"])
def test_a_closed_task_is_gone_for_every_outcome(action: Action, status: str) -> None:
    """Only the likes menu (shown once the task is closed) acts on a closed task; a second
    tap or an old card gets "this task is closed" and nothing is stored."""
    task = Task(status=status, outcome="likes")
    assert decide(action, task, FRI20, NOON, DEFAULT, MSK, start=FRI04, note="x") == GONE


@pytest.mark.parametrize(
    "action",
    [
        Action.START_TOMORROW,
        Action.START_IN_3_DAYS,
        Action.START_IN_A_WEEK,
        Action.UNSUITABLE,
        Action.NO_ANSWER,
    ],
)
@pytest.mark.parametrize("missing", ["contact_id", "manager_id"])
def test_a_follow_up_needs_the_person_and_the_manager(action: Action, missing: str) -> None:
    task = replace(Task(), **{missing: None})
    assert decide(action, task, FRI20, NOON, DEFAULT, MSK) == GONE


def test_the_last_try_needs_no_person() -> None:
    """At the maximum nothing follows, so a task without a person still closes."""
    task = Task(contact_id=None, meta={"attempt": 3})
    assert decide(Action.NO_ANSWER, task, FRI20, NOON, DEFAULT, MSK) == exhausted(3)


def test_the_decision_does_not_share_the_tasks_meta() -> None:
    meta = {"attempt": 1}
    decision = decide(Action.NO_ANSWER, Task(meta=meta), FRI20, NOON, DEFAULT, MSK)
    assert decision.meta == {"attempt": 2} and meta == {"attempt": 1}


# --- the wire codes ------------------------------------------------------------------------------

# The codes inside buttons already sent (chats, outbox rows): written out, never derived.
WIRE_CODES = {
    Action.LIKES: "likes",
    Action.NOT_YET: "notyet",
    Action.UNSUITABLE: "unsuit",
    Action.NO_ANSWER: "noans",
    Action.SNOOZE: "snz",
    Action.DONE: "done",
    Action.NOTE: "note",
    Action.SKIP: "skip",
    Action.SNOOZE_WEEK: "swk",
    Action.GREET: "greet",
    Action.SNOOZE_TOMORROW: "stom",
    Action.START_TOMORROW: "st1",
    Action.START_IN_3_DAYS: "st3",
    Action.START_IN_A_WEEK: "st7",
    Action.START_DATE: "stdate",
    Action.SNOOZE_HOUR: "s1h",
    Action.SNOOZE_3_HOURS: "s3h",
    Action.AGAIN: "again",
    Action.NO_MORE: "nomore",
}


def test_every_action_keeps_its_wire_code() -> None:
    assert set(WIRE_CODES) == set(Action)
    for action, code in WIRE_CODES.items():
        data = f"ta:42:{code}:3"
        assert TaskAct(task_id=42, action=action, page=3).pack() == data
        assert TaskAct(task_id=42, action=code, page=3).pack() == data  # type: ignore[arg-type]
        unpacked = TaskAct.unpack(data)
        assert unpacked.action is action and (unpacked.task_id, unpacked.page) == (42, 3)


@pytest.mark.parametrize("data", ["ta:1:LIKES:0", "ta:1:Action.LIKES:0", "ta:1:st2:0", "ta:1::0"])
def test_an_unknown_code_does_not_parse(data: str) -> None:
    with pytest.raises(ValueError):
        TaskAct.unpack(data)


def test_the_rules_import_no_telegram_and_no_sql() -> None:
    root = Path(__file__).resolve().parents[1]
    code = (
        "import json, sys; import domain.outcomes; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert loaded.isdisjoint({"aiogram", "aiosqlite", "sqlite3", "apscheduler", "storage"})


# --- storage keeps what the rules computed with the live cadence -------------------------------

MANAGER_ID = 222


async def test_storage_refuses_a_task_without_its_shelf_life(db: Database) -> None:
    """Storage has no cadence to fall back on: a spec must carry its lapse date."""
    spec = TaskSpec("call_back", "callback:1", 1, MANAGER_ID, MON23)
    with pytest.raises(ValueError, match="callback:1"):
        await db.write(insert_tasks, [spec], NOON)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A six-day week and two tries: every date below differs from the defaults' dates."""
    cadence = Cadence(workdays=frozenset(range(6)), max_call_attempts=2)
    return make_settings(tmp_path, cadence=cadence)


def sale(key: str, name: str, phone: str) -> SaleInput:
    return SaleInput(
        idem_key=key,
        manager_id=MANAGER_ID,
        kind="client",
        full_name=name,
        organization=None,
        phone=phone,
        contact_tg_id=None,
        birthday=None,
        description="Кухонный гарнитур",
        deal_date=THU19,
    )


@pytest.fixture
async def sold(harness: Harness, db: Database) -> AsyncIterator[Harness]:
    """A manager and a sale on Thursday 19.11; the call is due Friday 20.11 (today)."""
    invite = await create_invite(db, OWNER_ID, harness.clock())
    await redeem_invite(db, invite.token, MANAGER_ID, "Пётр Иванов", None, "ru", harness.clock())
    await record_sale(db, sale("k1", "Анна Смирнова", "+79161234567"), harness.clock())
    yield harness


async def rows(db: Database) -> dict[str, tuple[Any, ...]]:
    """The calls, call-backs and meetings by key: kind, status, outcome, due, lapses, meta."""
    async with db.read() as conn:
        found = await conn.execute_fetchall(
            "SELECT idem_key, kind, status, outcome, due_date, lapses_on, meta FROM tasks "
            "WHERE kind IN ('call', 'call_back', 'meet') ORDER BY id"
        )
    return {r[0]: (*r[1:6], json.loads(r[6]) if r[6] else None) for r in found}


async def tap(h: Harness, db: Database, key: str, action: str) -> str | None:
    """Tap `action` on the task with this key; what the manager is told."""
    async with db.read() as conn:
        found = await conn.execute_fetchall("SELECT id FROM tasks WHERE idem_key = ?", (key,))
    data = TaskAct(task_id=found[0][0], action=Action(action)).pack()
    sent = await h.tap(h.user(MANAGER_ID, "Пётр"), data)
    return next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text


async def test_the_owners_cadence_reaches_every_stored_date(sold: Harness, db: Database) -> None:
    """Through the real dispatcher on Friday 20.11 with a six-day week and two tries: each
    follow-up and snooze is stored with the dates that week gives (Saturday, shelf lives
    counted in six-day weeks), where the default week would give Monday and later."""
    h = sold
    assert (await rows(db))["call:1"] == ("call", "pending", None, "2026-11-20", "2026-11-24", None)

    assert await tap(h, db, "call:1", "noans") == "Попробуем снова 21.11.2026."
    assert (await rows(db))["retry:1"] == (
        "call", "pending", None, "2026-11-21", "2026-11-25", {"attempt": 2}
    )  # fmt: skip

    assert await tap(h, db, "retry:1", "stom") == "Отложено до 21.11.2026."
    assert (await rows(db))["retry:1"][3:5] == ("2026-11-21", "2026-11-25")

    assert await tap(h, db, "retry:1", "noans") == (
        "Не удалось дозвониться 2 раза — задача закрыта."
    )
    assert list(await rows(db)) == ["call:1", "retry:1"]  # two tries: no third

    h.clock.now = msk(SAT21, 9)
    assert await tap(h, db, "call:1", "again") is None  # closed as no_answer, not as likes
    assert list(await rows(db)) == ["call:1", "retry:1"]


async def test_a_call_back_and_a_meeting_from_the_card(sold: Harness, db: Database) -> None:
    h = sold
    assert await tap(h, db, "call:1", "st1") == "Перезвоните 23.11.2026: задача в плане."
    call_back = (await rows(db))["callback:1"]  # starts Saturday: call Monday, until Thursday
    assert call_back == (
        "call_back", "pending", None, "2026-11-23", "2026-11-26", {"start": "2026-11-21"}
    )  # fmt: skip

    await record_sale(db, sale("k2", "Борис Орлов", "+79161234568"), h.clock())
    assert await tap(h, db, "call:2", "likes") is None  # the likes menu instead of a note
    assert await tap(h, db, "call:2", "again") == "Перезвоните 21.11.2026: задача в плане."
    likes = [v for k, v in (await rows(db)).items() if k.endswith(":likes")]
    assert likes == [
        ("call_back", "pending", None, "2026-11-21", "2026-11-25", {"likes": True})
    ]  # fmt: skip

    assert await tap(h, db, "callback:1", "unsuit") == (
        "Создана срочная встреча на сегодня и случай №1."
    )
    meets = [v for k, v in (await rows(db)).items() if k.startswith("meet:")]
    assert meets == [("meet", "pending", None, "2026-11-20", "2026-11-30", None)]


async def test_a_typed_note_closes_the_task_once(sold: Harness, db: Database) -> None:
    """ "Done, with a note": the note is asked, kept with the task and among the person's
    comments; typed after the task was closed some other way, it is not kept."""
    h = sold
    user = h.user(MANAGER_ID, "Пётр")
    # keys the planner does not own, so closing one offer re-plans nothing away
    offers = [TaskSpec("offer", f"test:{n}", 1, MANAGER_ID, FRI20, lapses_on=FRI27) for n in (1, 2)]
    await db.write(insert_tasks, offers, NOON)

    async with db.read() as conn:
        first = (await conn.execute_fetchall("SELECT id FROM tasks WHERE idem_key = 'test:1'"))[0]
    card = replies(await h.tap(user, TaskOpen(task_id=first[0]).pack()))[0]
    assert "• 19.11.2026 — Кухонный гарнитур" in card  # what was bought, the view's date
    assert await tap(h, db, "test:1", "note") is None
    sent = await h.send(user, "Взял каталог")
    assert replies(sent)[0] == "Заметка сохранена." and replies(sent)[1].startswith("📋 План")
    async with db.read() as conn:
        kept = await conn.execute_fetchall(
            "SELECT status, outcome, note FROM tasks WHERE idem_key = 'test:1'"
        )
        comments = await conn.execute_fetchall("SELECT text FROM comments")
    assert [tuple(r) for r in kept] == [("done", "done", "Взял каталог")]
    assert [r[0] for r in comments] == ["Взял каталог"]

    assert await tap(h, db, "test:2", "note") is None
    assert await tap(h, db, "test:2", "skip") == "Пропущено."
    sent = await h.send(user, "Отказался")
    assert replies(sent)[0] == "Эта задача уже закрыта."
    async with db.read() as conn:
        kept = await conn.execute_fetchall(
            "SELECT status, outcome, note FROM tasks WHERE idem_key = 'test:2'"
        )
        comments = await conn.execute_fetchall("SELECT text FROM comments")
    assert [tuple(r) for r in kept] == [("skipped", "skipped", None)]
    assert len(comments) == 1
