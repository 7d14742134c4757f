"""What /comments shows: a page of the latest answers to "what influenced your score", with the
category, kind and ◀ ▶ buttons, and a "📄 N" button for every answer shown cut.

One decision: ◀ and ▶ carry the survey id of the first or last answer shown (keyset paging,
storage/comments.py), and the page number only for the "page X of Y" line, so an answer arriving
between two taps moves no answer onto the next page a second time."""

from __future__ import annotations

import math

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.settings import Settings
from domain.vocabulary import DATE, KINDS
from storage.comments import CATEGORIES, CommentPage
from views.callbacks import AnswerText, CommentsView
from views.common import cut
from views.texts import Raw, plain, plural, t

REASON_CUT = 500
NAME_CUT = 60  # a name may be 200 characters: five of them, twice each, must not crowd out the page


def reason_shown(reason: str, width: int) -> tuple[str, int]:
    """A reason on one line of at most `width` characters (`views.common.cut`, ending in "…" when
    cut), and how many characters were left out (0: the whole of it is shown)."""
    flat = " ".join(reason.split())
    shown = cut(reason, width)
    return shown, 0 if shown == flat else len(flat) - len(shown.removesuffix("…"))


def comments_view_for(
    page: CommentPage,
    total: int,
    per_page: int,
    lang: str,
    settings: Settings,
    category: str,
    kind: str,
    number: int,
) -> tuple[str, InlineKeyboardMarkup]:
    """Page `number` (from 0) of a filter that has `total` answers."""
    pages = max(1, math.ceil(total / per_page), number + 1)
    kind_name = t(lang, "comments.kind_all") if kind == "all" else t(lang, f"kinds.{kind}")
    lines = [
        t(
            lang,
            "comments.head",
            category=t(lang, f"comments.cat_{category}"),
            kind=kind_name,
            total=total,
        ),
        "",
    ]
    if not page.items:
        lines.append(t(lang, "comments.empty"))
    whole: list[InlineKeyboardButton] = []
    for n, item in enumerate(page.items, 1):
        shown, rest = reason_shown(item.reason, REASON_CUT)
        reason = t(lang, "comments.reason", reason=shown)
        if rest:
            more = plural(lang, rest, "plural.char")
            reason = t(lang, "comments.reason_cut", reason=shown, more=more, n=n)
            label = plain(lang, "comments.btn_whole", n=n)
            whole.append(
                InlineKeyboardButton(
                    text=label, callback_data=AnswerText(survey_id=item.survey_id).pack()
                )
            )
        lines.append(
            t(
                lang,
                "comments.item",
                score=item.score,
                date=item.scored_at.astimezone(settings.timezone).strftime(DATE),
                name=cut(item.contact_name or "—", NAME_CUT),
                kind=t(lang, f"kind.{item.kind}").lower(),
                manager=cut(item.manager_name or "—", NAME_CUT),
                reason=Raw(reason),
            )
        )
        lines.append("")
    if pages > 1:
        lines.append(t(lang, "comments.page", page=number + 1, pages=pages))

    def view(c: str, k: str) -> str:
        return CommentsView(category=c, kind=k, page=0).pack()

    def mark(label: str, on: bool) -> str:
        return f"• {label}" if on else label

    categories = [
        InlineKeyboardButton(
            text=mark(plain(lang, f"comments.cat_{c}"), c == category), callback_data=view(c, kind)
        )
        for c in CATEGORIES
    ]
    kinds = [
        InlineKeyboardButton(
            text=mark(plain(lang, "nps.btn_all_kinds"), kind == "all"),
            callback_data=view(category, "all"),
        )
    ] + [
        InlineKeyboardButton(
            text=mark(plain(lang, f"kinds.{k}"), kind == k), callback_data=view(category, k)
        )
        for k in KINDS
    ]
    nav = []
    if page.newer and page.items:
        back = CommentsView(
            category=category,
            kind=kind,
            page=max(number - 1, 0),
            anchor=page.items[0].survey_id,
            back=True,
        )
        nav.append(InlineKeyboardButton(text="◀", callback_data=back.pack()))
    if page.older and page.items:
        forward = CommentsView(
            category=category, kind=kind, page=number + 1, anchor=page.items[-1].survey_id
        )
        nav.append(InlineKeyboardButton(text="▶", callback_data=forward.pack()))
    rows = [categories[:2], categories[2:], kinds[:3], kinds[3:]]
    if whole:
        rows.append(whole)
    if nav:
        rows.append(nav)
    return "\n".join(lines).strip(), InlineKeyboardMarkup(inline_keyboard=rows)
