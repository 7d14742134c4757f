"""Survey answers for BI tools, page by page (GET /api/v1/answers?since=<cursor>).

Keyset paging on (scored_at, id): an answer appears once it has a score, its place never moves
(a score is given once), so a tool that keeps the cursor of its last page gets every later answer
exactly once, however many arrive between its calls, and a page costs the same at any depth
(the partial index `surveys_scored`). The cursor is opaque to the caller (base64url of the last
row's key). The reason and the dates after the score may still come after the answer was paged:
they are in the row as they are when it is read.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from typing import Any

from domain.nps import category
from storage.db import Database

MAX_PAGE = 1000


class BadCursor(ValueError):
    pass


def encode_cursor(scored_at: str, survey_id: int) -> str:
    raw = json.dumps([scored_at, survey_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        scored_at, survey_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if not isinstance(scored_at, str) or not isinstance(survey_id, int) or len(scored_at) > 40:
        raise BadCursor(cursor)
    return scored_at, survey_id


_SELECT = (
    "SELECT s.id, s.score, s.reason, s.kind, s.manager_id, st.full_name AS manager_name, "
    "s.deal_id, d.deal_date, s.contact_id, s.created_at, s.opened_at, s.scored_at, "
    "s.answered_at FROM surveys s LEFT JOIN deals d ON d.id = s.deal_id "
    "LEFT JOIN staff st ON st.user_id = s.manager_id WHERE s.score IS NOT NULL "
)


def _page(conn: sqlite3.Connection, after: tuple[str, int] | None, limit: int) -> list[Any]:
    if after is None:
        sql = _SELECT + "ORDER BY s.scored_at, s.id LIMIT ?"
        return conn.execute(sql, (limit,)).fetchall()
    sql = _SELECT + "AND (s.scored_at, s.id) > (?, ?) ORDER BY s.scored_at, s.id LIMIT ?"
    return conn.execute(sql, (*after, limit)).fetchall()


async def answers_page(
    db: Database, since: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` answers after the cursor, and the cursor of the last one (None when the
    page is empty: ask again later with the same cursor)."""
    after = decode_cursor(since) if since else None
    rows = await db.fetch(_page, after, min(limit, MAX_PAGE))
    items = [
        {
            "survey_id": r["id"],
            "score": r["score"],
            "category": category(r["score"]),
            "reason": r["reason"],
            "kind": r["kind"],
            "manager_id": r["manager_id"],
            "manager_name": r["manager_name"],
            "deal_id": r["deal_id"],
            "deal_date": r["deal_date"],
            "contact_id": r["contact_id"],
            "created_at": r["created_at"],
            "opened_at": r["opened_at"],
            "scored_at": r["scored_at"],
            "answered_at": r["answered_at"],
        }
        for r in rows
    ]
    cursor = encode_cursor(rows[-1]["scored_at"], rows[-1]["id"]) if rows else since
    return items, cursor
