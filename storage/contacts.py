"""Contact search and the contact card (/find): every query of that feature.

Who may see what is decided here, in SQL, not in the handlers: `viewer` is the manager's user id
(they see only contacts whose `manager_id` is theirs) or None for an owner (everybody); a forgotten
contact is never found. Every read and write takes the viewer, so a button with a forged or stale
contact id reads and changes nothing.

Names are matched Unicode case-insensitively with the `casefold()` SQL function, and "ё" counts as
"е": Russian users type either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import aiosqlite

from storage.db import Database
from storage.timefmt import from_ts, ts

SEARCH_LIMIT = 10
SECTION_LIMIT = 5

T = TypeVar("T")

_VISIBLE = "c.forgotten_at IS NULL AND (:viewer IS NULL OR c.manager_id = :viewer)"


@dataclass(frozen=True, slots=True)
class ContactBrief:
    id: int
    kind: str
    full_name: str | None
    organization: str | None
    phone: str | None
    birthday: tuple[int, int, int | None] | None  # day, month, year


@dataclass(frozen=True, slots=True)
class Found:
    contacts: list[ContactBrief]  # at most SEARCH_LIMIT
    total: int


@dataclass(frozen=True, slots=True)
class Section(Generic[T]):
    items: list[T]  # the latest (or soonest) SECTION_LIMIT
    total: int


@dataclass(frozen=True, slots=True)
class DealLine:
    deal_date: date
    description: str


@dataclass(frozen=True, slots=True)
class AnswerLine:
    at: datetime
    score: int
    reason: str | None
    survey_id: int  # for "📄" (the whole reason) when the card shows it cut


@dataclass(frozen=True, slots=True)
class CommentLine:
    at: datetime
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class CallLine:
    at: datetime
    outcome: str


@dataclass(frozen=True, slots=True)
class TaskLine:
    kind: str
    due_date: date


@dataclass(frozen=True, slots=True)
class ContactCard:
    contact: ContactBrief
    manager_name: str | None
    consent: bool | None
    opted_out_at: datetime | None
    unreachable_at: datetime | None
    deals: Section[DealLine]
    answers: Section[AnswerLine]
    comments: Section[CommentLine]  # survey reasons are shown with their answers, not here
    calls: Section[CallLine]
    tasks: Section[TaskLine]


def fold(text: str) -> str:
    """The form both sides of a name match are compared in (must match `_folded` in SQL)."""
    return text.casefold().replace("ё", "е")


def _folded(column: str) -> str:
    return f"replace(casefold({column}), 'ё', 'е')"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally."""
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _brief(row: aiosqlite.Row) -> ContactBrief:
    birthday = None
    if row["birth_day"] and row["birth_month"]:
        birthday = (row["birth_day"], row["birth_month"], row["birth_year"])
    return ContactBrief(
        id=row["id"],
        kind=row["kind"],
        full_name=row["full_name"],
        organization=row["organization"],
        phone=row["phone"],
        birthday=birthday,
    )


_BRIEF_COLUMNS = (
    "c.id, c.kind, c.full_name, c.organization, c.phone, c.birth_day, c.birth_month, c.birth_year"
)


async def search_contacts(
    db: Database, viewer: int | None, *, phone: str | None = None, text: str | None = None
) -> Found:
    """Contacts with exactly this E.164 `phone`, or whose name or organisation contains `text`."""
    params: dict[str, Any] = {"viewer": viewer}
    if phone is not None:
        where = "c.phone = :phone"
        params["phone"] = phone
    elif text:
        where = (
            f"({_folded('c.full_name')} LIKE :pattern ESCAPE '\\' "
            f"OR {_folded('c.organization')} LIKE :pattern ESCAPE '\\')"
        )
        params["pattern"] = like_pattern(text)
    else:
        return Found([], 0)
    condition = f"{_VISIBLE} AND {where}"
    async with db.read() as conn:
        total_row = await (
            await conn.execute(f"SELECT count(*) FROM contacts c WHERE {condition}", params)
        ).fetchone()
        rows = await (
            await conn.execute(
                f"SELECT {_BRIEF_COLUMNS} FROM contacts c WHERE {condition} "
                "ORDER BY casefold(coalesce(c.full_name, c.organization, '')), c.id "
                f"LIMIT {SEARCH_LIMIT}",
                params,
            )
        ).fetchall()
    return Found([_brief(r) for r in rows], int(total_row[0]) if total_row else 0)


async def get_contact(db: Database, contact_id: int, viewer: int | None) -> ContactBrief | None:
    """The contact if this viewer may see it, else None (unknown, forgotten or someone else's)."""
    async with db.read() as conn:
        row = await (
            await conn.execute(
                f"SELECT {_BRIEF_COLUMNS} FROM contacts c WHERE c.id = :id AND {_VISIBLE}",
                {"id": contact_id, "viewer": viewer},
            )
        ).fetchone()
    return _brief(row) if row else None


