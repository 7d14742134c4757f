"""Contact search and the contact card (/find): every query of that feature.

Who may see what is decided here, in SQL, not in the handlers: `viewer` is the manager's user id
(they see only contacts whose `manager_id` is theirs) or None for an owner (everybody); a forgotten
contact is never found. Every read and write takes the viewer, so a button with a forged or stale
contact id reads and changes nothing.

A name or organisation is found through `contacts_fts`, a contentless FTS5 trigram index kept by
triggers (storage/migrations.py, `find_index`): every word of 3+ characters must occur somewhere in
the name or the organisation, in any case, "ё" counting as "е". Shorter words narrow the matches
(checked on them only); a query with no word of 3+ characters is not run (`searchable`), since it
would scan every contact. The newest FIND_CAP + 1 matches are read by rowid, so "found: N" is exact
up to FIND_CAP and "more than FIND_CAP" beyond, and the cost does not grow with the base. A
manager's query also matches their `mgr` token, so it walks only their own contacts. Searches
read through the report connection (`Database.report()`), so they never wait for the writer.
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
FIND_CAP = 200  # matches counted exactly; beyond it the list says "more than 200"
MIN_WORD = 3  # the trigram index finds words of at least this many characters

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
    total: int  # exact up to FIND_CAP
    more: bool = False  # more than FIND_CAP matched (then total == FIND_CAP)


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
    """The form a name is compared in: case-folded, "ё" as "е" (FTS5 folds case on its own)."""
    return text.casefold().replace("ё", "е")


def _fts_fold(text: str) -> str:
    """What the index holds of a text (the triggers' `replace`): FTS5 folds the case itself."""
    return text.replace("Ё", "Е").replace("ё", "е")


def _words(text: str) -> tuple[list[str], list[str]]:
    """The query's words of MIN_WORD+ characters (for the index) and the shorter ones."""
    words = list(dict.fromkeys(text.split()))
    return [w for w in words if len(w) >= MIN_WORD], [w for w in words if len(w) < MIN_WORD]


def searchable(text: str) -> bool:
    """Whether a name search can run: at least one word of MIN_WORD or more characters."""
    return bool(_words(text)[0])


def manager_token(manager_id: int) -> str:
    """The `mgr` column's value for this manager (the same as the triggers' `char(...)`)."""
    return (
        chr(0xF0000 + (manager_id & 0xFFF))
        + chr(0xF1000 + ((manager_id >> 12) & 0xFFF))
        + chr(0xF2000 + ((manager_id >> 24) & 0xFFF))
    )


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_query(text: str, viewer: int | None) -> str | None:
    """The FTS5 MATCH expression for a name search, or None if the query has no long word."""
    long, _ = _words(text)
    if not long:
        return None
    query = "{name org} : (" + " AND ".join(_phrase(_fts_fold(w)) for w in long) + ")"
    if viewer is not None:
        query += f" AND mgr : {_phrase(manager_token(viewer))}"
    return query


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
    """Contacts with exactly this E.164 `phone`, or whose name or organisation holds every word
    of `text` (see the module docstring). At most SEARCH_LIMIT, by name."""
    if phone is not None:
        return await _by_phone(db, viewer, phone)
    match = match_query(text or "", viewer)
    if match is None:
        return Found([], 0)
    short = _words(text or "")[1]
    params: dict[str, Any] = {"viewer": viewer, "match": match}
    params |= {f"short{n}": fold(word) for n, word in enumerate(short)}
    async with db.report() as conn:
        rows = await (await conn.execute(search_sql(len(short)), params)).fetchall()
    found = sorted((_brief(r) for r in rows[:FIND_CAP]), key=_name_order)
    return Found(found[:SEARCH_LIMIT], len(found), len(rows) > FIND_CAP)


def search_sql(short_words: int) -> str:
    """The name search: the newest FIND_CAP + 1 visible matches, straight from the index in
    rowid order (no sort of all matches: tests/test_find.py checks the plan)."""
    where = [f"f.contacts_fts MATCH :match AND {_VISIBLE}"]
    where += [
        "instr(replace(casefold(coalesce(c.full_name, '') || ' ' || "
        f"coalesce(c.organization, '')), 'ё', 'е'), :short{n}) > 0"
        for n in range(short_words)
    ]
    return (
        f"SELECT {_BRIEF_COLUMNS} FROM contacts_fts f JOIN contacts c ON c.id = f.rowid "
        f"WHERE {' AND '.join(where)} ORDER BY f.rowid DESC LIMIT {FIND_CAP + 1}"
    )


def _name_order(contact: ContactBrief) -> tuple[str, int]:
    return fold(contact.full_name or contact.organization or ""), contact.id


async def _by_phone(db: Database, viewer: int | None, phone: str) -> Found:
    params = {"viewer": viewer, "phone": phone}
    async with db.report() as conn:
        rows = await (
            await conn.execute(
                f"SELECT {_BRIEF_COLUMNS} FROM contacts c WHERE c.phone = :phone AND {_VISIBLE} "
                f"ORDER BY c.id DESC LIMIT {FIND_CAP + 1}",
                params,
            )
        ).fetchall()
    found = sorted((_brief(r) for r in rows[:FIND_CAP]), key=_name_order)
    return Found(found[:SEARCH_LIMIT], len(found), len(rows) > FIND_CAP)


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
