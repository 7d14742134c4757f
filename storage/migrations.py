"""Versioned schema: ordered migrations, applied at start-up, recorded in `PRAGMA user_version`.

To change the schema, append a new entry to `MIGRATIONS` (never edit a released one: old database
files were made by it, and `tests/data/schema_v1.sqlite3` is such a file). Each migration runs in
its own transaction together with the version bump, so a crash leaves the file at a whole version.

Conventions: instants are UTC text `YYYY-MM-DD HH:MM:SS` (sortable, and `julianday()` works on
them); calendar dates in the company's time zone are `YYYY-MM-DD`; Telegram user ids are INTEGER.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosqlite

log = logging.getLogger(__name__)

V1_ROLES_AND_CONVERSATIONS = """
-- Company staff who use the bot: owners (authority comes from OWNER_IDS; the row keeps the name)
-- and managers (registered through an owner's invite; `active` = 0 removes their access).
CREATE TABLE staff (
    user_id      INTEGER PRIMARY KEY,              -- Telegram user id (= private chat id)
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'manager')),
    full_name    TEXT    NOT NULL,
    username     TEXT,
    language     TEXT,
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    invited_by   INTEGER,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
CREATE INDEX staff_role_active ON staff (role, active);

-- One-time manager invites; the token is the deep-link payload.
CREATE TABLE invites (
    id           INTEGER PRIMARY KEY,
    token        TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL DEFAULT 'manager' CHECK (role IN ('manager')),
    created_by   INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    used_by      INTEGER,
    used_at      TEXT
);

-- aiogram FSM: a person's half-finished conversation survives a restart.
CREATE TABLE fsm_states (
    key          TEXT PRIMARY KEY,                 -- bot:chat:user[:thread][:destiny]
    state        TEXT,
    data         TEXT NOT NULL DEFAULT '{}',       -- JSON object
    updated_at   TEXT NOT NULL
);
"""

V2_FOLLOW_UP = """
-- Everyone the company asks: clients, suppliers' managers, contractors, partners, and leads that
-- promoters referred. Personal data (name, phone, birthday, Telegram link, comments) can be
-- erased (`forgotten_at`) while the anonymous scores stay in the figures.
CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('client', 'supplier', 'contractor', 'partner')),
    full_name       TEXT,
    organization    TEXT,
    phone           TEXT,                          -- E.164
    birth_day       INTEGER CHECK (birth_day BETWEEN 1 AND 31),
    birth_month     INTEGER CHECK (birth_month BETWEEN 1 AND 12),
    birth_year      INTEGER,
    tg_user_id      INTEGER,                       -- set once the person opens a link
    language        TEXT,
    status          TEXT    NOT NULL DEFAULT 'customer' CHECK (status IN ('customer', 'lead')),
    manager_id      INTEGER REFERENCES staff (user_id),
    referred_by     INTEGER REFERENCES contacts (id),
    referral_code   TEXT,
    contact_consent INTEGER CHECK (contact_consent IN (0, 1)),  -- last answer to Q3
    care_status     TEXT    CHECK (care_status IN ('pending', 'done')),  -- promoter customer care
    opted_out_at    TEXT,                          -- /stop: no bot-initiated messages
    unreachable_at  TEXT,                          -- Telegram 403: blocked or deactivated
    source          TEXT    NOT NULL DEFAULT 'sale'
                    CHECK (source IN ('sale', 'import', 'referral')),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    forgotten_at    TEXT
);
CREATE UNIQUE INDEX contacts_phone ON contacts (phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX contacts_tg_user ON contacts (tg_user_id) WHERE tg_user_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_referral_code ON contacts (referral_code)
    WHERE referral_code IS NOT NULL;
CREATE INDEX contacts_manager ON contacts (manager_id, kind);
CREATE INDEX contacts_birthday ON contacts (birth_month, birth_day) WHERE birth_month IS NOT NULL;
CREATE INDEX contacts_referred_by ON contacts (referred_by) WHERE referred_by IS NOT NULL;
CREATE INDEX contacts_name ON contacts (full_name COLLATE NOCASE);

-- A sale, or a supplier/contractor relationship, recorded by a manager (or imported).
CREATE TABLE deals (
    id           INTEGER PRIMARY KEY,
    contact_id   INTEGER NOT NULL REFERENCES contacts (id),
    manager_id   INTEGER REFERENCES staff (user_id),
    description  TEXT    NOT NULL,
    deal_date    TEXT    NOT NULL,                 -- local date
    source       TEXT    NOT NULL DEFAULT 'bot' CHECK (source IN ('bot', 'import', 'referral')),
    idem_key     TEXT    UNIQUE,                   -- one conversation records one deal
    created_at   TEXT    NOT NULL
);
CREATE INDEX deals_contact ON deals (contact_id, deal_date);
CREATE INDEX deals_manager ON deals (manager_id, deal_date);
CREATE INDEX deals_date ON deals (deal_date);

-- One survey link and its three answers. `kind` is copied from the contact when the link is made
-- so that NPS by kind does not shift if a contact is re-classified later.
CREATE TABLE surveys (
    id               INTEGER PRIMARY KEY,
    token            TEXT    NOT NULL UNIQUE,      -- deep-link payload
    contact_id       INTEGER NOT NULL REFERENCES contacts (id),
    deal_id          INTEGER REFERENCES deals (id),
    manager_id       INTEGER REFERENCES staff (user_id),
    kind             TEXT    NOT NULL
                     CHECK (kind IN ('client', 'supplier', 'contractor', 'partner')),
    status           TEXT    NOT NULL DEFAULT 'created'
                     CHECK (status IN ('created', 'opened', 'answered')),
    respondent_tg_id INTEGER,                      -- bound to the first account that opens it
    language         TEXT,
    created_at       TEXT    NOT NULL,
    opened_at        TEXT,
    score            INTEGER CHECK (score BETWEEN 0 AND 10),
    scored_at        TEXT,
    reason           TEXT,
    reason_at        TEXT,
    consent          INTEGER CHECK (consent IN (0, 1)),
    answered_at      TEXT,                         -- all three questions done
    nudged_at        TEXT                          -- the one gentle reminder
);
CREATE INDEX surveys_contact ON surveys (contact_id);
CREATE INDEX surveys_manager ON surveys (manager_id, created_at);
CREATE INDEX surveys_created ON surveys (created_at);
CREATE INDEX surveys_scored ON surveys (scored_at) WHERE score IS NOT NULL;
CREATE INDEX surveys_status ON surveys (status, opened_at);
CREATE INDEX surveys_respondent ON surveys (respondent_tg_id) WHERE respondent_tg_id IS NOT NULL;

-- A detractor's problem (or a "not suitable" call) that someone in the company owns until solved.
CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    contact_id       INTEGER NOT NULL REFERENCES contacts (id),
    survey_id        INTEGER UNIQUE REFERENCES surveys (id),
    deal_id          INTEGER REFERENCES deals (id),
    source           TEXT    NOT NULL DEFAULT 'survey' CHECK (source IN ('survey', 'call')),
    status           TEXT    NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'taken', 'resolved')),
    owner_id         INTEGER REFERENCES staff (user_id),
    opened_at        TEXT    NOT NULL,
    taken_at         TEXT,
    resolved_at      TEXT,
    resolution       TEXT,
    alerted_at       TEXT,                         -- alert queued for the manager and owners
    client_confirmed INTEGER CHECK (client_confirmed IN (0, 1)),
    reopened_count   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_status ON cases (status, opened_at);
