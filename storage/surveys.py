"""Surveys: binding a link to the first account that opens it, and storing each answer at once.

Every answer is a conditional UPDATE (`... WHERE score IS NULL`), so a double tap, a replayed
button or two concurrent updates record one answer; the caller learns whether its write won.
The survey row is the truth about the conversation: which question comes next is derived from it,
so the survey resumes exactly where it stopped after a restart or a reopened link; `asked_step`
says which question the person was last sent, so a replayed update or the catch-up after a crash
sends a question only if the person does not have it yet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from domain.nps import category
from storage.db import Database
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
       s.score, s.reason, s.reason_at, s.consent, s.answered_at, s.asked_step
FROM surveys s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN staff m ON m.user_id = s.manager_id
"""


def _survey(row: aiosqlite.Row) -> Survey:
    return Survey(**dict(zip(row.keys(), row, strict=True)))


async def _load(conn: aiosqlite.Connection, where: str, value: object) -> Survey | None:
    cur = await conn.execute(f"{_SELECT} WHERE {where}", (value,))
    row = await cur.fetchone()
    return _survey(row) if row else None


async def get_survey(db: Database, survey_id: int) -> Survey | None:
    async with db.read() as conn:
        return await _load(conn, "s.id = ?", survey_id)


async def open_survey(
    db: Database, token: str, tg_user_id: int, language: str, now: datetime
) -> tuple[Opened, Survey | None]:
    """Bind the link to this account if nobody has opened it yet, and say what to do next."""
    async with db.transaction() as conn:
        survey = await _load(conn, "s.token = ?", token)
        if survey is None:
            return Opened.NOT_FOUND, None
        if survey.respondent_tg_id is None:
            await conn.execute(
                "UPDATE surveys SET respondent_tg_id = ?, status = 'opened', opened_at = ?, "
                "language = ? WHERE id = ? AND respondent_tg_id IS NULL",
                (tg_user_id, ts(now), language, survey.id),
            )
            # The link was opened after all: nobody needs to resend it.
            await conn.execute(
                "UPDATE tasks SET status = 'cancelled', closed_at = ? "
                "WHERE idem_key = ? AND status = 'pending'",
                (ts(now), f"resend:{survey.id}"),
            )
            await conn.execute(
                "UPDATE contacts SET tg_user_id = ?, language = ?, updated_at = ? "
                "WHERE id = ? AND tg_user_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM contacts WHERE tg_user_id = ?)",
                (tg_user_id, language, ts(now), survey.contact_id, tg_user_id),
            )
            survey = await _load(conn, "s.id = ?", survey.id)
            assert survey is not None
        elif survey.respondent_tg_id != tg_user_id:
            return Opened.OTHER_ACCOUNT, None
        if survey.answered_at is not None:
            return Opened.ANSWERED, survey
        return Opened.OK, survey


async def record_score(
    db: Database, survey_id: int, tg_user_id: int, score: int, now: datetime
) -> Survey | None:
    """Store the score (first one wins); a detractor's score opens a case in the same transaction.

    Returns the survey if this call stored the score, None if it was already there (double tap)
    or the survey is not this person's.
    """
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE surveys SET score = ?, scored_at = ?, "
            "answer_seconds = strftime('%s', ?) - strftime('%s', created_at) "
            "WHERE id = ? AND respondent_tg_id = ? AND score IS NULL",
            (score, ts(now), ts(now), survey_id, tg_user_id),
        )
        if cur.rowcount != 1:
            return None
        survey = await _load(conn, "s.id = ?", survey_id)
        assert survey is not None
        if category(score) == "detractor":
            cur = await conn.execute(
                "INSERT INTO cases (contact_id, survey_id, deal_id, source, opened_at) "
                "VALUES (?, ?, ?, 'survey', ?)",
                (survey.contact_id, survey_id, survey.deal_id, ts(now)),
            )
            await conn.execute(
                "INSERT INTO case_events (case_id, at, action, note) VALUES (?, ?, 'opened', ?)",
                (cur.lastrowid, ts(now), f"score {score}"),
            )
        return survey


