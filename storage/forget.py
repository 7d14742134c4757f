"""Erasing a person's personal data: /forget by the person, or an owner from a contact's card.

Everything that says who the person is or what they wrote goes in one transaction: the contact's
name, organisation, phone, birthday, Telegram link and language; their free-text answers and the
phone they left; comments, call and case notes, deal descriptions; their pending tasks; messages
about them not yet sent (dropped) and the stored copies of those sent; what the events for
outside systems say about them, sent or waiting (storage/events.py); half-finished
conversations. The rows stay (the contact with `forgotten_at`, each survey with its score, kind,
manager, dates and status), so every figure is exactly what it was.

Two non-obvious decisions. An erased survey gets a new random token, instead of a `forgotten_at`
check in every reader of links, so the old link (printed on a receipt, say) is simply unknown and
can never bind the person to the record again. And the transaction runs with `secure_delete` on,
followed by a WAL checkpoint, so the old values are overwritten in the file itself, not merely
unreachable by queries (backups made earlier still hold them until they rotate out). The /find
index keeps a deleted name's trigrams in its older segments, so between the two the index is
merged in short steps (`_purge_search_index`).

A person's own /forget erases in full the contact linked to their Telegram account; a survey they
opened that belongs to another record (a link meant for a colleague) loses only what they said in
it: erasing that record would delete somebody else's data at their request.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from domain.cases import CLIENT_ACTIONS
from domain.privacy import phone_hash
from storage.db import Database
from storage.events import contact_forgotten, emit_on, scrub
from storage.timefmt import ts

log = logging.getLogger(__name__)

# A stored day plan (a digest) names many people in its buttons, which may be cut short: a copy
# is wiped if it contains this many first characters of the name (at least MIN_NEEDLE of them).
NAME_NEEDLE = 24
MIN_NEEDLE = 3
DROPPED_NOTE = "erased on request"
# Pages of the /find index rewritten per merge step (one short write transaction each), and a
# bound on the steps (about 4 GiB of index; concurrent writes cannot keep the merge going longer).
FTS_MERGE_PAGES = 64
FTS_MERGE_MAX_STEPS = 16384
# What an erased note or resolution shows in a case's history (the event itself stays).
ERASED_TEXT = "—"


class Outcome(enum.Enum):
    ERASED = "erased"
    ALREADY = "already"  # erased before: nothing more was done
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Erasure:
    contact_ids: tuple[int, ...] = ()  # contacts erased in full by this call
    survey_ids: tuple[int, ...] = ()  # answers given on other people's records, erased
    case_ids: tuple[int, ...] = ()  # cases whose delivered alerts should be re-rendered

    @property
    def erased_anything(self) -> bool:
        return bool(self.contact_ids or self.survey_ids)


@asynccontextmanager
async def _erasing(db: Database) -> AsyncIterator[aiosqlite.Connection]:
    """A write transaction that overwrites with zeros whatever it deletes or replaces."""
    async with db.transaction() as conn:
        row = await (await conn.execute("PRAGMA secure_delete")).fetchone()
        before = int(row[0]) if row else 0
        await conn.execute("PRAGMA secure_delete = 1")
        try:
            yield conn
        finally:
            await conn.execute(f"PRAGMA secure_delete = {before}")


async def _purge_search_index(db: Database) -> int:
    """Merge the /find index until the erased names' trigrams are gone from its pages.

    The index is contentless: a delete is a new segment of tombstones (holding the trigrams
    themselves), and the old segments keep the name until a merge rewrites them. FTS5's
    'merge' with a negative size first puts every segment on one level, so running it to the
    end leaves one segment; later steps are positive so that a contact added meanwhile does not
    restart it. Each step is its own short transaction with `secure_delete` (the freed pages are
    zeroed), so a respondent's tap waits for one step at most. Returns the number of steps."""
    pages = -FTS_MERGE_PAGES
    for step in range(1, FTS_MERGE_MAX_STEPS + 1):
        async with _erasing(db) as conn:
            before = conn.total_changes
            await conn.execute(
                "INSERT INTO contacts_fts (contacts_fts, rank) VALUES ('merge', ?)", (pages,)
            )
            # FTS5's own rule: fewer than two changes means the merge had nothing left to do.
            if conn.total_changes - before < 2:
                return step
        pages = FTS_MERGE_PAGES
    log.warning("the search index merge stopped after %d steps", FTS_MERGE_MAX_STEPS)
    return FTS_MERGE_MAX_STEPS


async def _checkpoint(db: Database) -> None:
    """Copy the new pages into the file and empty the WAL, which still holds the old ones."""
    await db.checkpoint_truncate()


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


