"""What the API answers, as pydantic models: the OpenAPI document is generated from these and
from the request models in domain/deals_in.py, so the schema is written once.

Requests are validated by `DealIn` / `DealBatchIn` (domain/deals_in.py); everything here is an
answer. Timestamps are the database's UTC text ("YYYY-MM-DD HH:MM:SS")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.deals_in import ContactPart, DealPart

Category = Literal["promoter", "passive", "detractor"]


class ErrorItem(BaseModel):
    field: str = Field(description="JSON path of the field ('deals.3.person.phone'), or a header")
    code: str
    message: str


class ErrorBody(BaseModel):
    error: str = Field(description="bad_json, invalid, too_large, unauthorized, forbidden, ...")
    message: str
    errors: list[ErrorItem] = []


class SurveyLink(BaseModel):
    token: str
    link: str = Field(description="The survey's Telegram deep link")
    qr_url: str = Field(description="A PNG of the link's QR code (no token needed)")


class SurveyProgress(SurveyLink):
    status: Literal["created", "opened", "answered"]
    score: int | None
    opened_at: str | None
    scored_at: str | None
    answered_at: str | None


class DealCreated(BaseModel):
    deal: DealPart
    contact: ContactPart
    survey: SurveyLink


class DealsCreated(BaseModel):
    deals: list[DealCreated]


class DealShown(BaseModel):
    deal: DealPart
    contact: ContactPart
    survey: SurveyProgress


class Answer(BaseModel):
    survey_id: int
    score: int = Field(ge=0, le=10)
    category: Category
    reason: str | None
    kind: str
    manager_id: int | None
    manager_name: str | None
    deal_id: int | None
    deal_date: str | None
    contact_id: int
    created_at: str
    opened_at: str | None
    scored_at: str
    answered_at: str | None


class AnswersPage(BaseModel):
    answers: list[Answer]
    next: str | None = Field(description="Pass as `since` for the answers after these")


class Figures(BaseModel):
    nps: int | None = Field(description="% promoters - % detractors; null when nobody answered")
    promoters: int
    passives: int
    detractors: int
    answered: int
    invited: int = Field(description="Survey links made in the period")
    responded: int
    response_rate: int = Field(description="Whole percent of the period's links answered")


class CaseFigures(BaseModel):
    opened: int
    resolved: int
    resolved_share: int
    median_hours_to_resolve: float | None


class Period(BaseModel):
    code: str
    first_day: str | None
    last_day: str


class NpsFigures(BaseModel):
    period: Period
    kind: str
    manager_id: int | None
    manager_name: str | None
    figures: Figures
    previous: Figures | None = Field(description="The period before, of the same length")
    by_kind: dict[str, Figures]
    margin_of_error: float | None
    median_hours_to_answer: float | None
    cases: CaseFigures | None


class ManagerLinked(BaseModel):
    external_id: str
    telegram_id: int = Field(description="The staff member deals with this manager go to")
