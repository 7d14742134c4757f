"""Every query of the minute tick walks an index of what may be due, never a whole table.

The tick holds the one connection while it reads; a query that scans `cases` or `contacts` costs
nothing on a test base and a second at 1,000,000 contacts. SQLite's choice depends on the
statistics it has, so each plan is checked twice: on a fresh database (no statistics: what a
bot that never ran ANALYZE has) and with the `sqlite_stat1` of the 1,000,000-contact bench base
(tests/data/stat1_1m.json), under which some plans are known to flip.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from storage import Database
from storage.cases import OPEN_CASES_COUNT_SQL, QUIET_CASES_SQL, UNALERTED_SQL
from storage.followup import (
    DIGEST_QUEUED_SQL,
    NUDGES_SQL,
    OPEN_CASES_SQL,
    TIMED_REMINDERS_SQL,
    UNREACHABLE_SQL,
    WATCHED_CASES_SQL,
)
from storage.outbox import CLAIM_SQL
from storage.tasks import DUE_TASKS_SQL

STATS = Path(__file__).parent / "data" / "stat1_1m.json"
BIG = ("contacts", "cases", "surveys", "tasks", "outbox")

# query, the index its driving table must be read through
TICK_QUERIES: dict[str, tuple[str, str]] = {
    "alerts (T1)": (UNALERTED_SQL, "cases_unalerted"),
    "nudges (T2)": (NUDGES_SQL, "surveys_opened_unanswered"),
    "case deadlines (T3)": (WATCHED_CASES_SQL, "cases_watch"),
    "case deadline texts (T3)": (OPEN_CASES_SQL.format(marks="?, ?"), "INTEGER PRIMARY KEY"),
    "unreachable (T4)": (UNREACHABLE_SQL, "contacts_unreachable"),
    "timed reminders (T5)": (TIMED_REMINDERS_SQL, "tasks_timed"),
    "outbox claim (T6)": (CLAIM_SQL, "outbox_due"),
    "digest queued (T7)": (
        DIGEST_QUEUED_SQL.format(marks="?, ?, ?"),
        "sqlite_autoindex_outbox_1",
    ),
    "due tasks (T8)": (DUE_TASKS_SQL, "tasks_manager_due"),
    "quiet cases (T9)": (QUIET_CASES_SQL, "cases_unsettled"),
    # not the tick, but the same rule: the owner's /cases counts every open case from an index
    "/cases count, owner": (OPEN_CASES_COUNT_SQL, "cases_status"),
}


def plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    names = set(re.findall(r":(\w+)", sql))
    params: dict[str, None] | tuple[None, ...] = (
        dict.fromkeys(names) if names else (None,) * sql.count("?")
    )
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]


def tables(sql: str) -> dict[str, str]:
    """Alias (or name) → table, for every table the query reads."""
    found = re.findall(r"(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", sql)
    keywords = {"WHERE", "JOIN", "LEFT", "ON", "ORDER", "GROUP", "LIMIT", "INDEXED"}
    out = {}
    for table, alias in found:
        out[table] = table
        if alias and alias.upper() not in keywords:
            out[alias] = table
    return out


def problems(sql: str, lines: list[str], index: str) -> list[str]:
    """What is wrong with a plan: a big table read whole, or the expected index unused. A SCAN
    through the expected partial index (it holds only what is due) is what we want."""
    names = tables(sql)
    found = []
    for line in lines:
        scan = re.match(r"SCAN (\w+)", line)
        big = scan is not None and names.get(scan.group(1), scan.group(1)) in BIG
        if big and f"INDEX {index}" not in line:
            found.append(line)
    used = rf"USING (?:COVERING )?INDEX {index}\b|USING {index} \("
    if not any(re.search(used, line) for line in lines):
        found.append(f"{index} not used")
    return found


async def fresh(tmp_path: Path) -> sqlite3.Connection:
    db = Database(tmp_path / "plans.sqlite3")
    await db.open()
    await db.close()
    return sqlite3.connect(tmp_path / "plans.sqlite3")


def load_1m_statistics(conn: sqlite3.Connection) -> None:
    rows = json.loads(STATS.read_text())["rows"]
    conn.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1
    conn.execute("DELETE FROM sqlite_stat1")
    conn.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.execute("ANALYZE sqlite_schema")  # SQLite reads the statistics again


@pytest.mark.parametrize("name", list(TICK_QUERIES))
@pytest.mark.parametrize("statistics", ["fresh", "1m"])
async def test_every_tick_query_reads_only_what_is_due(
    tmp_path: Path, name: str, statistics: str
) -> None:
    conn = await fresh(tmp_path)
    if statistics == "1m":
        load_1m_statistics(conn)
        assert conn.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] > 20
    sql, index = TICK_QUERIES[name]
    lines = plan(conn, sql)
    assert problems(sql, lines, index) == [], "\n".join(lines)


async def test_the_check_catches_a_whole_table_scan(tmp_path: Path) -> None:
    """The check itself fails on the plans the tick had before its indexes."""
    conn = await fresh(tmp_path)
    conn.execute("DROP INDEX contacts_unreachable")
    lines = plan(conn, UNREACHABLE_SQL)
    assert problems(UNREACHABLE_SQL, lines, "contacts_unreachable")
    old_deadlines = WATCHED_CASES_SQL.replace(
        "k.escalated_at IS NULL AND k.status != 'resolved' AND k.opened_at <= :earliest",
        "k.status != 'resolved' AND (k.reminded_at IS NULL OR k.escalated_at IS NULL)",
    )
    assert old_deadlines != WATCHED_CASES_SQL
    lines = plan(conn, old_deadlines)
    assert any(line.startswith("SCAN k") for line in lines)
    assert problems(old_deadlines, lines, "cases_watch")
