"""HTTP API tokens: made, listed and revoked by an owner in the chat (/api), checked per request.

A token is shown once, when made; the table keeps only its SHA-256 digest, so a copy of the
database (or a backup) gives nobody access. A request's token is hashed and looked up by digest,
and the stored digest is then compared with `hmac.compare_digest`: the lookup reveals nothing
about the token itself (only about a digest the caller cannot choose), and the comparison takes
the same time whatever matches. Tokens start with "fb_" so a leaked one is recognisable in logs
and by secret scanners.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import ts

SCOPES = ("deals:write", "read")
PREFIX = "fb_"
MAX_NAME = 40


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    scope: str
    created_by: int
    created_at: str
    revoked_at: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        row["id"],
        row["name"],
        row["scope"],
        row["created_by"],
        row["created_at"],
        row["revoked_at"],
    )


async def create_token(
    db: Database, name: str, scope: str, created_by: int, now: datetime
) -> tuple[ApiToken, str]:
    """A new token and its secret text (to be shown once, never stored)."""
    if scope not in SCOPES:
        raise ValueError(scope)
    secret = PREFIX + secrets.token_urlsafe(32)

    def insert(conn: sqlite3.Connection) -> ApiToken:
        row = conn.execute(
            "INSERT INTO api_tokens (name, scope, digest, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING *",
            (name[:MAX_NAME], scope, digest(secret), created_by, ts(now)),
        ).fetchone()
        return _token(row)

    return await db.write(insert), secret


async def list_tokens(db: Database) -> list[ApiToken]:
    """Tokens still valid, oldest first."""

    def select(conn: sqlite3.Connection) -> list[ApiToken]:
        rows = conn.execute(
            "SELECT * FROM api_tokens WHERE revoked_at IS NULL ORDER BY id"
        ).fetchall()
        return [_token(r) for r in rows]

    return await db.fetch(select)


async def revoke_token(db: Database, token_id: int, now: datetime) -> ApiToken | None:
    """Revoke; the token as it was, or None if there was no such valid token."""

    def update(conn: sqlite3.Connection) -> ApiToken | None:
        row = conn.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING *",
            (ts(now), token_id),
        ).fetchone()
        return _token(row) if row else None

    return await db.write(update)


async def check_token(db: Database, presented: str) -> ApiToken | None:
    """The valid token whose secret this is, or None."""
    wanted = digest(presented)

    def select(conn: sqlite3.Connection) -> sqlite3.Row | None:
        return conn.execute(
            "SELECT * FROM api_tokens WHERE digest = ? AND revoked_at IS NULL", (wanted,)
        ).fetchone()

    row = await db.fetch(select)
    if row is None or not hmac.compare_digest(row["digest"], wanted):
        return None
    return _token(row)
