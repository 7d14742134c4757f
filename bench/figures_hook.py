"""The per-day figures' rebuild (`storage.figures.rebuild_figures`), called whatever its shape.

The benches run on branches with and without the figures, so they look the function up and call it
with what its first parameter asks for (the `Database`, or a connection). A connection gets no
transaction from here: a rebuild that opens its own would fail inside ours; one that does not runs
statement by statement in autocommit, and whatever it leaves open is committed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import aiosqlite

from storage import Database


def rebuild_function() -> Callable[..., Any] | None:
    try:
        from storage import figures  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(figures, "rebuild_figures", None)


def wants_database(fn: Callable[..., Any]) -> bool:
    first = next(iter(inspect.signature(fn).parameters.values()))
    return first.name in ("db", "database") or "Database" in str(first.annotation)


async def rebuild(fn: Callable[..., Any], db: Database) -> None:
    if wants_database(fn):
        result = fn(db)
        if inspect.isawaitable(result):
            await result
        return
    async with db.read() as conn:
        await rebuild_on(fn, conn)


async def rebuild_on(fn: Callable[..., Any], conn: aiosqlite.Connection) -> None:
    result = fn(conn)
    if inspect.isawaitable(result):
        await result
    if conn.in_transaction:
        await conn.commit()
