"""The follow-up rules as pure functions: working days, birthdays, offers, the plan per person."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Cadence
from scheduler.rules import (
    ContactFacts,
    add_working_days,
    add_working_hours,
    birthday_in,
    next_birthday,
    next_workday,
    offer_offset,
    plan_contact,
    workday_on_or_after,
)

CAD = Cadence()
MSK = ZoneInfo("Europe/Moscow")
FRI = date(2026, 11, 20)


def keys(facts: ContactFacts, today: date, cadence: Cadence = CAD) -> dict[str, date]:
    return {spec.idem_key: spec.due_date for spec in plan_contact(facts, today, cadence).create}


def test_working_days() -> None:
    assert next_workday(FRI, CAD) == date(2026, 11, 23)  # Friday → Monday
    assert next_workday(date(2026, 11, 21), CAD) == date(2026, 11, 23)  # Saturday → Monday
    assert next_workday(date(2026, 11, 23), CAD) == date(2026, 11, 24)
    assert workday_on_or_after(date(2026, 11, 22), CAD) == date(2026, 11, 23)
    six_days = Cadence(workdays=frozenset(range(6)))
    assert next_workday(FRI, six_days) == date(2026, 11, 21)


def test_birthdays_and_leap_day() -> None:
    assert birthday_in(29, 2, 2027) == date(2027, 2, 28)
    assert birthday_in(29, 2, 2028) == date(2028, 2, 29)
    assert next_birthday(29, 2, date(2027, 3, 1)) == date(2028, 2, 29)
    assert next_birthday(20, 11, FRI) == FRI  # today counts
    assert next_birthday(19, 11, FRI) == date(2027, 11, 19)


def test_offer_offsets_are_in_the_window_and_spread() -> None:
    offsets = [offer_offset(contact_id, CAD) for contact_id in range(1, 1001)]
    assert min(offsets) >= 30 and max(offsets) <= 60
    busiest_day = Counter(offsets).most_common(1)[0][1]
    assert busiest_day < 60  # 1,000 people over 31 days: no day gets a pile
    assert offer_offset(42, CAD) == offer_offset(42, CAD)  # stable across re-planning


def test_next_day_call_only_for_deals_made_in_the_bot() -> None:
    facts = ContactFacts(contact_id=1, manager_id=7, last_deal=FRI, uncalled_deals=((10, FRI),))
    plan = keys(facts, FRI)
    assert plan["call:10"] == date(2026, 11, 23)
    imported = ContactFacts(contact_id=1, manager_id=7, last_deal=FRI)
    assert not any(k.startswith("call:") for k in keys(imported, FRI))


def test_offer_is_planned_a_week_ahead_and_never_closer_than_the_minimum() -> None:
    facts = ContactFacts(contact_id=5, manager_id=7, last_deal=FRI)
    due = FRI + timedelta(days=offer_offset(5, CAD))
    assert not any(k.startswith("offer:") for k in keys(facts, FRI))  # beyond the horizon
    plan = keys(facts, due - timedelta(days=7))
    assert plan[f"offer:5:{FRI.isoformat()}"] == due
    # the last offer was made late: the next is at least OFFER_MIN_DAYS after it
    late = due + timedelta(days=20)
    after_offer = ContactFacts(contact_id=5, manager_id=7, last_deal=FRI, last_offer=late)
    next_due = next(
        d for k, d in keys(after_offer, late + timedelta(days=60)).items() if k.startswith("offer")
    )
    assert next_due - late >= timedelta(days=30)


def test_a_new_deal_restarts_the_offer_cycle() -> None:
    old_key = f"offer:5:{FRI.isoformat()}"
    newer = FRI + timedelta(days=10)
    facts = ContactFacts(contact_id=5, manager_id=7, last_deal=newer, pending_offer_key=old_key)
    plan = plan_contact(facts, newer, CAD)
    assert plan.cancel == [old_key]


def test_birthday_heads_up_and_day() -> None:
    facts = ContactFacts(contact_id=3, manager_id=7, birthday=(29, 2))
    plan = keys(facts, date(2027, 2, 21))
    assert plan == {"bday_lead:3:2027": date(2027, 2, 25), "bday:3:2027": date(2027, 2, 28)}
    assert keys(facts, date(2027, 2, 1)) == {}
    # on the day itself a heads-up is pointless
    assert keys(facts, date(2027, 2, 28)) == {"bday:3:2027": date(2027, 2, 28)}


def test_refresh_passive_and_resend() -> None:
    answered = date(2026, 6, 1)
    facts = ContactFacts(
        contact_id=4,
        manager_id=7,
        last_deal=date(2026, 5, 25),
        promoter_answers=((99, answered),),
        unopened_surveys=((100, date(2026, 11, 17)),),
    )
    plan = keys(facts, date(2026, 11, 22))
    assert plan["refresh:99"] == answered + timedelta(days=180)
    assert plan["passive:4:2026-05-25"] == date(2026, 5, 25) + timedelta(days=180)
    assert plan["resend:100"] == date(2026, 11, 20)


def test_working_hours() -> None:
    friday_4pm = datetime(2026, 11, 20, 16, 0, tzinfo=MSK)
    # 2 hours on Friday (until 18:00), 2 more on Monday from 09:00
    assert add_working_hours(friday_4pm, 4, CAD, MSK) == datetime(2026, 11, 23, 11, 0, tzinfo=MSK)
    night = datetime(2026, 11, 23, 2, 0, tzinfo=MSK)
    assert add_working_hours(night, 4, CAD, MSK) == datetime(2026, 11, 23, 13, 0, tzinfo=MSK)
    assert add_working_days(friday_4pm, 2, CAD, MSK) == datetime(2026, 11, 24, 16, 0, tzinfo=MSK)


def test_old_purchases_get_their_first_offer_spread_after_the_import() -> None:
    # Imported on FRI with a purchase from 2024: the first offer and the passive reminder are
    # long overdue; they come together on one day of the 30 after the import, fixed per person.
    days = set()
    for contact_id in range(1, 201):
        facts = ContactFacts(contact_id, 7, last_deal=date(2024, 3, 1), since=FRI)
        due = {}
        for today in (FRI + timedelta(days=n) for n in range(35)):
            for key, day in keys(facts, today).items():
                due.setdefault(key.split(":")[0], day)
        assert due["offer"] == due["passive"]
        assert FRI < due["offer"] < FRI + timedelta(days=30)
        assert due["offer"].weekday() < 5
        days.add(due["offer"])
    assert len(days) == 20  # spread over the next 20 working days
    # A deal recorded in the bot is not touched: its offer is 30–60 days after the deal.
    fresh = ContactFacts(5, 7, last_deal=FRI, since=FRI)
    offer = next(v for k, v in keys(fresh, FRI + timedelta(days=60)).items() if "offer" in k)
    assert offer == FRI + timedelta(days=offer_offset(5, CAD))


def test_a_due_date_after_the_contact_arrived_is_never_moved() -> None:
    short = Cadence(offer_min_days=7, offer_max_days=7)
    for contact_id in range(1, 50):
        facts = ContactFacts(contact_id, 7, last_deal=FRI, since=FRI)
        offer = [v for k, v in keys(facts, FRI + timedelta(days=7), short).items() if "offer" in k]
        assert offer == [FRI + timedelta(days=7)]
