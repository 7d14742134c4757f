"""Owners, managers and manager invites."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from domain.roles import StaffMember
from storage.db import Database
from storage.timefmt import from_ts, ts

INVITE_TTL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Invite:
    token: str
    expires_at: datetime


class Redeem(enum.Enum):
    REGISTERED = "registered"
    REACTIVATED = "reactivated"
    ALREADY_STAFF = "already_staff"
    INVALID = "invalid"  # unknown, used or expired: the person is told the same in each case


def new_token() -> str:
    """An unguessable deep-link token: 144 random bits, 24 characters of base64url."""
    return secrets.token_urlsafe(18)


def _member(row: aiosqlite.Row) -> StaffMember:
    return StaffMember(
        user_id=row["user_id"],
        role=row["role"],
        full_name=row["full_name"],
        username=row["username"],
        language=row["language"],
        active=bool(row["active"]),
        created_at=from_ts(row["created_at"]),
    )


async def get_member(db: Database, user_id: int) -> StaffMember | None:
    async with db.read() as conn:
        cur = await conn.execute("SELECT * FROM staff WHERE user_id = ?", (user_id,))
        row = await cur.fetchone()
    return _member(row) if row else None


async def touch_owner(
    db: Database,
    user_id: int,
    full_name: str,
    username: str | None,
    language: str | None,
    now: datetime,
) -> None:
    """Keep an owner's row (name, language) current; the role itself comes from OWNER_IDS."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO staff (user_id, role, full_name, username, language, active, "
            "created_at, updated_at) VALUES (?, 'owner', ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET role = 'owner', full_name = excluded.full_name, "
            "username = excluded.username, language = excluded.language, active = 1, "
            "updated_at = excluded.updated_at "
            "WHERE (staff.role, staff.full_name, staff.username, staff.language, staff.active) "
            "IS NOT ('owner', excluded.full_name, excluded.username, excluded.language, 1)",
            (user_id, full_name, username, language, ts(now), ts(now)),
        )


async def list_managers(db: Database) -> list[StaffMember]:
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT * FROM staff WHERE role = 'manager' ORDER BY active DESC, full_name, user_id"
        )
        rows = await cur.fetchall()
    return [_member(r) for r in rows]


async def list_active_staff(db: Database) -> list[StaffMember]:
    async with db.read() as conn:
        cur = await conn.execute("SELECT * FROM staff WHERE active = 1 ORDER BY user_id")
        rows = await cur.fetchall()
    return [_member(r) for r in rows]


async def set_manager_active(
    db: Database, user_id: int, active: bool, now: datetime
) -> StaffMember | None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE staff SET active = ?, updated_at = ? WHERE user_id = ? AND role = 'manager'",
            (int(active), ts(now), user_id),
        )
        cur = await conn.execute(
            "SELECT * FROM staff WHERE user_id = ? AND role = 'manager'", (user_id,)
        )
        row = await cur.fetchone()
    return _member(row) if row else None


async def create_invite(db: Database, created_by: int, now: datetime) -> Invite:
    token = new_token()
    expires = now + INVITE_TTL
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO invites (token, created_by, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (token, created_by, ts(now), ts(expires)),
        )
    return Invite(token=token, expires_at=expires)


async def redeem_invite(
    db: Database,
    token: str,
    user_id: int,
    full_name: str,
    username: str | None,
    language: str | None,
    now: datetime,
) -> tuple[Redeem, int | None]:
    """Use a one-time invite: check and consume it and register the manager in one transaction.

    Returns the outcome and, on success, the id of the owner who made the invite.
    """
    async with db.transaction() as conn:
        cur = await conn.execute("SELECT role, active FROM staff WHERE user_id = ?", (user_id,))
        existing = await cur.fetchone()
        if existing is not None and existing["role"] == "manager" and existing["active"]:
            return Redeem.ALREADY_STAFF, None
        cur = await conn.execute(
            "UPDATE invites SET used_by = ?, used_at = ? "
            "WHERE token = ? AND used_at IS NULL AND expires_at > ?",
            (user_id, ts(now), token, ts(now)),
        )
        if cur.rowcount != 1:
            return Redeem.INVALID, None
        cur = await conn.execute("SELECT created_by FROM invites WHERE token = ?", (token,))
        invited_by = (await cur.fetchone())["created_by"]
        await conn.execute(
            "INSERT INTO staff (user_id, role, full_name, username, language, active, invited_by, "
            "created_at, updated_at) VALUES (?, 'manager', ?, ?, ?, 1, ?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET role = 'manager', active = 1, "
            "full_name = excluded.full_name, "
            "username = excluded.username, language = excluded.language, "
            "invited_by = excluded.invited_by, updated_at = excluded.updated_at",
            (user_id, full_name, username, language, invited_by, ts(now), ts(now)),
        )
    outcome = Redeem.REACTIVATED if existing is not None else Redeem.REGISTERED
    return outcome, invited_by


async def staff_languages(conn: aiosqlite.Connection, user_ids: Iterable[int]) -> dict[int, str]:
    """The language each of these people uses with the bot, for those it knows."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    cur = await conn.execute(
        f"SELECT user_id, language FROM staff WHERE user_id IN ({marks}) AND language IS NOT NULL",
        ids,
    )
    return {user_id: language for user_id, language in await cur.fetchall()}
