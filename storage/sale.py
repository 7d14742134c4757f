"""Contacts and deals: recording a sale (idempotent, merging a known person) and lookups."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

import aiosqlite

from storage.db import Database
from storage.timefmt import ts


@dataclass(frozen=True, slots=True)
class SaleInput:
    idem_key: str
    manager_id: int
    kind: str
    full_name: str | None  # None: a deal from another system with a phone and no name
    organization: str | None
    phone: str | None
    contact_tg_id: int | None
    birthday: tuple[int, int, int | None] | None  # day, month, year
    description: str
    deal_date: date
    existing_contact_id: int | None = None  # a new deal for a known contact (from their card)


@dataclass(frozen=True, slots=True)
class SaleResult:
    contact_id: int
    deal_id: int
    survey_token: str
    merged: bool  # an existing contact (same phone or Telegram account) got the new deal
    kind: str  # the kind chosen for this deal (the survey's wording and NPS group)
    created: bool = True  # False: this conversation had already recorded its deal


def new_survey_token() -> str:
    """144 random bits as 24 characters of base64url."""
    return secrets.token_urlsafe(18)


async def _find_existing(
    conn: aiosqlite.Connection, phone: str | None, tg_id: int | None
) -> aiosqlite.Row | None:
    if phone:
        cur = await conn.execute("SELECT * FROM contacts WHERE phone = ?", (phone,))
        row = await cur.fetchone()
        if row:
            return row
    if tg_id:
        cur = await conn.execute("SELECT * FROM contacts WHERE tg_user_id = ?", (tg_id,))
        return await cur.fetchone()
    return None


async def _existing_sale(conn: aiosqlite.Connection, idem_key: str) -> SaleResult | None:
    cur = await conn.execute(
        "SELECT d.id AS deal_id, d.contact_id, s.token, s.kind FROM deals d "
        "JOIN surveys s ON s.deal_id = d.id "
        "WHERE d.idem_key = ?",
        (idem_key,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return SaleResult(row["contact_id"], row["deal_id"], row["token"], True, row["kind"], False)


async def record_sale(db: Database, sale: SaleInput, now: datetime) -> SaleResult:
    """Contact (new or merged), deal and survey link in one transaction; a repeat is a no-op."""
    async with db.transaction() as conn:
        return await record_sale_in(conn, sale, now)


async def record_sale_in(conn: aiosqlite.Connection, sale: SaleInput, now: datetime) -> SaleResult:
    """`record_sale` inside the caller's open transaction: every deal the bot records, typed in
    /sale or sent by another system (storage/deals_in.py), goes through here, so whatever must
    follow a new deal belongs here."""
    stamp = ts(now)
    existing_sale = await _existing_sale(conn, sale.idem_key)
    if existing_sale is not None:
        return existing_sale
    if sale.existing_contact_id is not None:
        cur = await conn.execute("SELECT * FROM contacts WHERE id = ?", (sale.existing_contact_id,))
        row = await cur.fetchone()
    else:
        row = await _find_existing(conn, sale.phone, sale.contact_tg_id)
    bday = sale.birthday or (None, None, None)
    if row is not None:
        contact_id, kind = row["id"], row["kind"]
        await conn.execute(
            # A known contact keeps their data and their manager (the deal and its survey
            # carry who made this sale); new facts only fill the gaps. A phone that belongs
            # to another contact is not moved here.
            "UPDATE contacts SET "
            "full_name = coalesce(full_name, ?), "
            "organization = coalesce(?, organization), "
            "phone = CASE WHEN phone IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM contacts o WHERE o.phone = ?) THEN ? ELSE phone END, "
            "birth_day = coalesce(?, birth_day), birth_month = coalesce(?, birth_month), "
            "birth_year = CASE WHEN ? IS NOT NULL THEN ? ELSE birth_year END, "
            "manager_id = coalesce(manager_id, ?), status = 'customer', updated_at = ? "
            "WHERE id = ?",
            (
                sale.full_name,
                sale.organization,
                sale.phone,
                sale.phone,
                bday[0],
                bday[1],
                bday[0],
                bday[2],
                sale.manager_id,
                stamp,
                contact_id,
            ),
        )
        if sale.contact_tg_id and row["tg_user_id"] is None:
            await _link_telegram(conn, contact_id, sale.contact_tg_id)
    else:
        kind = sale.kind
        cur = await conn.execute(
            "INSERT INTO contacts (kind, full_name, organization, phone, birth_day, "
            "birth_month, birth_year, manager_id, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sale', ?, ?)",
            (
                kind,
                sale.full_name,
                sale.organization,
                sale.phone,
                bday[0],
                bday[1],
                bday[2],
                sale.manager_id,
                stamp,
                stamp,
            ),
        )
        contact_id = cur.lastrowid
        if sale.contact_tg_id:
            await _link_telegram(conn, contact_id, sale.contact_tg_id)
    cur = await conn.execute(
        "INSERT INTO deals (contact_id, manager_id, description, deal_date, source, "
        "idem_key, created_at) VALUES (?, ?, ?, ?, 'bot', ?, ?)",
        (
            contact_id,
            sale.manager_id,
            sale.description,
            sale.deal_date.isoformat(),
            sale.idem_key,
            stamp,
        ),
    )
    deal_id = cur.lastrowid
    # A new deal: the person is not a passive client any more.
    await conn.execute(
        "UPDATE tasks SET status = 'cancelled', closed_at = ? "
        "WHERE contact_id = ? AND kind = 'passive' AND status = 'pending'",
        (stamp, contact_id),
    )
    token = new_survey_token()
    await conn.execute(
        "INSERT INTO surveys (token, contact_id, deal_id, manager_id, kind, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (token, contact_id, deal_id, sale.manager_id, sale.kind, stamp),
    )
    assert contact_id is not None and deal_id is not None
    # The survey (its wording, and the NPS group it counts in) follows the kind the manager chose
    # for this deal; a known contact keeps the kind on their card.
    return SaleResult(contact_id, deal_id, token, row is not None, sale.kind)


async def _link_telegram(conn: aiosqlite.Connection, contact_id: int, tg_id: int) -> None:
    """Tie a Telegram account to a contact unless it already belongs to another contact."""
    await conn.execute(
        "UPDATE contacts SET tg_user_id = ? WHERE id = ? AND tg_user_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM contacts WHERE tg_user_id = ?)",
        (tg_id, contact_id, tg_id),
    )


async def mark_unreachable(db: Database, contact_id: int, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE contacts SET unreachable_at = coalesce(unreachable_at, ?) WHERE id = ?",
            (ts(now), contact_id),
        )


async def claim_link_delivery(db: Database, deal_id: int, now: datetime) -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE deals SET link_sent_at = ? WHERE id = ? AND link_sent_at IS NULL",
            (ts(now), deal_id),
        )
        return cur.rowcount == 1


async def release_link_delivery(db: Database, deal_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE deals SET link_sent_at = NULL WHERE id = ?", (deal_id,))
