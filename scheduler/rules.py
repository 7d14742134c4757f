"""The follow-up rules as plain functions of (facts, today): no database, no Telegram, no clock.

`plan_contact` gives, for one person, every task their current facts justify (`candidates`, each
with the day it becomes visible, `due_date - HORIZON_DAYS`, and its shelf life `lapses_on`), the
subset that should be pending today (`wanted`) and `next_plan_on`, the first later day on which a
candidate becomes visible. The planner reconciles the stored pending tasks with `wanted`; the
daily run re-plans only the people whose `next_plan_on` has come. Keys carry what a task is
anchored on, so a changed fact gives a new key and the old task is cancelled:

    call:<deal>                     next-day call after a deal recorded in the bot
    offer:<contact>:<anchor>        individual offer; anchor = the last deal or offer it counts from
    bday_lead:<contact>:<birthday>  heads-up BIRTHDAY_LEAD_DAYS before the birthday (YYYY-MM-DD)
    bday:<contact>:<birthday>       the birthday itself
    refresh:<survey>                promoter thank-you REFRESH_AFTER_DAYS after their answer
    passive:<contact>:<deal date>   no deal for PASSIVE_AFTER_DAYS
    resend:<survey>                 link never opened in RESEND_AFTER_DAYS

Tasks made by outcomes (`callback:`, `retry:`, `meet:` keys: call-backs, retries, meetings) are
not the rules' to cancel: a manager asked for them, and the facts that made them (a call that
happened) cannot change. They leave only by being done, by lapsing, or with the person (/forget);
when the person's manager loses access they move, like every pending task, to an owner.

The one non-obvious decision: a task is *not* cancelled because its visibility window passed, only
because its key is no longer among the candidates (the fact behind it is gone). Passing the window
is lapsing, which closes the task as `missed` (its own `lapses_on`, moved by a snooze).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import NamedTuple

from bot.config import Cadence

# Tasks are created this many days ahead, so /week can show what is coming.
HORIZON_DAYS = 7
NEVER = date(9999, 12, 31)

# Keys the rules own (everything else was made by an outcome).
PLANNED_PREFIXES = ("call:", "offer:", "bday_lead:", "bday:", "refresh:", "passive:", "resend:")

# Shelf life per kind: how long after its due day a task is still worth doing. Working days for
# calls (a next-day call a week late is a different conversation), calendar days for the rest.
# A birthday heads-up lapses on the birthday itself (it is computed from the birthday, below).
SHELF_WORKDAYS = {"call": 3, "call_back": 3}
SHELF_DAYS = {
    "birthday": 3,
    "offer": 14,
    "passive": 14,
    "refresh": 14,
    "resend": 7,
    "meet": 10,
}
DEFAULT_SHELF_DAYS = 7
# Facts older than this (a deal, an answer, a link) no longer justify a per-fact task.
FACT_MARGIN_DAYS = 90


def is_planned_key(key: str) -> bool:
    return key.startswith(PLANNED_PREFIXES)


class TaskSpec(NamedTuple):  # named tuples: a daily run builds tens of thousands of these
    kind: str
    idem_key: str
    contact_id: int
    manager_id: int
    due_date: date
    deal_id: int | None = None
    survey_id: int | None = None
    lapses_on: date | None = None  # the last day it is shown; None: the kind's shelf life


class ContactFacts(NamedTuple):
    contact_id: int
    manager_id: int  # who gets the tasks: the contact's manager, or an owner if access was removed
    birthday: tuple[int, int] | None = None  # day, month
    last_deal: date | None = None
    bot_deals: tuple[tuple[int, date], ...] = ()  # deals recorded in the bot: id, date
    last_offer: date | None = None  # when the last offer task was closed (done, skipped, missed)
    promoter_answers: tuple[tuple[int, date], ...] = ()  # survey id, answer date
    unopened_surveys: tuple[tuple[int, date], ...] = ()  # survey id, creation date
    since: date | None = None  # when the contact entered the bot (an import: the import day)
    # the anchor of the offer task still open (e.g. snoozed past its shelf life), if any
    pending_offer: date | None = None


@dataclass
class Plan:
    contact_id: int
    candidates: list[TaskSpec] = field(default_factory=list)  # every key the facts justify
    wanted: list[TaskSpec] = field(default_factory=list)  # those that should be pending today
    next_plan_on: date = NEVER

    @property
    def create(self) -> list[TaskSpec]:  # the name the storage layer has always used
        return self.wanted


def is_workday(day: date, cadence: Cadence) -> bool:
    return day.weekday() in cadence.workdays


def next_workday(day: date, cadence: Cadence) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_workday(day, cadence):
        day += timedelta(days=1)
    return day


def workday_on_or_after(day: date, cadence: Cadence) -> date:
    return day if is_workday(day, cadence) else next_workday(day, cadence)


def birthday_in(day: int, month: int, year: int) -> date:
    """The birthday in a given year; 29.02 falls on 28.02 in other years."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_birthday(day: int, month: int, today: date) -> date:
    this_year = birthday_in(day, month, today.year)
    return this_year if this_year >= today else birthday_in(day, month, today.year + 1)


