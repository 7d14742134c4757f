"""The answers to "what influenced your score" for /comments, newest first, by category and kind,
a page at a time; and one answer's whole text for the staff who may see its contact.

One decision: pages go by key, not by offset. A page is asked for as "the PAGE answers just
older (or, going back, just newer) than survey N", `(scored_at, id) < (:at, :id)`, so page 50
costs what page 1 costs and an answer arriving between two taps repeats nothing. Each
(category, kind) pair is one range of the `surveys_comments` index (all of them together, one
range of `surveys_reason`); a filter of "all" on one side is a UNION ALL of its pairs, each
limited, so no query walks more than PAGE + 1 rows of any range. Pages and totals are read on
the report connection (`Database.report`), so they never hold up a respondent's tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.vocabulary import KINDS
from storage.contacts import ContactBrief, get_contact
from storage.db import Database
from storage.stats import comment_total as figures_comment_total
from storage.timefmt import from_ts

# The category as the `surveys_comments` index computes it: 0 detractor, 1 passive, 2 promoter.
CATEGORY_EXPR = "((score >= 7) + (score >= 9))"
CATEGORIES: dict[str, tuple[int, ...]] = {
    "all": (0, 1, 2),
    "promoter": (2,),
    "passive": (1,),
    "detractor": (0,),
}


@dataclass(frozen=True, slots=True)
class Comment:
    survey_id: int
    scored_at: datetime
    score: int
    reason: str
    kind: str
    contact_name: str | None
    manager_name: str | None


@dataclass(frozen=True, slots=True)
class CommentPage:
    items: list[Comment]  # newest first
    newer: bool  # there are answers before the first item (◀)
    older: bool  # there are answers after the last item (▶)


def _ranges(category: str, kind: str) -> list[tuple[str, dict[str, object]]]:
    """The filter as index ranges, each a condition and its values: every answer with a reason is
    one range of `surveys_reason` (by time); otherwise each (category, kind) pair is one range of
    `surveys_comments`, and a filter of "all" on one side is the union of its pairs."""
    if category == "all" and kind == "all":
        return [("reason IS NOT NULL", {})]
    kinds = KINDS if kind == "all" else (kind,)
    return [
        (
            f"reason IS NOT NULL AND {CATEGORY_EXPR} = :c{i} AND kind = :k{i}",
            {f"c{i}": cat, f"k{i}": one_kind},
        )
        for i, (cat, one_kind) in enumerate((c, k) for c in CATEGORIES[category] for k in kinds)
    ]


def page_sql(category: str, kind: str, keyed: bool, back: bool) -> tuple[str, dict[str, object]]:
    """The page query and its parameters but `:at`/`:id` (the anchor's) and `:n` (the limit):
    each range of the filter (`_ranges`) walked from the anchor, at most `:n` rows of each."""
    key = f" AND (scored_at, id) {'>' if back else '<'} (:at, :id)" if keyed else ""
    order = "scored_at, id" if back else "scored_at DESC, id DESC"
    outer = "s.scored_at, s.id" if back else "s.scored_at DESC, s.id DESC"
    parts: list[str] = []
    values: dict[str, object] = {}
    for where, named in _ranges(category, kind):
        parts.append(
            f"SELECT * FROM (SELECT id, scored_at FROM surveys WHERE {where}{key} "
            f"ORDER BY {order} LIMIT :n)"
        )
        values |= named
    sql = (
        "SELECT s.id, s.scored_at, s.score, s.reason, s.kind, "
        "CASE WHEN c.forgotten_at IS NULL THEN c.full_name END, m.full_name "
        f"FROM ({' UNION ALL '.join(parts)} ORDER BY {order} LIMIT :n) AS p "
        "JOIN surveys s ON s.id = p.id JOIN contacts c ON c.id = s.contact_id "
        f"LEFT JOIN staff m ON m.user_id = s.manager_id ORDER BY {outer}"
    )
    return sql, values


async def comment_page(
    db: Database,
    category: str,
    kind: str,
    size: int,
    anchor: int = 0,
    back: bool = False,
) -> CommentPage | None:
    """`size` answers older than survey `anchor` (0: the newest), or with `back` the `size`
    answers just newer than it. None when the anchor is not an answer with a reason (a stale or
    forged button: it was erased since, or never was)."""
    async with db.report() as conn:
        named: dict[str, object] = {"n": size + 1}
        if anchor:
            row = await (
                await conn.execute(
                    "SELECT scored_at FROM surveys WHERE id = ? AND reason IS NOT NULL "
                    "AND score IS NOT NULL",
                    (anchor,),
                )
            ).fetchone()
            if row is None:
                return None
            named |= {"at": row[0], "id": anchor}
        sql, values = page_sql(category, kind, bool(anchor), back)
        rows = await (await conn.execute(sql, values | named)).fetchall()
    more = len(rows) > size
    items = [Comment(r[0], from_ts(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows[:size]]
    if back:
        return CommentPage(items[::-1], newer=more, older=True)
    return CommentPage(items, newer=bool(anchor), older=more)


async def comment_total(db: Database, category: str, kind: str) -> int:
    """How many answers with a reason a filter has ("all" for either: every one), added up from
    the per-day figures (storage/stats.py), not counted over the index."""
    return await figures_comment_total(db, category, None if kind == "all" else kind)


@dataclass(frozen=True, slots=True)
class AnswerText:
    survey_id: int
    contact: ContactBrief
    scored_at: datetime
    score: int
    reason: str


async def answer_text(db: Database, survey_id: int, viewer: int | None) -> AnswerText | None:
    """An answer's whole reason, or None if there is none or this viewer may not see the contact
    (the card's own rule, `storage.contacts.get_contact`: owners everybody, a manager their own;
    nobody a forgotten person)."""
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT id, contact_id, scored_at, score, reason FROM surveys "
                "WHERE id = ? AND reason IS NOT NULL AND score IS NOT NULL",
                (survey_id,),
            )
        ).fetchone()
    contact = await get_contact(db, row[1], viewer) if row is not None else None
    if row is None or contact is None:
        return None
    return AnswerText(row[0], contact, from_ts(row[2]), row[3], row[4])
