"""What /find shows: the list of matches and the contact card (deals, answers, comments, calls,
tasks) with its buttons.

One decision: the card is fitted to Telegram's limit by showing fewer items and shorter lines in
turn (CARD_FITS), never by cutting the rendered HTML; an answer shown cut gets a "📄" button that
sends it whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from domain.nps import category
from domain.parsing import Birthday, format_phone
from domain.settings import Settings
from domain.vocabulary import DATE
from storage.contacts import (
    ContactBrief,
    ContactCard,
    Found,
    Section,
)
from views.callbacks import (
    AnswerText,
    FindBirthday,
    FindComment,
    FindDeal,
    FindOpen,
    ForgetContact,
)
from views.common import cut, local_date
from views.texts import CATALOGS, plain, t

CARD_LIMIT = 3500
# (items per section, characters per line), tried in order until the card fits CARD_LIMIT.
CARD_FITS = ((5, 200), (5, 120), (3, 120), (3, 60), (1, 60), (1, 30))
LIST_WIDTHS = (60, 30, 15)
BUTTON_NAME_LIMIT = 40

T = TypeVar("T")


def _day(value: date) -> str:
    return value.strftime(DATE)


def _label(lang: str, key: str, fallback: str, **values: str) -> str:
    """The text for a stored code (a task kind, a call outcome), or a generic one naming it."""
    if key in CATALOGS.get(lang, CATALOGS["ru"]):
        return plain(lang, key)
    return plain(lang, fallback, **values)


def display_name(contact: ContactBrief, lang: str) -> str:
    return contact.full_name or contact.organization or plain(lang, "find.no_name")


def _section(
    lines: list[str],
    lang: str,
    header: str,
    section: Section[T],
    items: int,
    line: Callable[[T], str],
) -> None:
    if not section.total:
        return
    lines += ["", t(lang, header, count=section.total)]
    shown = section.items[:items]
    lines += [line(item) for item in shown]
    if section.total > len(shown):
        lines.append(t(lang, "find.more", count=section.total - len(shown)))


def _card_text(
    card: ContactCard, lang: str, settings: Settings, items: int, width: int, notice: str
) -> str:
    c, tz = card.contact, settings.timezone
    unset = t(lang, "find.not_set")
    lines = [notice, ""] if notice else []
    lines += [
        t(lang, "find.card_title", name=cut(display_name(c, lang), width)),
        t(lang, "find.card_kind", kind=plain(lang, f"kind.{c.kind}")),
        t(lang, "find.card_org", org=cut(c.organization, width) if c.organization else unset),
        t(lang, "find.card_phone", phone=format_phone(c.phone) if c.phone else unset),
        t(lang, "find.card_birthday", birthday=str(Birthday(*c.birthday)) if c.birthday else unset),
        t(
            lang,
            "find.card_manager",
            manager=cut(card.manager_name, width) if card.manager_name else unset,
        ),
    ]
    if card.consent is not None:
        lines.append(t(lang, "find.flag_consent_yes" if card.consent else "find.flag_consent_no"))
    if card.opted_out_at:
        lines.append(t(lang, "find.flag_opted_out", date=local_date(card.opted_out_at, tz)))
    if card.unreachable_at:
        lines.append(t(lang, "find.flag_unreachable", date=local_date(card.unreachable_at, tz)))
    _section(
        lines,
        lang,
        "find.deals_header",
        card.deals,
        items,
        lambda d: t(lang, "find.deal_line", date=_day(d.deal_date), text=cut(d.description, width)),
    )
    _section(
        lines,
        lang,
        "find.answers_header",
        card.answers,
        items,
        lambda a: t(
            lang,
            "find.answer_line",
            date=local_date(a.at, tz),
            score=a.score,
            category=plain(lang, f"find.cat_{category(a.score)}"),
            reason=cut(a.reason, width) if a.reason else plain(lang, "find.answer_no_reason"),
        ),
    )
    _section(
        lines,
        lang,
        "find.comments_header",
        card.comments,
        items,
        lambda m: t(
            lang,
            "find.comment_line",
            date=local_date(m.at, tz),
            source=_label(lang, f"find.source_{m.source}", "find.source_manual"),
            text=cut(m.text, width),
        ),
    )
    _section(
        lines,
        lang,
        "find.calls_header",
        card.calls,
        items,
        lambda call: t(
            lang,
            "find.call_line",
            date=local_date(call.at, tz),
            outcome=_label(
                lang,
                f"find.outcome_{call.outcome}",
                "find.outcome_other",
                code=cut(call.outcome, 40),
            ),
        ),
    )
    _section(
        lines,
        lang,
        "find.tasks_header",
        card.tasks,
        items,
        lambda task: t(
            lang,
            "find.task_line",
            kind=_label(lang, f"find.task_{task.kind}", "find.task_other", kind=cut(task.kind, 40)),
            date=_day(task.due_date),
        ),
    )
    return "\n".join(lines)


def _fitted(card: ContactCard, lang: str, settings: Settings, notice: str) -> tuple[str, int, int]:
    """The card text with as much history as fits CARD_LIMIT, and the (items, width) it took."""
    text, items, width = "", 0, 0
    for items, width in CARD_FITS:
        text = _card_text(card, lang, settings, items, width, notice)
        if len(text) < CARD_LIMIT:
            break
    return text, items, width


def render_card(card: ContactCard, lang: str, settings: Settings, notice: str = "") -> str:
    """The card text, with as much history as fits CARD_LIMIT characters."""
    return _fitted(card, lang, settings, notice)[0]


def card_view(
    card: ContactCard, lang: str, settings: Settings, notice: str = "", *, can_erase: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """The card and its buttons, with a "📄" for every answer the card shows cut."""
    text, items, width = _fitted(card, lang, settings, notice)
    cut_answers = [
        a
        for a in card.answers.items[:items]
        if a.reason and cut(a.reason, width) != " ".join(a.reason.split())
    ]
    tz = settings.timezone
    whole = [
        InlineKeyboardButton(
            text=plain(lang, "whole.btn_answer", date=local_date(a.at, tz), score=a.score),
            callback_data=AnswerText(survey_id=a.survey_id).pack(),
        )
        for a in cut_answers
    ]
    markup = card_keyboard(lang, card.contact.id, can_erase=can_erase)
    rows = [[b] for b in whole] + list(markup.inline_keyboard)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def card_keyboard(lang: str, contact_id: int, *, can_erase: bool = False) -> InlineKeyboardMarkup:
    """The card's buttons; `can_erase` (owners only) adds "delete personal data" (/forget)."""

    def button(key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=plain(lang, key), callback_data=data)

    rows = [
        [button("find.btn_deal", FindDeal(contact_id=contact_id).pack())],
        [
            button("find.btn_comment", FindComment(contact_id=contact_id).pack()),
            button("find.btn_birthday", FindBirthday(contact_id=contact_id).pack()),
        ],
    ]
    if can_erase:
        erase = ForgetContact(contact_id=contact_id, action="ask").pack()
        rows.append([button("forget.btn_card", erase)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _list_text(found: Found, lang: str, width: int) -> str:
    header = "find.list_header_many" if found.more else "find.list_header"
    lines = [t(lang, header, count=found.total)]
    for n, c in enumerate(found.contacts, 1):
        parts = [c.organization, format_phone(c.phone) if c.phone else None]
        details = ", ".join(p for p in parts if p)
        lines.append(
            t(
                lang,
                "find.list_line",
                n=n,
                name=cut(display_name(c, lang), width),
                details=f" — {cut(details, width)}" if details else "",
            )
        )
    if found.total > len(found.contacts) and not found.more:
        lines.append(t(lang, "find.list_more", count=found.total - len(found.contacts)))
    return "\n".join(lines)


def render_list(found: Found, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    text = ""
    for width in LIST_WIDTHS:
        text = _list_text(found, lang, width)
        if len(text) < CARD_LIMIT:
            break
    rows = [
        [
            InlineKeyboardButton(
                text=plain(
                    lang, "find.btn_open", n=n, name=cut(display_name(c, lang), BUTTON_NAME_LIMIT)
                ),
                callback_data=FindOpen(contact_id=c.id).pack(),
            )
        ]
        for n, c in enumerate(found.contacts, 1)
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)
