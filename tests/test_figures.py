"""The per-day figures agree with the raw rows, whatever happened, in any time zone.

Hypothesis drives the real storage functions (sales, opening a link, scores and reasons, /forget by
the owner and by the respondent, imports, cases taken, resolved and reopened, a call case) at
instants around the DST nights of Europe/Berlin (answers at 00:30 local) and Moscow's midnight.
After each history:
- the live per-day tables equal a rebuild from the raw rows (all-zero rows left by moves aside);
- every figure /nps, /managers, /trend and /comments show equals the independent count of
  tests/raw_figures.py, for calendar periods and for bounds that are not local midnights.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.importing.rows import ImportRow
from domain.periods import resolve
from storage import Database
from storage import stats as stats_module
from storage.cases import reopen_case, resolve_case, take_case
from storage.figures import rebuild_figures, tz_spans
from storage.forget import erase_contact, erase_respondent
from storage.imports import write_chunk
from storage.migrations import FIGURE_TABLES
from storage.reports import last_months, monthly_nps
from storage.sale import SaleInput, record_sale
from storage.stats import (
    Filters,
    case_stats,
    comment_total,
    kinds_in_period,
    manager_rows,
    median_hours_to_answer,
    nps_counts,
)
from storage.surveys import open_survey, record_reason, record_score
from storage.timefmt import ts
from tests import raw_figures as raw
from tests.conftest import OWNER_ID
from tests.helpers.database import new_database

MANAGERS = (222, 333)
KINDS = ("client", "supplier")
# Instants (UTC) around the nights that matter: Berlin's spring-forward (2026-03-29 01:00 UTC)
# and fall-back (2026-10-25 01:00 UTC), 00:30 local on each side, the last second of a Berlin
# day, and Moscow's midnight (21:00 UTC).
MOMENTS = (
    datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 28, 23, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 22, 30, tzinfo=UTC),
    datetime(2026, 10, 24, 21, 59, 59, tzinfo=UTC),
    datetime(2026, 10, 24, 22, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
    datetime(2026, 11, 19, 20, 59, 59, tzinfo=UTC),
    datetime(2026, 11, 19, 21, 0, tzinfo=UTC),
)
LATER = (0, 0.5, 3, 30, 200, 900)  # hours after a moment: answer and resolve times vary
TODAY = date(2026, 11, 20)

moments = st.tuples(st.integers(0, len(MOMENTS) - 1), st.sampled_from(LATER))
sales = st.tuples(
    st.just("sale"),
    st.integers(0, 5),
    st.sampled_from(MANAGERS),
    st.sampled_from(KINDS),
    moments,
)
steps = st.one_of(
    sales,
    st.tuples(st.just("open"), st.integers(0, 20), moments),
    st.tuples(st.just("score"), st.integers(0, 20), st.integers(0, 10), moments),
    st.tuples(
        st.just("answer"),
        st.integers(0, 20),
        st.integers(0, 10),
        st.sampled_from([None, "Всё хорошо"]),
        moments,
    ),
    st.tuples(
        st.just("reason"), st.integers(0, 20), st.sampled_from([None, "Долго везли"]), moments
    ),
    st.tuples(st.just("forget"), st.integers(0, 20), moments),
    st.tuples(st.just("forget_self"), st.integers(0, 20), moments),
    st.tuples(st.just("import"), st.integers(1, 3), moments),
    st.tuples(st.just("take"), st.integers(0, 20), moments),
    st.tuples(st.just("resolve"), st.integers(0, 20), moments),
    st.tuples(st.just("reopen"), st.integers(0, 20), moments),
    st.tuples(st.just("call_case"), st.integers(0, 20), moments),
)


def instant(moment: tuple[int, float]) -> datetime:
    return MOMENTS[moment[0]] + timedelta(hours=moment[1])


class History:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.counter = itertools.count(1)

    async def ids(self, sql: str) -> list[Any]:
        async with self.db.read() as conn:
            return [r[0] for r in await conn.execute_fetchall(sql)]

    async def pick(self, sql: str, n: int) -> Any | None:
        ids = await self.ids(sql)
        return ids[n % len(ids)] if ids else None

    async def setup(self) -> None:
        async with self.db.transaction() as conn:
            for user_id, role in ((OWNER_ID, "owner"), *((m, "manager") for m in MANAGERS)):
                await conn.execute(
                    "INSERT INTO staff (user_id, role, full_name, active, created_at, updated_at) "
                    "VALUES (?, ?, 'М', 1, 'x', 'x')",
                    (user_id, role),
                )

    async def step(self, step: tuple[Any, ...]) -> None:
        name, now = step[0], instant(step[-1])
        if name == "sale":
            _, person, manager, kind, _ = step
            await record_sale(
                self.db,
                SaleInput(
                    idem_key=f"sale-{next(self.counter)}",
                    manager_id=manager,
                    kind=kind,
                    full_name=f"Человек {person}",
                    organization=None,
                    phone=f"+7916000000{person}",
                    contact_tg_id=None,
                    birthday=None,
                    description="Кухня",
                    deal_date=now.date(),
                ),
                now,
            )
        elif name in ("open", "score", "reason", "answer"):
            survey = await self.pick("SELECT id FROM surveys ORDER BY id", step[1])
            if survey is None:
                return
            token = (await self.ids(f"SELECT token FROM surveys WHERE id = {survey}"))[0]
            await open_survey(self.db, token, 10000 + survey, "ru", now)
            if name in ("score", "answer"):
                await record_score(self.db, survey, 10000 + survey, step[2], now)
            if name == "answer":
                later = now + timedelta(minutes=3)
                await record_reason(self.db, survey, 10000 + survey, step[3], later)
            elif name == "reason":
                await record_reason(self.db, survey, 10000 + survey, step[2], now)
        elif name == "forget":
            contact = await self.pick("SELECT id FROM contacts ORDER BY id", step[1])
            if contact is not None:
                await erase_contact(self.db, contact, now, by="test")
        elif name == "forget_self":
            tg = await self.pick(
                "SELECT respondent_tg_id FROM surveys WHERE respondent_tg_id IS NOT NULL "
                "ORDER BY id",
                step[1],
            )
            if tg is not None:
                await erase_respondent(self.db, tg, now)
        elif name == "import":
            rows = []
            for _ in range(step[1]):
                number = next(self.counter)
                rows.append(
                    ImportRow(
                        row_no=number,
                        kind="client",
                        name=f"Импорт {number}",
                        organization=None,
                        phone=f"+7915{number:07d}",
                        birthday=None,
                        manager_id=MANAGERS[number % 2],
                        deal_date=(now.date() - timedelta(days=3)).isoformat(),
                        product="Шкаф",
                        note=None,
                        duplicate=False,
                    )
                )
            await write_chunk(self.db, rows, {}, OWNER_ID, "Покупка", now)
        elif name in ("take", "resolve", "reopen"):
            case = await self.pick("SELECT id FROM cases ORDER BY id", step[1])
            if case is None:
                return
            if name == "take":
                await take_case(self.db, case, OWNER_ID, True, now)
            elif name == "resolve":
                await take_case(self.db, case, OWNER_ID, True, now)
                await resolve_case(
                    self.db,
                    case,
                    None,
                    OWNER_ID,
                    "Заменили",
                    now,
                    min_days=0,
                    question=lambda *_: {},
                )
            else:
                await reopen_case(self.db, case, None, OWNER_ID, now)
        elif name == "call_case":
            contact = await self.pick("SELECT id FROM contacts ORDER BY id", step[1])
            if contact is not None:
                async with self.db.transaction() as conn:
                    await conn.execute(
                        "INSERT INTO cases (contact_id, source, status, owner_id, opened_at) "
                        "VALUES (?, 'call', 'taken', ?, ?)",
                        (contact, MANAGERS[0], ts(now)),
                    )


async def live_and_rebuilt(db: Database) -> tuple[dict[str, set], dict[str, set]]:
    """Each table's non-zero rows, live and as a rebuild makes them (rolled back after)."""

    async def rows(conn: Any) -> dict[str, set]:
        out = {}
        for t in FIGURE_TABLES:
            values = [name for name, _ in t.values]
            out[t.name] = {
                tuple(r)
                for r in await conn.execute_fetchall(
                    f"SELECT * FROM {t.name} WHERE {' OR '.join(f'{v} != 0' for v in values)}"
                )
            }
        return out

    async with db.urgent() as conn:  # the writer: the rebuild is rolled back
        live = await rows(conn)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            await rebuild_figures(conn)
            rebuilt = await rows(conn)
        finally:
            await conn.execute("ROLLBACK")
    return live, rebuilt


