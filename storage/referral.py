"""Referrals: a promoter's personal code, leads recorded through it, and who brought whom."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.outbox import enqueue
from storage.timefmt import ts

# Easy to read aloud and to type: no 0/O, 1/I/L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


async def code_for_contact(db: Database, contact_id: int) -> str:
    """The contact's referral code, made on first use (unique; a collision just retries)."""
    return await db.write(code_for_contact_in, contact_id)


def code_for_contact_in(conn: sqlite3.Connection, contact_id: int) -> str:
    """`code_for_contact` inside the caller's write transaction (in the database thread)."""
    row = conn.execute("SELECT referral_code FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row and row[0]:
        return str(row[0])
    while True:
        code = new_code()
        if not conn.execute("SELECT 1 FROM contacts WHERE referral_code = ?", (code,)).fetchone():
            conn.execute("UPDATE contacts SET referral_code = ? WHERE id = ?", (code, contact_id))
            return code


@dataclass(frozen=True, slots=True)
class Promoter:
    contact_id: int
    name: str | None
    manager_id: int | None


async def promoter_by_code(db: Database, code: str) -> Promoter | None:
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT id, full_name, manager_id FROM contacts "
                "WHERE referral_code = ? AND forgotten_at IS NULL",
                (normalise(code),),
            )
        ).fetchone()
    return Promoter(row[0], row[1], row[2]) if row else None


async def is_known_person(db: Database, tg_user_id: int) -> bool:
    async with db.read() as conn:
        row = await (
            await conn.execute("SELECT 1 FROM contacts WHERE tg_user_id = ?", (tg_user_id,))
        ).fetchone()
    return row is not None


async def record_lead(
    db: Database,
    promoter: Promoter,
    tg_user_id: int,
    name: str,
    phone: str | None,
    language: str,
    now: datetime,
    notice: dict[str, object] | None,
) -> bool:
    """A new person referred by a promoter, as a lead of the promoter's manager; the manager is
    told in the same transaction. False if this person (account or phone) is already known."""
    async with db.transaction() as conn:
        if await _known(conn, tg_user_id, phone):
            return False
        cur = await conn.execute(
            "INSERT INTO contacts (kind, full_name, phone, tg_user_id, language, status, "
            "manager_id, referred_by, source, created_at, updated_at) "
            "VALUES ('client', ?, ?, ?, ?, 'lead', ?, ?, 'referral', ?, ?)",
            (
                name,
                phone,
                tg_user_id,
                language,
                promoter.manager_id,
                promoter.contact_id,
                ts(now),
                ts(now),
            ),
        )
        if promoter.manager_id is not None and notice is not None:
            await enqueue(
                conn,
                chat_id=promoter.manager_id,
                purpose="lead",
                payload=notice,
                now=now,
                idem_key=f"lead:{cur.lastrowid}",
            )
    return True


async def _known(conn: aiosqlite.Connection, tg_user_id: int, phone: str | None) -> bool:
    row = await (
        await conn.execute(
            "SELECT 1 FROM contacts WHERE tg_user_id = ? OR (? IS NOT NULL AND phone = ?)",
            (tg_user_id, phone, phone),
        )
    ).fetchone()
    return row is not None


@dataclass(frozen=True, slots=True)
class ReferralRow:
    name: str | None
    code: str
    leads: int
    customers: int
    deals: int


async def referral_table(db: Database, limit: int = 30) -> list[ReferralRow]:
    """Promoters by the people and deals they brought."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(
                "SELECT p.full_name, p.referral_code, count(DISTINCT r.id), "
                "count(DISTINCT CASE WHEN r.status = 'customer' THEN r.id END), count(d.id) "
                "FROM contacts p JOIN contacts r ON r.referred_by = p.id "
                "LEFT JOIN deals d ON d.contact_id = r.id "
                "GROUP BY p.id ORDER BY count(DISTINCT r.id) DESC, count(d.id) DESC LIMIT ?",
                (limit,),
            )
        ).fetchall()
    return [ReferralRow(r[0], r[1] or "", r[2], r[3], r[4]) for r in rows]
