"""Webhook endpoints (what an owner registered) and their delivery queue (what storage/events.py
queued), as the chat screens and the deliverer (scheduler/webhooks.py) need them.

The queue keeps each contact's events in order per endpoint: a delivery is claimed only when no
earlier delivery of the same contact to the same endpoint is still pending or claimed, so an
event waits while an earlier one backs off (one given up no longer holds the others back). A
claimed delivery is "in flight": after a crash or a kill, `recover_claimed` puts it back, and it
is sent again (at least once: the event id lets receivers drop the repeat).

An endpoint that has failed for `PAUSE_AFTER` without one success is paused in the transaction
of the failure that shows it, with the owners' notice queued in the outbox under a key made of
the endpoint and the start of its failing spell: told once, however many deliveries fail then.
A receiver's 410 Gone pauses its endpoint at once (as Azure DevOps service hooks and Ironclad
disable one; the REST Hooks convention reads 410 as "unsubscribe"), told once per pause; the
delivery is not retried but held with the others. Other 4xx are retried like 5xx: a receiver's
401 or 404 is usually a mistake its owner fixes within the day.

While an endpoint is paused (by an owner, by failures or by a 410), new events are still queued
for it, "held": never claimed while paused, sent in order per contact when it is resumed. They
are kept `HOLD_FOR` (Stripe and Svix, too, let a disabled endpoint's recent events be sent
again); older ones are then dropped, oldest first, and the owners told once per pause (keyed by
its `paused_at`).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from storage.db import Database
from storage.events import EVENT_TYPES, iso, merged
from storage.outbox import enqueue_in
from storage.timefmt import from_ts, ts

log = logging.getLogger(__name__)

PAUSE_AFTER = timedelta(days=1)
GIVE_UP_AFTER = timedelta(days=1)
PAUSED_PURPOSE = "webhook_paused"
DROPPED_PURPOSE = "webhook_dropped"
HOLD_FOR = timedelta(days=3)  # events held for a paused endpoint, then dropped
KEEP_FOR = timedelta(days=30)  # delivered and given-up deliveries, and their events
MAX_ENDPOINTS = 20


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    url: str = field(repr=False)
    secret: str = field(repr=False)
    events: tuple[str, ...]
    status: str  # 'active' | 'paused'
    paused_by: str | None  # 'owner' | 'failures' | 'gone' (the receiver answered 410)
    failing_since: str | None
    last_success_at: str | None
    last_error: str | None
    pending: int = 0  # deliveries waiting
    held: int = 0  # of those, the ones waiting for the paused endpoint to be resumed
    dropped: int = 0  # held ones dropped after HOLD_FOR in this pause

    @property
    def masked_secret(self) -> str:
        return mask(self.secret)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint_id: int
    url: str = field(repr=False)  # a debug log of the database job's arguments shows the repr
    secret: str = field(repr=False)
    event_uid: str
    attempts: int
    failing_since: str | None
    body: bytes = field(repr=False)  # it may name the person


def new_secret() -> str:
    """192 random bits, in the prefix style receivers recognise."""
    return "whsec_" + secrets.token_urlsafe(24)


def mask(secret: str) -> str:
    """What the chat shows of a secret after it was shown once: its kind and last 4 characters."""
    return f"whsec_…{secret[-4:]}"


_ENDPOINT_COLUMNS = (
    "e.id, e.url, e.secret, e.events, e.status, e.paused_by, e.failing_since, "
    "e.last_success_at, e.last_error, (SELECT count(*) FROM webhook_deliveries d "
    "WHERE d.endpoint_id = e.id AND d.status IN ('pending', 'claimed')), "
    "CASE e.status WHEN 'paused' THEN (SELECT count(*) FROM webhook_deliveries d "
    "WHERE d.endpoint_id = e.id AND d.status = 'pending') ELSE 0 END, e.dropped, e.gone_at"
)


def _endpoint(row: sqlite3.Row | tuple[Any, ...]) -> Endpoint:
    return Endpoint(
        id=row[0],
        url=row[1],
        secret=row[2],
        events=tuple(t for t in EVENT_TYPES if t in row[3].split()),
        status=row[4],
        paused_by="gone" if row[4] == "paused" and row[12] else row[5],
        failing_since=row[6],
        last_success_at=row[7],
        last_error=row[8],
        pending=row[9],
        held=row[10],
        dropped=row[11],
    )


def _list(conn: sqlite3.Connection) -> list[Endpoint]:
    rows = conn.execute(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints e ORDER BY e.id")
    return [_endpoint(r) for r in rows]


def _get(conn: sqlite3.Connection, endpoint_id: int) -> Endpoint | None:
    row = conn.execute(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = ?", (endpoint_id,)
    ).fetchone()
    return None if row is None else _endpoint(row)


async def list_endpoints(db: Database) -> list[Endpoint]:
    return await db.fetch(_list)


async def get_endpoint(db: Database, endpoint_id: int) -> Endpoint | None:
    return await db.fetch(_get, endpoint_id)


class TooMany(Exception):
    """MAX_ENDPOINTS are registered already."""


def _add(
    conn: sqlite3.Connection,
    url: str,
    events: tuple[str, ...],
    owner_id: int,
    now: str,
    source_key: str | None,
) -> tuple[Endpoint, bool]:
    if source_key is not None:
        row = conn.execute(
            "SELECT id FROM webhook_endpoints WHERE source_key = ?", (source_key,)
        ).fetchone()
        if row is not None:  # the same message handled again (a replay): the same endpoint
            found = _get(conn, row[0])
            assert found is not None
            return found, False
    (count,) = conn.execute("SELECT count(*) FROM webhook_endpoints").fetchone()
    if count >= MAX_ENDPOINTS:
        raise TooMany
    (endpoint_id,) = conn.execute(
        "INSERT INTO webhook_endpoints (url, secret, events, source_key, created_by, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (url, new_secret(), " ".join(events), source_key, owner_id, now, now),
    ).fetchone()
    endpoint = _get(conn, endpoint_id)
    assert endpoint is not None
    return endpoint, True


async def add_endpoint(
    db: Database,
    url: str,
    owner_id: int,
    now: datetime,
    *,
    events: tuple[str, ...] = EVENT_TYPES,
    source_key: str | None = None,
) -> tuple[Endpoint, bool]:
    """A new endpoint with a new secret, receiving `events`; (it, whether it is new). The same
    `source_key` again returns the endpoint that message made. TooMany beyond MAX_ENDPOINTS."""
    endpoint, created = await db.write(_add, url, events, owner_id, ts(now), source_key)
    if created:  # the log names the host only: a receiver's path or query may hold a token
        log.info("webhook %d added by %d (%s)", endpoint.id, owner_id, _host(url))
    return endpoint, created


def _toggle(conn: sqlite3.Connection, endpoint_id: int, type_: str, now: str) -> Endpoint | None:
    found = _get(conn, endpoint_id)
    if found is None:
        return None
    chosen = set(found.events) ^ {type_}
    events = " ".join(t for t in EVENT_TYPES if t in chosen)
    conn.execute(
        "UPDATE webhook_endpoints SET events = ?, updated_at = ? WHERE id = ?",
        (events, now, endpoint_id),
    )
    return _get(conn, endpoint_id)


async def toggle_event(
    db: Database, endpoint_id: int, type_: str, now: datetime
) -> Endpoint | None:
    """Subscribe to `type_` or stop; None if the endpoint is gone."""
    if type_ not in EVENT_TYPES:
        raise ValueError(type_)
    return await db.write(_toggle, endpoint_id, type_, ts(now))


def _set_events(
    conn: sqlite3.Connection, endpoint_id: int, events: tuple[str, ...], now: str
) -> Endpoint | None:
    conn.execute(
        "UPDATE webhook_endpoints SET events = ?, updated_at = ? WHERE id = ?",
        (" ".join(t for t in EVENT_TYPES if t in events), now, endpoint_id),
    )
    return _get(conn, endpoint_id)


async def set_events(
    db: Database, endpoint_id: int, events: tuple[str, ...], now: datetime
) -> Endpoint | None:
    """Receive exactly `events` from now on; None if the endpoint is gone."""
    if not set(events) <= set(EVENT_TYPES):
        raise ValueError(events)
    return await db.write(_set_events, endpoint_id, events, ts(now))


def _pause(conn: sqlite3.Connection, endpoint_id: int, paused: bool, now: str) -> Endpoint | None:
    if paused:
        conn.execute(
            "UPDATE webhook_endpoints SET status = 'paused', paused_by = 'owner', paused_at = ?, "
            "updated_at = ? WHERE id = ? AND status = 'active'",
            (now, now, endpoint_id),
        )
    else:
        cur = conn.execute(
            "UPDATE webhook_endpoints SET status = 'active', paused_by = NULL, paused_at = NULL, "
            "gone_at = NULL, dropped = 0, failing_since = NULL, updated_at = ? "
            "WHERE id = ? AND status = 'paused'",
            (now, endpoint_id),
        )
        if cur.rowcount:
            # What was held goes now, in order per contact, with a fresh day of retries.
            conn.execute(
                "UPDATE webhook_deliveries SET next_at = ?, failing_since = NULL "
                "WHERE endpoint_id = ? AND status = 'pending'",
                (now, endpoint_id),
            )
    return _get(conn, endpoint_id)


async def set_paused(
    db: Database, endpoint_id: int, paused: bool, now: datetime
) -> Endpoint | None:
    """Pause (deliveries wait, new events are held for it) or resume (what was held goes, in
    order per contact); None if gone."""
    # Bulk: resuming sends the held deliveries on, however many piled up while paused.
    return await db.write_bulk(_pause, endpoint_id, paused, ts(now))


def _rotate(conn: sqlite3.Connection, endpoint_id: int, now: str) -> Endpoint | None:
    conn.execute(
        "UPDATE webhook_endpoints SET secret = ?, updated_at = ? WHERE id = ?",
        (new_secret(), now, endpoint_id),
    )
    return _get(conn, endpoint_id)


async def rotate_secret(db: Database, endpoint_id: int, now: datetime) -> Endpoint | None:
    return await db.write(_rotate, endpoint_id, ts(now))


def _delete(conn: sqlite3.Connection, endpoint_id: int) -> bool:
    cur = conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
    return cur.rowcount == 1


async def delete_endpoint(db: Database, endpoint_id: int) -> bool:
    """Remove it and everything still queued for it (foreign key cascade)."""
    deleted = await db.write_bulk(_delete, endpoint_id)  # its deliveries go with it
    if deleted:
        log.info("webhook %d deleted", endpoint_id)
    return deleted


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


# --- the queue -------------------------------------------------------------------------------


def _recover(conn: sqlite3.Connection) -> int:
    return conn.execute(
        "UPDATE webhook_deliveries SET status = 'pending', claimed_at = NULL "
        "WHERE status = 'claimed'"
    ).rowcount


async def recover_claimed(db: Database) -> int:
    """At start: deliveries claimed by a process that died are sent again."""
    return await db.write_bulk(_recover)


# Deliveries that may go (their endpoint active, no earlier one of their contact to it still
# pending or claimed), and are due by :now.
_READY = (
    "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
    "WHERE d.status = 'pending' AND e.status = 'active' "
    "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id "
    "AND p.contact_id = d.contact_id AND p.status IN ('pending', 'claimed') AND p.id < d.id)"
)
_DUE = _READY + " AND d.next_at <= :now"


def body_of(uid: str, type_: str, created_at: str, data: str, personal: str | None) -> bytes:
    """The JSON a receiver gets: the same bytes are signed and sent."""
    event = {
        "id": uid,
        "type": type_,
        "created_at": iso(created_at),
        "data": merged(json.loads(data), json.loads(personal) if personal else None),
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def _claim(conn: sqlite3.Connection, now: str, want: int) -> list[Delivery]:
    ids = [
        r[0]
        for r in conn.execute(
            f"SELECT d.id {_DUE} ORDER BY d.id LIMIT :want", {"now": now, "want": want}
        )
    ]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'claimed', claimed_at = ?, attempts = attempts + 1 "
        f"WHERE id IN ({marks})",
        [now, *ids],
    )
    rows = conn.execute(
        "SELECT d.id, d.endpoint_id, e.url, e.secret, v.uid, d.attempts, d.failing_since, "
        "v.type, v.created_at, v.data, v.personal FROM webhook_deliveries d "
        "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
        f"JOIN webhook_events v ON v.id = d.event_id WHERE d.id IN ({marks}) ORDER BY d.id",
        ids,
    )
    return [
        Delivery(r[0], r[1], r[2], r[3], r[4], r[5], r[6], body_of(r[4], r[7], r[8], r[9], r[10]))
        for r in rows
    ]


async def claim_due(db: Database, now: datetime, want: int) -> list[Delivery]:
    """Up to `want` deliveries due now (each contact's oldest per endpoint), marked claimed."""
    # Bulk: finding the due rows costs more the longer the backlog (18 ms at 10,000 pending).
    return await db.write_bulk(_claim, ts(now), want)


def _next_due(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(f"SELECT min(d.next_at) {_READY}").fetchone()
    return row[0] if row else None


async def next_due(db: Database) -> datetime | None:
    """When the next delivery that may go falls due (one waiting for an earlier one of its
    contact does not count: it goes after that one), or None."""
    found = await db.fetch(_next_due)
    return None if found is None else from_ts(found)


def _any_due(conn: sqlite3.Connection, now: str) -> bool:
    return conn.execute(f"SELECT 1 {_DUE} LIMIT 1", {"now": now}).fetchone() is not None


async def any_due(db: Database, now: datetime) -> bool:
    """Whether `claim_due` would find anything, read without the writer's lock."""
    return await db.fetch(_any_due, ts(now))


def _delivered(conn: sqlite3.Connection, delivery_id: int, endpoint_id: int, now: str) -> None:
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?, claimed_at = NULL, "
        "last_error = NULL WHERE id = ? AND status = 'claimed'",
        (now, delivery_id),
    )
    conn.execute(
        "UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = ?, last_error = NULL "
        "WHERE id = ?",
        (now, endpoint_id),
    )


async def mark_delivered(db: Database, delivery: Delivery, now: datetime) -> None:
    await db.write(_delivered, delivery.id, delivery.endpoint_id, ts(now))


# (what happened: 'failures' | 'gone' | 'dropped', the endpoint's url, the recipient's language)
# -> the outbox payload of the owners' notice
NoticeRender = Callable[[str, str, str | None], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    gave_up: bool  # the delivery failed for a day: it will not be tried again
    paused: bool  # this failure paused the endpoint (and queued the owners' notice)


def _failed(
    conn: sqlite3.Connection,
    delivery: Delivery,
    error: str,
    now: datetime,
    retry_at: datetime,
    owner_ids: list[int],
    notice: NoticeRender,
) -> FailureOutcome:
    stamp = ts(now)
    first = delivery.failing_since or stamp
    gave_up = now - from_ts(first) >= GIVE_UP_AFTER
    conn.execute(
        "UPDATE webhook_deliveries SET status = ?, next_at = ?, claimed_at = NULL, "
        "failing_since = ?, last_error = ? WHERE id = ? AND status = 'claimed'",
        ("failed" if gave_up else "pending", ts(retry_at), first, error[:500], delivery.id),
    )
    row = conn.execute(
        "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?), last_error = ? "
        "WHERE id = ? RETURNING failing_since, status, url",
        (stamp, error[:500], delivery.endpoint_id),
    ).fetchone()
    if row is None or row[1] != "active" or now - from_ts(row[0]) < PAUSE_AFTER:
        return FailureOutcome(gave_up, False)
    conn.execute(
        "UPDATE webhook_endpoints SET status = 'paused', paused_by = 'failures', paused_at = ?, "
        "updated_at = ? WHERE id = ?",
        (stamp, stamp, delivery.endpoint_id),
    )
    _tell(conn, owner_ids, notice, "failures", delivery.endpoint_id, row[2], row[0], now)
    return FailureOutcome(gave_up, True)


def _tell(
    conn: sqlite3.Connection,
    owner_ids: list[int],
    notice: NoticeRender,
    kind: str,
    endpoint_id: int,
    url: str,
    spell: str,
    now: datetime,
) -> None:
    """Queue the owners' notice of `kind` about an endpoint, once per `spell` (the start of the
    failing spell, or of the pause)."""
    purpose = DROPPED_PURPOSE if kind == "dropped" else PAUSED_PURPOSE
    marks = ",".join("?" * len(owner_ids))
    languages = dict(
        conn.execute(f"SELECT user_id, language FROM staff WHERE user_id IN ({marks})", owner_ids)
    )
    for owner in owner_ids:
        enqueue_in(
            conn,
            chat_id=owner,
            purpose=purpose,
            payload=notice(kind, url, languages.get(owner)),
            now=now,
            ref=f"webhook:{endpoint_id}",
            idem_key=f"{purpose}:{endpoint_id}:{spell}:{owner}",
        )


def _gone(
    conn: sqlite3.Connection,
    delivery: Delivery,
    now: datetime,
    owner_ids: list[int],
    notice: NoticeRender,
) -> bool:
    stamp = ts(now)
    error = "HTTP 410 Gone: the receiver says this URL is gone"
    # Not retried, not given up: held with the others, sent first if an owner resumes the URL.
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_at = ?, claimed_at = NULL, "
        "last_error = ? WHERE id = ? AND status = 'claimed'",
        (stamp, error, delivery.id),
    )
    row = conn.execute(
        "UPDATE webhook_endpoints SET status = 'paused', paused_by = 'failures', gone_at = ?, "
        "paused_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = 'active' "
        "RETURNING url",
        (stamp, stamp, error, stamp, delivery.endpoint_id),
    ).fetchone()
    if row is None:  # already paused (or deleted) meanwhile: nobody is told twice
        conn.execute(
            "UPDATE webhook_endpoints SET last_error = ? WHERE id = ?",
            (error, delivery.endpoint_id),
        )
        return False
    _tell(conn, owner_ids, notice, "gone", delivery.endpoint_id, row[0], stamp, now)
    return True


async def mark_gone(
    db: Database,
    delivery: Delivery,
    now: datetime,
    owner_ids: Iterable[int],
    notice: NoticeRender,
) -> bool:
    """The receiver answered 410 Gone: the endpoint is paused at once and the owners told
    (whether this answer paused it); the delivery is held, not retried."""
    return await db.write(_gone, delivery, now, sorted(set(owner_ids)), notice)


async def mark_failed(
    db: Database,
    delivery: Delivery,
    error: str,
    now: datetime,
    retry_at: datetime,
    owner_ids: Iterable[int],
    notice: NoticeRender,
) -> FailureOutcome:
    """Record a failed attempt: retried at `retry_at`, or given up a day after its first failure;
    the endpoint paused (owners told once) after a day without a success."""
    return await db.write(_failed, delivery, error, now, retry_at, sorted(set(owner_ids)), notice)


def _release(conn: sqlite3.Connection, delivery_id: int) -> None:
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'pending', claimed_at = NULL, "
        "attempts = max(attempts - 1, 0) WHERE id = ? AND status = 'claimed'",
        (delivery_id,),
    )