CREATE INDEX cases_unalerted ON cases (opened_at) WHERE alerted_at IS NULL;
CREATE INDEX cases_contact ON cases (contact_id);

-- The history of a case: opened, taken, note, resolved, reopened, client's confirmation.
CREATE TABLE case_events (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    at        TEXT    NOT NULL,
    actor_id  INTEGER,
    action    TEXT    NOT NULL,
    note      TEXT
);
CREATE INDEX case_events_case ON case_events (case_id, at);

-- Every comment about a person: survey reasons, call notes, manual notes, imported notes.
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts (id),
    author_id   INTEGER,
    source      TEXT    NOT NULL CHECK (source IN ('survey', 'call', 'manual', 'import')),
    text        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX comments_contact ON comments (contact_id, created_at);

-- Follow-up tasks for managers. `idem_key` (kind:contact:due date, or similar) makes planning
-- idempotent: planning twice, or after a restart, cannot create a second task.
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    idem_key    TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    contact_id  INTEGER REFERENCES contacts (id),
    deal_id     INTEGER REFERENCES deals (id),
    survey_id   INTEGER REFERENCES surveys (id),
    case_id     INTEGER REFERENCES cases (id),
    manager_id  INTEGER REFERENCES staff (user_id),
    due_date    TEXT    NOT NULL,                  -- local date
    due_at      TEXT,                              -- UTC instant, for time-bound reminders
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'skipped', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT,
    note        TEXT,
    created_at  TEXT    NOT NULL,
    notified_at TEXT,
    closed_at   TEXT
);
CREATE INDEX tasks_manager_due ON tasks (manager_id, status, due_date);
CREATE INDEX tasks_due_at ON tasks (status, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX tasks_contact ON tasks (contact_id, kind);

-- Every message the bot initiates goes through here: claimed, sent, marked with message_id.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    idem_key    TEXT    UNIQUE,
    chat_id     INTEGER NOT NULL,
    contact_id  INTEGER REFERENCES contacts (id),
    purpose     TEXT    NOT NULL,
    ref         TEXT,                              -- what it is about, e.g. 'case:12'
    payload     TEXT    NOT NULL,                  -- JSON: method and its parameters
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'claimed', 'sent', 'failed', 'dropped')),
    not_before  TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_at  TEXT,
    sent_at     TEXT,
    message_id  INTEGER,
    last_error  TEXT,
    created_at  TEXT    NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, not_before);
CREATE INDEX outbox_ref ON outbox (ref) WHERE ref IS NOT NULL;

-- Every touch of a person (bot message, call, manual action): the contact budget is counted here.
CREATE TABLE contact_log (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts (id),
    at          TEXT    NOT NULL,
    channel     TEXT    NOT NULL CHECK (channel IN ('bot', 'call', 'manual')),
    purpose     TEXT    NOT NULL,
    initiated   INTEGER NOT NULL DEFAULT 1,        -- 1: the company wrote first (counts to budget)
    outbox_id   INTEGER REFERENCES outbox (id),
    staff_id    INTEGER,
    note        TEXT
);
CREATE INDEX contact_log_contact ON contact_log (contact_id, at);

-- Owner's settings changed in the chat; they take precedence over .env defaults.
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_by  INTEGER,
    updated_at  TEXT NOT NULL
);
"""

V3_CADENCE = """
-- Case deadlines: each reminder and escalation goes out once.
ALTER TABLE cases ADD COLUMN reminded_at TEXT;
ALTER TABLE cases ADD COLUMN escalated_at TEXT;
-- Task details that depend on the kind (e.g. the day a client said they will start using it).
ALTER TABLE tasks ADD COLUMN meta TEXT;
-- The survey link reached the manager (claimed before sending, released if the send fails).
ALTER TABLE deals ADD COLUMN link_sent_at TEXT;
-- The phone a respondent gave, kept on their answer even if it cannot go on the contact.
ALTER TABLE surveys ADD COLUMN phone TEXT;
ALTER TABLE surveys ADD COLUMN consent_at TEXT;
-- Seconds from the link being made (the sale recorded) to the score: the median "time from sale
-- to answer" sorts these from the index instead of parsing two timestamps per answer.
ALTER TABLE surveys ADD COLUMN answer_seconds INTEGER;
CREATE INDEX surveys_opened_unanswered ON surveys (opened_at)
    WHERE answered_at IS NULL AND nudged_at IS NULL AND opened_at IS NOT NULL;
CREATE INDEX contact_log_initiated ON contact_log (contact_id, at) WHERE initiated = 1;
-- Covering indexes for the owner's figures: counts by period, kind and manager are answered
-- from the index alone, without visiting 300,000 table rows.
DROP INDEX surveys_scored;
DROP INDEX surveys_created;
CREATE INDEX surveys_scored ON surveys (scored_at, kind, manager_id, score, answer_seconds)
    WHERE score IS NOT NULL;
CREATE INDEX surveys_created ON surveys (created_at, kind, manager_id, opened_at, score);
CREATE INDEX surveys_reason ON surveys (scored_at) WHERE reason IS NOT NULL;
CREATE INDEX deals_created ON deals (created_at, manager_id);
CREATE INDEX tasks_overdue ON tasks (status, due_date, manager_id);
-- Per kind of person: index ranges, so "suppliers this year" counts only suppliers' entries.
CREATE INDEX surveys_kind_created ON surveys (kind, created_at, manager_id, score);
CREATE INDEX surveys_kind_scored ON surveys (kind, scored_at, score, manager_id, answer_seconds)
    WHERE score IS NOT NULL;
CREATE INDEX cases_opened ON cases (opened_at, status, resolved_at);
"""

V4_ERASED_PHONES = """
-- Phones of people who asked to be forgotten (/forget), as SHA-256 digests, so that
-- re-importing an old spreadsheet does not bring them back. Nothing else about them is kept.
CREATE TABLE erased_phones (
    phone_hash  TEXT PRIMARY KEY,
    erased_at   TEXT NOT NULL
) WITHOUT ROWID;
"""

V5_HELD_NUDGES = """
-- Before this version a survey was marked nudged even when the contact budget held its nudge back
-- (a manager's call counted against it), so that nudge never came. Those of the last 14 days
-- become due again; older ones stay as they are (a nudge weeks late would be no help).
UPDATE surveys SET nudged_at = NULL
WHERE nudged_at IS NOT NULL AND answered_at IS NULL
    AND opened_at > datetime('now', '-14 days')
    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idem_key = 'nudge:' || surveys.id);
