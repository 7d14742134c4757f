"""The benchmark generator (bench/generate.py) makes the file the bot would have.

It drops every index and trigger to insert fast and writes its rows for a fixed schema, then runs
the later migrations on the filled file. So these tests check that nothing is lost on the way:
the same indexes and triggers as a freshly migrated file, the newest schema, a later migration's
fill applied to the generated rows, the exact number of answers asked for, and the older schema
of `--before-planner` still working.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import aiosqlite
import pytest

import storage
from bench import generate
from storage import Database
from storage.migrations import MIGRATIONS, reconciled_plan


def schema_objects(path: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger', "
            "'table', 'view') AND sql IS NOT NULL AND name NOT LIKE 'sqlite_stat%'"
        ).fetchall()
    return {(t, n, " ".join(s.split())) for t, n, s in rows}


def migrated_empty(path: Path, to: int | None = None) -> None:
    async def go() -> None:
        db = Database(path)
        await db.open(migrate_to=to)
        await db.close()

    asyncio.run(go())


def test_a_generated_file_has_every_index_and_the_counts_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "bench.sqlite3"
    result = generate.build(path, contacts=500, answers=1500, managers=4, seed=3)
    empty = tmp_path / "empty.sqlite3"
    migrated_empty(empty)
    assert schema_objects(path) == schema_objects(empty)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] > 0
        answered = conn.execute("SELECT count(*) FROM surveys WHERE score IS NOT NULL")
        assert answered.fetchone()[0] == 1500 == result["answers"]
        detractors = conn.execute("SELECT count(*) FROM surveys WHERE score <= 6").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == detractors
        # Links are written in time order, so their ids follow created_at.
        disorder = conn.execute(
            "SELECT count(*) FROM surveys a JOIN surveys b ON b.id = a.id + 1 "
            "WHERE b.created_at < a.created_at"
        )
        assert disorder.fetchone()[0] == 0
        # The full text of a reason is the comment; the answer keeps what the bot would keep.
        cut = conn.execute("SELECT count(*) FROM surveys WHERE length(reason) > 1000")
        assert cut.fetchone()[0] == 0
        negative = conn.execute("SELECT count(*) FROM surveys WHERE answer_seconds < 0")
        assert negative.fetchone()[0] == 0


@pytest.fixture
def later_migration() -> Iterator[None]:
    """A migration appended after the generator's schema: a table filled from contacts and kept
    by a trigger, the shape of the /find index."""

    async def names_index(conn: aiosqlite.Connection) -> None:
        await conn.execute("CREATE TABLE bench_names (id INTEGER PRIMARY KEY, name TEXT)")
        await conn.execute(
            "CREATE TRIGGER bench_names_new AFTER INSERT ON contacts "
            "BEGIN INSERT INTO bench_names VALUES (NEW.id, lower(NEW.full_name)); END"
        )
        await conn.execute("INSERT INTO bench_names SELECT id, lower(full_name) FROM contacts")

    MIGRATIONS.append(names_index)
    try:
        yield
    finally:
        MIGRATIONS.remove(names_index)


@pytest.mark.usefixtures("later_migration")
def test_later_migrations_run_on_the_filled_file(tmp_path: Path) -> None:
    path = tmp_path / "bench.sqlite3"
    generate.build(path, contacts=300, answers=600, managers=3, seed=5)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM bench_names").fetchone()[0] == 300
        trigger = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'bench_names_new'"
        )
        assert trigger.fetchone()[0] == 1


def test_before_planner_makes_the_older_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    schema = MIGRATIONS.index(reconciled_plan)
    generate.build(path, contacts=300, answers=600, managers=3, seed=5, schema=schema)
    empty = tmp_path / "empty.sqlite3"
    migrated_empty(empty, schema)
    assert schema_objects(path) == schema_objects(empty)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema
        columns = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
        assert "lapses_on" not in columns
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] > 100


def test_the_figures_are_rebuilt_from_the_generated_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With per-day figures in the project (storage.figures), the generator rebuilds them after
    the rows are in: here a stand-in rebuild that counts the links."""
    figures = types.ModuleType("storage.figures")

    async def rebuild_figures(conn: aiosqlite.Connection) -> None:
        await conn.execute("DROP TABLE IF EXISTS bench_links")
        await conn.execute("CREATE TABLE bench_links AS SELECT count(*) AS n FROM surveys")

    figures.rebuild_figures = rebuild_figures  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "storage.figures", figures)
    monkeypatch.setattr(storage, "figures", figures, raising=False)
    path = tmp_path / "bench.sqlite3"
    result = generate.build(path, contacts=300, answers=600, managers=3, seed=5)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT n FROM bench_links").fetchone()[0] == result["links"] > 600


@pytest.mark.usefixtures("later_migration")
def test_upgrade_brings_an_older_generated_file_up(tmp_path: Path) -> None:
    """`--upgrade`: a file generated by older code gets the migrations it lacks, filled."""
    path = tmp_path / "bench.sqlite3"
    generate.build(path, contacts=200, answers=400, managers=3, seed=5, schema=len(MIGRATIONS) - 1)
    generate.finish(path, len(MIGRATIONS), {})
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM bench_names").fetchone()[0] == 200
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
