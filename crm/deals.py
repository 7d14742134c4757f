"""A won CRM deal recorded in the bot through the one write path for deals from other systems
(`storage.deals_in.record_deal`, the HTTP API's): the contact created or merged as /import does,
the deal, its survey link and the next-day call, with /import's refusals (a phone of someone
who asked to be forgotten, a date in the future, ...).

Keyed by (`<kind>:<account>`, CRM deal id): the same CRM deal twice is one bot deal, whatever
the order or number of events. The one decision here: a refusal only of the birthday (a
nonsense date typed in the CRM) records the deal without it, since the deal matters more than
the birthday; any other refusal is the outcome of the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.deals_in import DealIn as ApiDeal
from domain.deals_in import DealRefused, Intake, ManagerIn, PersonIn
from domain.importing.rows import MAX_NAME, MAX_PRODUCT
from storage import Database
from storage.deals_in import record_deal as record_api_deal


@dataclass(frozen=True, slots=True)
class DealIn:
    name: str
    phone: str | None  # E.164
    birthday: tuple[int, int, int | None] | None
    description: str
    deal_date: date
    manager_id: int
    kind: str = "client"


@dataclass(frozen=True, slots=True)
class Recorded:
    deal_id: int
    contact_id: int
    survey_token: str
    created: bool  # False: this source and key had made the deal before
    merged: bool  # an existing contact got the deal


class Refused(Exception):
    """The bot's rules refuse the deal; `codes` are the field codes (e.g. "forgotten")."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


def _birthday(value: tuple[int, int, int | None] | None) -> date | None:
    if value is None or value[2] is None:
        return None
    try:
        return date(value[2], value[1], value[0])
    except ValueError:
        return None


async def record_deal(
    db: Database,
    deal: DealIn,
    *,
    source: str,
    key: str,
    now: datetime,
    timezone: ZoneInfo,
    region: str,
) -> Recorded:
    birthday = _birthday(deal.birthday)
    for attempt in range(2):
        api = ApiDeal(
            external_id=key[:100],
            person=PersonIn(
                name=deal.name[:MAX_NAME],
                phone=deal.phone,
                kind=deal.kind,  # type: ignore[arg-type]
                birthday=birthday,
            ),
            manager=ManagerIn(telegram_id=deal.manager_id),
            product=deal.description[:MAX_PRODUCT],
            date=deal.deal_date,
        )
        intake = Intake(
            default_manager_id=deal.manager_id, now=now, timezone=timezone, region=region
        )
        try:
            out = await record_api_deal(db, api, intake, source=source, key=key)
        except DealRefused as exc:
            fields = {e.field for e in exc.errors}
            if attempt == 0 and birthday is not None and fields == {"person.birthday"}:
                birthday = None
                continue
            raise Refused([e.code for e in exc.errors]) from None
        return Recorded(
            out.deal.id, out.contact.id, out.survey.token, not out.replayed, out.contact.merged
        )
    raise AssertionError("unreachable")