"""

V6_DELIVERY_HEALTH = """
-- A message that keeps failing is retried for a day from its first failure, then given up;
-- failed messages are counted in the owners' daily delivery line, by why they failed:
-- blocked (403), timeout (may have arrived), unreadable (carried out, answer unreadable),
-- refused (another 4xx), expired (not taken for a day).
ALTER TABLE outbox ADD COLUMN failing_since TEXT;
ALTER TABLE outbox ADD COLUMN failed_at TEXT;
ALTER TABLE outbox ADD COLUMN fail_reason TEXT;
CREATE INDEX outbox_failed ON outbox (failed_at) WHERE failed_at IS NOT NULL;
"""

V7_UPDATE_JOURNAL = """
-- Updates from Telegram this bot began or finished handling, so that one delivered again after a
-- crash (long polling confirms only handled updates; a webhook is retried when not answered 200)
-- is recognised: a finished one is skipped, an interrupted one is handled as a replay. Rows older
-- than two days are pruned (Telegram keeps an unconfirmed update for 24 hours).
CREATE TABLE handled_updates (
    update_id   INTEGER PRIMARY KEY,
    started_at  TEXT    NOT NULL,
    done_at     TEXT
);
CREATE INDEX handled_updates_started ON handled_updates (started_at);

-- Which step's question (or, for 'done', the closing thank-you) the respondent was last sent, so
-- a replayed answer or the catch-up after a restart never sends a question twice. Surveys already
-- under way are taken as having their current question.
ALTER TABLE surveys ADD COLUMN asked_step TEXT;
UPDATE surveys SET asked_step = CASE
    WHEN score IS NULL THEN 'score'
    WHEN reason_at IS NULL THEN 'reason'
    WHEN consent IS NULL THEN 'consent'
    WHEN answered_at IS NULL THEN 'phone'
    ELSE 'done' END
WHERE respondent_tg_id IS NOT NULL;

-- Imports in progress, so that one cut short by a crash is reported to its sender at the next
-- start ("send the file again") instead of its progress message staying at "20%" forever.
CREATE TABLE import_runs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,                  -- the progress message in the user's chat
    file_name   TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    ended_at    TEXT
);
CREATE INDEX import_runs_open ON import_runs (ended_at);
"""

_OLD_STATUS = "CHECK (status IN ('pending', 'done', 'skipped', 'cancelled'))"
_NEW_STATUS = "CHECK (status IN ('pending', 'done', 'skipped', 'cancelled', 'missed'))"

# A birthday in a given year from the contact's day and month (29.02 → 28.02 in other years:
# SQLite's date() rolls 2027-02-29 over to 03-01, which tells an impossible date).
_BDAY = (
    "CASE WHEN date(printf('%04d-%02d-%02d', {y}, c.birth_month, c.birth_day)) = "
    "printf('%04d-%02d-%02d', {y}, c.birth_month, c.birth_day) "
    "THEN printf('%04d-%02d-%02d', {y}, c.birth_month, c.birth_day) "
    "ELSE printf('%04d-02-28', {y}) END"
)


async def reconciled_plan(conn: aiosqlite.Connection) -> None:
    """The planner reconciles: tasks can lapse (`missed`, with `lapses_on`), birthday keys carry
    the birthday's date instead of its year, and each contact stores `next_plan_on`.

    SQLite cannot alter a CHECK constraint, so `tasks` is rebuilt the documented way (new table,
    copy, drop, rename, indexes back), from its stored definition: columns other migrations
    added are carried over whatever their order."""
    table = await (
        await conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'")
    ).fetchone()
    sql = str(table[0])
    if _OLD_STATUS not in sql:
        raise RuntimeError("tasks.status has an unexpected CHECK constraint")
    extras = await conn.execute_fetchall(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'tasks' AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL"
    )
    columns = ", ".join(
        f'"{row[1]}"' for row in await conn.execute_fetchall("PRAGMA table_info(tasks)")
    )
    new_sql = sql.replace(_OLD_STATUS, _NEW_STATUS).replace(
        "CREATE TABLE tasks", "CREATE TABLE tasks_rebuilt", 1
    )
    await conn.execute(new_sql)
    await conn.execute(f"INSERT INTO tasks_rebuilt ({columns}) SELECT {columns} FROM tasks")
    await conn.execute("DROP TABLE tasks")
    await conn.execute("ALTER TABLE tasks_rebuilt RENAME TO tasks")
    for (statement,) in extras:
        await conn.execute(statement)
    for statement in _split(PLAN_COLUMNS):
        await conn.execute(statement)
    # Birthday keys: `bday:<contact>:<year>` → `bday:<contact>:<YYYY-MM-DD>` (history too, so a
    # birthday already greeted is not planned again under its new key).
    for prefix in ("bday", "bday_lead"):
        year = f"substr(t.idem_key, length('{prefix}:' || t.contact_id || ':') + 1)"
        await conn.execute(
            f"UPDATE tasks AS t SET idem_key = '{prefix}:' || t.contact_id || ':' || "
            + _BDAY.format(y=f"CAST({year} AS INTEGER)")
            + " FROM contacts c WHERE c.id = t.contact_id AND c.birth_day IS NOT NULL "
            f"AND c.birth_month IS NOT NULL AND t.idem_key GLOB '{prefix}:*' "
            f"AND t.idem_key = '{prefix}:' || t.contact_id || ':' || {year} "
            f"AND {year} GLOB '[0-9][0-9][0-9][0-9]'"
        )
    # The shelf life of what is pending (the rules' own values, working days approximated).
    await conn.execute(
        "UPDATE tasks SET lapses_on = CASE "
        "WHEN kind = 'birthday_lead' AND idem_key GLOB 'bday_lead:*-*-*' "
        "THEN max(due_date, date(substr(idem_key, -10), '-1 day')) "
        "WHEN kind IN ('call', 'call_back') THEN date(due_date, '+5 days') "
        "WHEN kind = 'birthday' THEN date(due_date, '+3 days') "
        "WHEN kind IN ('offer', 'passive', 'refresh') THEN date(due_date, '+14 days') "
        "WHEN kind = 'meet' THEN date(due_date, '+10 days') "
        "ELSE date(due_date, '+7 days') END WHERE status = 'pending'"
    )


PLAN_COLUMNS = """
-- The last day a task is worth doing; after it the task is closed as `missed`.
ALTER TABLE tasks ADD COLUMN lapses_on TEXT;
-- The due day the planner gave it: a task whose due_date differs was snoozed by the manager, and
-- a change of the settings does not move it back (NULL: made before this column, never moved).
ALTER TABLE tasks ADD COLUMN planned_due TEXT;
CREATE INDEX tasks_lapsing ON tasks (lapses_on) WHERE status = 'pending';
CREATE INDEX tasks_missed ON tasks (closed_at, manager_id) WHERE status = 'missed';
-- The first day the rules could want something new for the person ('' = plan at the next run,
-- which is every contact right after this upgrade and every new row until it is planned).
ALTER TABLE contacts ADD COLUMN next_plan_on TEXT NOT NULL DEFAULT '';
CREATE INDEX contacts_next_plan ON contacts (next_plan_on);
-- What the plans were last computed with (settings fingerprint), to re-plan after a change.
CREATE TABLE planner_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"""

# Exports run as background jobs too: one cut short by a crash is reported at the next start
# through the same table ("ask for it again") instead of its "preparing…" staying forever.
V9_EXPORT_RUNS = """
ALTER TABLE import_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'import';
"""

# What staff type after a button (a case note or resolution, a contact comment, a settings value)
# carries the Telegram message it came from ("chat id:message id"): a message handled again after
# a crash stores nothing new (INSERT ... ON CONFLICT DO NOTHING) and is recognised as saved. NULL
# for everything else (unique indexes let NULLs repeat). A settings row keeps the key of its latest
# change only: it is replaced, not added to.
V10_SOURCE_KEYS = """
ALTER TABLE case_events ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX case_events_source ON case_events (source_key);
ALTER TABLE comments ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX comments_source ON comments (source_key);
ALTER TABLE settings ADD COLUMN source_key TEXT;
"""

# A case keeps the kind of person and the manager it was opened for (its survey's, or the
# contact's for a call case), copied at open like `surveys.kind`: /nps by kind or manager counts
# that slice's cases without joining surveys and contacts, and a contact changing hands later
# moves no figure. A trigger makes the copy, so every writer of cases (the survey, the "not
# suitable" call, the bench's generator) gets it without saying so. `resolve_seconds` (virtual:
# computed when read, no space) is what the resolve-time median sorts, so an index can hold it.
V_CASE_SLICES = """
ALTER TABLE cases ADD COLUMN kind TEXT;
ALTER TABLE cases ADD COLUMN manager_id INTEGER REFERENCES staff (user_id);
ALTER TABLE cases ADD COLUMN resolve_seconds INTEGER GENERATED ALWAYS AS (
    CASE WHEN status = 'resolved' AND resolved_at IS NOT NULL
    THEN CAST(strftime('%s', resolved_at) AS INTEGER) - CAST(strftime('%s', opened_at) AS INTEGER)
    END) VIRTUAL;
