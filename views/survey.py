"""What a respondent sees: each survey question with its buttons (0-10, Skip, yes/no, share the
phone) and the nudge to finish the survey."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from domain.settings import Settings
from storage.surveys import Step, Survey
from views.callbacks import Consent, ReasonSkip, Score, SurveyResume
from views.common import button, payload
from views.texts import plain, t


def nudge_payload(survey_id: int, lang: str) -> dict[str, Any]:
    button = InlineKeyboardButton(
        text=plain(lang, "btn.continue_survey"),
        callback_data=SurveyResume(survey_id=survey_id).pack(),
    )
    return payload(t(lang, "nudge.text"), InlineKeyboardMarkup(inline_keyboard=[[button]]))


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
        key = "survey.q1_client" if survey.kind == "client" else "survey.q1_partner"
        return t(lang, key, company=settings.company_name), scores(survey.id)
    if step is Step.REASON:
        return t(lang, f"survey.q2_{survey.category}"), reason_skip(lang, survey.id)
    if step is Step.CONSENT:
        return t(lang, "survey.q3"), consent(lang, survey.id)
    return t(lang, "survey.ask_phone"), share_phone(lang)
