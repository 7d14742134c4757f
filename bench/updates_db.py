"""The database bench/bench_updates.py runs our bot on: survey links as managers make them.

    PYTHONPATH=<tree> python bench/updates_db.py <file> <surveys>   # prints the tokens

Run as a script with the tree under test on PYTHONPATH, so the links are recorded by that tree's
own storage code and migrations (an older commit refuses a file a newer schema wrote). It imports
nothing from `bench`, which an older tree may not have in this shape.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

OWNER_ID = 111
MANAGER_IDS = (201, 202, 203, 204)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


async def make_database(path: Path, surveys: int) -> list[str]:
    """A fresh database with an owner, four managers and `surveys` sales (with phones, so a
    respondent who agrees to be contacted is not asked for one); the survey tokens, in order."""
    from storage import Database
    from storage.sale import SaleInput, record_sale
    from storage.staff import create_invite, redeem_invite, touch_owner

    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    await db.open()
    try:
        await touch_owner(db, OWNER_ID, "Ольга", None, "ru", NOW)
        for n, manager in enumerate(MANAGER_IDS):
            invite = await create_invite(db, OWNER_ID, NOW)
            await redeem_invite(db, invite.token, manager, f"Менеджер {n}", None, "ru", NOW)
        tokens = []
        for n in range(surveys):
            sale = SaleInput(
                idem_key=f"bench-updates-{n}",
                manager_id=MANAGER_IDS[n % len(MANAGER_IDS)],
                kind="client",
                full_name=f"Клиент {n}",
                organization=None,
                phone=f"+7916{n:07d}",
                contact_tg_id=None,
                birthday=None,
                description="Кухонный гарнитур",
                deal_date=date(2026, 11, 20),
            )
            tokens.append((await record_sale(db, sale, NOW)).survey_token)
    finally:
        await db.close()
    return tokens


if __name__ == "__main__":
    for token in asyncio.run(make_database(Path(sys.argv[1]), int(sys.argv[2]))):
        print(token)