UPDATE cases SET
    kind = coalesce((SELECT s.kind FROM surveys s WHERE s.id = cases.survey_id),
                    (SELECT c.kind FROM contacts c WHERE c.id = cases.contact_id)),
    manager_id = coalesce((SELECT s.manager_id FROM surveys s WHERE s.id = cases.survey_id),
                          (SELECT c.manager_id FROM contacts c WHERE c.id = cases.contact_id));
CREATE TRIGGER cases_slice AFTER INSERT ON cases
WHEN NEW.kind IS NULL OR NEW.manager_id IS NULL
BEGIN
    UPDATE cases SET
        kind = coalesce(kind, (SELECT s.kind FROM surveys s WHERE s.id = NEW.survey_id),
                        (SELECT c.kind FROM contacts c WHERE c.id = NEW.contact_id)),
        manager_id = coalesce(manager_id,
                              (SELECT s.manager_id FROM surveys s WHERE s.id = NEW.survey_id),
                              (SELECT c.manager_id FROM contacts c WHERE c.id = NEW.contact_id))
    WHERE id = NEW.id;
END;
"""

# /comments pages by key (storage/comments.py): each (category, kind) pair of answers with a reason
# is one range of this index, newest last, so a page is a short walk from its anchor at any depth.
# The category is the expression storage/comments.py queries: 0 detractor, 1 passive, 2 promoter.
COMMENTS_BY_KEY = """
CREATE INDEX surveys_comments ON surveys (((score >= 7) + (score >= 9)), kind, scored_at)
    WHERE reason IS NOT NULL;
"""

# Reasons are stored whole now (storage/surveys.py record_reason); before, an answer kept the first
# 1,000 characters and the whole text went to the contact's comments, written in the same
# transaction with the same time as `reason_at`. Those cut answers get their text back from there.
_WHOLE_REASON = """
SELECT m.text FROM comments m WHERE m.contact_id = surveys.contact_id AND m.source = 'survey'
AND m.created_at = surveys.reason_at AND length(m.text) > 1000
AND substr(m.text, 1, 1000) = surveys.reason ORDER BY m.id LIMIT 1
"""
RESTORED_REASONS = f"""
UPDATE surveys SET reason = ({_WHOLE_REASON})
WHERE length(reason) = 1000 AND EXISTS ({_WHOLE_REASON});
"""

# The minute tick reads only what may be due, through partial indexes that hold just that, so its
# cost stays flat however large the base grows (tests/test_query_plans.py checks each plan).
# `tasks_due_at` held every pending timed task, notified or not, and nothing else used it.
TICK_INDEXES = """
CREATE INDEX cases_watch ON cases (opened_at, status, reminded_at, escalated_at)
    WHERE escalated_at IS NULL AND status != 'resolved';
CREATE INDEX contacts_unreachable ON contacts (unreachable_at) WHERE unreachable_at IS NOT NULL;
DROP INDEX IF EXISTS tasks_due_at;
CREATE INDEX tasks_timed ON tasks (status, due_at)
    WHERE status = 'pending' AND notified_at IS NULL AND due_at IS NOT NULL;
"""

# A case is settled once what the person said is final: their survey finished, or untouched for
# the quiet period (the tick settles it and brings its alerts to their final form); a call's case
# is settled when opened. Unfinished cases whose alerts are still live are left to the first
# ticks, which settle them and correct their "still answering..." once; the rest are settled here.
SETTLED_CASES = """
ALTER TABLE cases ADD COLUMN settled_at TEXT;
UPDATE cases SET settled_at = coalesce(
    (SELECT coalesce(s.answered_at, s.consent_at, s.reason_at, s.scored_at)
     FROM surveys s WHERE s.id = cases.survey_id), opened_at)
WHERE survey_id IS NULL
   OR EXISTS (SELECT 1 FROM surveys s WHERE s.id = cases.survey_id AND s.answered_at IS NOT NULL)
   OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ref = 'case:' || cases.id
                  AND o.purpose = 'case_alert' AND o.status IN ('pending', 'claimed', 'sent'));