def periods(tz: ZoneInfo) -> list[tuple[datetime | None, datetime]]:
    out: list[tuple[datetime | None, datetime]] = []
    for code in ("7", "30", "90", "y", "all", "2026-03", "2026-10", "2026-11"):
        period = resolve(code, TODAY, tz)
        assert period is not None
        out.append((period.start, period.end))
    # bounds that are not local midnights: partial first and last days come from the raw rows
    out.append((datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 45, tzinfo=UTC)))
    out.append(
        (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 45, tzinfo=UTC))
    )
    out.append((None, datetime(2026, 11, 19, 20, 59, 59, tzinfo=UTC)))
    return out


async def check_figures(db: Database, path: Path, tz: ZoneInfo) -> None:
    live, rebuilt = await live_and_rebuilt(db)
    assert live == rebuilt
    conn = raw.connect(path)
    try:
        for start, end in periods(tz):
            for kind in (None, *KINDS):
                for manager in (None, *MANAGERS):
                    f = Filters(start, end, kind, manager)
                    assert await nps_counts(db, f) == raw.nps(conn, start, end, kind, manager)
                    expected = raw.cases(conn, start, end, kind, manager)
                    for direct in (stats_module.DIRECT_MEDIAN, 0):  # 0: always two phases
                        with pytest.MonkeyPatch.context() as patch:
                            patch.setattr(stats_module, "DIRECT_MEDIAN", direct)
                            assert await median_hours_to_answer(db, f) == pytest.approx(
                                raw.median_answer_hours(conn, start, end, kind, manager)
                            )
                            stats = await case_stats(db, start, end, kind, manager)
                        assert (stats.opened, stats.resolved) == (
                            expected.opened,
                            expected.resolved,
                        )
                        assert stats.median_hours_to_resolve == pytest.approx(expected.median_hours)
            by_kind = await kinds_in_period(db, Filters(start, end))
            for kind in KINDS:
                counts = raw.nps(conn, start, end, kind)
                if counts.invited or counts.answered:
                    assert by_kind[kind] == counts
                else:
                    assert kind not in by_kind
            rows = {r.user_id: r for r in await manager_rows(db, start, end, TODAY.isoformat())}
            for user_id, expected_row in raw.managers(conn, start, end).items():
                row = rows[user_id]
                assert (row.deals, row.sent, row.opened, row.counts) == (
                    expected_row.deals,
                    expected_row.sent,
                    expected_row.opened,
                    expected_row.counts,
                )
        for category in raw.CATEGORY:
            for kind in (None, *KINDS):
                assert await comment_total(db, category, kind) == raw.comment_total(
                    conn, category, kind
                )
        months = last_months(datetime(2026, 11, 20, 9, tzinfo=UTC), tz)
        assert await monthly_nps(db, months) == raw.monthly(
            conn, [(m.start, m.end) for m in months]
        )
    finally:
        conn.close()


