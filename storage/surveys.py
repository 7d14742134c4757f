"""Surveys: binding a link to the first account that opens it, and storing each answer at once.

Every answer is a conditional UPDATE (`... WHERE score IS NULL`), so a double tap, a replayed
button or two concurrent updates record one answer; the caller learns whether its write won.
The survey row is the truth about the conversation: which question comes next is derived from it,
so the survey resumes exactly where it stopped after a restart or a reopened link; `asked_step`
says which question the person was last sent, so a replayed update or the catch-up after a crash
sends a question only if the person does not have it yet.

Each answer is one `db.write`: one job in the database thread, whose conditional UPDATE hands
back the survey as it now is (`RETURNING`, names included), so nothing is read back. What the
caller must do in the same transaction (route the person's next message, queue the staff's
alerts) comes in as `then`, a plain function of the connection and the updated survey.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from domain.nps import category
from storage.db import Database
from storage.events import CASE_OPENED, answer_completed, case_changed, survey_opened
from storage.referral import code_for_contact_in
from storage.timefmt import ts


class Step(enum.StrEnum):
    SCORE = "score"
    REASON = "reason"
    CONSENT = "consent"
    PHONE = "phone"
    DONE = "done"


class Opened(enum.Enum):
    OK = "ok"
    NOT_FOUND = "not_found"
    OTHER_ACCOUNT = "other_account"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class Survey:
    id: int
    token: str
    contact_id: int
    deal_id: int | None
    kind: str
    manager_id: int | None
    manager_name: str | None
    contact_name: str | None
    contact_phone: str | None
    respondent_tg_id: int | None
    language: str | None
    score: int | None
    reason: str | None
    reason_at: str | None
    consent: int | None
    answered_at: str | None
    asked_step: str | None = None
    asked_message_id: int | None = None  # the message of that question, when known
    case_id: int | None = None  # a detractor's case
    referral_code: str | None = None  # a promoter's who agreed, once the survey is done

    @property
    def category(self) -> str | None:
        return category(self.score) if self.score is not None else None

    @property
    def step(self) -> Step:
        if self.score is None:
            return Step.SCORE
        if self.reason_at is None:
            return Step.REASON
        if self.consent is None:
            return Step.CONSENT
        if self.answered_at is None:
            return Step.PHONE
        return Step.DONE


_SELECT = """
SELECT s.id, s.token, s.contact_id, s.deal_id, s.kind, s.manager_id, m.full_name AS manager_name,
       c.full_name AS contact_name, c.phone AS contact_phone, s.respondent_tg_id, s.language,
       s.score, s.reason, s.reason_at, s.consent, s.answered_at, s.asked_step,
       s.asked_message_id,
       (SELECT k.id FROM cases k WHERE k.survey_id = s.id) AS case_id
FROM surveys s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN staff m ON m.user_id = s.manager_id
"""
# The same columns, for `UPDATE surveys ... RETURNING`: the row as the write left it, without
# reading it back.
_RETURNING = """
RETURNING id, token, contact_id, deal_id, kind, manager_id,
       (SELECT m.full_name FROM staff m WHERE m.user_id = surveys.manager_id) AS manager_name,
       (SELECT c.full_name FROM contacts c WHERE c.id = surveys.contact_id) AS contact_name,
       (SELECT c.phone FROM contacts c WHERE c.id = surveys.contact_id) AS contact_phone,
       respondent_tg_id, language, score, reason, reason_at, consent, answered_at, asked_step,
       asked_message_id,
       (SELECT k.id FROM cases k WHERE k.survey_id = surveys.id) AS case_id
