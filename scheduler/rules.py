"""The follow-up rules as plain functions of (facts, today): no database, no Telegram, no clock.

`plan_contact` says which tasks a person needs; the planner stores them with their idempotency
keys, so planning twice, or again after downtime, adds nothing. Keys:

    call:<deal>                next-day call after a deal recorded in the bot
    offer:<contact>:<anchor>   individual offer; anchor = the last deal or offer it counts from
    bday_lead:<contact>:<year> heads-up BIRTHDAY_LEAD_DAYS before the birthday
    bday:<contact>:<year>      the birthday itself
    refresh:<survey>           promoter thank-you REFRESH_AFTER_DAYS after their answer
    passive:<contact>:<deal date>  no deal for PASSIVE_AFTER_DAYS
    resend:<survey>            link never opened in RESEND_AFTER_DAYS
Tasks made by outcomes (call-backs, retries, meetings) get their keys where they are made.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from bot.config import Cadence

# Tasks are created this many days ahead, so /week can show what is coming.
HORIZON_DAYS = 7


@dataclass(frozen=True, slots=True)
class TaskSpec:
    kind: str
    idem_key: str
    contact_id: int
    manager_id: int
    due_date: date
    deal_id: int | None = None
    survey_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContactFacts:
    contact_id: int
    manager_id: int
    birthday: tuple[int, int] | None = None  # day, month
    last_deal: date | None = None
    uncalled_deals: tuple[tuple[int, date], ...] = ()  # deals recorded in the bot, no call yet
    last_offer: date | None = None  # when the last offer task was closed (done or skipped)
    pending_offer_key: str | None = None
    promoter_answers: tuple[tuple[int, date], ...] = ()  # survey id, answer date
    unopened_surveys: tuple[tuple[int, date], ...] = ()  # survey id, creation date
    since: date | None = None  # when the contact entered the bot (an import: the import day)


@dataclass
class Plan:
    create: list[TaskSpec] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # idem keys of pending tasks now obsolete


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
    day = since
    for _ in range((contact_id * 2246822519) % 4294967296 % CATCH_UP_WORKDAYS + 1):
        day = next_workday(day, cadence)
    return day


def plan_contact(facts: ContactFacts, today: date, cadence: Cadence) -> Plan:
    plan = Plan()
    horizon = today + timedelta(days=HORIZON_DAYS)

    def add(kind: str, key: str, due: date, **refs: int | None) -> None:
        plan.create.append(TaskSpec(kind, key, facts.contact_id, facts.manager_id, due, **refs))

    # 3. The day after the sale: call and ask whether they already use it.
    # (Imported deals are old purchases: they feed offers and passive clients, not calls.)
    for deal_id, deal_date in facts.uncalled_deals:
        add("call", f"call:{deal_id}", next_workday(deal_date, cadence), deal_id=deal_id)

    # 4. One individual offer every OFFER_MIN–OFFER_MAX days after the last deal or offer.
    last_deal = facts.last_deal
    since = facts.since
    if last_deal is not None:
        anchor = max(last_deal, facts.last_offer) if facts.last_offer else last_deal
        key = f"offer:{facts.contact_id}:{anchor.isoformat()}"
        if facts.pending_offer_key and facts.pending_offer_key != key:
            plan.cancel.append(facts.pending_offer_key)  # a newer deal restarts the cycle
        due = anchor + timedelta(days=offer_offset(facts.contact_id, cadence))
        if facts.last_offer:
            due = max(due, facts.last_offer + timedelta(days=cadence.offer_min_days))
        elif since is not None and due < since:
            # the first offer of an old (imported) purchase, overdue on arrival
            due = catch_up_day(facts.contact_id, since, cadence)
        if due <= horizon and facts.pending_offer_key != key:
            add("offer", key, due)

    # 6. Birthdays: a heads-up to prepare a gift, and the day itself.
    if facts.birthday is not None:
        upcoming = next_birthday(facts.birthday[0], facts.birthday[1], today)
        lead_day = upcoming - timedelta(days=cadence.birthday_lead_days)
        if cadence.birthday_lead_days and lead_day <= horizon and today < upcoming:
            add("birthday_lead", f"bday_lead:{facts.contact_id}:{upcoming.year}", lead_day)
        if upcoming <= horizon:
            add("birthday", f"bday:{facts.contact_id}:{upcoming.year}", upcoming)

    # 9. About six months after a promoter's answer: refresh the emotion.
    for survey_id, answered in facts.promoter_answers:
        due = answered + timedelta(days=cadence.refresh_after_days)
        if due <= horizon:
            add("refresh", f"refresh:{survey_id}", due, survey_id=survey_id)

    # 5. A client who has not bought for a while stays in touch.
    if last_deal is not None:
        due = last_deal + timedelta(days=cadence.passive_after_days)
        if since is not None and due < since:
            # on the same day as the first offer: one conversation, not two
            due = catch_up_day(facts.contact_id, since, cadence)
        if due <= horizon:
            add("passive", f"passive:{facts.contact_id}:{last_deal.isoformat()}", due)

    # 10. A link never opened: the manager resends it.
    for survey_id, created in facts.unopened_surveys:
        due = created + timedelta(days=cadence.resend_after_days)
        if due <= horizon:
            add("resend", f"resend:{survey_id}", due, survey_id=survey_id)
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