async def run_history(zone: str, history: list[tuple[Any, ...]]) -> None:
    tz = ZoneInfo(zone)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bot.sqlite3"
        new_database(path)  # migrated for Moscow: a Berlin base is rebuilt at open
        db = Database(path, timezone=tz)
        await db.open()
        try:
            h = History(db)
            await h.setup()
            for step in history:
                await h.step(step)
            await check_figures(db, path, tz)
        finally:
            await db.close()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/Moscow"])
def test_the_days_always_equal_the_raw_rows(zone: str) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(sales, min_size=1, max_size=4), st.lists(steps, min_size=1, max_size=25))
    def check(first: list[tuple[Any, ...]], then: list[tuple[Any, ...]]) -> None:
        asyncio.run(run_history(zone, first + then))

    check()


def test_berlin_days_change_at_local_midnight_across_dst() -> None:
    spans = tz_spans(ZoneInfo("Europe/Berlin"))
    assert ("2026-03-29 01:00:00", "2026-10-25 01:00:00", 120) in spans
    assert ("2026-10-25 01:00:00", "2027-03-28 01:00:00", 60) in spans
    assert spans[0][0] == "0000-01-01 00:00:00" and spans[-1][1].startswith("9999")


async def _wiped_base(path: Path) -> tuple[set, int]:
    new_database(path)
    db = Database(path, timezone=ZoneInfo("Europe/Berlin"))
    await db.open()
    try:
        h = History(db)
        await h.setup()
        for i, score in enumerate((10, 3, 8)):
            await h.step(("sale", i, MANAGERS[i % 2], "client", (i, 3)))
            await h.step(("answer", i, score, "Причина", (i + 2, 30)))
        live, _ = await live_and_rebuilt(db)
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM answer_days")
        async with db.read() as conn:
            left = (await conn.execute_fetchall("SELECT count(*) FROM answer_days"))[0][0]
    finally:
        await db.close()
    return live["answer_days"], left


async def _answer_days(path: Path) -> set:
    db = Database(path, timezone=ZoneInfo("Europe/Berlin"))
    await db.open()
    try:
        live, rebuilt = await live_and_rebuilt(db)
        assert live == rebuilt
        return live["answer_days"]
    finally:
        await db.close()


async def test_rebuild_command_restores_a_wiped_table(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    before, left = await _wiped_base(path)
    assert left == 0 and len(before) == 3
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_PATH": str(path),
        "TIMEZONE": "Europe/Berlin",
    }
    returncode, out, err = await _rebuild_command(env)
    assert returncode == 0, err.decode()
    text = out.decode()
    assert "rebuilt for Europe/Berlin" in text
    assert "answer_days.promoters: 0 -> 1   (was different)" in text
    assert "answer_days.detractors: 0 -> 1   (was different)" in text
    assert "deal_days.deals: 3 -> 3\n" in text
    assert await _answer_days(path) == before


async def _rebuild_command(env: dict[str, str]) -> tuple[int | None, bytes, bytes]:
    """`python -m bot rebuild-figures` as an owner runs it: its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "rebuild-figures",
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out, err


async def test_rebuild_command_refuses_a_missing_file(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_PATH": str(tmp_path / "none.sqlite3")}
    returncode, _, err = await _rebuild_command(env)
    assert returncode == 2
    assert "no database at" in err.decode()
    assert not (tmp_path / "none.sqlite3").exists()
