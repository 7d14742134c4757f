"""Survey answers for BI tools, page by page (GET /api/v1/answers?since=<cursor>).

Keyset paging on the answer's place in `answers_feed`, a number given when the score is written,
in that transaction (migration ANSWERS_FEED). The non-obvious decision: not (scored_at, id).
Times have one-second steps, so two answers of one second that commit out of id order put the
later-committed one *before* a cursor already handed out, and it was skipped for good; the
feed's number grows in commit order (one writer), so a tool that keeps the cursor of its last
page gets every later answer exactly once, however many arrive between its calls, and a page
costs the same at any depth (the primary key). The cursor is opaque to the caller (base64url);
a cursor of the old (scored_at, id) form is still read, as the place of that answer. The reason
and the dates after the score may still come after the answer was paged: they are in the row
as they are when it is read.
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


def encode_cursor(seq: int) -> str:
    raw = json.dumps([seq], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | tuple[str, int]:
    """The feed number after which to page, or (scored_at, survey id) of an old cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if not isinstance(key, list):
        raise BadCursor(cursor)
    if len(key) == 1 and type(key[0]) is int and 0 <= key[0] < 2**63:
        return int(key[0])
    if (
        len(key) == 2
        and isinstance(key[0], str)
        and len(key[0]) <= 40
        and type(key[1]) is int
        and 0 <= key[1] < 2**63
    ):
        return key[0], key[1]
    raise BadCursor(cursor)


_SELECT = (
    "SELECT f.seq, s.id, s.score, s.reason, s.kind, s.manager_id, st.full_name AS manager_name, "
    "s.deal_id, d.deal_date, s.contact_id, s.created_at, s.opened_at, s.scored_at, "
    "s.answered_at FROM answers_feed f JOIN surveys s ON s.id = f.survey_id "
    "LEFT JOIN deals d ON d.id = s.deal_id "
    "LEFT JOIN staff st ON st.user_id = s.manager_id WHERE s.score IS NOT NULL "
)


def _page(conn: sqlite3.Connection, after: int | tuple[str, int] | None, limit: int) -> list[Any]:
    if isinstance(after, tuple):  # an old cursor: the place of the last answer it named
        got = conn.execute(
            "SELECT max(f.seq) FROM answers_feed f JOIN surveys s ON s.id = f.survey_id "
            "WHERE (s.scored_at, s.id) <= (?, ?)",
            after,
        ).fetchone()
        after = int(got[0] or 0)
    sql = _SELECT + "AND f.seq > ? ORDER BY f.seq LIMIT ?"
    return conn.execute(sql, (after or 0, limit)).fetchall()


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
    cursor = encode_cursor(rows[-1]["seq"]) if rows else since
    return items, cursor