def offer_offset(contact_id: int, cadence: Cadence) -> int:
    """Days from the anchor to the offer: spread over the allowed window per person (a fixed
    multiplicative hash, so a manager's offers don't all fall on one day and re-planning gives
    the same date)."""
    span = cadence.offer_max_days - cadence.offer_min_days + 1
    return cadence.offer_min_days + (contact_id * 2654435761) % 4294967296 % span


# An imported base brings old purchases whose first offer and passive-client reminder were due
# before the contact even entered the bot; they are spread over this many working days after the
# import instead of all landing in the first morning's plan (a fixed day per person, so
# re-planning does not move them).
CATCH_UP_WORKDAYS = 20


def catch_up_day(contact_id: int, since: date, cadence: Cadence) -> date:
    # through the cached `_add_workdays`: an import plans thousands of people with one `since`
    return add_workdays(
        since, (contact_id * 2246822519) % 4294967296 % CATCH_UP_WORKDAYS + 1, cadence
    )


def add_workdays(day: date, count: int, cadence: Cadence) -> date:
    return _add_workdays(day, count, cadence.workdays)


@lru_cache(maxsize=8192)
def _add_workdays(day: date, count: int, workdays: frozenset[int]) -> date:
    for _ in range(count):
        day += timedelta(days=1)
        while day.weekday() not in workdays:
            day += timedelta(days=1)
    return day


def lapse_for(kind: str, due: date, cadence: Cadence) -> date:
    """The last day a task of this kind due on `due` is still shown (its shelf life)."""
    if kind in SHELF_WORKDAYS:
        return add_workdays(due, SHELF_WORKDAYS[kind], cadence)
    if kind == "birthday_lead":  # lapses on the birthday: the day before it is the last
        return due + timedelta(days=max(cadence.birthday_lead_days - 1, 0))
    return due + timedelta(days=SHELF_DAYS.get(kind, DEFAULT_SHELF_DAYS))


