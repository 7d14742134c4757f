"""Detractor cases: alerts queued once per case, and taking a case (first taker wins).

An alert goes out when the survey is finished (reason and consent known) or, if the person stops
half-way, once the survey has been idle for a while: the case itself exists from the moment the
score was given, so nothing depends on the person finishing.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite

from storage.db import Database
from storage.outbox import enqueue
from storage.timefmt import from_ts, ts

ALERT_PURPOSE = "case_alert"


@dataclass(frozen=True, slots=True)
class CaseCard:
    case_id: int
    status: str
    contact_id: int
    contact_name: str | None
    organization: str | None
    kind: str
    score: int | None
    reason: str | None
    phone: str | None  # only when the person agreed to be contacted
    consent: bool | None
    in_progress: bool  # the person is still answering the survey
    reason_given: bool  # Q2 answered (or skipped)
    deal_description: str | None
    deal_date: date | None
    manager_id: int | None
    manager_name: str | None
    owner_id: int | None
    owner_name: str | None
    taken_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    language: str | None


class Take(enum.Enum):
    TAKEN = "taken"
    ALREADY_TAKEN = "already_taken"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"


_CARD_SQL = """
SELECT k.id AS case_id, k.status, k.contact_id, c.full_name AS contact_name, c.organization,
       coalesce(s.kind, c.kind) AS kind, s.score, s.reason, s.consent,
       coalesce(s.phone, c.phone) AS phone,
       s.id IS NOT NULL AND s.answered_at IS NULL AS in_progress,
       s.reason_at IS NOT NULL AS reason_given,
       d.description AS deal_description, d.deal_date,
       coalesce(s.manager_id, c.manager_id) AS manager_id, m.full_name AS manager_name,
       k.owner_id, o.full_name AS owner_name, k.taken_at
