"""What a respondent sees around the survey: the nudge to finish it, …"""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from views.callbacks import SurveyResume
from views.common import payload
from views.texts import plain, t


def nudge_payload(survey_id: int, lang: str) -> dict[str, Any]:
    button = InlineKeyboardButton(
        text=plain(lang, "btn.continue_survey"),
        callback_data=SurveyResume(survey_id=survey_id).pack(),
    )
    return payload(t(lang, "nudge.text"), InlineKeyboardMarkup(inline_keyboard=[[button]]))
