"""Detractor cases: alerts queued once per case, taking a case (first taker wins), and working it
afterwards: the /cases list, the card with its history, notes, resolving, reopening, and the
person's own "was it resolved?" answer.

An alert goes out on the score itself and is edited as the person answers. The case is
*settled* when what they said is final: the survey finished, or untouched for the quiet period
(`quiet_cases`, read by the tick); the alerts then take their final form ("reason: not given").
Telegram does not notify anybody of an edit, so what the person says after an alert went out
(a reason, a phone) also goes to the case's owner as one short new message (`LATE_PURPOSE`):
gathered while the case is unsettled and sent when it settles, then one message per new fact.
The facts already told are read back from those messages' idempotency keys, so nothing is told
twice, however often an answer is handled again.

Every change is one conditional UPDATE (`WHERE status = ...`) in one transaction with its
case_events row and whatever it queues in the outbox, so a double tap changes nothing twice and
a crash leaves no half-done change. Who may see a case is decided here, once: owners see every
case, a manager the cases of their own deals and the cases they own.

The functions named `..._in` take a plain `sqlite3` connection and run inside somebody's
`db.write` (storage/db.py), in the database thread: a survey answer queues or refreshes its
case's alerts in its own transaction with them.

The question to the person after a resolution ignores only the "budget" reason of
`may_write_first`: it is their own conversation about their complaint, not a new approach, but
they must still have agreed to be contacted and be reachable.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

from domain.cases import (
    NOTE_LIMIT,
    RESOLUTION_LIMIT,
    Change,
    Take,
)
from domain.tunables import LATE_FACTS_MAX_AGE_HOURS
from storage.db import Database
from storage.events import CASE_REOPENED, CASE_RESOLVED, CASE_TAKEN, case_changed, emit_on
from storage.followup import Blocked, anything, may_write_first
from storage.outbox import enqueue, enqueue_in
from storage.timefmt import from_ts, ts

ALERT_PURPOSE = "case_alert"
LATE_PURPOSE = "case_late"
LATE_FACTS = ("reason", "phone")
# The minute tick's read: cases_unalerted holds only these, in this order.
UNALERTED_SQL = "SELECT id FROM cases WHERE alerted_at IS NULL ORDER BY opened_at, id"
# The minute tick's read of cases to settle: cases_unsettled holds only the unsettled ones, and
# those still being answered are few.
_LAST_ANSWER = "coalesce(s.consent_at, s.reason_at, s.scored_at)"
QUIET_CASES_SQL = (
    "SELECT k.id FROM cases k LEFT JOIN surveys s ON s.id = k.survey_id "
    "WHERE k.settled_at IS NULL AND k.opened_at <= :quiet "
    f"AND (s.id IS NULL OR {_LAST_ANSWER} <= :quiet) "
    "ORDER BY k.opened_at LIMIT :limit"
)


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
    contact_asked: bool = True  # the person was sent the question about contact (Q3)


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    language: str | None


_CARD_SQL = """
SELECT k.id AS case_id, k.status, k.contact_id, c.full_name AS contact_name, c.organization,
       coalesce(s.kind, c.kind) AS kind, s.score, s.reason, s.consent,
       coalesce(s.phone, c.phone) AS phone,
       s.id IS NOT NULL AND k.settled_at IS NULL AS in_progress,
       s.reason_at IS NOT NULL AS reason_given,
       s.consent IS NOT NULL OR s.asked_step IN ('consent', 'phone', 'done') AS contact_asked,
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
    return _card_of(row) if row is not None else None


def _card_in(conn: sqlite3.Connection, case_id: int) -> CaseCard | None:
    row = conn.execute(_CARD_SQL, (case_id,)).fetchone()
    return _card_of(row) if row is not None else None


def _card_of(row: sqlite3.Row) -> CaseCard:
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
        contact_asked=bool(row["contact_asked"]),
    )