"""

# What the caller does inside the answer's own transaction with the survey as it now is (route
# the person's next message, queue the staff's alerts): in the database thread, no awaiting.
Then = Callable[[sqlite3.Connection, Survey], None]


def _survey(row: sqlite3.Row) -> Survey:
    return Survey(**dict(zip(row.keys(), row, strict=True)))


def _load(conn: sqlite3.Connection, where: str, value: object) -> Survey | None:
    row = conn.execute(f"{_SELECT} WHERE {where}", (value,)).fetchone()
    return _survey(row) if row else None


def _returned(row: sqlite3.Row | None) -> Survey | None:
    return _survey(row) if row else None


async def get_survey(db: Database, survey_id: int) -> Survey | None:
    return await db.fetch(_load, "s.id = ?", survey_id)


async def open_survey(
    db: Database,
    token: str,
    tg_user_id: int,
    language: str,
    now: datetime,
    *,
    then: Then | None = None,
) -> tuple[Opened, Survey | None]:
    """Bind the link to this account if nobody has opened it yet, and say what to do next.
    `then` runs in the same transaction when the person may go on (OK or ANSWERED)."""
    return await db.write(_open, token, tg_user_id, language, ts(now), then)


def _open(
    conn: sqlite3.Connection,
    token: str,
    tg_user_id: int,
    language: str,
    now: str,
    then: Then | None,
) -> tuple[Opened, Survey | None]:
    survey = _load(conn, "s.token = ?", token)
    if survey is None:
        return Opened.NOT_FOUND, None
    if survey.respondent_tg_id is None:
        survey = _returned(
            conn.execute(
                "UPDATE surveys SET respondent_tg_id = ?, status = 'opened', opened_at = ?, "
                f"language = ? WHERE id = ? AND respondent_tg_id IS NULL {_RETURNING}",
                (tg_user_id, now, language, survey.id),
            ).fetchone()
        )
        assert survey is not None  # read in this same (immediate) transaction
        # The link was opened after all: nobody needs to resend it.
        conn.execute(
            "UPDATE tasks SET status = 'cancelled', closed_at = ? "
            "WHERE idem_key = ? AND status = 'pending'",
            (now, f"resend:{survey.id}"),
        )
        survey_opened(conn, survey.id, now)
        conn.execute(
            "UPDATE contacts SET tg_user_id = ?, language = ?, updated_at = ? "
            "WHERE id = ? AND tg_user_id IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM contacts WHERE tg_user_id = ?)",
            (tg_user_id, language, now, survey.contact_id, tg_user_id),
        )
    elif survey.respondent_tg_id != tg_user_id:
        return Opened.OTHER_ACCOUNT, None
    if then is not None:
        then(conn, survey)
    if survey.answered_at is not None:
        return Opened.ANSWERED, survey
    return Opened.OK, survey


async def record_score(
    db: Database,
    survey_id: int,
    tg_user_id: int,
    score: int,
    now: datetime,
    *,
    then: Then | None = None,
) -> Survey | None:
    """Store the score (first one wins); a detractor's score opens a case in the same transaction.

    Returns the survey if this call stored the score, None if it was already there (double tap)
    or the survey is not this person's.
    """
    return await db.write(_score, survey_id, tg_user_id, score, ts(now), then)


def _score(
    conn: sqlite3.Connection,
    survey_id: int,
    tg_user_id: int,
    score: int,
    now: str,
    then: Then | None,
) -> Survey | None:
    survey = _returned(
        conn.execute(
            "UPDATE surveys SET score = ?, scored_at = ?, "
            "answer_seconds = strftime('%s', ?) - strftime('%s', created_at) "
            f"WHERE id = ? AND respondent_tg_id = ? AND score IS NULL {_RETURNING}",
            (score, now, now, survey_id, tg_user_id),
        ).fetchone()
    )
    if survey is None:
        return None
    if category(score) == "detractor":
        (case_id,) = conn.execute(
            "INSERT INTO cases (contact_id, survey_id, deal_id, source, opened_at) "
            "VALUES (?, ?, ?, 'survey', ?) RETURNING id",
            (survey.contact_id, survey_id, survey.deal_id, now),
        ).fetchone()
        conn.execute(
            "INSERT INTO case_events (case_id, at, action, note) VALUES (?, ?, 'opened', ?)",
            (case_id, now, f"score {score}"),
        )
        case_changed(conn, CASE_OPENED, case_id, now)
        survey = replace(survey, case_id=case_id)
    if then is not None:
        then(conn, survey)
    return survey


async def record_reason(
    db: Database,
    survey_id: int,
    tg_user_id: int,
    text: str | None,
    now: datetime,
    *,
    then: Then | None = None,
) -> Survey | None:
    """Store Q2 (None = skipped), whole: Telegram caps a message at 4096 characters, and the
    staff's screens cut it for display and open it in full. It is also kept in the contact's
    comments (the contact log), as it always was."""
    return await db.write(_reason, survey_id, tg_user_id, text or None, ts(now), then)


def _reason(
    conn: sqlite3.Connection,
    survey_id: int,
    tg_user_id: int,
    text: str | None,
    now: str,
    then: Then | None,
) -> Survey | None:
    survey = _returned(
        conn.execute(
            "UPDATE surveys SET reason = ?, reason_at = ? WHERE id = ? AND respondent_tg_id = ? "
            f"AND score IS NOT NULL AND reason_at IS NULL {_RETURNING}",
            (text, now, survey_id, tg_user_id),
        ).fetchone()
    )
    if survey is None:
        return None
    if text:
        conn.execute(
            "INSERT INTO comments (contact_id, source, text, created_at) "
            "VALUES (?, 'survey', ?, ?)",
            (survey.contact_id, text, now),
        )
    if then is not None:
        then(conn, survey)
    return survey


async def record_consent(
    db: Database,
    survey_id: int,
    tg_user_id: int,
    consent: bool,
    now: datetime,
    *,
    then: Then | None = None,
) -> Survey | None:
    """Store Q3. A No, or a Yes from a person whose phone is known, finishes the survey."""
    return await db.write(_consent, survey_id, tg_user_id, consent, ts(now), then)


def _consent(
    conn: sqlite3.Connection,
    survey_id: int,
    tg_user_id: int,
    consent: bool,
    now: str,
    then: Then | None,
) -> Survey | None:
    survey = _returned(
        conn.execute(
            "UPDATE surveys SET consent = ?, consent_at = ? WHERE id = ? AND respondent_tg_id = ? "
            f"AND reason_at IS NOT NULL AND consent IS NULL {_RETURNING}",
            (int(consent), now, survey_id, tg_user_id),
        ).fetchone()
    )
    if survey is None:
        return None
    conn.execute(
        "UPDATE contacts SET contact_consent = ?, updated_at = ? WHERE id = ?",
        (int(consent), now, survey.contact_id),
    )
    if not consent or survey.contact_phone:
        row = conn.execute(
            "UPDATE surveys SET status = 'answered', answered_at = ? WHERE id = ? "
            f"AND answered_at IS NULL {_RETURNING}",
            (now, survey.id),
        ).fetchone()
        survey = _finished(conn, row, now)
    if then is not None:
        then(conn, survey)
    return survey


async def record_phone(
    db: Database,
    survey_id: int,
    tg_user_id: int,
    phone: str | None,
    now: datetime,
    *,
    then: Then | None = None,
) -> Survey | None:
    """Store the phone the person gave after agreeing to be contacted (None: they chose not to
    leave one; the manager can still write to them in Telegram) and finish the survey."""
    return await db.write(_phone, survey_id, tg_user_id, phone, ts(now), then)


def _phone(
    conn: sqlite3.Connection,
    survey_id: int,
    tg_user_id: int,
    phone: str | None,
    now: str,
    then: Then | None,
) -> Survey | None:
    row = conn.execute(
        "UPDATE surveys SET status = 'answered', answered_at = ?, phone = coalesce(?, phone) "
        "WHERE id = ? AND respondent_tg_id = ? AND score IS NOT NULL "
        f"AND reason_at IS NOT NULL AND consent IS NOT NULL AND answered_at IS NULL {_RETURNING}",
        (now, phone, survey_id, tg_user_id),
    ).fetchone()
    if row is None:  # not this person's, or not at the phone question
        return None
    survey = _finished(conn, row, now)
    # The number may already belong to another contact record (the person bought under a
    # colleague's name, say): keep the records apart rather than merge them silently.
    if phone is not None:
        cur = conn.execute(
            "UPDATE contacts SET phone = ?, updated_at = ? WHERE id = ? AND phone IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM contacts WHERE phone = ?)",
            (phone, now, survey.contact_id, phone),
        )
        if cur.rowcount == 1:
            survey = replace(survey, contact_phone=phone)
    if then is not None:
        then(conn, survey)
    return survey


def _finished(conn: sqlite3.Connection, row: sqlite3.Row, now: str) -> Survey:
    """After the UPDATE that answered the survey (`row`, its RETURNING): its case settled, a
    promoter who agreed marked for care and given their referral code (the thank-you has it)."""
    done = _survey(row)
    answer_completed(conn, done.id, now)
    if done.case_id is not None:
        # A detractor's case is settled with the last answer: its alerts take their final form
        # now, not after the quiet period (storage/cases.py).
        conn.execute(
            "UPDATE cases SET settled_at = ? WHERE id = ? AND settled_at IS NULL",
            (now, done.case_id),
        )
    if done.category == "promoter" and done.consent:
        conn.execute(
            "UPDATE contacts SET care_status = 'pending' WHERE id = ? "
            "AND care_status IS NOT 'pending'",
            (done.contact_id,),
        )
        done = replace(done, referral_code=code_for_contact_in(conn, done.contact_id))
    return done


async def mark_asked(
    db: Database, survey_id: int, step: Step, message_id: int | None = None
) -> None:
    """The question of `step` (or, for DONE, the closing message) has reached the person, as
    message `message_id` (None when Telegram's answer was lost).

    One statement, ahead of everything waiting for the database: the shorter the time between
    the send and this note, the smaller the gap in which a crash repeats a question. A joined
    write: it shares its transaction with the journal's finishes and the other notes of the
    moment (one hop, one commit for all)."""
    await db.write_joined(_mark_asked, survey_id, step.value, message_id)


def _mark_asked(
    conn: sqlite3.Connection, survey_id: int, step: str, message_id: int | None
) -> None:
    conn.execute(
        "UPDATE surveys SET asked_step = ?, asked_message_id = ? WHERE id = ?",
        (step, message_id, survey_id),
    )


async def surveys_left_waiting(db: Database) -> list[Survey]:
    """Respondents whose last answer is stored but whose next question (or closing message) was
    never sent: a crash between the two. Not those who stopped the bot, blocked it or were
    forgotten."""
    return await db.fetch(_waiting)


def _waiting(conn: sqlite3.Connection) -> list[Survey]:
    cur = conn.execute(
        f"{_SELECT} WHERE s.respondent_tg_id IS NOT NULL "
        "AND c.forgotten_at IS NULL AND c.unreachable_at IS NULL AND c.opted_out_at IS NULL "
        "AND s.asked_step IS NOT (CASE WHEN s.score IS NULL THEN 'score' "
        "WHEN s.reason_at IS NULL THEN 'reason' WHEN s.consent IS NULL THEN 'consent' "
        "WHEN s.answered_at IS NULL THEN 'phone' ELSE 'done' END) "
        "ORDER BY s.id"
    )
    return [_survey(row) for row in cur.fetchall()]
