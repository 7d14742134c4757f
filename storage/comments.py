"""The answers to "what influenced your score" for /comments: newest first, by category and kind.

Kept apart from storage/stats.py (the figures): this module reads answers themselves, not sums
of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_ts

CATEGORY_SQL = {
    "all": "1",
    "promoter": "s.score >= 9",
    "passive": "s.score BETWEEN 7 AND 8",
    "detractor": "s.score <= 6",
}


@dataclass(frozen=True, slots=True)
class Comment:
    scored_at: datetime
    score: int
    reason: str
    kind: str
    contact_name: str | None
    manager_name: str | None


async def latest_comments(
    db: Database, category: str, kind: str | None, offset: int, limit: int
) -> tuple[list[Comment], int]:
    """The latest answers to "what influenced your score", newest first, and how many there are."""
    where = f"s.reason IS NOT NULL AND {CATEGORY_SQL[category]}"
    params: list[object] = []
    if kind is not None:
        where += " AND s.kind = ?"
        params.append(kind)
    async with db.read() as conn:
        total = (
            await (
                await conn.execute(f"SELECT count(*) FROM surveys s WHERE {where}", params)
            ).fetchone()
        )[0]
        rows = await (
            await conn.execute(
                "SELECT s.scored_at, s.score, s.reason, s.kind, "
                "CASE WHEN c.forgotten_at IS NULL THEN c.full_name END, m.full_name "
                "FROM surveys s JOIN contacts c ON c.id = s.contact_id "
                "LEFT JOIN staff m ON m.user_id = s.manager_id "
                f"WHERE {where} ORDER BY s.scored_at DESC, s.id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ).fetchall()
    return [Comment(from_ts(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows], total
