"""Deals that come from other systems (the HTTP API, the CRM connectors): what they may say, what
is answered, and which of the /import rules refuse them.

The pydantic models here are the single description of a deal from outside: the API validates
request bodies with them and generates its OpenAPI document from them (api/openapi.py), so the
schema is never written twice. They check shape only (types, unknown fields, lengths); what
depends on the base or the calendar (a phone that is not a phone, a person who asked to be
forgotten, an unknown manager, a date in the future) is decided by the very `RowValidator` that
/import uses, fed one row made of the deal's fields (`as_cells`), and its problems are named by
the JSON path of the field they are about (`field_errors`).

Used by `storage/deals_in.record_deals` (the one write path of the API and the connectors).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.importing.columns import Header
from domain.importing.rows import MAX_NAME, MAX_ORGANIZATION, MAX_PRODUCT, Problem
from domain.parsing import MAX_PHONE_INPUT

Day = date  # a field is called `date`: its type needs another name in the class body
Kind = Literal["client", "supplier", "contractor", "partner"]
MAX_EXTERNAL_ID = 100
MAX_BATCH = 1000

_STRICT = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
Organization = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ORGANIZATION)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PHONE_INPUT)]
Product = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PRODUCT)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID)]
Username = Annotated[str, StringConstraints(pattern=r"^@?[A-Za-z0-9_]{4,32}$")]


class PersonIn(BaseModel):
    """Who bought: a name or a phone at least (as in /import)."""

    model_config = _STRICT
    name: Name | None = Field(None, description="Full name")
    phone: Phone | None = Field(None, description="Any common format; stored as E.164")
    kind: Kind = "client"
    organization: Organization | None = None
    birthday: Day | None = Field(None, description="YYYY-MM-DD")
    external_id: ExternalId | None = Field(
        None, description="The person's id in your system (answered back; not matched on)"
    )


class ManagerIn(BaseModel):
    """Who sold: exactly one of a Telegram id, a @username, or an id of yours mapped to staff."""

    model_config = _STRICT
    telegram_id: int | None = Field(None, gt=0)
    username: Username | None = None
    external_id: ExternalId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ManagerIn:
        given = [v for v in (self.telegram_id, self.username, self.external_id) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of telegram_id, username, external_id")
        return self


class StaffRef(BaseModel):
    """A staff member of the bot: their Telegram id or @username (exactly one)."""

    model_config = _STRICT
    telegram_id: int | None = Field(None, gt=0)
    username: Username | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StaffRef:
        if (self.telegram_id is None) == (self.username is None):
            raise ValueError("give exactly one of telegram_id, username")
        return self

    def as_cell(self) -> str:
        """As /import reads a manager cell."""
        if self.telegram_id is not None:
            return str(self.telegram_id)
        return "@" + (self.username or "").removeprefix("@")


class DealIn(BaseModel):
    """One deal. `external_id` is the deal's id in your system: the same id twice is one deal."""

    model_config = _STRICT
    external_id: ExternalId | None = Field(
        None, description="Your id of this deal: sending it again answers the first result"
    )
    person: PersonIn
    manager: ManagerIn | None = Field(
        None, description="Default: the owner who created the API token"
    )
    product: Product = Field(description="What was bought")
    date: Day | None = Field(None, description="YYYY-MM-DD, not in the future; default today")


class DealBatchIn(BaseModel):
    model_config = _STRICT
    deals: list[DealIn] = Field(min_length=1, max_length=MAX_BATCH)


class DealPart(BaseModel):
    id: int
    external_id: str | None
    product: str
    date: Day
    manager_id: int | None
    kind: Kind
    created_at: datetime


class ContactPart(BaseModel):
    id: int
    kind: Kind
    name: str | None
    organization: str | None
    phone: str | None
    external_id: str | None = Field(None, description="The person's id sent with this deal")
    merged: bool = Field(description="An existing contact got this deal")


class SurveyPart(BaseModel):
    token: str = Field(description="The deep-link payload of the survey link")


class DealOut(BaseModel):
    """What recording a deal answers; stored, so a repeat answers exactly this again."""

    deal: DealPart
    contact: ContactPart
    survey: SurveyPart
    replayed: bool = Field(False, exclude=True)  # this call found the deal already recorded


@dataclass(frozen=True, slots=True)
class Intake:
    """Who records and when: the manager of a deal that names none (the API token's owner), the
    clock, and the company's time zone and phone region (today's date, national phones)."""

    default_manager_id: int
    now: datetime
    timezone: tzinfo
    region: str

    @property
    def today(self) -> date:
        return self.now.astimezone(self.timezone).date()


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # a JSON path: "person.phone", "deals.3.date"
    code: str
    message: str


class DealRefused(Exception):
    """The deal (or one of a batch: the whole batch) breaks a rule; nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class KeyReused(Exception):
    """An Idempotency-Key already used for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# The one "file" every deal is a row of: the /import columns it fills.
COLUMNS = (
    "name",
    "kind",
    "organization",
    "phone",
    "birthday",
    "manager",
    "deal_date",
    "product",
)
HEADER = Header(row_no=1, cells=COLUMNS, columns={c: (i,) for i, c in enumerate(COLUMNS)})


def as_cells(deal: DealIn, manager: str, today: date) -> tuple[str | None, ...]:
    """The deal as an /import row (`manager` as /import reads it: a Telegram id or @username)."""
    p = deal.person
    return (
        p.name,
        p.kind,
        p.organization,
        p.phone,
        p.birthday.isoformat() if p.birthday else None,
        manager,
        (deal.date or today).isoformat(),
        deal.product,
    )


_PROBLEMS: dict[str, tuple[str, str, str]] = {
    # Problem code -> (field, code, message)
    "erased": ("person.phone", "forgotten", "this person asked to be forgotten"),
    "phone": ("person.phone", "not_a_phone", "not a valid phone number"),
    "no_name_phone": ("person", "name_or_phone_required", "give a name or a phone"),
    "birthday": ("person.birthday", "bad_birthday", "in the future or too long ago"),
    "deal_date": ("date", "bad_date", "not a possible purchase date"),
    "deal_future": ("date", "in_future", "a purchase date cannot be in the future"),
    "kind": ("person.kind", "bad_kind", "unknown kind"),
    "manager": ("manager", "unknown_manager", "not an active staff member of the bot"),
}
_TOO_LONG = {"name": "person.name", "organization": "person.organization", "product": "product"}


def field_errors(problems: list[Problem], prefix: str = "") -> list[FieldError]:
    errors = []
    for problem in problems:
        if problem.code == "too_long":
            field = _TOO_LONG.get(problem.value, problem.value)
            errors.append(FieldError(prefix + field, "too_long", f"at most {problem.limit}"))
            continue
        field, code, message = _PROBLEMS.get(problem.code, ("", problem.code, problem.code))
        errors.append(FieldError(prefix + field, code, message))
    return errors


def request_digest(deal: DealIn) -> str:
    """What a repeated key is compared on (key order and spacing of the JSON do not matter)."""
    return hashlib.sha256(deal.model_dump_json().encode()).hexdigest()