CREATE INDEX cases_unsettled ON cases (opened_at) WHERE settled_at IS NULL;
"""


# /find searches names and organisations through a contentless FTS5 index of trigrams (any
# substring of 3+ characters, case-folded by FTS5 itself, Cyrillic included), kept by triggers.
# The index stores no text of its own: "ё" is folded to "е" on the way in (and in the query), and
# a forgotten contact's trigrams are removed with FTS5's 'delete' command, which must be given
# exactly the values that were inserted. So the three triggers share one condition and one
# projection (`_find_row`): deleting a row that was never inserted corrupts a contentless index.
# `mgr` holds the manager as one trigram of private-use characters (the id's low 36 bits, 12 per
# character): a manager's search ANDs it into the MATCH, so a common name costs what that
# manager's own matches cost. It is only a pre-filter; the SQL still checks `manager_id`.
# A later migration that rebuilds `contacts` must recreate these triggers.
def _find_fold(value: str) -> str:
    return f"replace(replace({value}, 'Ё', 'Е'), 'ё', 'е')"


def _find_row(row: str) -> tuple[str, str]:
    """(the WHERE condition, the `rowid, name, org, mgr` values) of one contacts row."""
    condition = (
        f"{row}.forgotten_at IS NULL "
        f"AND ({row}.full_name IS NOT NULL OR {row}.organization IS NOT NULL)"
    )
    manager = (
        f"CASE WHEN {row}.manager_id IS NOT NULL THEN char("
        f"983040 + ({row}.manager_id & 4095), "
        f"987136 + (({row}.manager_id >> 12) & 4095), "
        f"991232 + (({row}.manager_id >> 24) & 4095)) END"
    )
    values = (
        f"{row}.id, {_find_fold(row + '.full_name')}, {_find_fold(row + '.organization')}, "
        f"{manager}"
    )
    return condition, values


def find_index_statements() -> list[str]:
    """The FTS table and its triggers (also used by tools that drop and recreate triggers)."""
    new_if, new_values = _find_row("NEW")
    old_if, old_values = _find_row("OLD")
    insert = f"INSERT INTO contacts_fts (rowid, name, org, mgr) SELECT {new_values} WHERE {new_if};"
    delete = (
        "INSERT INTO contacts_fts (contacts_fts, rowid, name, org, mgr) "
        f"SELECT 'delete', {old_values} WHERE {old_if};"
    )
    changed = " OR ".join(
        f"OLD.{c} IS NOT NEW.{c}" for c in ("id", "full_name", "organization", "manager_id")
    )
    return [
        "CREATE VIRTUAL TABLE contacts_fts USING fts5("
        "name, org, mgr, content='', columnsize=0, tokenize='trigram')",
        f"CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN {insert} END",
        f"CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN {delete} END",
        "CREATE TRIGGER contacts_fts_update "
        "AFTER UPDATE OF id, full_name, organization, manager_id, forgotten_at ON contacts "
        f"WHEN {changed} OR (OLD.forgotten_at IS NULL) IS NOT (NEW.forgotten_at IS NULL) "
        f"BEGIN {delete} {insert} END",
    ]


async def find_index(conn: aiosqlite.Connection) -> None:
    """The /find index and its triggers, filled from the contacts there are."""
    for statement in find_index_statements():
        await conn.execute(statement)
    condition, values = _find_row("c")
    await conn.execute(
        "INSERT INTO contacts_fts (rowid, name, org, mgr) "
        f"SELECT {values} FROM contacts c WHERE {condition} ORDER BY c.id"
    )


# ---- per-day figures (storage/figures.py), kept by triggers in the writer's own transaction ----
# Everything below is frozen with the migration that uses it: a change is a new migration.

# Upper bounds of the time histograms (answer time, resolve time), in hours; the last bucket
# is open-ended and the first takes everything below one hour.
FIGURE_BUCKET_HOURS = (1, 2, 4, 8, 12, 18, 24, 36, 48, 72, 96, 120, 168, 240, 336, 720)


@dataclass(frozen=True, slots=True)
class FigureTable:
    """One per-day table: which rows of `source` count (`when`), whose local day is that of
    `time`, keyed by `keys`, adding up `values`. Expressions use `{r}` for the row (NEW, OLD
    or the source's alias), so the triggers and the rebuild are made from one description."""

    name: str
    source: str
    time: str
    when: str
    keys: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, str], ...]
    watched: tuple[str, ...]  # the UPDATE OF columns
    changed: tuple[str, ...]  # expressions over OLD/NEW: true when the row's figures moved


def _buckets(prefix: str, seconds: str) -> tuple[tuple[str, str], ...]:
    bounds = [h * 3600 for h in FIGURE_BUCKET_HOURS]
    out = [(f"{prefix}0", f"coalesce({seconds} < {bounds[0]}, 0)")]
    for i in range(1, len(bounds)):
        lo, hi = bounds[i - 1], bounds[i]
        out.append((f"{prefix}{i}", f"coalesce({seconds} >= {lo} AND {seconds} < {hi}, 0)"))
    out.append((f"{prefix}{len(bounds)}", f"coalesce({seconds} >= {bounds[-1]}, 0)"))
    return tuple(out)


_KIND_MANAGER = (("kind", "{r}.kind"), ("manager_id", "coalesce({r}.manager_id, 0)"))

FIGURE_TABLES = (
    FigureTable(
        name="answer_days",
        source="surveys",
        time="{r}.scored_at",
        when="{r}.score IS NOT NULL",
        keys=_KIND_MANAGER,
        values=(
            ("promoters", "{r}.score >= 9"),
            ("passives", "{r}.score BETWEEN 7 AND 8"),
            ("detractors", "{r}.score <= 6"),
            ("reasons_p", "{r}.score >= 9 AND {r}.reason IS NOT NULL"),
            ("reasons_n", "{r}.score BETWEEN 7 AND 8 AND {r}.reason IS NOT NULL"),
            ("reasons_d", "{r}.score <= 6 AND {r}.reason IS NOT NULL"),
            ("timed", "{r}.answer_seconds IS NOT NULL"),
            *_buckets("h", "{r}.answer_seconds"),
        ),
        watched=("score", "scored_at", "kind", "manager_id", "reason", "answer_seconds"),
        changed=(
            "OLD.score IS NOT NEW.score",
            "OLD.scored_at IS NOT NEW.scored_at",
            "OLD.kind IS NOT NEW.kind",
            "OLD.manager_id IS NOT NEW.manager_id",
            "(OLD.reason IS NULL) IS NOT (NEW.reason IS NULL)",
            "OLD.answer_seconds IS NOT NEW.answer_seconds",
        ),
    ),
    FigureTable(
        name="link_days",
        source="surveys",
        time="{r}.created_at",
        when="1",
        keys=_KIND_MANAGER,
        values=(
            ("links", "1"),
            ("opened", "{r}.opened_at IS NOT NULL"),
            ("answered", "{r}.score IS NOT NULL"),
        ),
        watched=("created_at", "kind", "manager_id", "opened_at", "score"),
        changed=(
            "OLD.created_at IS NOT NEW.created_at",
            "OLD.kind IS NOT NEW.kind",
            "OLD.manager_id IS NOT NEW.manager_id",
            "(OLD.opened_at IS NULL) IS NOT (NEW.opened_at IS NULL)",
            "(OLD.score IS NULL) IS NOT (NEW.score IS NULL)",
        ),
    ),
    FigureTable(
        name="case_days",
        source="cases",
        time="{r}.opened_at",
        # A case counts once it has its kind (cases_slice copies it right after the insert).
        when="{r}.kind IS NOT NULL",
        keys=_KIND_MANAGER,
        values=(
            ("opened", "1"),
            ("resolved", "{r}.resolve_seconds IS NOT NULL"),
            *_buckets("r", "{r}.resolve_seconds"),
        ),
        watched=("opened_at", "kind", "manager_id", "status", "resolved_at"),
        changed=(
            "OLD.opened_at IS NOT NEW.opened_at",
            "OLD.kind IS NOT NEW.kind",
            "OLD.manager_id IS NOT NEW.manager_id",
            "OLD.resolve_seconds IS NOT NEW.resolve_seconds",
        ),
    ),
    FigureTable(
        name="deal_days",
        source="deals",
        time="{r}.created_at",
        when="1",
        keys=(("manager_id", "coalesce({r}.manager_id, 0)"),),
        values=(("deals", "1"),),
        watched=("created_at", "manager_id"),
        changed=("OLD.created_at IS NOT NEW.created_at", "OLD.manager_id IS NOT NEW.manager_id"),
    ),
)