def _recipients(
    conn: sqlite3.Connection, manager_id: int | None, owner_ids: Iterable[int]
) -> list[Recipient]:
    ids = sorted(set(owner_ids))
    if manager_id is not None and manager_id not in ids:
        active = conn.execute(
            "SELECT 1 FROM staff WHERE user_id = ? AND role = 'manager' AND active = 1",
            (manager_id,),
        ).fetchone()
        if active:
            ids.insert(0, manager_id)
    marks = ",".join("?" * len(ids))
    found = dict(
        conn.execute(f"SELECT user_id, language FROM staff WHERE user_id IN ({marks})", ids)
    )
    return [Recipient(user_id, found.get(user_id)) for user_id in ids]


AlertRender = Callable[[CaseCard, Recipient], dict[str, Any]]


async def queue_alerts(
    db: Database, owner_ids: Iterable[int], now: datetime, render: AlertRender
) -> int:
    """Queue the alert of every case not yet alerted (the tick's way; an answer does it in its
    own transaction with `queue_alerts_in`)."""
    if not await anything(db, UNALERTED_SQL, ()):
        return 0
    # Bulk: after a pause (a restart, an outage) the cases not yet alerted may be many.
    return await db.write_bulk(queue_alerts_in, list(owner_ids), now, render)


def queue_alerts_in(
    conn: sqlite3.Connection, owner_ids: Iterable[int], now: datetime, render: AlertRender
) -> int:
    """Queue the alert of every case not yet alerted (at once: on the score itself), inside the
    caller's write transaction (in the database thread).

    The alerts and the case's `alerted_at` are written in one transaction: each case is alerted
    exactly once, whoever calls this and however often. What the person says afterwards updates
    the same alert messages (`alert_messages`), so nobody waits for the survey to end.
    """
    owners = list(owner_ids)
    queued = 0
    for (case_id,) in conn.execute(UNALERTED_SQL).fetchall():
        card = _card_in(conn, case_id)
        assert card is not None
        for recipient in _recipients(conn, card.manager_id, owners):
            enqueue_in(
                conn,
                chat_id=recipient.user_id,
                purpose=ALERT_PURPOSE,
                payload=render(card, recipient),
                now=now,
                ref=f"case:{case_id}",
                idem_key=f"case_alert:{case_id}:{recipient.user_id}",
            )
            queued += 1
        conn.execute("UPDATE cases SET alerted_at = ? WHERE id = ?", (ts(now), case_id))
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
        await emit_on(conn, case_changed, CASE_TAKEN, case_id, ts(now))
        return Take.TAKEN, await _card(conn, case_id)


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    card: CaseCard | None
    to_edit: list[tuple[int, int, dict[str, Any]]]  # (chat_id, message_id, payload)
    told: int  # short messages queued with what the person said after the alert went out


# (the case, the new reason or None, the new phone or None, the recipient's language)
LateRender = Callable[[CaseCard, str | None, str | None, str | None], dict[str, Any]]


async def alert_messages(
    db: Database,
    case_id: int,
    render: AlertRender,
    *,
    now: datetime | None = None,
    late: LateRender | None = None,
    owner_ids: Iterable[int] = (),
    settle_quiet: datetime | None = None,
) -> AlertUpdate:
    """Bring every alert of a case up to date with the case as it is now, in one write.

    Alerts still in the outbox get the new text in place (so none is delivered with a stale
    "take" button); for alerts already delivered, returns (chat_id, message_id, payload) to edit.
    With `settle_quiet`, the case is settled first if its survey has been untouched since then.
    With `late` (and `now`), a settled case's facts that came after its first alert was
    delivered and were not told yet are queued as one short message (`_tell_late_facts`).
    """
    return await db.write(
        alert_messages_in, case_id, render, now, late, list(owner_ids), settle_quiet
    )