def plan_contact(facts: ContactFacts, today: date, cadence: Cadence) -> Plan:
    plan = Plan(facts.contact_id)

    def add(kind: str, key: str, due: date, lapses: date | None = None, **refs: int | None) -> None:
        lapses = lapses or lapse_for(kind, due, cadence)
        plan.candidates.append(
            TaskSpec(kind, key, facts.contact_id, facts.manager_id, due, lapses_on=lapses, **refs)
        )

    horizon_year = today + timedelta(days=366 + HORIZON_DAYS + cadence.birthday_lead_days)
    # Facts this old can justify nothing pending any more (a task lapses within weeks, even
    # snoozed a few times): they are not candidates, which keeps planning cheap for people with
    # a long history.
    old = today - timedelta(days=FACT_MARGIN_DAYS)

    # 3. The day after the sale: call and ask whether they already use it.
    # (Imported deals are old purchases: they feed offers and passive clients, not calls.)
    for deal_id, deal_date in facts.bot_deals:
        if deal_date >= old:
            due = add_workdays(deal_date, 1, cadence)
            add("call", f"call:{deal_id}", due, deal_id=deal_id)

    # 4. One individual offer every OFFER_MIN–OFFER_MAX days after the last deal or offer.
    last_deal = facts.last_deal
    since = facts.since
    if last_deal is not None:
        last_offer = facts.last_offer
        anchor = max(last_deal, last_offer) if last_offer else last_deal
        offset = offer_offset(facts.contact_id, cadence)
        due = anchor + timedelta(days=offset)
        if last_offer:
            due = max(due, last_offer + timedelta(days=cadence.offer_min_days))
        elif since is not None and due < since:
            # the first offer of an old (imported) purchase, overdue on arrival
            due = catch_up_day(facts.contact_id, since, cadence)
        lapses = lapse_for("offer", due, cadence)
        shelf = (lapses - due).days
        period = max(offset, cadence.offer_min_days) + shelf
        pending = facts.pending_offer
        if pending is not None and pending > anchor:
            # the open offer was made on a rolled-over cycle (below): it stays the candidate
            anchor = pending
            due = anchor + timedelta(days=period - shelf)
            lapses = due + timedelta(days=shelf)
        elif lapses < today and pending != anchor:
            # An offer whose whole shelf life passed unseen (the bot was down) counts as made
            # on its last day: the cycle goes on from there (every `period` days) instead of
            # stopping for good. (An open offer is not rolled over: it lapses as missed.)
            skip = max(0, -(-((today - lapses).days - period) // period))
            anchor = lapses + timedelta(days=skip * period)
            due = anchor + timedelta(days=period - shelf)
            lapses = due + timedelta(days=shelf)
        add("offer", f"offer:{facts.contact_id}:{anchor.isoformat()}", due, lapses)

    # 6. Birthdays: a heads-up to prepare a gift, and the day itself (last year's too: a
    # birthday on 31.12 is still worth a call on 2.01).
    if facts.birthday is not None:
        for year in (today.year - 1, today.year, today.year + 1):
            day = birthday_in(facts.birthday[0], facts.birthday[1], year)
            if day < today - timedelta(days=FACT_MARGIN_DAYS) or day > horizon_year:
                continue  # long past, or beyond the next one: nothing to plan or wait for
            anchor = f"{facts.contact_id}:{day.isoformat()}"
            if cadence.birthday_lead_days:
                lead_day = day - timedelta(days=cadence.birthday_lead_days)
                add("birthday_lead", f"bday_lead:{anchor}", lead_day, day - timedelta(days=1))
            add("birthday", f"bday:{anchor}", day)

    # 9. About six months after a promoter's answer: refresh the emotion.
    for survey_id, answered in facts.promoter_answers:
        due = answered + timedelta(days=cadence.refresh_after_days)
        if due >= old:
            add("refresh", f"refresh:{survey_id}", due, survey_id=survey_id)

    # 5. A client who has not bought for a while stays in touch.
    if last_deal is not None:
        due = last_deal + timedelta(days=cadence.passive_after_days)
        if since is not None and due < since:
            # on the same day as the first offer: one conversation, not two
            due = catch_up_day(facts.contact_id, since, cadence)
        add("passive", f"passive:{facts.contact_id}:{last_deal.isoformat()}", due)

    # 10. A link never opened: the manager resends it.
    for survey_id, created in facts.unopened_surveys:
        due = created + timedelta(days=cadence.resend_after_days)
        if due >= old:
            add("resend", f"resend:{survey_id}", due, survey_id=survey_id)

    for spec in plan.candidates:
        appears = spec.due_date - timedelta(days=HORIZON_DAYS)
        if appears > today:
            plan.next_plan_on = min(plan.next_plan_on, appears)
        elif spec.lapses_on is not None and today <= spec.lapses_on:
            plan.wanted.append(spec)
    return plan


def _work_window(day: date, cadence: Cadence, tz: tzinfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, cadence.work_start, tz),
        datetime.combine(day, cadence.work_end, tz),
    )


def add_working_hours(start: datetime, hours: float, cadence: Cadence, tz: tzinfo) -> datetime:
    """`start` plus so many hours counted only inside working hours on working days."""
    remaining = timedelta(hours=hours)
    moment = start.astimezone(tz)
    day = moment.date()
    while True:
        if is_workday(day, cadence):
            opens, closes = _work_window(day, cadence, tz)
            begin = max(moment, opens)
            if begin < closes:
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
        moment = datetime.combine(day, time(0, 0), tz)


def add_working_days(start: datetime, days: int, cadence: Cadence, tz: tzinfo) -> datetime:
    """The same local time `days` working days later."""
    local = start.astimezone(tz)
    day = local.date()
    for _ in range(days):
        day = next_workday(day, cadence)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tz)