async def _ids(conn: aiosqlite.Connection, sql: str, params: Sequence[object]) -> list[int]:
    return [int(r[0]) for r in await (await conn.execute(sql, params)).fetchall()]


async def holds_data_about(db: Database, tg_user_id: int) -> bool:
    """Whether anything links this Telegram account to a person: a contact or an opened survey."""
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM contacts WHERE tg_user_id = :u) "
                "OR EXISTS (SELECT 1 FROM surveys WHERE respondent_tg_id = :u)",
                {"u": tg_user_id},
            )
        ).fetchone()
    return bool(row and row[0])


async def contact_status(db: Database, contact_id: int) -> Outcome:
    """ERASED: the contact exists and holds data; ALREADY: forgotten; NOT_FOUND: no such id."""
    async with db.read() as conn:
        row = await (
            await conn.execute("SELECT forgotten_at FROM contacts WHERE id = ?", (contact_id,))
        ).fetchone()
    if row is None:
        return Outcome.NOT_FOUND
    return Outcome.ALREADY if row[0] is not None else Outcome.ERASED


async def erase_contact(
    db: Database, contact_id: int, now: datetime, *, by: str
) -> tuple[Outcome, Erasure]:
    """An owner's erasure of one contact; `by` names who asked, for the log (never a name)."""
    async with _erasing(db) as conn:
        row = await (
            await conn.execute("SELECT forgotten_at FROM contacts WHERE id = ?", (contact_id,))
        ).fetchone()
        if row is None:
            return Outcome.NOT_FOUND, Erasure()
        if row[0] is not None:
            return Outcome.ALREADY, Erasure()
        cases = await _erase_contact(conn, contact_id, now)
    await _purge_search_index(db)
    await _checkpoint(db)
    log.info("contact %d forgotten by %s", contact_id, by)
    return Outcome.ERASED, Erasure(contact_ids=(contact_id,), case_ids=tuple(cases))


async def erase_respondent(db: Database, tg_user_id: int, now: datetime) -> Erasure:
    """A person's own /forget: their contact in full, and their answers on other records."""
    async with _erasing(db) as conn:
        contacts = await _ids(
            conn,
            "SELECT id FROM contacts WHERE tg_user_id = ? AND forgotten_at IS NULL",
            (tg_user_id,),
        )
        cases: list[int] = []
        for contact_id in contacts:
            cases += await _erase_contact(conn, contact_id, now)
        # What is left bound to the account belongs to other records (see the module docstring).
        surveys = await _ids(
            conn, "SELECT id FROM surveys WHERE respondent_tg_id = ?", (tg_user_id,)
        )
        if surveys:
            foreign_cases = await _ids(
                conn, f"SELECT id FROM cases WHERE survey_id IN ({_marks(surveys)})", surveys
            )
            await _erase_answers(conn, surveys, now)
            await _erase_case_texts(conn, foreign_cases)
            await _scrub_outbox(conn, None, surveys, foreign_cases, [], None)
            await emit_on(conn, scrub, [], surveys, foreign_cases)
            cases += foreign_cases
        if contacts or surveys:
            await _drop_conversations(conn, [tg_user_id], None, surveys, [], [])
    if contacts:
        await _purge_search_index(db)
    if contacts or surveys:
        await _checkpoint(db)
    for contact_id in contacts:
        log.info("contact %d forgotten by respondent", contact_id)
    for survey_id in surveys:
        log.info("answers of survey %d forgotten by respondent", survey_id)
    return Erasure(tuple(contacts), tuple(surveys), tuple(cases))


async def erased_phone_hashes(db: Database) -> frozenset[str]:
    async with db.read() as conn:
        rows = await (await conn.execute("SELECT phone_hash FROM erased_phones")).fetchall()
    return frozenset(r[0] for r in rows)


async def _remember_phones(
    conn: aiosqlite.Connection, sql: str, params: Sequence[object], now: datetime
) -> None:
    phones = {r[0] for r in await (await conn.execute(sql, params)).fetchall() if r[0]}
    await conn.executemany(
        "INSERT OR IGNORE INTO erased_phones (phone_hash, erased_at) VALUES (?, ?)",
        [(phone_hash(p), ts(now)) for p in sorted(phones)],
    )