def local_day_sql(instant: str) -> str:
    """The local calendar day of a UTC text instant, from the offsets in `tz_offsets` (UTC when
    they are empty, so a respondent's write never fails; '0000-00-00' for a value that is no
    time at all)."""
    return (
        f"coalesce(date({instant}, coalesce((SELECT minutes FROM tz_offsets "
        f"WHERE utc_from <= {instant} ORDER BY utc_from DESC LIMIT 1), 0) || ' minutes'), "
        "'0000-00-00')"
    )


def _figure_delta(table: FigureTable, row: str, sign: str) -> str:
    keys = ", ".join(name for name, _ in table.keys)
    values = ", ".join(name for name, _ in table.values)
    exprs = ", ".join(f"{sign}({expr.format(r=row)})" for _, expr in table.values)
    key_exprs = ", ".join(expr.format(r=row) for _, expr in table.keys)
    sets = ", ".join(f"{v} = {v} + excluded.{v}" for v, _ in table.values)
    return (
        f"INSERT INTO {table.name} (day, {keys}, {values}) "
        f"SELECT {local_day_sql(table.time.format(r=row))}, {key_exprs}, {exprs} "
        f"WHERE {table.when.format(r=row)} "
        f"ON CONFLICT (day, {keys}) DO UPDATE SET {sets};"
    )