FROM cases k
JOIN contacts c ON c.id = k.contact_id
LEFT JOIN surveys s ON s.id = k.survey_id
LEFT JOIN deals d ON d.id = k.deal_id
LEFT JOIN staff m ON m.user_id = coalesce(s.manager_id, c.manager_id)
LEFT JOIN staff o ON o.user_id = k.owner_id
WHERE k.id = ?
"""


async def _card(conn: aiosqlite.Connection, case_id: int) -> CaseCard | None:
    row = await (await conn.execute(_CARD_SQL, (case_id,))).fetchone()
    if row is None:
        return None
    consent = None if row["consent"] is None else bool(row["consent"])
    return CaseCard(
        case_id=row["case_id"],
        status=row["status"],
        contact_id=row["contact_id"],
        contact_name=row["contact_name"],
        organization=row["organization"],
        kind=row["kind"],
        score=row["score"],
        reason=row["reason"],
        phone=row["phone"] if consent else None,
        consent=consent,
        in_progress=bool(row["in_progress"]),
        reason_given=bool(row["reason_given"]),
        deal_description=row["deal_description"],
        deal_date=date.fromisoformat(row["deal_date"]) if row["deal_date"] else None,
        manager_id=row["manager_id"],
        manager_name=row["manager_name"],
        owner_id=row["owner_id"],
        owner_name=row["owner_name"],
        taken_at=from_ts(row["taken_at"]) if row["taken_at"] else None,
    )


async def _recipients(
    conn: aiosqlite.Connection, manager_id: int | None, owner_ids: Iterable[int]
) -> list[Recipient]:
    ids = sorted(set(owner_ids))
    if manager_id is not None:
        cur = await conn.execute(
            "SELECT 1 FROM staff WHERE user_id = ? AND role = 'manager' AND active = 1",
            (manager_id,),
        )
        if await cur.fetchone() and manager_id not in ids:
            ids.insert(0, manager_id)
    out = []
    for user_id in ids:
        cur = await conn.execute("SELECT language FROM staff WHERE user_id = ?", (user_id,))
        row = await cur.fetchone()
        out.append(Recipient(user_id, row[0] if row else None))
    return out


async def queue_alerts(
    db: Database,
    owner_ids: Iterable[int],
    now: datetime,
    render: Callable[[CaseCard, Recipient], dict[str, Any]],
) -> int:
    """Queue the alert of every case not yet alerted (at once: on the score itself).

    The alerts and the case's `alerted_at` are written in one transaction: each case is alerted
    exactly once, whoever calls this and however often. What the person says afterwards updates
    the same alert messages (`alert_messages`), so nobody waits for the survey to end.
    """
    owners = list(owner_ids)
    queued = 0
    async with db.transaction() as conn:
        cur = await conn.execute("SELECT id FROM cases WHERE alerted_at IS NULL ORDER BY id")
        for (case_id,) in await cur.fetchall():
            card = await _card(conn, case_id)
            assert card is not None
            for recipient in await _recipients(conn, card.manager_id, owners):
                await enqueue(
                    conn,
                    chat_id=recipient.user_id,
                    purpose=ALERT_PURPOSE,
                    payload=render(card, recipient),
                    now=now,
                    ref=f"case:{case_id}",
                    idem_key=f"case_alert:{case_id}:{recipient.user_id}",
                )
                queued += 1
            await conn.execute("UPDATE cases SET alerted_at = ? WHERE id = ?", (ts(now), case_id))
    return queued


async def take_case(
    db: Database, case_id: int, user_id: int, is_owner: bool, now: datetime
) -> tuple[Take, CaseCard | None]:
    """Take an open case. Owners may take any case, a manager only their own contacts' cases."""
    async with db.transaction() as conn:
        card = await _card(conn, case_id)
        if card is None:
            return Take.NOT_FOUND, None
        if not is_owner and card.manager_id != user_id:
            return Take.NOT_ALLOWED, None
        cur = await conn.execute(
            "UPDATE cases SET status = 'taken', owner_id = ?, taken_at = ? "
            "WHERE id = ? AND status = 'open'",
            (user_id, ts(now), case_id),
        )
        if cur.rowcount != 1:
            return Take.ALREADY_TAKEN, card
        await conn.execute(
            "INSERT INTO case_events (case_id, at, actor_id, action) VALUES (?, ?, ?, 'taken')",
            (case_id, ts(now), user_id),
        )
        return Take.TAKEN, await _card(conn, case_id)


async def alert_messages(
    db: Database, case_id: int, render: Callable[[CaseCard, Recipient], dict[str, Any]]
) -> tuple[CaseCard | None, list[tuple[int, int, dict[str, Any]]]]:
    """Bring every alert of a case up to date with the case as it is now.

    Alerts still in the outbox get the new text in place (so none is delivered with a stale
    "take" button); for alerts already delivered, returns (chat_id, message_id, payload) to edit.
    """
    async with db.transaction() as conn:
        card = await _card(conn, case_id)
        if card is None:
            return None, []
        rows = await (
            await conn.execute(
                "SELECT o.id, o.chat_id, o.status, o.message_id, s.language FROM outbox o "
                "LEFT JOIN staff s ON s.user_id = o.chat_id "
                "WHERE o.ref = ? AND o.purpose = ? AND o.status IN ('pending', 'claimed', 'sent')",
                (f"case:{case_id}", ALERT_PURPOSE),
            )
        ).fetchall()
        to_edit = []
        for outbox_id, chat_id, status, message_id, language in rows:
            payload = render(card, Recipient(chat_id, language))
            if status == "sent":
                if message_id is not None:
                    to_edit.append((chat_id, message_id, payload))
            else:
                await conn.execute(
                    "UPDATE outbox SET payload = ? WHERE id = ?",
                    (json.dumps(payload, ensure_ascii=False), outbox_id),
                )
    return card, to_edit


async def case_of_survey(db: Database, survey_id: int) -> int | None:
    async with db.read() as conn:
        row = await (
            await conn.execute("SELECT id FROM cases WHERE survey_id = ?", (survey_id,))
        ).fetchone()
    return row[0] if row else None