def alert_messages_in(
    conn: sqlite3.Connection,
    case_id: int,
    render: AlertRender,
    now: datetime | None = None,
    late: LateRender | None = None,
    owner_ids: Iterable[int] = (),
    settle_quiet: datetime | None = None,
) -> AlertUpdate:
    """`alert_messages` inside the caller's write transaction (in the database thread)."""
    if settle_quiet is not None and now is not None:
        conn.execute(
            "UPDATE cases SET settled_at = ? WHERE id = ? AND settled_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.id = cases.survey_id "
            f"AND {_LAST_ANSWER} > ?)",
            (ts(now), case_id, ts(settle_quiet)),
        )
    card = _card_in(conn, case_id)
    if card is None:
        return AlertUpdate(None, [], 0)
    rows = conn.execute(
        "SELECT o.id, o.chat_id, o.status, o.message_id, s.language FROM outbox o "
        "LEFT JOIN staff s ON s.user_id = o.chat_id "
        "WHERE o.ref = ? AND o.purpose = ? AND o.status IN ('pending', 'claimed', 'sent')",
        (f"case:{case_id}", ALERT_PURPOSE),
    ).fetchall()
    to_edit = []
    for outbox_id, chat_id, status, message_id, language in rows:
        payload = render(card, Recipient(chat_id, language))
        if status == "sent":
            if message_id is not None:
                to_edit.append((chat_id, message_id, payload))
        else:
            conn.execute(
                "UPDATE outbox SET payload = ? WHERE id = ?",
                (json.dumps(payload, ensure_ascii=False), outbox_id),
            )
    told = 0
    if late is not None and now is not None and not card.in_progress:
        told = _tell_late_facts(conn, card, late, owner_ids, now)
    return AlertUpdate(card, to_edit, told)


def _tell_late_facts(
    conn: sqlite3.Connection,
    card: CaseCard,
    late: LateRender,
    owner_ids: Iterable[int],
    now: datetime,
) -> int:
    """Queue what the person said after the case's first alert was delivered and nobody was
    told yet: to the case's owner, or, while nobody has taken it, to everybody who got the
    alert. An answer given in the same second as the delivery counts as late: the alert may
    have gone out without it. One older than LATE_FACTS_MAX_AGE_HOURS is not news any more."""
    ref = f"case:{card.case_id}"
    alerts = conn.execute(
        "SELECT chat_id, sent_at FROM outbox WHERE ref = ? AND purpose = ? "
        "AND status = 'sent' AND sent_at IS NOT NULL",
        (ref, ALERT_PURPOSE),
    ).fetchall()
    if not alerts:
        return 0  # nothing delivered yet: the queued alerts carry everything
    first = min(row[1] for row in alerts)
    row = conn.execute(
        "SELECT s.reason, s.reason_at, s.consent, coalesce(s.phone, c.phone) AS phone, "
        "coalesce(s.answered_at, s.consent_at) AS phone_at "
        "FROM cases k JOIN contacts c ON c.id = k.contact_id "
        "JOIN surveys s ON s.id = k.survey_id WHERE k.id = ?",
        (card.case_id,),
    ).fetchone()
    if row is None:
        return 0
    # later than the first delivered alert, and fresh (LATE_FACTS_MAX_AGE_HOURS)
    since = max(first, ts(now - timedelta(hours=LATE_FACTS_MAX_AGE_HOURS)))
    facts: dict[str, str] = {}
    if row["reason"] and row["reason_at"] >= since:
        facts["reason"] = row["reason"]
    if row["consent"] == 1 and row["phone"] and row["phone_at"] and row["phone_at"] >= since:
        facts["phone"] = row["phone"]
    keys = conn.execute(
        "SELECT idem_key FROM outbox WHERE ref = ? AND purpose = ?", (ref, LATE_PURPOSE)
    ).fetchall()
    told = {fact for (key,) in keys for fact in key.split(":")[2].split("+")}
    new = [fact for fact in LATE_FACTS if fact in facts and fact not in told]
    if not new:
        return 0
    if card.owner_id is not None:
        recipients = _notice_recipients_in(conn, card.owner_id, owner_ids)
    else:
        chats = sorted({row[0] for row in alerts})
        marks = ",".join("?" * len(chats))
        found = dict(
            conn.execute(
                f"SELECT user_id, language FROM staff WHERE user_id IN ({marks})", chats
            ).fetchall()
        )
        recipients = [(chat, found.get(chat)) for chat in chats]
    what = "+".join(new)
    queued = 0
    for user_id, language in recipients:
        payload = late(
            card,
            facts.get("reason") if "reason" in new else None,
            facts.get("phone") if "phone" in new else None,
            language,
        )
        if enqueue_in(
            conn,
            chat_id=user_id,
            purpose=LATE_PURPOSE,
            payload=payload,
            now=now,
            ref=ref,
            idem_key=f"{LATE_PURPOSE}:{card.case_id}:{what}:{user_id}",
        ):
            queued += 1
    return queued


