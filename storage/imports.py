"""Writing an imported client base: one chunk of clean rows per transaction.

Matching: a row with a phone is the contact with that phone (E.164, unique); a row without one
is the phone-less contact with the same folded name and organisation. A matched contact only gets
its empty fields filled (name, organisation, birthday; a manager if it had none): its kind and
manager stay. Deals carry an idempotency key made of the contact, date and product, and a note is
added once per contact, so sending the same file again changes nothing.

The non-obvious part is speed: new contacts get their ids here (max(id) + 1 onwards, safe inside
BEGIN IMMEDIATE with the one connection held), so a chunk is a handful of `executemany` calls
instead of a round trip to the database thread per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from domain.importing.report import WriteCounts
from domain.importing.rows import ImportRow, person_key
from storage.db import WAL_BACKSTOP_PAGES, Database
from storage.events import emit_on, last_deal_id, new_deals_created
from storage.timefmt import ts

DEFAULT_CHECKPOINT_PAGES = WAL_BACKSTOP_PAGES  # the writer's own (storage/db.py)
# Measured on 100,000 rows: 4,000 pages (16 MB) saves a tenth of the writing time and keeps the
# longest chunk (the one whose commit checkpoints) under 0.3 s; 50,000 saved no more and made
# that chunk hold the database for a second.
IMPORT_CHECKPOINT_PAGES = 4000


def deal_key(contact_id: int, deal_date: str, product: str | None) -> str:
    digest = hashlib.sha1((product or "").casefold().encode()).hexdigest()[:10]
    return f"import:{contact_id}:{deal_date}:{digest}"


_FILL_GAPS = (
    "UPDATE contacts SET full_name = coalesce(full_name, ?), "
    "organization = coalesce(organization, ?), "
    "birth_day = CASE WHEN birth_month IS NULL THEN ? ELSE birth_day END, "
    "birth_month = coalesce(birth_month, ?), "
    "birth_year = CASE WHEN birth_month IS NULL THEN ? ELSE birth_year END, "
    "manager_id = coalesce(manager_id, ?), updated_at = ? "
    "WHERE id = ? AND forgotten_at IS NULL AND ("
    "(full_name IS NULL AND ? IS NOT NULL) OR (organization IS NULL AND ? IS NOT NULL) "
    "OR (birth_month IS NULL AND ? IS NOT NULL) OR (manager_id IS NULL AND ? IS NOT NULL))"
)


@asynccontextmanager
async def checkpoints_deferred(db: Database) -> AsyncIterator[None]:
    """While a big import writes (in the database thread, `transaction()`), SQLite's checkpoint
    at COMMIT runs every 16 MB of WAL: the measured sweet spot for its chunks (below). Outside
    an import the writer's own setting is a 40 MB backstop (storage/db.py checkpoints after a
    number of commits instead). The setting belongs to the connection only, so a crash leaves
    nothing changed."""
    async with db.urgent() as conn:  # the writer's setting
        await conn.execute_fetchall(f"PRAGMA wal_autocheckpoint = {IMPORT_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        async with db.urgent() as conn:
            await conn.execute_fetchall(f"PRAGMA wal_autocheckpoint = {DEFAULT_CHECKPOINT_PAGES}")
            await conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")


async def phoneless_people(db: Database) -> dict[int, int]:
    """Phone-less contacts by `person_key`, read once per import (there is no index on folded
    names, and a scan per chunk would cost more than this dictionary)."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT id, full_name, organization FROM contacts "
                "WHERE phone IS NULL AND forgotten_at IS NULL AND full_name IS NOT NULL"
            )
        ).fetchall()
    people: dict[int, int] = {}
    for contact_id, name, organization in rows:
        people.setdefault(person_key(name, organization), contact_id)
    return people