async def _section(
    conn: aiosqlite.Connection, select: str, where: str, order: str, contact_id: int
) -> tuple[list[aiosqlite.Row], int]:
    count = await (
        await conn.execute(f"SELECT count(*) FROM {where}", {"id": contact_id})
    ).fetchone()
    rows = await (
        await conn.execute(
            f"SELECT {select} FROM {where} ORDER BY {order} LIMIT {SECTION_LIMIT}",
            {"id": contact_id},
        )
    ).fetchall()
    return list(rows), int(count[0]) if count else 0


async def get_card(db: Database, contact_id: int, viewer: int | None) -> ContactCard | None:
    """Everything the card shows, or None if this viewer may not see the contact."""
    async with db.read() as conn:
        row = await (
            await conn.execute(
                f"SELECT {_BRIEF_COLUMNS}, c.contact_consent, c.opted_out_at, c.unreachable_at, "
                "s.full_name AS manager_name FROM contacts c "
                "LEFT JOIN staff s ON s.user_id = c.manager_id "
                f"WHERE c.id = :id AND {_VISIBLE}",
                {"id": contact_id, "viewer": viewer},
            )
        ).fetchone()
        if row is None:
            return None
        deals, deals_total = await _section(
            conn,
            "deal_date, description",
            "deals WHERE contact_id = :id",
            "deal_date DESC, id DESC",
            contact_id,
        )
        answers, answers_total = await _section(
            conn,
            "scored_at, score, reason, id",
            "surveys WHERE contact_id = :id AND score IS NOT NULL",
            "scored_at DESC, id DESC",
            contact_id,
        )
        comments, comments_total = await _section(
            conn,
            "created_at, source, text",
            "comments WHERE contact_id = :id AND source != 'survey'",
            "created_at DESC, id DESC",
            contact_id,
        )
        calls, calls_total = await _section(
            conn,
            "at, purpose",
            "contact_log WHERE contact_id = :id AND channel = 'call'",
            "at DESC, id DESC",
            contact_id,
        )
        tasks, tasks_total = await _section(
            conn,
            "kind, due_date",
            "tasks WHERE contact_id = :id AND status = 'pending'",
            "due_date, id",
            contact_id,
        )
    consent = row["contact_consent"]
    return ContactCard(
        contact=_brief(row),
        manager_name=row["manager_name"],
        consent=None if consent is None else bool(consent),
        opted_out_at=from_ts(row["opted_out_at"]) if row["opted_out_at"] else None,
        unreachable_at=from_ts(row["unreachable_at"]) if row["unreachable_at"] else None,
        deals=Section(
            [DealLine(date.fromisoformat(r[0]), r[1]) for r in deals],
            deals_total,
        ),
        answers=Section(
            [AnswerLine(from_ts(r[0]), r[1], r[2], r[3]) for r in answers if r[0]],
            answers_total,
        ),
        comments=Section(
            [CommentLine(from_ts(r[0]), r[1], r[2]) for r in comments], comments_total
        ),
        calls=Section([CallLine(from_ts(r[0]), r[1]) for r in calls], calls_total),
        tasks=Section([TaskLine(r[0], date.fromisoformat(r[1])) for r in tasks], tasks_total),
    )


async def add_comment(
    db: Database,
    contact_id: int,
    viewer: int | None,
    author_id: int,
    text: str,
    now: datetime,
    source_key: str | None = None,
) -> bool:
    """A manual comment; False if the viewer may (no longer) see the contact. The same message
    (`source_key`) handled again after a crash adds nothing and still counts as saved."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO comments (contact_id, author_id, source, text, created_at, source_key) "
            f"SELECT c.id, :author, 'manual', :text, :now, :key FROM contacts c "
            f"WHERE c.id = :id AND {_VISIBLE} ON CONFLICT DO NOTHING",
            {
                "author": author_id,
                "text": text,
                "now": ts(now),
                "id": contact_id,
                "viewer": viewer,
                "key": source_key,
            },
        )
        if cur.rowcount == 1:
            return True
        if source_key is None:
            return False
        row = await (
            await conn.execute(
                "SELECT 1 FROM comments WHERE source_key = ? AND contact_id = ?",
                (source_key, contact_id),
            )
        ).fetchone()
        return row is not None


async def set_birthday(
    db: Database,
    contact_id: int,
    viewer: int | None,
    birthday: tuple[int, int, int | None],
    now: datetime,
) -> bool:
    """Replace the birthday (a date without a year clears the year); False if not visible."""
    day, month, year = birthday
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE contacts AS c SET birth_day = :day, birth_month = :month, birth_year = :year, "
            f"updated_at = :now WHERE c.id = :id AND {_VISIBLE}",
            {
                "day": day,
                "month": month,
                "year": year,
                "now": ts(now),
                "id": contact_id,
                "viewer": viewer,
            },
        )
        return cur.rowcount == 1