async def quiet_cases(db: Database, quiet: datetime, limit: int) -> list[int]:
    """Unsettled cases whose survey nobody has touched since `quiet`, oldest first."""
    async with db.read() as conn:
        rows = await (
            await conn.execute(QUIET_CASES_SQL, {"quiet": ts(quiet), "limit": limit})
        ).fetchall()
    return [row[0] for row in rows]


async def case_of_survey(db: Database, survey_id: int) -> int | None:
    return await db.fetch(_case_of_survey, survey_id)


def _case_of_survey(conn: sqlite3.Connection, survey_id: int) -> int | None:
    row = conn.execute("SELECT id FROM cases WHERE survey_id = ?", (survey_id,)).fetchone()
    return row[0] if row else None


PAGE_SIZE = 10
CONFIRM_PURPOSE = "case_confirm"
REOPENED_PURPOSE = "case_reopened"
# Events written by the person themselves (their actor_id is their Telegram id, not staff).

# A manager sees the cases of their own deals and the cases they own; an owner (viewer NULL) all.
_VISIBLE = (
    "(:viewer IS NULL OR coalesce(s.manager_id, c.manager_id) = :viewer OR k.owner_id = :viewer)"
)


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One line of the /cases list."""

    case_id: int
    status: str
    opened_at: datetime
    contact_name: str | None
    organization: str | None
    score: int | None
    owner_name: str | None


@dataclass(frozen=True, slots=True)
class CasePage:
    cases: list[CaseLine]
    total: int
    page: int  # clamped into range
    pages: int


@dataclass(frozen=True, slots=True)
class CaseEvent:
    at: datetime
    actor_id: int | None
    actor_name: str | None  # staff name; None for the system and for the person themselves
    action: str  # opened, taken, note, resolved, reopened, confirmed, reopened_by_client
    note: str | None


@dataclass(frozen=True, slots=True)
class CaseDetail:
    card: CaseCard
    source: str  # 'survey' or 'call'
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    client_confirmed: bool | None
    reopened_count: int
    question_asked: bool  # the person was asked about the current resolution
    events: list[CaseEvent]


@dataclass(frozen=True, slots=True)
class Resolved:
    change: Change
    asked: bool  # the question to the person was queued
    blocked: Blocked | None  # why the person is not asked, when they agreed to contact


class Answer(enum.Enum):
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    IGNORED = "ignored"  # second tap, forged id, another account, or nothing was asked


def may_see(card: CaseCard, viewer: int | None) -> bool:
    return viewer is None or viewer in (card.manager_id, card.owner_id)


OPEN_CASES_COUNT_SQL = "SELECT count(*) FROM cases WHERE status IN ('open', 'taken')"


async def list_cases(
    db: Database, viewer: int | None, page: int, page_size: int = PAGE_SIZE
) -> CasePage:
    """Open and taken cases the viewer may see, oldest first, one page of them."""
    base = (
        "FROM cases k JOIN contacts c ON c.id = k.contact_id "
        "LEFT JOIN surveys s ON s.id = k.survey_id "
        "LEFT JOIN staff o ON o.user_id = k.owner_id "
        f"WHERE k.status IN ('open', 'taken') AND {_VISIBLE}"
    )
    params = {"viewer": viewer}
    # The owner sees every case, so the count needs no join: the covering index alone (16 ms
    # for 184,000 open cases, against 0.8 s for the joined count that a manager's scope needs).
    count = OPEN_CASES_COUNT_SQL if viewer is None else f"SELECT count(*) {base}"
    async with db.report() as conn:
        total = (await (await conn.execute(count, params)).fetchone())[0]
        pages = max(1, -(-total // page_size))
        page = min(max(page, 0), pages - 1)
        rows = await (
            await conn.execute(
                "SELECT k.id, k.status, k.opened_at, c.full_name, c.organization, s.score, "
                "o.full_name AS owner_name "
                f"{base} "
                "ORDER BY k.opened_at, k.id LIMIT :limit OFFSET :offset",
                {**params, "limit": page_size, "offset": page * page_size},
            )
        ).fetchall()
    lines = [
        CaseLine(
            case_id=r[0],
            status=r[1],
            opened_at=from_ts(r[2]),
            contact_name=r[3],
            organization=r[4],
            score=r[5],
            owner_name=r[6],
        )
        for r in rows
    ]
    return CasePage(cases=lines, total=total, page=page, pages=pages)


async def _detail(
    conn: aiosqlite.Connection, case_id: int, viewer: int | None
) -> CaseDetail | None:
    card = await _card(conn, case_id)
    if card is None or not may_see(card, viewer):
        return None
    row = await (
        await conn.execute(
            "SELECT source, opened_at, resolved_at, resolution, client_confirmed, reopened_count "
            "FROM cases WHERE id = ?",
            (case_id,),
        )
    ).fetchone()
    asked = await (
        await conn.execute(
            "SELECT 1 FROM outbox WHERE idem_key = ?",
            (_confirm_key(case_id, row["reopened_count"]),),
        )
    ).fetchone()
    events = await (
        await conn.execute(
            "SELECT e.at, e.actor_id, st.full_name, e.action, e.note FROM case_events e "
            "LEFT JOIN staff st ON st.user_id = e.actor_id AND e.action NOT IN "
            "('confirmed', 'reopened_by_client') "
            "WHERE e.case_id = ? ORDER BY e.at, e.id",
            (case_id,),
        )
    ).fetchall()
    confirmed = row["client_confirmed"]
    return CaseDetail(
        card=card,
        source=row["source"],
        opened_at=from_ts(row["opened_at"]),
        resolved_at=from_ts(row["resolved_at"]) if row["resolved_at"] else None,
        resolution=row["resolution"],
        client_confirmed=None if confirmed is None else bool(confirmed),
        reopened_count=row["reopened_count"],
        question_asked=asked is not None,
        events=[
            CaseEvent(at=from_ts(e[0]), actor_id=e[1], actor_name=e[2], action=e[3], note=e[4])
            for e in events
        ],
    )


async def get_case_detail(db: Database, case_id: int, viewer: int | None) -> CaseDetail | None:
    """The case card with its history; None if there is no such case or the viewer may not see
    it (the same answer for both, so a forged id learns nothing)."""
    async with db.read() as conn:
        return await _detail(conn, case_id, viewer)


async def _visible(conn: aiosqlite.Connection, case_id: int, viewer: int | None) -> bool:
    card = await _card(conn, case_id)
    return card is not None and may_see(card, viewer)


async def _event(
    conn: aiosqlite.Connection,
    case_id: int,
    now: datetime,
    actor_id: int | None,
    action: str,
    note: str | None = None,
    source_key: str | None = None,
) -> bool:
    """Record an event; False if one from the same message (`source_key`) is already there."""
    cur = await conn.execute(
        "INSERT INTO case_events (case_id, at, actor_id, action, note, source_key) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (case_id, ts(now), actor_id, action, note, source_key),
    )
    return cur.rowcount == 1


async def add_note(
    db: Database,
    case_id: int,
    viewer: int | None,
    actor_id: int,
    text: str,
    now: datetime,
    source_key: str | None = None,
) -> Change:
    """A note on a case; the same message (`source_key`) handled again adds nothing and is DONE."""
    async with db.transaction() as conn:
        if not await _visible(conn, case_id, viewer):
            return Change.NOT_ALLOWED
        await _event(conn, case_id, now, actor_id, "note", text[:NOTE_LIMIT], source_key)
    return Change.DONE


async def _stored_event(
    conn: aiosqlite.Connection, case_id: int, action: str, source_key: str
) -> bool:
    row = await (
        await conn.execute(
            "SELECT 1 FROM case_events WHERE source_key = ? AND case_id = ? AND action = ?",
            (source_key, case_id, action),
        )
    ).fetchone()
    return row is not None


def _confirm_key(case_id: int, round_: int) -> str:
    return f"{CONFIRM_PURPOSE}:{case_id}:{round_}"


async def resolve_case(
    db: Database,
    case_id: int,
    viewer: int | None,
    actor_id: int,
    resolution: str,
    now: datetime,
    *,
    min_days: int,
    question: Callable[[int, str | None], dict[str, Any]],
    not_before: datetime | None = None,
    source_key: str | None = None,
) -> Resolved:
    """Resolve a taken case and, in the same transaction, queue the one question to the person
    (`question(case_id, language)` renders it) if they agreed to be contacted; it goes at
    `not_before` (the respondents' daytime) if that is later than now. A resolution already
    stored from the same message (`source_key`, a replay after a crash) changes nothing and is
    reported DONE, with `asked` saying whether the question was queued then."""
    async with db.transaction() as conn:
        if not await _visible(conn, case_id, viewer):
            return Resolved(Change.NOT_ALLOWED, False, None)
        if source_key is not None and await _stored_event(conn, case_id, "resolved", source_key):
            row = await (
                await conn.execute(
                    "SELECT reopened_count FROM cases WHERE id = ?",
                    (case_id,),
                )
            ).fetchone()
            queued = await (
                await conn.execute(
                    "SELECT 1 FROM outbox WHERE idem_key = ?",
                    (_confirm_key(case_id, row["reopened_count"]),),
                )
            ).fetchone()
            return Resolved(Change.DONE, queued is not None, None)
        cur = await conn.execute(
            "UPDATE cases SET status = 'resolved', resolved_at = ?, resolution = ?, "
            "client_confirmed = NULL WHERE id = ? AND status = 'taken'",
            (ts(now), resolution[:RESOLUTION_LIMIT], case_id),
        )
        if cur.rowcount != 1:
            return Resolved(Change.STALE, False, None)
        await _event(
            conn, case_id, now, actor_id, "resolved", resolution[:RESOLUTION_LIMIT], source_key
        )
        await emit_on(conn, case_changed, CASE_RESOLVED, case_id, ts(now))
        row = await (
            await conn.execute(
                "SELECT k.contact_id, k.reopened_count, s.consent, c.tg_user_id, c.language "
                "FROM cases k JOIN contacts c ON c.id = k.contact_id "
                "LEFT JOIN surveys s ON s.id = k.survey_id WHERE k.id = ?",
                (case_id,),
            )
        ).fetchone()
        if row["consent"] is None:  # a call's case, or the person never reached Q3
            return Resolved(Change.DONE, False, None)
        if row["consent"] != 1:
            return Resolved(Change.DONE, False, Blocked.NOCONSENT)
        blocked = await may_write_first(conn, row["contact_id"], now, min_days, needs_consent=True)
        if blocked not in (None, Blocked.BUDGET):
            return Resolved(Change.DONE, False, blocked)
        queued = await enqueue(
            conn,
            chat_id=row["tg_user_id"],
            purpose=CONFIRM_PURPOSE,
            payload=question(case_id, row["language"]),
            now=now,
            contact_id=row["contact_id"],
            ref=f"case:{case_id}",
            idem_key=_confirm_key(case_id, row["reopened_count"]),
            not_before=not_before,
        )
    return Resolved(Change.DONE, queued is not None, None)


async def reopen_case(
    db: Database, case_id: int, viewer: int | None, actor_id: int, now: datetime
) -> Change:
    """A resolved case goes back to work, with the same owner."""
    async with db.transaction() as conn:
        if not await _visible(conn, case_id, viewer):
            return Change.NOT_ALLOWED
        cur = await conn.execute(
            "UPDATE cases SET status = 'taken', resolved_at = NULL, resolution = NULL, "
            "reopened_count = reopened_count + 1 WHERE id = ? AND status = 'resolved'",
            (case_id,),
        )
        if cur.rowcount != 1:
            return Change.STALE
        await _event(conn, case_id, now, actor_id, "reopened")
        await emit_on(conn, case_changed, CASE_REOPENED, case_id, ts(now), by="staff")
    return Change.DONE


async def _notice_recipients(
    conn: aiosqlite.Connection, owner_id: int | None, owner_ids: Iterable[int]
) -> list[tuple[int, str | None]]:
    """The case's owner, or the company's owners if the case owner no longer has access."""
    owners = set(owner_ids)
    ids: list[int] = []
    if owner_id is not None:
        active = await (
            await conn.execute(
                "SELECT 1 FROM staff WHERE user_id = ? AND role = 'manager' AND active = 1",
                (owner_id,),
            )
        ).fetchone()
        if owner_id in owners or active:
            ids = [owner_id]
    if not ids:
        ids = sorted(owners)
    out = []
    for user_id in ids:
        row = await (
            await conn.execute("SELECT language FROM staff WHERE user_id = ?", (user_id,))
        ).fetchone()
        out.append((user_id, row[0] if row else None))
    return out


def _notice_recipients_in(
    conn: sqlite3.Connection, owner_id: int | None, owner_ids: Iterable[int]
) -> list[tuple[int, str | None]]:
    """`_notice_recipients` in the database thread."""
    owners = set(owner_ids)
    ids: list[int] = []
    if owner_id is not None:
        active = conn.execute(
            "SELECT 1 FROM staff WHERE user_id = ? AND role = 'manager' AND active = 1",
            (owner_id,),
        ).fetchone()
        if owner_id in owners or active:
            ids = [owner_id]
    if not ids:
        ids = sorted(owners)
    marks = ",".join("?" * len(ids))
    found = dict(
        conn.execute(f"SELECT user_id, language FROM staff WHERE user_id IN ({marks})", ids)
    )
    return [(user_id, found.get(user_id)) for user_id in ids]


async def is_about(db: Database, case_id: int, tg_user_id: int) -> bool:
    """Whether the case is about the person with this Telegram account."""
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM cases k JOIN contacts c ON c.id = k.contact_id "
            "WHERE k.id = ? AND c.tg_user_id = ?",
            (case_id, tg_user_id),
        )
        return await cur.fetchone() is not None


async def client_answer(
    db: Database,
    case_id: int,
    tg_user_id: int,
    yes: bool,
    now: datetime,
    owner_ids: Iterable[int],
    notice: Callable[[CaseCard, str | None], dict[str, Any]],
) -> Answer:
    """The person's Yes/No to "Has your issue been resolved?".

    Counts only from the person the case is about, once per resolution, and only if they were
    asked. A No reopens the case and queues a notice to its owner in the same transaction."""
    condition = (
        "WHERE id = :case AND status = 'resolved' AND client_confirmed IS NULL "
        "AND contact_id IN (SELECT id FROM contacts WHERE tg_user_id = :user) "
        "AND EXISTS (SELECT 1 FROM outbox WHERE idem_key = :purpose || ':' || cases.id || ':' "
        "|| cases.reopened_count)"
    )
    params = {"case": case_id, "user": tg_user_id, "purpose": CONFIRM_PURPOSE}
    async with db.transaction() as conn:
        if yes:
            cur = await conn.execute(f"UPDATE cases SET client_confirmed = 1 {condition}", params)
            if cur.rowcount != 1:
                return Answer.IGNORED
            await _event(conn, case_id, now, tg_user_id, "confirmed")
            return Answer.CONFIRMED
        cur = await conn.execute(
            "UPDATE cases SET client_confirmed = 0, status = 'taken', resolved_at = NULL, "
            f"resolution = NULL, reopened_count = reopened_count + 1 {condition}",
            params,
        )
        if cur.rowcount != 1:
            return Answer.IGNORED
        await _event(conn, case_id, now, tg_user_id, "reopened_by_client")
        await emit_on(conn, case_changed, CASE_REOPENED, case_id, ts(now), by="client")
        card = await _card(conn, case_id)
        assert card is not None
        round_ = (
            await (
                await conn.execute("SELECT reopened_count FROM cases WHERE id = ?", (case_id,))
            ).fetchone()
        )[0]
        for user_id, language in await _notice_recipients(conn, card.owner_id, owner_ids):
            await enqueue(
                conn,
                chat_id=user_id,
                purpose=REOPENED_PURPOSE,
                payload=notice(card, language),
                now=now,
                ref=f"case:{case_id}",
                idem_key=f"{REOPENED_PURPOSE}:{case_id}:{round_}:{user_id}",
            )
    return Answer.REOPENED
