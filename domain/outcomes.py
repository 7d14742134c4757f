"""What each task button does: the outcome table of the manager's day (method section 3).

`decide` turns a tapped action on a task (or the date or note the manager then typed) into a
`Decision`: what to store (the task's status and outcome, the follow-up tasks with their keys,
due days, shelf lives and meta, or where a snooze moves it) and what the manager sees next (a
menu, a question, the plan, and a short note). It is pure; handlers/tasks.py carries a decision
out with storage, and tests/test_outcomes.py checks every row of the table:

    likes             close done/likes, then offer "call again tomorrow?" (again / nomore)
    again             only on a task closed as "likes": a call-back `callback:<id>:likes` the
                      next working day, meta {likes: true}
    nomore            back to the plan, nothing stored
    notyet, snz       a menu: st1 / st3 / st7 / stdate, or s1h / s3h / stom
    st1, st3, st7     close done/not_yet; call back `callback:<id>` the working day after the
                      start (today + 1, 3, 7), meta {start}
    stdate            ask the start date; with the typed date, as st*
    unsuit            close done/unsuitable, open a case taken by the manager, meeting
                      `meet:<id>` due today
    noans             close done/no_answer; below MAX_CALL_ATTEMPTS a retry `retry:<id>` of the
                      same kind the next working day, meta attempt + 1; at the maximum, no more
    s1h, s3h          snooze until now + 1 h / 3 h
    stom, swk         snooze to the first working day from tomorrow / a week from today
    done, skip        close done/done, skipped/skipped
    note              ask a note; with the typed note, close done/done keeping it
    greet             the birthday greeting at the first respondent moment, close done/greeted

Every action but again and nomore (the likes menu, shown once the task is closed) needs the task
still pending: on a closed one it is GONE, and nothing is stored.

The one non-obvious decision: every date is computed here with the live cadence, including each
follow-up's and a snoozed task's shelf life (`lapses_on`), so storage stores what it is given and
has no default cadence to fall back on.
Action values are the wire codes inside buttons already in chats: never change one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import Enum, StrEnum
from typing import Any, Protocol

from domain.daytime import respondent_moment
from domain.planning import TaskSpec, lapse_for, next_workday, workday_on_or_after
from domain.settings import Cadence


class Action(StrEnum):
    """A task button. The value is what the button carries (`TaskAct.action`): stored data."""

    LIKES = "likes"
    NOT_YET = "notyet"
    UNSUITABLE = "unsuit"
    NO_ANSWER = "noans"
    SNOOZE = "snz"
    DONE = "done"
    NOTE = "note"
    SKIP = "skip"
    SNOOZE_WEEK = "swk"
    GREET = "greet"
    SNOOZE_TOMORROW = "stom"
    START_TOMORROW = "st1"
    START_IN_3_DAYS = "st3"
    START_IN_A_WEEK = "st7"
    START_DATE = "stdate"
    SNOOZE_HOUR = "s1h"
    SNOOZE_3_HOURS = "s3h"
    AGAIN = "again"
    NO_MORE = "nomore"


class Effect(Enum):
    """What the handler does with a decision."""

    BACK = "back"  # back to the plan; nothing stored
    GONE = "gone"  # the task is no longer open: say so, show the plan
    MENU = "menu"  # show the choices of a second step
    ASK = "ask"  # ask for a typed answer
    CLOSE = "close"  # close the task, with its follow-ups, in one transaction
    SNOOZE = "snooze"  # move the task
    OPEN_CASE = "open_case"  # close the call, open a case and an urgent meeting
    GREET = "greet"  # send the greeting (if the contact budget allows) and close the task
    FOLLOW_UP = "follow_up"  # create a task without closing one


class Menu(StrEnum):
    SNOOZE = "snooze"
    NOT_YET = "not_yet"
    LIKES = "likes"  # shown after the task was closed as "likes"


class Question(StrEnum):
    START_DATE = "start_date"
    NOTE = "note"


class Task(Protocol):
    """What the rules read of a task (`storage.tasks.TaskView` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def contact_id(self) -> int | None: ...
    @property
    def manager_id(self) -> int | None: ...
    @property
    def deal_id(self) -> int | None: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...


NoteValue = date | datetime | time | int
"""A value in the manager's note; the view formats it (a date, a moment, an hour, a number)."""


@dataclass(frozen=True, slots=True)
class Decision:
    effect: Effect
    status: str | None = None  # CLOSE, OPEN_CASE, GREET: the task's new status and outcome
    outcome: str | None = None
    follow_ups: tuple[TaskSpec, ...] = ()  # created with the close (or alone, FOLLOW_UP)
    meta: Mapping[str, Any] | None = None  # the follow-ups' meta
    snooze_to: date | None = None  # SNOOZE: the new due day, and the moment for an hour snooze
    snooze_at: datetime | None = None
    lapses_on: date | None = None  # SNOOZE: the shelf life from the new due day
    menu: Menu | None = None  # MENU; with CLOSE, shown instead of the plan once closed
    question: Question | None = None  # ASK
    note: str | None = None  # the typed note kept with the task
    greet_at: datetime | None = None  # GREET: when the greeting goes
    note_key: str | None = None  # what the manager is told (a text key) and its values
    note_args: Mapping[str, NoteValue] = field(default_factory=dict)


START_DAYS = {Action.START_TOMORROW: 1, Action.START_IN_3_DAYS: 3, Action.START_IN_A_WEEK: 7}
SNOOZE_HOURS = {Action.SNOOZE_HOUR: 1, Action.SNOOZE_3_HOURS: 3}
SNOOZE_DAYS = {Action.SNOOZE_TOMORROW: 1, Action.SNOOZE_WEEK: 7}
MENUS = {Action.SNOOZE: Menu.SNOOZE, Action.NOT_YET: Menu.NOT_YET}
CLOSES = {  # outcomes that only close the task: status, outcome, note
    Action.DONE: ("done", "done", "task.done"),
    Action.SKIP: ("skipped", "skipped", "task.skipped"),
}
BACK = Decision(Effect.BACK)
GONE = Decision(Effect.GONE, note_key="task.gone")


def decide(
    action: Action,
    task: Task,
    today: date,
    now: datetime,
    cadence: Cadence,
    tz: tzinfo,
    *,
    start: date | None = None,
    note: str | None = None,
) -> Decision:
    """What `action` on `task` does today. `start` and `note` are what the manager typed after
    "stdate" and "note" (without them, those actions ask for it)."""
    if action is Action.NO_MORE:
        return BACK
    if action is Action.AGAIN:  # the likes menu is shown once the task is closed
        return _again(task, today, cadence)
    if task.status != "pending":
        return GONE
    if action in MENUS:
        return Decision(Effect.MENU, menu=MENUS[action])
    if action in CLOSES:
        status, outcome, key = CLOSES[action]
        return Decision(Effect.CLOSE, status, outcome, note_key=key)
    if action is Action.LIKES:
        return Decision(Effect.CLOSE, "done", "likes", menu=Menu.LIKES)
    if action is Action.NOTE:
        if note is None:
            return Decision(Effect.ASK, question=Question.NOTE)
        return Decision(Effect.CLOSE, "done", "done", note=note, note_key="task.note_saved")
    if action is Action.START_DATE and start is None:
        return Decision(Effect.ASK, question=Question.START_DATE)
    if action is Action.START_DATE or action in START_DAYS:
        day = start if start is not None else today + timedelta(days=START_DAYS[action])
        return _started_on(task, day, cadence)
    if action is Action.UNSUITABLE:
        return _unsuitable(task, today, cadence)
    if action is Action.NO_ANSWER:
        return _no_answer(task, today, cadence)
    if action in SNOOZE_HOURS:
        until = now + timedelta(hours=SNOOZE_HOURS[action])
        return _snooze(task, until.astimezone(tz).date(), until, cadence)
    if action in SNOOZE_DAYS:
        due = workday_on_or_after(today + timedelta(days=SNOOZE_DAYS[action]), cadence)
        return _snooze(task, due, None, cadence)
    if action is Action.GREET:
        return _greet(now, cadence, tz)
    raise ValueError(f"no outcome for {action!r}")  # a new Action without its row


def _owners(task: Task) -> tuple[int, int] | None:
    """The person and manager a follow-up is for (every task made by the rules has both)."""
    if task.contact_id is None or task.manager_id is None:
        return None
    return task.contact_id, task.manager_id


def _call_back(task: Task, key: str, due: date, cadence: Cadence) -> TaskSpec | None:
    owners = _owners(task)
    if owners is None:
        return None
    lapses = lapse_for("call_back", due, cadence)
    return TaskSpec("call_back", key, *owners, due, deal_id=task.deal_id, lapses_on=lapses)


def _again(task: Task, today: date, cadence: Cadence) -> Decision:
    """After "likes it": a call the next working day to ask about the effect."""
    if task.status != "done" or task.outcome != "likes":
        return BACK
    due = next_workday(today, cadence)
    spec = _call_back(task, f"callback:{task.id}:likes", due, cadence)
    if spec is None:
        return BACK
    return Decision(
        Effect.FOLLOW_UP,
        follow_ups=(spec,),
        meta={"likes": True},
        note_key="task.call_back_set",
        note_args={"date": due},
    )


def _started_on(task: Task, start: date, cadence: Cadence) -> Decision:
    """ "Not used yet": call back the working day after the day they said they will start."""
    due = next_workday(start, cadence)
    spec = _call_back(task, f"callback:{task.id}", due, cadence)
    if spec is None:
        return GONE
    return Decision(
        Effect.CLOSE,
        "done",
        "not_yet",
        follow_ups=(spec,),
        meta={"start": start.isoformat()},
        note_key="task.call_back_set",
        note_args={"date": due},
    )


def _unsuitable(task: Task, today: date, cadence: Cadence) -> Decision:
    """ "Not suitable": a case owned by the manager and an urgent meeting today."""
    owners = _owners(task)
    if owners is None:  # a case needs a person
        return GONE
    meet = TaskSpec(
        "meet",
        f"meet:{task.id}",
        *owners,
        today,
        deal_id=task.deal_id,
        lapses_on=lapse_for("meet", today, cadence),
    )
    return Decision(
        Effect.OPEN_CASE, "done", "unsuitable", follow_ups=(meet,), note_key="task.meet_set"
    )


def _no_answer(task: Task, today: date, cadence: Cadence) -> Decision:
    """Try again the next working day, until MAX_CALL_ATTEMPTS calls went unanswered."""
    attempt = int(task.meta.get("attempt", 1))
    if attempt >= cadence.max_call_attempts:
        return Decision(
            Effect.CLOSE,
            "done",
            "no_answer",
            note_key="task.retries_exhausted",
            note_args={"n": attempt},
        )
    owners = _owners(task)
    if owners is None:
        return GONE
    due = next_workday(today, cadence)
    retry = TaskSpec(
        task.kind,
        f"retry:{task.id}",
        *owners,
        due,
        deal_id=task.deal_id,
        lapses_on=lapse_for(task.kind, due, cadence),
    )
    return Decision(
        Effect.CLOSE,
        "done",
        "no_answer",
        follow_ups=(retry,),
        meta={**task.meta, "attempt": attempt + 1},
        note_key="task.retry_set",
        note_args={"date": due},
    )


def _snooze(task: Task, due: date, until: datetime | None, cadence: Cadence) -> Decision:
    return Decision(
        Effect.SNOOZE,
        snooze_to=due,
        snooze_at=until,
        lapses_on=lapse_for(task.kind, due, cadence),
        note_key="task.snoozed",
        note_args={"when": until or due},
    )


def _greet(now: datetime, cadence: Cadence, tz: tzinfo) -> Decision:
    """Tapped at night, the greeting goes when the respondents' daytime begins."""
    goes_at = respondent_moment(now, cadence, tz)
    if goes_at > now:
        key = "task.greet_later"
        args: dict[str, NoteValue] = {
            "when": goes_at,
            "start": cadence.respondent_start,
            "end": cadence.respondent_end,
        }
    else:
        key, args = "task.greeted", {}
    return Decision(Effect.GREET, "done", "greeted", greet_at=goes_at, note_key=key, note_args=args)
