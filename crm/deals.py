"""A won CRM deal recorded in the bot: the contact created or merged, the deal, its survey link and
the next-day call planned (by the database's re-planning triggers, in the same transaction).

This is the thin adapter over the /sale storage path (`storage.sale.record_sale`), keyed by
`<source>:<key>` in the deals' idempotency key: the same CRM deal twice is one bot deal, whatever
the order or number of events. It has the shape of the HTTP API's deal service
(`record_deal(db, deal, *, source, key)`), so it can be swapped for it when that lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage import Database
from storage.sale import SaleInput, record_sale


@dataclass(frozen=True, slots=True)
class DealIn:
    name: str
    phone: str | None
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


async def record_deal(
    db: Database, deal: DealIn, *, source: str, key: str, now: datetime
) -> Recorded:
    result = await record_sale(
        db,
        SaleInput(
            idem_key=f"{source}:{key}",
            manager_id=deal.manager_id,
            kind=deal.kind,
            full_name=deal.name,
            organization=None,
            phone=deal.phone,
            contact_tg_id=None,
            birthday=deal.birthday,
            description=deal.description[:500],
            deal_date=deal.deal_date,
        ),
        now,
    )
    return Recorded(
        result.deal_id, result.contact_id, result.survey_token, result.created, result.merged
    )
