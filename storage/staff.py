"""Owners, managers and manager invites; and the staff records every update needs, in memory.

Every update asks who is writing (bot/middlewares.py), so `get_member` answers from memory: found
and not-found alike (a respondent is nobody's staff, and asks as often as a manager). The one
non-obvious decision: the cache is invalidated by the database, not by the functions here.
Temporary triggers on the writer connection call `staff_changed(user_id)`, a Python function, on
every INSERT, UPDATE or DELETE of `staff`, whoever writes it (an invite, an access toggle, an
owner's new name, a test's raw INSERT, a write added later), so no write path can forget to.

A record missing from memory is read on the lock-free read-only connection, which sees only
committed data. That is safe only when no noted staff write is still uncommitted (the trigger
fires before COMMIT): a noted write marks the cache unsettled, and the next miss reads under the
writer's lock instead (no transaction is open then) and settles it. A read is kept only if no
staff row changed since it began (every change bumps a generation). A staff write by another
process is not seen until this one restarts; nothing but the bot writes the table while it runs.
"""

from __future__ import annotations

import enum
import secrets
import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from domain.roles import StaffMember
from storage.db import Database
from storage.timefmt import from_ts, ts

INVITE_TTL = timedelta(days=7)
# Records kept in memory (staff and the people who are not): least recently used go first.
CACHE_LIMIT = 10_000
MEMBER_SQL = "SELECT * FROM staff WHERE user_id = ?"

_STAFF_TRIGGERS = (
    "CREATE TEMP TRIGGER IF NOT EXISTS staff_cache_insert AFTER INSERT ON main.staff "
    "BEGIN SELECT staff_changed(NEW.user_id); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS staff_cache_update AFTER UPDATE ON main.staff "
    "BEGIN SELECT staff_changed(OLD.user_id), staff_changed(NEW.user_id); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS staff_cache_delete AFTER DELETE ON main.staff "
    "BEGIN SELECT staff_changed(OLD.user_id); END",
)


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


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(
        user_id=row["user_id"],
        role=row["role"],
        full_name=row["full_name"],
        username=row["username"],
        language=row["language"],
        active=bool(row["active"]),
        created_at=from_ts(row["created_at"]),
    )


