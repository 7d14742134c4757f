"""What a typed message already stored, found by its source key ("chat id:message id").

A message handled again after a crash (the update journal's `replayed`) may find its note,
resolution, comment or settings value already saved and the conversation state already cleared;
this lookup lets the bot answer "saved" instead of "I didn't understand". The one non-obvious
decision: a settings row keeps only the key of its latest change, so a value changed again since
is no longer recognised (the replay then falls through to the ordinary answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.db import Database

Kind = Literal["note", "resolved", "comment", "setting"]


@dataclass(frozen=True)
class Stored:
    kind: Kind
    ref: str  # the case id, the contact id or the settings key


def source_key(chat_id: int, message_id: int) -> str:
    return f"{chat_id}:{message_id}"


async def stored_from(db: Database, key: str) -> Stored | None:
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT action, case_id FROM case_events WHERE source_key = ? "
                "AND action IN ('note', 'resolved')",
                (key,),
            )
        ).fetchone()
        if row is not None:
            return Stored(row[0], str(row[1]))
        row = await (
            await conn.execute("SELECT contact_id FROM comments WHERE source_key = ?", (key,))
        ).fetchone()
        if row is not None:
            return Stored("comment", str(row[0]))
        row = await (
            await conn.execute("SELECT key FROM settings WHERE source_key = ?", (key,))
        ).fetchone()
        if row is not None:
            return Stored("setting", str(row[0]))
    return None
