"""Contact imports in handler tests: CSV bytes, feeding a file to the bot, reading rows back."""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

from aiogram.types import Document, User

from storage import Database
from tests.conftest import OWNER_ID
from tests.harness import Harness

_file_ids = itertools.count(1)


def owner(h: Harness, lang: str = "ru") -> User:
    return h.user(OWNER_ID, "Ольга", lang=lang)


def csv_bytes(rows: list[list[Any]], delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


async def feed_file(
    h: Harness,
    user: User,
    name: str | None,
    data: bytes,
    *,
    mime: str | None = None,
    size: int | None = None,
) -> None:
    """The person sends a file; the handler answers at once and the import runs in the
    background."""
    file_id = f"BQAC{next(_file_ids):06d}"
    h.session.add_file(file_id, data)
    document = Document(
        file_id=file_id,
        file_unique_id="u" + file_id,
        file_name=name,
        mime_type=mime,
        file_size=len(data) if size is None else size,
    )
    await h.feed({"message": h._msg(user, document=document)})


async def rows(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        return [tuple(r) for r in await (await conn.execute(sql, params)).fetchall()]