async def write_chunk(
    db: Database,
    rows: Sequence[ImportRow],
    people: dict[int, int],
    importer_id: int,
    default_description: str,
    now: datetime,
) -> WriteCounts:
    """Write these rows in one transaction (which also re-plans every contact they change);
    the counts. `people` (phone-less contacts by key) is kept up to date for the next chunks."""
    stamp = ts(now)
    counts = WriteCounts()
    async with db.transaction() as conn:
        phones = sorted({r.phone for r in rows if r.phone})
        by_phone: dict[str, int] = {}
        for first in range(0, len(phones), 900):
            part = phones[first : first + 900]
            cur = await conn.execute(
                f"SELECT phone, id FROM contacts WHERE phone IN ({','.join('?' * len(part))})",
                part,
            )
            by_phone.update({phone: cid for phone, cid in await cur.fetchall()})
        row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM contacts")).fetchone()
        next_id = int(row[0]) + 1
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []  # rows matching a contact already in the base
        repeats: list[tuple[object, ...]] = []  # rows repeating an earlier row of the file
        deals: list[tuple[object, ...]] = []
        passive: list[tuple[object, ...]] = []
        notes: list[tuple[object, ...]] = []
        fresh_notes: list[tuple[object, ...]] = []  # on contacts made just now: none to repeat
        for r in rows:
            index: dict[Any, int] = by_phone if r.phone else people
            key: str | int = r.phone or person_key(r.name, r.organization)
            contact_id = index.get(key)
            day, month, year = r.birthday or (None, None, None)
            known = contact_id is not None
            if contact_id is None:
                contact_id = index[key] = next_id
                next_id += 1
                counts.created += 1
                inserts.append(
                    (
                        contact_id,
                        r.kind,
                        r.name,
                        r.organization,
                        r.phone,
                        day,
                        month,
                        year,
                        r.manager_id,
                        stamp,
                        stamp,
                    )
                )
            else:
                if r.duplicate:
                    counts.duplicates += 1
                else:
                    counts.merged += 1
                (repeats if r.duplicate else updates).append(
                    (
                        r.name,
                        r.organization,
                        day,
                        month,
                        year,
                        r.manager_id,
                        stamp,
                        contact_id,
                        r.name,
                        r.organization,
                        month,
                        r.manager_id,
                    )
                )
            if r.deal_date:
                key_ = deal_key(contact_id, r.deal_date, r.product)
                deals.append(
                    (
                        contact_id,
                        r.manager_id,
                        r.product or default_description,
                        r.deal_date,
                        key_,
                        stamp,
                    )
                )
                if known:
                    passive.append((stamp, contact_id, f"passive:{contact_id}:{r.deal_date}"))
            if r.note and known:
                notes.append((contact_id, importer_id, r.note, stamp, contact_id, r.note))
            elif r.note:
                fresh_notes.append((contact_id, importer_id, r.note, stamp))
        await conn.executemany(
            "INSERT INTO contacts (id, kind, full_name, organization, phone, birth_day, "
            "birth_month, birth_year, manager_id, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'import', ?, ?)",
            inserts,
        )
        # Only gaps are filled, and a row that fills none is not touched at all (so a re-sent
        # file leaves even `updated_at` as it was, and the summary says it filled nothing): each
        # statement changes at most the one contact it names, so the change count is the number
        # of rows that filled something. A file's first row of a person comes before its repeats.
        counts.filled = (await conn.executemany(_FILL_GAPS, updates)).rowcount
        await conn.executemany(_FILL_GAPS, repeats)
        before = await emit_on(conn, last_deal_id)
        added = await conn.executemany(
            "INSERT INTO deals (contact_id, manager_id, description, deal_date, source, idem_key, "
            "created_at) VALUES (?, ?, ?, ?, 'import', ?, ?) ON CONFLICT (idem_key) DO NOTHING",
            deals,
        )
        counts.deals = added.rowcount
        if counts.deals:
            await emit_on(conn, new_deals_created, before, stamp)
        if counts.deals and passive:
            # A purchase newer than the one a "passive client" task counts from ends that task,
            # and a referred lead with a purchase is a customer.
            await conn.executemany(
                "UPDATE tasks SET status = 'cancelled', closed_at = ? WHERE contact_id = ? "
                "AND kind = 'passive' AND status = 'pending' AND idem_key < ?",
                passive,
            )
            await conn.executemany(
                "UPDATE contacts SET status = 'customer' WHERE id = ? AND status = 'lead'",
                [(p[1],) for p in passive],
            )
        fresh = await conn.executemany(
            "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
            "VALUES (?, ?, 'import', ?, ?)",
            fresh_notes,
        )
        matched = await conn.executemany(
            "INSERT INTO comments (contact_id, author_id, source, text, created_at) "
            "SELECT ?, ?, 'import', ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM comments WHERE contact_id = ? AND text = ?)",
            notes,
        )
        counts.comments = fresh.rowcount + matched.rowcount
    return counts