def _figures_script() -> str:
    out = [
        "CREATE TABLE tz_offsets (utc_from TEXT PRIMARY KEY, utc_to TEXT NOT NULL, "
        "minutes INTEGER NOT NULL) WITHOUT ROWID;",
        "CREATE TABLE figures_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    ]
    for t in FIGURE_TABLES:
        keys = ", ".join(
            f"{name} {'TEXT' if name == 'kind' else 'INTEGER'} NOT NULL" for name, _ in t.keys
        )
        values = ", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name, _ in t.values)
        pk = ", ".join(["day", *(name for name, _ in t.keys)])
        out.append(
            f"CREATE TABLE {t.name} (day TEXT NOT NULL, {keys}, {values}, PRIMARY KEY ({pk})) "
            "WITHOUT ROWID;"
        )
        out.append(
            f"CREATE TRIGGER {t.name}_ins AFTER INSERT ON {t.source} BEGIN "
            f"{_figure_delta(t, 'NEW', '+')} END;"
        )
        out.append(
            f"CREATE TRIGGER {t.name}_upd AFTER UPDATE OF {', '.join(t.watched)} ON {t.source} "
            f"WHEN {' OR '.join(t.changed)} BEGIN "
            f"{_figure_delta(t, 'OLD', '-')} {_figure_delta(t, 'NEW', '+')} END;"
        )
        out.append(
            f"CREATE TRIGGER {t.name}_del AFTER DELETE ON {t.source} BEGIN "
            f"{_figure_delta(t, 'OLD', '-')} END;"
        )
    out.append(
        "CREATE INDEX surveys_answer_time ON surveys (answer_seconds, scored_at, kind, manager_id) "
        "WHERE score IS NOT NULL;"
    )
    out.append(
        "CREATE INDEX cases_resolve_time ON cases (resolve_seconds, opened_at, kind, manager_id) "
        "WHERE resolve_seconds IS NOT NULL;"
    )
    # /managers' open cases per manager: a scan of the unresolved cases' index, not of cases
    out.append(
        "CREATE INDEX cases_open_manager ON cases (manager_id, status) WHERE status != 'resolved';"
    )
    return "\n".join(out)


# The owner's figures per local day, so a year adds up 365 rows, not a million answers. Filled
# (and refilled when the time zone changes) by storage/figures.py: ensure_figures at open.
V_FIGURES = _figures_script()

# Long polling keeps each fetched batch here before confirming it to Telegram (storage/updates.py,
# bot/polling.py): an update can be received and not yet begun, so `started_at` may be empty,
# `received_at` is what pruning goes by, and `payload` holds the update's JSON until it is
# finished. Rebuilt (a NOT NULL cannot be dropped in place); nothing refers to this table.
UPDATE_INBOX = """
CREATE TABLE handled_updates_inbox (
    update_id    INTEGER PRIMARY KEY,
    received_at  TEXT    NOT NULL,
    started_at   TEXT,
    done_at      TEXT,
    payload      TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0   -- restarts that found it begun and unfinished
);
INSERT INTO handled_updates_inbox (update_id, received_at, started_at, done_at)
SELECT update_id, started_at, started_at, done_at FROM handled_updates;
DROP TABLE handled_updates;
ALTER TABLE handled_updates_inbox RENAME TO handled_updates;
CREATE INDEX handled_updates_received ON handled_updates (received_at);
CREATE INDEX handled_updates_unfinished ON handled_updates (update_id) WHERE done_at IS NULL;
"""

STRANGER_REPLIES = """
-- What the bot last told somebody who is neither staff nor answering a survey, so a restart does
-- not greet them again: the full greeting at most once a day, a short line at most every few
-- minutes (storage/strangers.py).
CREATE TABLE stranger_replies (
    user_id     INTEGER PRIMARY KEY,
    greeted_at  TEXT    NOT NULL,
    replied_at  TEXT    NOT NULL
) WITHOUT ROWID;
"""

# CRM connectors (crm/): a Bitrix24 portal or an amoCRM account per row, with its secrets (the
# inbound webhook URL, the long-lived token, the secret in our webhook path, the application
# token Bitrix24 sends with every event); events stored on arrival and processed from here (at
# most one pending row per CRM entity: a burst of updates of one deal is one read); CRM users
# matched to staff; which bot deal each CRM deal became; and the comments going back to the CRM,
# one row each (idem_key), so a CRM that is down delays them and never loses or repeats one.
CRM_CONNECTORS = """
CREATE TABLE crm_connections (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('bitrix24', 'amocrm')),
    account        TEXT    NOT NULL,               -- portal or account host, as in the source key
    base_url       TEXT    NOT NULL,               -- secret: Bitrix24 inbound webhook URL
    token          TEXT,                           -- secret: amoCRM long-lived token
    path_secret    TEXT    NOT NULL UNIQUE,        -- secret: in our webhook address
    app_token      TEXT,                           -- secret: Bitrix24 application_token
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    last_event_at  TEXT,
    last_error     TEXT,
    last_error_at  TEXT,
    auth_failed_at TEXT                            -- a 401: owners told once; a success clears it
);
CREATE UNIQUE INDEX crm_connections_account ON crm_connections (kind, account) WHERE active = 1;

CREATE TABLE crm_events (
    id             INTEGER PRIMARY KEY,
    connection_id  INTEGER NOT NULL REFERENCES crm_connections (id),
    entity_id      TEXT    NOT NULL,               -- the deal (Bitrix24) or lead (amoCRM) id
    event          TEXT    NOT NULL,
    status_hint    TEXT,                           -- amoCRM's status_id in the event
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'working', 'done', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    not_before     TEXT    NOT NULL,
    outcome        TEXT,
    received_at    TEXT    NOT NULL,
    processed_at   TEXT
);
CREATE UNIQUE INDEX crm_events_one_pending ON crm_events (connection_id, entity_id)
    WHERE status = 'pending';
CREATE INDEX crm_events_due ON crm_events (status, not_before);

CREATE TABLE crm_users (
    connection_id  INTEGER NOT NULL REFERENCES crm_connections (id),
    crm_user_id    TEXT    NOT NULL,
    name           TEXT,
    staff_id       INTEGER REFERENCES staff (user_id),
    seen_at        TEXT    NOT NULL,
    PRIMARY KEY (connection_id, crm_user_id)
);

CREATE TABLE crm_deals (
    connection_id  INTEGER NOT NULL REFERENCES crm_connections (id),
    crm_id         TEXT    NOT NULL,
    deal_id        INTEGER NOT NULL REFERENCES deals (id),
    crm_user_id    TEXT,
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (connection_id, crm_id)
);
CREATE UNIQUE INDEX crm_deals_deal ON crm_deals (deal_id);

CREATE TABLE crm_outbox (
    id             INTEGER PRIMARY KEY,
    connection_id  INTEGER NOT NULL REFERENCES crm_connections (id),
    crm_id         TEXT    NOT NULL,
    idem_key       TEXT    NOT NULL UNIQUE,        -- link:<deal>, answer:<survey>, case:<case>
    text           TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sent', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    not_before     TEXT    NOT NULL,
    last_error     TEXT,
    created_at     TEXT    NOT NULL,
    sent_at        TEXT
);
CREATE INDEX crm_outbox_due ON crm_outbox (connection_id, status, id);
"""

# The id of the survey question last sent (with `asked_step`): a wrong input can tell whether
# the question is still in sight, and a typed answer closes that question as a tap would.
ASKED_MESSAGE = """
ALTER TABLE surveys ADD COLUMN asked_message_id INTEGER;
"""

# When the manager sent the invitation card from the chat with the client (the inline "Send to
# the client" button, handlers/inline.py): the first time, known only with inline feedback on.
SURVEY_INVITED = """
ALTER TABLE surveys ADD COLUMN invited_at TEXT;
"""

# Deals sent by other systems (storage/deals_in.py). `deal_keys`: each (sender, key) is recorded
# once, with the answer given (a repeat answers it again); the answer names the person, so it is
# emptied when they are forgotten (a repeat then rebuilds it from the erased rows). `staff_links`:
# another system's user id -> the staff member whose deals they are.
DEAL_KEYS = """
CREATE TABLE deal_keys (
    source       TEXT    NOT NULL,                 -- api, bitrix24, amocrm
    key          TEXT    NOT NULL,
    external_id  TEXT,                             -- the sender's id of the deal
    person_id    TEXT,                             -- the sender's id of the person
    digest       TEXT    NOT NULL,                 -- of the request: a reused Idempotency-Key
    deal_id      INTEGER NOT NULL REFERENCES deals (id),
    merged       INTEGER NOT NULL,
    result       TEXT,                             -- the JSON answered; NULL once forgotten
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX deal_keys_deal ON deal_keys (deal_id);
CREATE TRIGGER deal_keys_forgotten AFTER UPDATE OF forgotten_at ON contacts
WHEN NEW.forgotten_at IS NOT NULL
BEGIN
    UPDATE deal_keys SET result = NULL
    WHERE deal_id IN (SELECT id FROM deals WHERE contact_id = NEW.id) AND result IS NOT NULL;
END;
CREATE TABLE staff_links (
    system       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES staff (user_id),
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (system, external_id)
) WITHOUT ROWID;
"""

# HTTP API tokens (storage/api_tokens.py): only the SHA-256 digest of a token is kept.
API_TOKENS = """
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('deals:write', 'read')),
    digest       TEXT    NOT NULL UNIQUE,          -- sha256 hex of the token
    created_by   INTEGER NOT NULL,                 -- the owner; the default manager of its deals
    created_at   TEXT    NOT NULL,
    revoked_at   TEXT
);
"""

# Signed webhooks out (storage/events.py): the endpoints an owner registered, each event once
# (what it says about the person kept apart in `personal`, so /forget can erase it while the
# event still goes out), and one delivery row per endpoint that wanted it, written in the same
# transaction as the fact. The secret is kept as it is: signing needs it.
WEBHOOK_EVENTS = """
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    events          TEXT    NOT NULL,              -- the event types it receives, space-separated
    status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    paused_by       TEXT    CHECK (paused_by IN ('owner', 'failures')),
    failing_since   TEXT,                          -- first failure since the last success
    last_success_at TEXT,
    last_error      TEXT,
    source_key      TEXT    UNIQUE,                -- the owner's message that added it
    created_by      INTEGER,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    uid         TEXT    NOT NULL UNIQUE,           -- the id receivers see ('evt_...')
    type        TEXT    NOT NULL,
    contact_id  INTEGER,
    survey_id   INTEGER,
    case_id     INTEGER,
    data        TEXT    NOT NULL,                  -- JSON without personal data
    personal    TEXT,                              -- JSON merged into `data` when sent
    created_at  TEXT    NOT NULL
);
CREATE INDEX webhook_events_contact ON webhook_events (contact_id) WHERE personal IS NOT NULL;
CREATE INDEX webhook_events_survey ON webhook_events (survey_id) WHERE personal IS NOT NULL;
CREATE INDEX webhook_events_case ON webhook_events (case_id) WHERE personal IS NOT NULL;
CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES webhook_events (id),
    endpoint_id   INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    contact_id    INTEGER,                         -- deliveries of one contact go in order
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'claimed', 'delivered', 'failed')),
    next_at       TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_at    TEXT,
    failing_since TEXT,
    delivered_at  TEXT,
    last_error    TEXT,
    created_at    TEXT    NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, contact_id, id)
    WHERE status IN ('pending', 'claimed');
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
"""

# A row re-queued after flood control (429) holds back its chat's later rows until it has gone,
# across restarts too (storage/outbox.choose_ready): the flag, and the few such rows by chat.
OUTBOX_HOLDS_CHAT = """
ALTER TABLE outbox ADD COLUMN holds_chat INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_holding ON outbox (chat_id, id) WHERE status = 'pending' AND holds_chat = 1;
"""

# Webhooks paused, then resumed (storage/webhooks.py): events made meanwhile are held for the URL
# (kept HELD_FOR, then dropped and the owners told once per pause, keyed by `paused_at`); a
# receiver's 410 Gone pauses its URL at once (`gone_at`, shown as paused_by 'gone').
WEBHOOK_HELD = """
ALTER TABLE webhook_endpoints ADD COLUMN paused_at TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN gone_at TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_endpoints SET paused_at = updated_at WHERE status = 'paused';
"""

Migration = str | Callable[[aiosqlite.Connection], Awaitable[None]]

# The answers feed's order (storage/answers_feed.py): a row per scored survey, numbered when the
# score is written, in that transaction (triggers, so every path that scores is covered). SQLite
# has one writer, so the numbers grow in commit order: a reader never sees number N+1 without N,
# which (scored_at, id) with one-second times could not promise. Existing answers are numbered in
# their old order, so a cursor given before keeps its place.
ANSWERS_FEED = """
CREATE TABLE answers_feed (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id  INTEGER NOT NULL UNIQUE
);
INSERT INTO answers_feed (survey_id)
SELECT id FROM surveys WHERE score IS NOT NULL ORDER BY scored_at, id;
CREATE TRIGGER answers_feed_scored AFTER UPDATE OF score ON surveys
WHEN OLD.score IS NULL AND NEW.score IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO answers_feed (survey_id) VALUES (NEW.id);
END;
CREATE TRIGGER answers_feed_inserted AFTER INSERT ON surveys
WHEN NEW.score IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO answers_feed (survey_id) VALUES (NEW.id);
END;
"""


# A forgotten person's deal keys also lose the sender's ids of the deal and of the person
# (deal_keys.external_id, person_id), not only the stored answer; already forgotten ones too.
DEAL_KEYS_FORGET_IDS = """
DROP TRIGGER deal_keys_forgotten;
CREATE TRIGGER deal_keys_forgotten AFTER UPDATE OF forgotten_at ON contacts
WHEN NEW.forgotten_at IS NOT NULL
BEGIN
    UPDATE deal_keys SET result = NULL, external_id = NULL, person_id = NULL
    WHERE deal_id IN (SELECT id FROM deals WHERE contact_id = NEW.id)
    AND (result IS NOT NULL OR external_id IS NOT NULL OR person_id IS NOT NULL);
END;
UPDATE deal_keys SET result = NULL, external_id = NULL, person_id = NULL
WHERE deal_id IN (SELECT d.id FROM deals d JOIN contacts c ON c.id = d.contact_id
                  WHERE c.forgotten_at IS NOT NULL);
"""


_OLD_DEAL_SOURCE = "CHECK (source IN ('bot', 'import', 'referral'))"
# Deals other systems send keep their sender (storage/deals_in.py): deal.created events say it.
DEAL_SOURCES_SENT = ("api", "bitrix24", "amocrm")
_NEW_DEAL_SOURCE = (
    "CHECK (source IN ('bot', 'import', 'referral', "
    + ", ".join(f"'{s}'" for s in DEAL_SOURCES_SENT)
    + "))"
)


async def deal_sources(conn: aiosqlite.Connection) -> None:
    """`deals.source` may name the system that sent a deal (api, bitrix24, amocrm), not 'bot'.

    SQLite cannot alter a CHECK constraint: `deals` is rebuilt as `tasks` was (reconciled_plan),
    from its stored definition. The rename is done with legacy_alter_table on, so the other
    tables' references and triggers that name `deals` are left as they are (they name the
    final table) instead of being re-checked while `deals` is briefly missing."""
    table = await (
        await conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deals'")
    ).fetchone()
    sql = str(table[0])
    if _OLD_DEAL_SOURCE not in sql:
        raise RuntimeError("deals.source has an unexpected CHECK constraint")
    extras = await conn.execute_fetchall(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'deals' AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL"
    )
    columns = ", ".join(
        f'"{row[1]}"' for row in await conn.execute_fetchall("PRAGMA table_info(deals)")
    )
    new_sql = sql.replace(_OLD_DEAL_SOURCE, _NEW_DEAL_SOURCE).replace(
        "CREATE TABLE deals", "CREATE TABLE deals_rebuilt", 1
    )
    await conn.execute(new_sql)
    await conn.execute(f"INSERT INTO deals_rebuilt ({columns}) SELECT {columns} FROM deals")
    await conn.execute("PRAGMA legacy_alter_table = ON")
    try:
        await conn.execute("DROP TABLE deals")
        await conn.execute("ALTER TABLE deals_rebuilt RENAME TO deals")
    finally:
        await conn.execute("PRAGMA legacy_alter_table = OFF")
    for (statement,) in extras:
        await conn.execute(statement)


MIGRATIONS: list[Migration] = [
    V1_ROLES_AND_CONVERSATIONS,
    V2_FOLLOW_UP,
    V3_CADENCE,
    V4_ERASED_PHONES,
    V5_HELD_NUDGES,
    V6_DELIVERY_HEALTH,
    V7_UPDATE_JOURNAL,
    reconciled_plan,
    V9_EXPORT_RUNS,
    V10_SOURCE_KEYS,
    V_CASE_SLICES,
    COMMENTS_BY_KEY,
    RESTORED_REASONS,
    TICK_INDEXES,
    SETTLED_CASES,
    find_index,
    V_FIGURES,
    UPDATE_INBOX,
    STRANGER_REPLIES,
    ASKED_MESSAGE,
    SURVEY_INVITED,
    DEAL_KEYS,
    API_TOKENS,
    WEBHOOK_EVENTS,
    CRM_CONNECTORS,
    OUTBOX_HOLDS_CHAT,
    ANSWERS_FEED,
    deal_sources,
    DEAL_KEYS_FORGET_IDS,
    WEBHOOK_HELD,
]


async def apply_migrations(conn: aiosqlite.Connection, target: int) -> None:
    """Bring the file from its `user_version` up to `target`, one transaction per step."""
    row = await (await conn.execute("PRAGMA user_version")).fetchone()
    current = int(row[0]) if row else 0
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"The database was made by a newer version of the bot (schema {current}, "
            f"this code knows {len(MIGRATIONS)}); update the bot."
        )
    for version in range(current + 1, target + 1):
        step = MIGRATIONS[version - 1]
        rebuilds = callable(step)
        if rebuilds:
            # A step that rebuilds a table copies its rows unchanged: foreign keys stay off
            # meanwhile (SQLite ignores the pragma inside a transaction, hence out here).
            await conn.execute("PRAGMA foreign_keys = OFF")
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                if callable(step):
                    await step(conn)
                else:
                    for statement in _split(step):
                        await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {version}")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
        finally:
            if rebuilds:
                await conn.execute("PRAGMA foreign_keys = ON")
        log.info("database migrated to schema version %d", version)


def _split(script: str) -> list[str]:
    """Split a migration script into statements (no `;` inside our string literals; a trigger's
    body keeps its own `;`, which `sqlite3.complete_statement` knows)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements, pending = [], ""
    for piece in "\n".join(lines).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip().removesuffix(";").strip())
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip().removesuffix(";").strip())
    return statements
