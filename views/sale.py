"""What /sale shows: one message (the card) that is edited from the first question to the saved
deal: what was answered so far, the question being asked with its buttons (kind, Skip, "save
without the rest", Cancel, deal dates), a line saying what was wrong with the last answer, and
the summary to confirm. The question is picked by the name of its FSM state, so the handler
keeps the states and this module never imports handlers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from domain.parsing import Birthday, format_phone
from domain.vocabulary import DATE, KINDS, LIMITS
from views.callbacks import (
    SaleAction,
    SaleDate,
    SaleKind,
    SaleSkip,
)
from views.common import button
from views.texts import plain, t

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
    """An optional question: skip it, or skip every optional one left and save the deal now."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(plain(lang, "btn.skip"), SaleSkip(field=field).pack())],
            [button(plain(lang, "sale.btn_rest"), SaleAction(action="rest").pack())],
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


def limit_values() -> dict[str, int]:
    """The numbers the /sale texts name ("2 to 200 characters"), from domain.vocabulary.LIMITS."""
    return {
        "name_min": LIMITS["name"].min,
        "name_max": LIMITS["name"].max,
        "org_max": LIMITS["organization"].max,
        "product_min": LIMITS["product"].min,
        "product_max": LIMITS["product"].max,
    }


# What the card lists above the question, in the order the questions come.
PROGRESS = ("kind", "name", "product", "deal_date", "org", "phone", "birthday")


def progress(data: dict[str, Any], lang: str) -> str:
    """The answers given so far, one line each ("Имя: Анна Смирнова"); skipped ones left out."""
    lines = []
    for field in PROGRESS:
        value = data.get(field)
        if not value:
            continue
        if field == "kind":
            shown = t(lang, f"kind.{value}")
        elif field == "phone":
            shown = t(lang, "sale.value", value=format_phone(value))
        elif field == "birthday":
            shown = t(lang, "sale.value", value=str(Birthday(*value)))
        elif field == "deal_date":
            shown = t(lang, "sale.value", value=date.fromisoformat(value).strftime(DATE))
        else:
            shown = t(lang, "sale.value", value=value)
        lines.append(f"{t(lang, f'sale.label_{field}')}: {shown}")
    return "\n".join(lines)


def card(
    step: str, data: dict[str, Any], lang: str, today: date, error: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The whole card: answers so far, what was wrong with the last one, and the question."""
    text, markup = question(step, data, lang, today)
    if step != "confirm" and (done := progress(data, lang)):
        text = f"{done}\n\n{text}"
    if error:
        text = f"{text}\n\n⚠️ {error}"
    return text, markup


def question(
    step: str, data: dict[str, Any], lang: str, today: date
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of the /sale question of `step` (the name of its FSM state)."""
    if step == "kind":
        return t(lang, "sale.ask_kind"), kinds(lang)
    if step == "name":
        return t(lang, "sale.ask_name"), cancel_only(lang)
    if step == "organization":
        return t(lang, "sale.ask_org"), skip_or_cancel(lang, "org")
    if step == "phone":
        return t(lang, "sale.ask_phone"), skip_or_cancel(lang, "phone")
    if step == "birthday":
        return t(lang, "sale.ask_birthday"), skip_or_cancel(lang, "birthday")
    if step == "product":
        return t(lang, "sale.ask_product", **limit_values()), cancel_only(lang)
    if step == "deal_date":
        return t(lang, "sale.ask_date"), deal_dates(lang, today)
    return summary(data, lang), sale_confirm(lang)


def summary(data: dict[str, Any], lang: str) -> str:
    unset = t(lang, "sale.not_set")
    bday = data.get("birthday")
    deal_date = data.get("deal_date")
    return t(
        lang,
        "sale.confirm",
        kind=t(lang, f"kind.{data.get('kind', 'client')}"),
        name=data.get("name") or unset,
        org=data.get("org") or unset,
        phone=format_phone(data["phone"]) if data.get("phone") else unset,
        birthday=str(Birthday(*bday)) if bday else unset,
        product=data.get("product") or unset,
        date=date.fromisoformat(deal_date).strftime(DATE) if deal_date else unset,
    )