async def release(db: Database, delivery: Delivery) -> None:
    """Put back a delivery that was never sent (the bot is stopping)."""
    await db.write(_release, delivery.id)


def _prune(conn: sqlite3.Connection, before: str) -> int:
    deleted = conn.execute(
        "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < ?",
        (before,),
    ).rowcount
    conn.execute(
        "DELETE FROM webhook_events WHERE created_at < ? AND NOT EXISTS "
        "(SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)",
        (before,),
    )
    return deleted


async def prune(db: Database, now: datetime) -> int:
    """Forget deliveries finished more than KEEP_FOR ago, and events nobody waits for any more
    (a deleted URL's too); how many deliveries went. Pending ones are never pruned."""
    return await db.write_bulk(_prune, ts(now - KEEP_FOR))


def _drop_held(
    conn: sqlite3.Connection, now: datetime, owner_ids: list[int], notice: NoticeRender
) -> int:
    before, stamp = ts(now - HOLD_FOR), ts(now)
    paused = conn.execute(
        "SELECT e.id, e.url, coalesce(e.paused_at, e.updated_at) FROM webhook_endpoints e "
        "WHERE e.status = 'paused' AND EXISTS (SELECT 1 FROM webhook_deliveries d "
        "WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.created_at < ?)",
        (before,),
    ).fetchall()
    dropped = 0
    for endpoint_id, url, paused_at in paused:
        count = conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', next_at = ?, last_error = ? "
            "WHERE endpoint_id = ? AND status = 'pending' AND created_at < ?",
            (stamp, "dropped: held too long while the URL was paused", endpoint_id, before),
        ).rowcount
        conn.execute(
            "UPDATE webhook_endpoints SET dropped = dropped + ? WHERE id = ?", (count, endpoint_id)
        )
        _tell(conn, owner_ids, notice, "dropped", endpoint_id, url, paused_at, now)
        dropped += count
    return dropped


async def drop_held(
    db: Database, now: datetime, owner_ids: Iterable[int], notice: NoticeRender
) -> int:
    """Drop what paused endpoints have held for more than HOLD_FOR (the oldest: the newer stay),
    telling the owners once per pause; how many deliveries were dropped."""
    return await db.write_bulk(_drop_held, now, sorted(set(owner_ids)), notice)