async def _erase_contact(conn: aiosqlite.Connection, contact_id: int, now: datetime) -> list[int]:
    """Erase one contact inside the caller's transaction; returns the ids of its cases."""
    row = await (
        await conn.execute("SELECT full_name, tg_user_id FROM contacts WHERE id = ?", (contact_id,))
    ).fetchone()
    surveys = await _ids(conn, "SELECT id FROM surveys WHERE contact_id = ?", (contact_id,))
    await _remember_phones(
        conn,
        "SELECT phone FROM contacts WHERE id = ? UNION SELECT phone FROM surveys "
        "WHERE contact_id = ?",
        (contact_id, contact_id),
        now,
    )
    cases = await _ids(conn, "SELECT id FROM cases WHERE contact_id = ?", (contact_id,))
    tasks = await _ids(conn, "SELECT id FROM tasks WHERE contact_id = ?", (contact_id,))
    await conn.execute(
        "UPDATE contacts SET full_name = NULL, organization = NULL, phone = NULL, "
        "birth_day = NULL, birth_month = NULL, birth_year = NULL, tg_user_id = NULL, "
        "language = NULL, referral_code = NULL, contact_consent = NULL, care_status = NULL, "
        "opted_out_at = NULL, unreachable_at = NULL, forgotten_at = :now, updated_at = :now "
        "WHERE id = :id",
        {"now": ts(now), "id": contact_id},
    )
    await _erase_answers(conn, surveys, now)
    await conn.execute("DELETE FROM comments WHERE contact_id = ?", (contact_id,))
    # NOT NULL column: an empty description reads as "no description" everywhere it is shown.
    await conn.execute("UPDATE deals SET description = '' WHERE contact_id = ?", (contact_id,))
    await _erase_case_texts(conn, cases)
    await conn.execute(
        "UPDATE tasks SET status = 'cancelled', closed_at = ? "
        "WHERE contact_id = ? AND status = 'pending'",
        (ts(now), contact_id),
    )
    await conn.execute(
        "UPDATE tasks SET note = NULL WHERE contact_id = ? AND note IS NOT NULL", (contact_id,)
    )
    await conn.execute(
        "UPDATE contact_log SET note = NULL WHERE contact_id = ? AND note IS NOT NULL",
        (contact_id,),
    )
    await _scrub_outbox(conn, contact_id, surveys, cases, tasks, row["full_name"])
    # Outside systems: what the events still waiting (or sent) say about them goes too, and
    # they are told the person was forgotten (by id only).
    await emit_on(conn, scrub, [contact_id], surveys, cases)
    await emit_on(conn, contact_forgotten, contact_id, ts(now))
    people = [row["tg_user_id"]] if row["tg_user_id"] is not None else []
    await _drop_conversations(conn, people, contact_id, surveys, cases, tasks)
    return cases


async def _erase_answers(
    conn: aiosqlite.Connection, survey_ids: Sequence[int], now: datetime
) -> None:
    """The free text and phone of these answers, and the account and link that reach them."""
    if not survey_ids:
        return
    marks = _marks(survey_ids)
    await _remember_phones(
        conn, f"SELECT phone FROM surveys WHERE id IN ({marks})", survey_ids, now
    )
    # The full text of a reason is kept as a comment written at the same instant as the answer.
    await conn.execute(
        "DELETE FROM comments WHERE source = 'survey' AND id IN (SELECT m.id FROM comments m "
        "JOIN surveys s ON s.contact_id = m.contact_id AND s.reason_at = m.created_at "
        f"WHERE s.id IN ({marks}))",
        survey_ids,
    )
    # A phone left in an answer was copied onto the contact if it had none.
    await conn.execute(
        "UPDATE contacts SET phone = NULL WHERE (id, phone) IN (SELECT contact_id, phone "
        f"FROM surveys WHERE id IN ({marks}) AND phone IS NOT NULL)",
        survey_ids,
    )
    await conn.execute(
        "UPDATE surveys SET reason = NULL, phone = NULL, respondent_tg_id = NULL, "
        f"language = NULL, token = lower(hex(randomblob(18))) WHERE id IN ({marks})",
        survey_ids,
    )


async def _erase_case_texts(conn: aiosqlite.Connection, case_ids: Sequence[int]) -> None:
    """Resolutions and notes are free text about the person; the person's own answers to "was it
    resolved?" carry their Telegram id as the actor."""
    if not case_ids:
        return
    marks = _marks(case_ids)
    await conn.execute(f"UPDATE cases SET resolution = NULL WHERE id IN ({marks})", case_ids)
    client = _marks(sorted(CLIENT_ACTIONS))
    await conn.execute(
        "UPDATE case_events SET "
        "note = CASE WHEN action IN ('note', 'resolved') THEN ? END, "
        f"actor_id = CASE WHEN action IN ({client}) THEN NULL ELSE actor_id END "
        f"WHERE case_id IN ({marks})",
        [ERASED_TEXT, *sorted(CLIENT_ACTIONS), *case_ids],
    )


