"""What a respondent sees: each survey question with its buttons (0-10, Skip, yes/no, share the
phone) and the nudge to finish the survey.

Every text a respondent reads has two forms, one for clients and one for partners (suppliers,
contractors and other partners: the method asks them too, in words that respect the
collaboration). `survey_text` is the one place that picks the form, from the contact's kind, so
no caller tests the kind itself; `SURVEY_TEXTS` lists the bases, and a test checks that each has
both forms in both languages.
"""

from __future__ import annotations

from typing import Any, Literal

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from domain.settings import Settings
from domain.vocabulary import KINDS
from storage.surveys import Step, Survey
from views.callbacks import Consent, ReasonSkip, Score, SurveyResume
from views.common import button, payload
from views.texts import plain, t

Audience = Literal["client", "partner"]
PARTNER_KINDS = frozenset(KINDS) - {"client"}

# The bases of every text a respondent reads; each exists as `{base}_client` and `{base}_partner`.
SURVEY_TEXTS: tuple[str, ...] = (
    "survey.greeting",
    "survey.resume",
    "survey.q1",
    "survey.q2_promoter",
    "survey.q2_passive",
    "survey.q2_detractor",
    "survey.q3",
    "survey.ask_phone",
    "survey.thanks_promoter",
    "survey.thanks_passive",
    "survey.thanks_detractor",
    "survey.thanks_detractor_nocontact",
    "referral.thanks",
    "nudge.text",
    "sale.invitation",  # forwarded by the manager, or the card sent inline (views/invitation.py)
)


def audience(kind: str | None) -> Audience:
    """Clients get the client wording; suppliers, contractors and partners the partner one.

    A missing kind is a client's, the default kind of a contact."""
    return "partner" if kind in PARTNER_KINDS else "client"


def survey_text(lang: str, base: str, kind: str | None, **values: Any) -> str:
    """The respondent's text `base` in the form for this contact's kind."""
    return t(lang, f"{base}_{audience(kind)}", **values)


def nudge_payload(survey_id: int, lang: str, kind: str | None) -> dict[str, Any]:
    button = InlineKeyboardButton(
        text=plain(lang, "btn.continue_survey"),
        callback_data=SurveyResume(survey_id=survey_id).pack(),
    )
    return payload(
        survey_text(lang, "nudge.text", kind), InlineKeyboardMarkup(inline_keyboard=[[button]])
    )


def scores(survey_id: int) -> InlineKeyboardMarkup:
    """0…10 in two rows that fit a phone screen: 0–5 and 6–10."""

    def row(values: range) -> list[InlineKeyboardButton]:
        return [button(str(v), Score(survey_id=survey_id, score=v).pack()) for v in values]

    return InlineKeyboardMarkup(inline_keyboard=[row(range(0, 6)), row(range(6, 11))])


def reason_skip(lang: str, survey_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(plain(lang, "btn.skip"), ReasonSkip(survey_id=survey_id).pack())]]
    )


def consent(lang: str, survey_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    plain(lang, "survey.btn_yes"), Consent(survey_id=survey_id, yes=True).pack()
                ),
                button(
                    plain(lang, "survey.btn_no"), Consent(survey_id=survey_id, yes=False).pack()
                ),
            ]
        ]
    )


def share_phone(lang: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=plain(lang, "survey.btn_share_phone"), request_contact=True)],
            [KeyboardButton(text=plain(lang, "survey.btn_no_phone"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def question(
    survey: Survey, lang: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup]:
    """The question the survey is at, with its buttons (not for a finished survey)."""
    step = survey.step
    if step is Step.SCORE:
        text = survey_text(lang, "survey.q1", survey.kind, company=settings.company_name)
        return text, scores(survey.id)
    if step is Step.REASON:
        text = survey_text(lang, f"survey.q2_{survey.category}", survey.kind)
        return text, reason_skip(lang, survey.id)
    if step is Step.CONSENT:
        return survey_text(lang, "survey.q3", survey.kind), consent(lang, survey.id)
    return survey_text(lang, "survey.ask_phone", survey.kind), share_phone(lang)