def _member_row(conn: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(MEMBER_SQL, (user_id,)).fetchone()
    return row


class StaffCache:
    """The staff records of one `Database`, and of the people who are not staff (None)."""

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        self.limit = limit
        self.reads = 0  # records read from the database (misses), for tests and benchmarks
        self._entries: OrderedDict[int, StaffMember | None] = OrderedDict()
        self._generation = 0
        # A staff write was noted and may not be committed yet: read under the writer's lock.
        self._unsettled = True
        self._mutex = threading.Lock()  # the triggers run in the database's thread
        self._installed_on: aiosqlite.Connection | None = None

    def changed(self, user_id: int | None) -> None:
        """Called by the triggers, in the database thread, inside the writing transaction."""
        with self._mutex:
            self._generation += 1
            self._unsettled = True
            if user_id is not None:
                self._entries.pop(user_id, None)

    def _install(self, raw: sqlite3.Connection) -> None:
        raw.create_function("staff_changed", 1, self.changed)
        for trigger in _STAFF_TRIGGERS:
            raw.execute(trigger)
        with self._mutex:
            self._generation += 1
            self._entries.clear()
            self._unsettled = False  # this job holds the writer: no staff write is open

    async def _ensure_installed(self, db: Database) -> None:
        """The triggers live on the connection: a reopened database needs them again."""
        conn = db.conn
        if self._installed_on is not conn:
            await db.write(self._install)
            self._installed_on = conn

    async def get(self, db: Database, user_id: int) -> StaffMember | None:
        await self._ensure_installed(db)
        with self._mutex:
            if user_id in self._entries:
                self._entries.move_to_end(user_id)
                return self._entries[user_id]
            generation, settled = self._generation, not self._unsettled
        if settled:
            row = await db.fetch(_member_row, user_id)
        else:
            async with db.read_locked() as conn:
                with self._mutex:  # nothing writes while the lock is held: all noted committed
                    generation, self._unsettled = self._generation, False
                row = await (await conn.execute(MEMBER_SQL, (user_id,))).fetchone()
        self.reads += 1
        member = _member(row) if row else None
        with self._mutex:
            if self._generation == generation:
                self._entries[user_id] = member
                while len(self._entries) > self.limit:
                    self._entries.popitem(last=False)
        return member


_caches: weakref.WeakKeyDictionary[Database, StaffCache] = weakref.WeakKeyDictionary()


def staff_cache(db: Database) -> StaffCache:
    cache = _caches.get(db)
    if cache is None:
        cache = _caches[db] = StaffCache()
    return cache


async def get_member(db: Database, user_id: int) -> StaffMember | None:
    """The person's staff record, or None: from memory after the first time."""
    return await staff_cache(db).get(db, user_id)


async def touch_owner(
    db: Database,
    user_id: int,
    full_name: str,
    username: str | None,
    language: str | None,
    now: datetime,
) -> bool:
    """Keep an owner's row (name, language) current; the role itself comes from OWNER_IDS.
    Writes (and waits for the writer) only when something changed; returns whether it wrote."""
    member = await get_member(db, user_id)
    if (
        member is not None
        and member.role == "owner"
        and member.active
        and (member.full_name, member.username, member.language) == (full_name, username, language)
    ):
        return False
    await db.write(_touch_owner, user_id, full_name, username, language, ts(now))
    return True


def _touch_owner(
    conn: sqlite3.Connection,
    user_id: int,
    full_name: str,
    username: str | None,
    language: str | None,
    stamp: str,
) -> None:
    conn.execute(
        "INSERT INTO staff (user_id, role, full_name, username, language, active, "
        "created_at, updated_at) VALUES (?, 'owner', ?, ?, ?, 1, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET role = 'owner', full_name = excluded.full_name, "
        "username = excluded.username, language = excluded.language, active = 1, "
        "updated_at = excluded.updated_at "
        "WHERE (staff.role, staff.full_name, staff.username, staff.language, staff.active) "
        "IS NOT ('owner', excluded.full_name, excluded.username, excluded.language, 1)",
        (user_id, full_name, username, language, stamp, stamp),
    )


def _all(conn: sqlite3.Connection, sql: str) -> list[StaffMember]:
    return [_member(r) for r in conn.execute(sql).fetchall()]


async def list_managers(db: Database) -> list[StaffMember]:
    return await db.fetch(
        _all, "SELECT * FROM staff WHERE role = 'manager' ORDER BY active DESC, full_name, user_id"
    )


async def list_active_staff(db: Database) -> list[StaffMember]:
    return await db.fetch(_all, "SELECT * FROM staff WHERE active = 1 ORDER BY user_id")


async def set_manager_active(
    db: Database, user_id: int, active: bool, now: datetime
) -> StaffMember | None:
    return await db.write_bulk(_set_manager_active, user_id, active, ts(now))


def _set_manager_active(
    conn: sqlite3.Connection, user_id: int, active: bool, stamp: str
) -> StaffMember | None:
    row = conn.execute(
        "UPDATE staff SET active = ?, updated_at = ? WHERE user_id = ? AND role = 'manager' "
        "RETURNING *",
        (int(active), stamp, user_id),
    ).fetchone()
    return _member(row) if row else None


async def create_invite(db: Database, created_by: int, now: datetime) -> Invite:
    token = new_token()
    expires = now + INVITE_TTL
    await db.write(
        lambda conn: conn.execute(
            "INSERT INTO invites (token, created_by, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (token, created_by, ts(now), ts(expires)),
        )
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
    # Bulk: a manager let back in takes back their people, all re-planned in this transaction.
    return await db.write_bulk(
        _redeem_invite, token, user_id, full_name, username, language, ts(now)
    )


def _redeem_invite(
    conn: sqlite3.Connection,
    token: str,
    user_id: int,
    full_name: str,
    username: str | None,
    language: str | None,
    stamp: str,
) -> tuple[Redeem, int | None]:
    existing = conn.execute(
        "SELECT role, active FROM staff WHERE user_id = ?", (user_id,)
    ).fetchone()
    if existing is not None and existing["role"] == "manager" and existing["active"]:
        return Redeem.ALREADY_STAFF, None
    used = conn.execute(
        "UPDATE invites SET used_by = ?, used_at = ? "
        "WHERE token = ? AND used_at IS NULL AND expires_at > ? RETURNING created_by",
        (user_id, stamp, token, stamp),
    ).fetchone()
    if used is None:
        return Redeem.INVALID, None
    invited_by: int = used["created_by"]
    conn.execute(
        "INSERT INTO staff (user_id, role, full_name, username, language, active, invited_by, "
        "created_at, updated_at) VALUES (?, 'manager', ?, ?, ?, 1, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET role = 'manager', active = 1, "
        "full_name = excluded.full_name, "
        "username = excluded.username, language = excluded.language, "
        "invited_by = excluded.invited_by, updated_at = excluded.updated_at",
        (user_id, full_name, username, language, invited_by, stamp, stamp),
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
