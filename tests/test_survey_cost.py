"""What one complete survey costs the database: statements, write transactions, loop wake-ups.

Counts, never timings: every SQL statement the three raw `sqlite3` connections run (traced with
`set_trace_callback`; statements run by triggers are not counted), the write transactions
(`BEGIN IMMEDIATE`), the FSM's own statements, and the wake-ups of the event loop by a database
thread (`call_soon_threadsafe`, which aiosqlite calls once per result it hands back). The
survey is fed through the real dispatcher (update journal, middleware, FSM, handlers) exactly
as production runs it, for a promoter and for a detractor whose answers queue the staff alerts.

What is provoked: a change that brings back a read-back after a write, a second transaction per
answer or the FSM's extra writes pushes a figure over its bound. The bounds sit a little above
what the code achieves; the figures are printed (`pytest -s`).

Before issue 14, counted the same way (the update journal's 8 statements apart, as here):
promoter 106 statements, 13 write transactions (+ 4 single-statement writes), 21 FSM statements,
6 reads of the survey row, 144 loop wake-ups; detractor 129, 15 (+ 4), 21, 6, 179.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from storage import Database
from tests.harness import Harness
from tests.helpers.survey import Respondent, setup_sale

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
JOURNAL = "handled_updates"  # the update journal (bot/dispatching.py): counted apart


@dataclass
class Cost:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0  # BEGIN IMMEDIATE ... COMMIT on the writer, the journal's apart
    single_writes: int = 0  # a write outside a transaction (atomic by itself), the journal's apart
    journal: int = 0  # the journal's statements
    journal_writes: int = 0  # its transactions and single-statement writes
    wakeups: int = 0

    @property
    def writes(self) -> int:
        return self.transactions + self.single_writes

    @property
    def fsm(self) -> int:
        return sum(1 for s in self.statements if "fsm_states" in s)

    @property
    def survey_reads(self) -> int:
        return sum(
            1 for s in self.statements if s.lstrip().startswith("SELECT") and "FROM surveys s" in s
        )

    def line(self, name: str) -> str:
        return (
            f"{name}: {len(self.statements)} statements, {self.writes} write transactions "
            f"({self.transactions} BEGIN IMMEDIATE + {self.single_writes} single-statement), "
            f"{self.fsm} FSM statements, {self.survey_reads} survey-row reads, "
            f"{self.wakeups} loop wake-ups; the update journal apart: {self.journal} statements, "
            f"{self.journal_writes} writes"
        )

    def add_transaction(self, statements: list[str]) -> None:
        writes = [s for s in statements if s.split(maxsplit=1)[0].upper() in WRITE_VERBS]
        if writes and all(JOURNAL in s for s in writes):
            self.journal_writes += 1
            self.journal += len(statements)
            return
        self.transactions += 1
        self.statements += statements


def _connections(db: Database) -> list[tuple[object, bool]]:
    """The connections (aiosqlite's, and `fetch`'s plain one), and whether each is the writer."""
    found = [(db._conn, True), (db._fast, False), (db._reader, False), (db._inline, False)]
    return [(conn, writer) for conn, writer in found if conn is not None]


async def _set_trace(conn: object, trace: Callable[[str], None] | None) -> None:
    if isinstance(conn, sqlite3.Connection):  # the loop's own: set here
        conn.set_trace_callback(trace)
    else:  # aiosqlite's: in its thread
        await conn._execute(conn._conn.set_trace_callback, trace)  # type: ignore[attr-defined]


@asynccontextmanager
async def counting(db: Database) -> AsyncIterator[Cost]:
    cost = Cost()

    def tracer(writer: bool) -> Callable[[str], None]:
        last = [""]
        transaction: list[list[str]] = []  # the statements of the open one, if any

        def trace(statement: str) -> None:
            # Each trigger program that fires reports its outer statement again: count it once.
            if statement == last[0]:
                return
            if statement.startswith("PRAGMA busy_timeout"):
                # The loop's BEGIN without waiting (storage/db.py `_begin_now`): a setting of
                # the connection, no I/O, not a statement of the survey's.
                return
            last[0] = statement
            verb = statement.split(maxsplit=1)[0].upper()
            if not writer:
                cost.statements.append(statement)
            elif statement.startswith("BEGIN"):
                transaction.append([statement])
            elif transaction:
                transaction[0].append(statement)
                if verb in ("COMMIT", "ROLLBACK", "END"):
                    cost.add_transaction(transaction.pop())
            elif JOURNAL in statement:
                cost.journal += 1
                cost.journal_writes += verb in WRITE_VERBS
            else:
                cost.statements.append(statement)
                cost.single_writes += verb in WRITE_VERBS

        return trace

    loop = asyncio.get_running_loop()
    original = loop.call_soon_threadsafe

    def wake(*args, **kwargs):  # type: ignore[no-untyped-def]
        cost.wakeups += 1
        return original(*args, **kwargs)

    connections = _connections(db)
    for conn, writer in connections:
        await _set_trace(conn, tracer(writer))
    loop.call_soon_threadsafe = wake  # type: ignore[method-assign]
    try:
        yield cost
    finally:
        loop.call_soon_threadsafe = original  # type: ignore[method-assign]
        for conn, _ in connections:
            await _set_trace(conn, None)


async def _complete_survey(harness: Harness, db: Database, score: str) -> Cost:
    payload = await setup_sale(harness, db)
    anna = Respondent(harness)
    # The first update of the process pays one-off costs (settings, caches, temp triggers):
    # a stranger's /start first, so the survey is counted as the steady state sees it.
    await harness.send(harness.user(9999, "Кто-то"), "/start")
    async with counting(db) as cost:
        await anna.open(payload)
        await anna.tap(score)
        await anna.send("Быстрая доставка" if score == "10" else "Сломали дверцу")
        await anna.tap("Да")  # the phone is known from the sale: the survey ends here
    assert anna.question is not None
    assert anna.question.text.startswith("Спасибо"), anna.question.text
    return cost


@dataclass(frozen=True)
class Bound:
    score: str
    statements: int
    transactions: int  # BEGIN IMMEDIATE: one per answer (the link opened counts as one), and
    # one per question noted asked (`mark_asked`, a joined write: alone here, as nothing else
    # waits; under load it shares the transaction of the journal's finishes)
    writes: int  # with the single-statement ones
    fsm: int
    survey_reads: int
    wakeups: int


# A little above what the code achieves (see the module docstring for the figures before).
# Measured: promoter 67 statements, 4 + 4 writes, 5 FSM, 1 survey read, 71 wake-ups;
# detractor 82 statements, 4 + 4 writes, 5 FSM, 1 survey read, 71 wake-ups; the journal's
# 8 statements and writes apart (with the planner still awaited statement by statement; with
# the one-hop planner merged, 64 and 79 statements and 28 wake-ups). Since the loop runs the
# one-hop writes and reads itself (storage/db.py): 66 and 78 statements, 0 wake-ups.
BOUNDS = {
    "promoter": Bound("10", 75, 8, 8, 6, 1, 2),
    "detractor": Bound("3", 90, 8, 8, 6, 1, 2),
}


@pytest.mark.parametrize("who", sorted(BOUNDS))
async def test_what_one_complete_survey_costs(harness: Harness, db: Database, who: str) -> None:
    bound = BOUNDS[who]
    cost = await _complete_survey(harness, db, bound.score)
    print("\n" + cost.line(who))
    kinds = Counter(s.split()[0].upper() for s in cost.statements)
    print("   by verb:", dict(sorted(kinds.items())))
    assert len(cost.statements) <= bound.statements
    assert cost.transactions <= bound.transactions
    assert cost.writes <= bound.writes
    assert cost.fsm <= bound.fsm
    assert cost.survey_reads <= bound.survey_reads
    assert cost.wakeups <= bound.wakeups
    async with db.read() as conn:
        queued = await (
            await conn.execute("SELECT count(*) FROM outbox WHERE purpose = 'case_alert'")
        ).fetchone()
        fsm = await (await conn.execute("SELECT count(*) FROM fsm_states")).fetchone()
    assert queued[0] == (2 if who == "detractor" else 0)  # the manager and the owner
    assert fsm[0] == 0  # the finished survey leaves no conversation behind


def test_counting_sees_statements_on_a_raw_connection() -> None:
    """The tracer counts what runs, not what is written: a guard against counting nothing."""
    seen: list[str] = []
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.set_trace_callback(seen.append)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END")
    conn.execute("INSERT INTO t VALUES (1)")
    # The trigger's program is reported as its outer statement once more (why `counting`
    # collapses a statement repeated back to back).
    assert seen[:3] == [
        "CREATE TABLE t (x)",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
        "INSERT INTO t VALUES (1)",
    ]
    assert len(seen) > 3 and set(seen[3:]) == {"INSERT INTO t VALUES (1)"}
