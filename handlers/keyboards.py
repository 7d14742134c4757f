"""Keyboards built from texts and callback data (no handler builds markup inline)."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from domain.vocabulary import KINDS
from views.callbacks import (
    Consent,
    ReasonSkip,
    SaleAction,
    SaleDate,
    SaleKind,
    SaleSkip,
    Score,
)
from views.common import button
from views.texts import plain

SALE_FIELDS = ("kind", "name", "org", "phone", "birthday", "product", "date")


def _cancel(lang: str) -> InlineKeyboardButton:
    return button(plain(lang, "btn.cancel"), SaleAction(action="cancel").pack())


def kinds(lang: str) -> InlineKeyboardMarkup:
    rows = [
        [button(plain(lang, f"kind.{k}"), SaleKind(kind=k).pack()) for k in KINDS[:2]],
        [button(plain(lang, f"kind.{k}"), SaleKind(kind=k).pack()) for k in KINDS[2:]],
        [_cancel(lang)],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def skip_or_cancel(lang: str, field: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(plain(lang, "btn.skip"), SaleSkip(field=field).pack())],
            [_cancel(lang)],
        ]
    )


def cancel_only(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_cancel(lang)]])


def deal_dates(lang: str, today: date) -> InlineKeyboardMarkup:
    yesterday = today - timedelta(days=1)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    plain(lang, "sale.btn_today", date=today.strftime("%d.%m")),
                    SaleDate(day=today.isoformat()).pack(),
                ),
                button(
                    plain(lang, "sale.btn_yesterday", date=yesterday.strftime("%d.%m")),
                    SaleDate(day=yesterday.isoformat()).pack(),
                ),
            ],
            [_cancel(lang)],
        ]
    )


def sale_confirm(lang: str) -> InlineKeyboardMarkup:
    edits = [
        button(plain(lang, f"sale.btn_edit_{field}"), SaleAction(action=field).pack())
        for field in SALE_FIELDS
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(plain(lang, "sale.btn_save"), SaleAction(action="save").pack())],
            edits[0:3],
            edits[3:5],
            edits[5:7],
            [_cancel(lang)],
        ]
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
