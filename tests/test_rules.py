"""The follow-up rules as pure functions: working days, birthdays, offers, the plan per person."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.planning import (
    NEVER,
    ContactFacts,
    add_working_days,
    add_working_hours,
    birthday_in,
    lapse_for,
    next_birthday,
    next_workday,
    offer_offset,
    plan_contact,
    workday_on_or_after,
)
from domain.settings import Cadence

CAD = Cadence()
MSK = ZoneInfo("Europe/Moscow")
FRI = date(2026, 11, 20)


def keys(facts: ContactFacts, today: date, cadence: Cadence = CAD) -> dict[str, date]:
    return {spec.idem_key: spec.due_date for spec in plan_contact(facts, today, cadence).wanted}


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
    facts = ContactFacts(contact_id=1, manager_id=7, last_deal=FRI, bot_deals=((10, FRI),))
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
    facts = ContactFacts(contact_id=5, manager_id=7, last_deal=newer)
    candidates = {spec.idem_key for spec in plan_contact(facts, newer, CAD).candidates}
    # the old offer's key is no longer justified by the facts: the planner cancels it
    assert old_key not in candidates and f"offer:5:{newer.isoformat()}" in candidates


def test_birthday_heads_up_and_day() -> None:
    facts = ContactFacts(contact_id=3, manager_id=7, birthday=(29, 2))
    plan = keys(facts, date(2027, 2, 21))
    assert plan == {
        "bday_lead:3:2027-02-28": date(2027, 2, 25),
        "bday:3:2027-02-28": date(2027, 2, 28),
    }
    assert keys(facts, date(2027, 2, 1)) == {}
    # on the day itself a heads-up is pointless
    assert keys(facts, date(2027, 2, 28)) == {"bday:3:2027-02-28": date(2027, 2, 28)}
    # the key carries the date: a corrected birthday is a different task
    moved = ContactFacts(contact_id=3, manager_id=7, birthday=(3, 3))
    assert set(keys(moved, date(2027, 2, 26))) == {"bday_lead:3:2027-03-03", "bday:3:2027-03-03"}


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


# --- shelf life: every kind lapses; on its last day it is still wanted, the next day it is not ---


def window(facts: ContactFacts, prefix: str, cadence: Cadence = CAD) -> tuple[date, date]:
    """The first and the last day a task with this key prefix is wanted, scanning 400 days."""
    days = [
        FRI + timedelta(days=n)
        for n in range(-30, 400)
        if any(k.startswith(prefix) for k in keys(facts, FRI + timedelta(days=n), cadence))
    ]
    assert days, prefix
    assert days == [days[0] + timedelta(days=n) for n in range(len(days))]  # one stretch
    return days[0], days[-1]


def test_a_next_day_call_lapses_three_working_days_after_its_day() -> None:
    facts = ContactFacts(1, 7, last_deal=FRI, bot_deals=((10, FRI),))
    first, last = window(facts, "call:")
    assert first == date(2026, 11, 16)  # a week before Monday: in practice, from the sale on
    assert last == date(2026, 11, 26)  # Monday 23rd + 3 working days = Thursday
    assert lapse_for("call", date(2026, 11, 23), CAD) == last


def test_a_call_back_lapses_like_a_call() -> None:
    assert lapse_for("call_back", date(2026, 11, 20), CAD) == date(2026, 11, 25)  # Fri → Wed


def test_a_birthday_heads_up_lapses_on_the_birthday() -> None:
    facts = ContactFacts(3, 7, birthday=(10, 12))
    first, last = window(facts, "bday_lead:3:2026-12-10")
    assert first == date(2026, 11, 30)  # 07.12 heads-up, a week ahead
    assert last == date(2026, 12, 9)  # on the birthday itself it is gone
    assert lapse_for("birthday_lead", date(2026, 12, 7), CAD) == date(2026, 12, 9)


def test_a_birthday_lapses_three_days_after_it() -> None:
    facts = ContactFacts(3, 7, birthday=(10, 12))
    assert window(facts, "bday:3:2026-12-10") == (date(2026, 12, 3), date(2026, 12, 13))
    # 31.12 is still worth a call on 2.01: last year's birthday stays a candidate
    eve = ContactFacts(3, 7, birthday=(31, 12))
    assert "bday:3:2026-12-31" in keys(eve, date(2027, 1, 2))
    assert "bday:3:2026-12-31" not in keys(eve, date(2027, 1, 4))


def test_an_offer_lapses_two_weeks_after_its_day() -> None:
    facts = ContactFacts(5, 7, last_deal=FRI)
    due = FRI + timedelta(days=offer_offset(5, CAD))
    key = f"offer:5:{FRI.isoformat()}"
    assert window(facts, key) == (due - timedelta(days=7), due + timedelta(days=14))


def test_an_offer_never_seen_does_not_stop_the_cycle() -> None:
    # The bot was down for the whole shelf life of an offer: the next one still comes.
    facts = ContactFacts(5, 7, last_deal=FRI)
    due = FRI + timedelta(days=offer_offset(5, CAD))
    later = keys(facts, due + timedelta(days=14 + 60))
    (offer,) = [k for k in later if k.startswith("offer:")]
    assert offer == f"offer:5:{(due + timedelta(days=14)).isoformat()}"


def test_refresh_passive_and_resend_lapse() -> None:
    answered = date(2026, 6, 1)
    facts = ContactFacts(
        4,
        7,
        last_deal=date(2026, 5, 25),
        promoter_answers=((99, answered),),
        unopened_surveys=((100, date(2026, 11, 17)),),
    )
    refresh = answered + timedelta(days=180)
    assert window(facts, "refresh:99") == (
        refresh - timedelta(days=7),
        refresh + timedelta(days=14),
    )
    passive = date(2026, 5, 25) + timedelta(days=180)
    assert window(facts, "passive:") == (passive - timedelta(days=7), passive + timedelta(days=14))
    assert window(facts, "resend:100") == (date(2026, 11, 13), date(2026, 11, 27))
    assert lapse_for("resend", date(2026, 11, 20), CAD) == date(2026, 11, 27)


def test_a_meeting_and_unknown_kinds_have_a_shelf_life_too() -> None:
    assert lapse_for("meet", FRI, CAD) == FRI + timedelta(days=10)
    assert lapse_for("something new", FRI, CAD) == FRI + timedelta(days=7)


def test_next_plan_on_is_the_first_day_something_new_appears() -> None:
    facts = ContactFacts(5, 7, last_deal=FRI, birthday=(10, 12))
    plan = plan_contact(facts, FRI, CAD)
    assert plan.next_plan_on == date(2026, 11, 30)  # the heads-up of 10.12 (07.12, a week ahead)
    # nothing appears before next_plan_on; on it, something does
    for n in range((plan.next_plan_on - FRI).days):
        day = FRI + timedelta(days=n)
        assert set(keys(facts, day)) <= set(keys(facts, FRI)) | set()
    assert set(keys(facts, plan.next_plan_on)) - set(keys(facts, FRI))
    nobody = plan_contact(ContactFacts(6, 7), FRI, CAD)
    assert nobody.wanted == [] and nobody.next_plan_on == NEVER
