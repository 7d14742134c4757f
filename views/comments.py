"""What /comments shows: a page of the latest answers to "what influenced your score", with the
category, kind and page buttons."""

from __future__ import annotations

import math
from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.settings import Settings
from domain.vocabulary import DATE, KINDS
from storage.comments import CATEGORY_SQL, Comment
from views.callbacks import CommentsView
from views.common import cut
from views.texts import plain, t

REASON_CUT = 500


def comments_view_for(
    items: Sequence[Comment],
    total: int,
    per_page: int,
    lang: str,
    settings: Settings,
    category: str,
    kind: str,
    page: int,
) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, math.ceil(total / per_page))
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
    if not items:
        lines.append(t(lang, "comments.empty"))
    for item in items:
        reason = cut(item.reason, REASON_CUT)
        lines.append(
            t(
                lang,
                "comments.item",
                score=item.score,
                date=item.scored_at.astimezone(settings.timezone).strftime(DATE),
                name=item.contact_name or "—",
                kind=t(lang, f"kind.{item.kind}").lower(),
                manager=item.manager_name or "—",
                reason=reason,
            )
        )
        lines.append("")
    if pages > 1:
        lines.append(t(lang, "comments.page", page=page + 1, pages=pages))

    def view(c: str, k: str, p: int) -> str:
        return CommentsView(category=c, kind=k, page=p).pack()

    def mark(label: str, on: bool) -> str:
        return f"• {label}" if on else label

    categories = [
        InlineKeyboardButton(
            text=mark(plain(lang, f"comments.cat_{c}"), c == category),
            callback_data=view(c, kind, 0),
        )
        for c in CATEGORY_SQL
    ]
    kinds = [
        InlineKeyboardButton(
            text=mark(plain(lang, "nps.btn_all_kinds"), kind == "all"),
            callback_data=view(category, "all", 0),
        )
    ] + [
        InlineKeyboardButton(
            text=mark(plain(lang, f"kinds.{k}"), kind == k), callback_data=view(category, k, 0)
        )
        for k in KINDS
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=view(category, kind, page - 1)))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(text="▶", callback_data=view(category, kind, page + 1)))
    rows = [categories[:2], categories[2:], kinds[:3], kinds[3:]]
    if nav:
        rows.append(nav)
    return "\n".join(lines).strip(), InlineKeyboardMarkup(inline_keyboard=rows)