async def record_reason(
    db: Database, survey_id: int, tg_user_id: int, text: str | None, now: datetime
) -> Survey | None:
    """Store Q2 (None = skipped), whole: Telegram caps a message at 4096 characters, and the
    staff's screens cut it for display and open it in full. It is also kept in the contact's
    comments (the contact log), as it always was."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE surveys SET reason = ?, reason_at = ? "
            "WHERE id = ? AND respondent_tg_id = ? AND score IS NOT NULL AND reason_at IS NULL",
            (text or None, ts(now), survey_id, tg_user_id),
        )
        if cur.rowcount != 1:
            return None
        survey = await _load(conn, "s.id = ?", survey_id)
        assert survey is not None
        if text:
            await conn.execute(
                "INSERT INTO comments (contact_id, source, text, created_at) "
                "VALUES (?, 'survey', ?, ?)",
                (survey.contact_id, text, ts(now)),
            )
        return survey


async def record_consent(
    db: Database, survey_id: int, tg_user_id: int, consent: bool, now: datetime
) -> Survey | None:
    """Store Q3. A No, or a Yes from a person whose phone is known, finishes the survey."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE surveys SET consent = ?, consent_at = ? WHERE id = ? AND respondent_tg_id = ? "
            "AND reason_at IS NOT NULL AND consent IS NULL",
            (int(consent), ts(now), survey_id, tg_user_id),
        )
        if cur.rowcount != 1:
            return None
        survey = await _load(conn, "s.id = ?", survey_id)
        assert survey is not None
        await conn.execute(
            "UPDATE contacts SET contact_consent = ?, updated_at = ? WHERE id = ?",
            (int(consent), ts(now), survey.contact_id),
        )
        if not consent or survey.contact_phone:
            await _finish(conn, survey, now)
        return await _load(conn, "s.id = ?", survey_id)


async def record_phone(
    db: Database, survey_id: int, tg_user_id: int, phone: str | None, now: datetime
) -> Survey | None:
    """Store the phone the person gave after agreeing to be contacted (None: they chose not to
    leave one; the manager can still write to them in Telegram) and finish the survey."""
    async with db.transaction() as conn:
        survey = await _load(conn, "s.id = ?", survey_id)
        if survey is None or survey.respondent_tg_id != tg_user_id or survey.step is not Step.PHONE:
            return None
        # The number may already belong to another contact record (the person bought under a
        # colleague's name, say): keep the records apart rather than merge them silently.
        if phone is not None:
            await conn.execute("UPDATE surveys SET phone = ? WHERE id = ?", (phone, survey_id))
            await conn.execute(
                "UPDATE contacts SET phone = ?, updated_at = ? WHERE id = ? AND phone IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM contacts WHERE phone = ?)",
                (phone, ts(now), survey.contact_id, phone),
            )
        await _finish(conn, survey, now)
        return await _load(conn, "s.id = ?", survey_id)


async def _finish(conn: aiosqlite.Connection, survey: Survey, now: datetime) -> None:
    await conn.execute(
        "UPDATE surveys SET status = 'answered', answered_at = ? WHERE id = ? "
        "AND answered_at IS NULL",
        (ts(now), survey.id),
    )
    # A detractor's case is settled with the last answer: its alerts take their final form now,
    # not after the quiet period (storage/cases.py).
    await conn.execute(
        "UPDATE cases SET settled_at = ? WHERE survey_id = ? AND settled_at IS NULL",
        (ts(now), survey.id),
    )
    if survey.category == "promoter":
        cur = await conn.execute("SELECT consent FROM surveys WHERE id = ?", (survey.id,))
        consent = (await cur.fetchone())[0]
        if consent:
            await conn.execute(
                "UPDATE contacts SET care_status = 'pending' WHERE id = ? "
                "AND care_status IS NOT 'pending'",
                (survey.contact_id,),
            )


async def mark_asked(db: Database, survey_id: int, step: Step) -> None:
    """The question of `step` (or, for DONE, the closing message) has reached the person.

    One statement, atomic by itself, ahead of everything waiting for the database: the shorter
    the time between the send and this note, the smaller the gap in which a crash repeats a
    question."""
    async with db.urgent() as conn:
        await conn.execute(
            "UPDATE surveys SET asked_step = ? WHERE id = ?", (step.value, survey_id)
        )


async def surveys_left_waiting(db: Database) -> list[Survey]:
    """Respondents whose last answer is stored but whose next question (or closing message) was
    never sent: a crash between the two. Not those who stopped the bot, blocked it or were
    forgotten."""
    async with db.read() as conn:
        cur = await conn.execute(
            f"{_SELECT} WHERE s.respondent_tg_id IS NOT NULL "
            "AND c.forgotten_at IS NULL AND c.unreachable_at IS NULL AND c.opted_out_at IS NULL "
            "AND s.asked_step IS NOT (CASE WHEN s.score IS NULL THEN 'score' "
            "WHEN s.reason_at IS NULL THEN 'reason' WHEN s.consent IS NULL THEN 'consent' "
            "WHEN s.answered_at IS NULL THEN 'phone' ELSE 'done' END) "
            "ORDER BY s.id"
        )
        return [_survey(row) for row in await cur.fetchall()]