def _key_range(prefix: str) -> tuple[str, str]:
    """Bounds of the idem keys that start with `prefix` (ending in ":"), so the unique index on
    idem_key finds them: ";" sorts right after ":"."""
    return prefix, prefix[:-1] + ";"


async def _scrub_outbox(
    conn: aiosqlite.Connection,
    contact_id: int | None,
    survey_ids: Sequence[int],
    case_ids: Sequence[int],
    task_ids: Sequence[int],
    name: str | None,
) -> None:
    """Drop the messages about the person not yet sent, and wipe the stored copies of the rest.

    Rows are found through the indexes, by what they are about (each `idem_key` and `ref` as it
    is queued): the outbox keeps every message ever sent, and a scan of it would hold the one
    connection for a second on a large base. A message already claimed by the sender is dropped
    too: the sender checks the row is still claimed right before the request."""
    lookups: list[tuple[str, list[object]]] = []
    exact = [f"nudge:{s}" for s in survey_ids]
    prefixes = [f"remind:{t}:" for t in task_ids]
    if contact_id is not None:
        exact.append(f"lead:{contact_id}")
        prefixes += [f"unreachable:{contact_id}:", f"greeting:{contact_id}:"]
        # anything else queued to them (the pending rows are few, and indexed by status)
        lookups.append(("status IN ('pending', 'claimed') AND contact_id = ?", [contact_id]))
    if exact:
        lookups.append((f"idem_key IN ({_marks(exact)})", list(exact)))
    lookups += [("idem_key >= ? AND idem_key < ?", list(_key_range(p))) for p in prefixes]
    if case_ids:
        lookups.append((f"ref IN ({_marks(case_ids)})", [f"case:{k}" for k in case_ids]))
    found: set[int] = set()
    for where, params in lookups:
        found.update(await _ids(conn, f"SELECT id FROM outbox WHERE {where}", params))
    ids = sorted(found)
    if ids:
        marks = _marks(ids)
        await conn.execute(
            "UPDATE outbox SET status = 'dropped', last_error = ? "
            f"WHERE status IN ('pending', 'claimed') AND id IN ({marks})",
            [DROPPED_NOTE, *ids],
        )
        await conn.execute(f"UPDATE outbox SET payload = '{{}}' WHERE id IN ({marks})", ids)
    if contact_id is None or not name or len(name.strip()) < MIN_NEEDLE:
        return
    # The day plans of the managers who had tasks for the person name them in a button.
    needle = json.dumps(name[:NAME_NEEDLE], ensure_ascii=False)[1:-1]
    managers = await _ids(
        conn,
        "SELECT DISTINCT manager_id FROM tasks WHERE contact_id = ? AND manager_id IS NOT NULL",
        (contact_id,),
    )
    for manager_id in managers:
        await conn.execute(
            "UPDATE outbox SET payload = '{}' WHERE idem_key >= ? AND idem_key < ? "
            "AND status NOT IN ('pending', 'claimed') AND instr(payload, ?) > 0",
            [*_key_range(f"digest:{manager_id}:"), needle],
        )


async def _drop_conversations(
    conn: aiosqlite.Connection,
    people: Sequence[int],
    contact_id: int | None,
    survey_ids: Sequence[int],
    case_ids: Sequence[int],
    task_ids: Sequence[int],
) -> None:
    """The person's own half-finished conversations (a survey must not resume), and staff's
    conversations about them (a half-typed sale or comment would write their data back)."""
    conditions: list[str] = []
    params: list[object] = []
    for user_id in people:
        # key: fsm:<bot>:<chat>:<user>:<destiny>; the bot talks in private chats (chat = user)
        conditions.append("key LIKE ?")
        params.append(f"%:{user_id}:{user_id}:%")
    if contact_id is not None:
        conditions.append("json_extract(data, '$.contact_id') = ?")
        params.append(contact_id)
    for field, ids in (("survey_id", survey_ids), ("case_id", case_ids), ("task_id", task_ids)):
        if ids:
            conditions.append(f"json_extract(data, '$.{field}') IN ({_marks(ids)})")
            params += list(ids)
    if conditions:
        await conn.execute(f"DELETE FROM fsm_states WHERE {' OR '.join(conditions)}", params)
    if people:  # when the bot last greeted them (storage/strangers.py)
        await conn.execute(
            f"DELETE FROM stranger_replies WHERE user_id IN ({_marks(people)})", list(people)
        )
