"""Recording deals sent by other systems (the HTTP API, the CRM connectors): one write path.

    record_deal(db, deal, intake, source=..., key=...) -> DealOut
    record_deals(db, [(key, deal), ...], intake, source=...) -> list[DealOut]   (one transaction)

`source` names the sender ("api", "bitrix24", "amocrm"); `key` is the sender's id of the deal
(or an Idempotency-Key): the same (source, key) again answers the first result, stored in
`deal_keys`, and writes nothing — also when twenty calls race (every write holds the writer's
lock, and the key is looked up inside the transaction that would write it). Refusals raise
`DealRefused` (field paths and codes) before anything is written; a batch is refused whole.

The rules are /import's, not re-implemented: each deal is checked as a row by /import's
`RowValidator` (phone, forgotten people, birthday, purchase date, manager, lengths), its contact
is matched as /import matches (the phone; without one the phone-less contact of the same folded
name and organisation) and a matched contact only gets its gaps filled (/import's statement).
The deal itself, its survey link and the contact of a new person are written by `record_sale_in`,
the function /sale records through, so whatever follows a new deal (the planner's next-day call,
events to other systems) follows these too.

The non-obvious decision: the stored answer holds the person's name and phone, so a trigger
(migration `DEAL_KEYS`) empties it when the contact is forgotten; a repeat then answers what the
base holds now (the erased contact), rebuilt by `_rebuild`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from domain.deals_in import (
    HEADER,
    ContactPart,
    DealIn,
    DealOut,
    DealPart,
    DealRefused,
    FieldError,
    Intake,
    KeyReused,
    SurveyPart,
    as_cells,
    field_errors,
    request_digest,
)
from domain.importing.phones import PhoneReader
from domain.importing.rows import ImportRow, Managers, RowValidator, person_key
from domain.privacy import phone_hash
from storage.db import Database
from storage.imports import _FILL_GAPS
from storage.migrations import DEAL_SOURCES_SENT
from storage.sale import SaleInput, record_sale_in
from storage.staff import list_active_staff
from storage.timefmt import ts

Keyed = tuple[str, DealIn]


def deal_source(source: str) -> str:
    """deals.source for a sender: its system ("bitrix24:portal.example.ru" -> "bitrix24"),
    one of the values the column allows (storage.migrations.DEAL_SOURCES_SENT)."""
    system = source.split(":", 1)[0]
    return system if system in DEAL_SOURCES_SENT else "api"


def new_key() -> str:
    """A key for a deal sent without one (it cannot be repeated safely, but is recorded alike)."""
    return "auto:" + secrets.token_urlsafe(12)


async def record_deal(
    db: Database,
    deal: DealIn,
    intake: Intake,
    *,
    source: str,
    key: str,
    strict_key: bool = False,
) -> DealOut:
    """One deal; see the module docstring. `strict_key`: a key already used for a different
    deal raises `KeyReused` (an Idempotency-Key) instead of answering the first result (a CRM's
    deal id, whose deal may have changed since)."""
    return (await record_deals(db, [(key, deal)], intake, source=source, strict_key=strict_key))[0]


# A batch bigger than this is checked whole first, then written a chunk per transaction: one
# transaction of 500 deals held the writer for seconds, and every respondent's tap waited
# behind it (bench/bench_api.py: tap p50 0.09 s alone, 1.3 s during batches of 500).
CHUNK = 25


async def record_deals(
    db: Database,
    deals: Sequence[Keyed],
    intake: Intake,
    *,
    source: str,
    strict_key: bool = False,
    chunk: int = CHUNK,
) -> list[DealOut]:
    """Several deals; a refusal of any of them (checked before anything is written) refuses all.
    Up to `chunk` deals are one transaction; a bigger batch is written in chunks after the whole
    was checked, so a crash midway leaves whole chunks, and sending the batch again (the same
    keys) completes it without doubling anything."""
    managers = Managers(await list_active_staff(db))
    batch = len(deals) > 1
    if len(deals) <= chunk:
        async with db.transaction() as conn:
            return await _record(conn, deals, intake, source, strict_key, managers, batch)
    async with db.read() as conn:  # the check, on the lock-free read-only connection
        await _record(conn, deals, intake, source, strict_key, managers, batch, write=False)
    outs: list[DealOut] = []
    for first in range(0, len(deals), chunk):
        async with db.transaction() as conn:
            part = deals[first : first + chunk]
            outs += await _record(
                conn, part, intake, source, strict_key, managers, batch, offset=first
            )
    return outs


async def _record(
    conn: aiosqlite.Connection,
    deals: Sequence[Keyed],
    intake: Intake,
    source: str,
    strict_key: bool,
    managers: Managers,
    batch: bool,
    *,
    offset: int = 0,
    write: bool = True,
) -> list[DealOut]:
    """`deals` (positions `offset`… of the request) inside the caller's transaction; with
    `write` False only the checks (a refusal raises), on any connection."""
    today = intake.today
    found: dict[int, DealOut] = {}
    first_of_key: dict[str, int] = {}
    for index, (key, deal) in enumerate(deals):
        row = await (
            await conn.execute(
                "SELECT digest, deal_id, merged, result FROM deal_keys "
                "WHERE source = ? AND key = ?",
                (source, key),
            )
        ).fetchone()
        if row is None:
            first_of_key.setdefault(key, index)
            continue
        if strict_key and row["digest"] != request_digest(deal):
            raise KeyReused(key)
        if not write:
            continue
        if row["result"] is not None:
            out = DealOut.model_validate_json(row["result"])
        else:
            out = await _rebuild(conn, row["deal_id"], bool(row["merged"]))
        found[index] = out.model_copy(update={"replayed": True})

    fresh = [i for i in range(len(deals)) if i not in found and deals[i][0] in first_of_key]
    rows = await _validate(conn, deals, fresh, intake, source, managers, batch, offset)
    if not write:
        for index in fresh:
            key, deal = deals[index]
            first = deals[first_of_key[key]][1]
            if strict_key and request_digest(first) != request_digest(deal):
                raise KeyReused(key)
        return []
    people: dict[int, int] | None = None
    stamp = ts(intake.now)
    results: dict[int, DealOut] = {}
    for index in fresh:
        key, deal = deals[index]
        first = first_of_key[key]
        if first != index:  # the same key earlier in this batch
            if strict_key and request_digest(deals[first][1]) != request_digest(deal):
                raise KeyReused(key)
            results[index] = results[first].model_copy(update={"replayed": True})
            continue
        r = rows[index]
        contact_id: int | None = None
        if r.phone:
            got = await (
                await conn.execute("SELECT id FROM contacts WHERE phone = ?", (r.phone,))
            ).fetchone()
            contact_id = got[0] if got else None
        else:
            if people is None:
                people = await _phoneless_people(conn)
            contact_id = people.get(person_key(r.name, r.organization))
        if contact_id is not None:
            day, month, year = r.birthday or (None, None, None)
            await conn.execute(
                _FILL_GAPS,
                (
                    *(r.name, r.organization, day, month, year, r.manager_id, stamp),
                    *(contact_id, r.name, r.organization, month, r.manager_id),
                ),
            )
        sale = SaleInput(
            idem_key=f"{source}:{key}",
            manager_id=r.manager_id,
            kind=r.kind,
            full_name=r.name,
            organization=None if contact_id else r.organization,
            phone=r.phone,
            contact_tg_id=None,
            birthday=None if contact_id else r.birthday,
            description=r.product or "",
            deal_date=datetime.strptime(r.deal_date or today.isoformat(), "%Y-%m-%d").date(),
            existing_contact_id=contact_id,
            source=deal_source(source),
        )
        result = await record_sale_in(conn, sale, intake.now)
        if contact_id is None and not r.phone and people is not None:
            people[person_key(r.name, r.organization)] = result.contact_id
        await conn.execute(
            "INSERT INTO deal_keys (source, key, external_id, person_id, digest, deal_id, "
            "merged, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source,
                key,
                deal.external_id,
                deal.person.external_id,
                request_digest(deal),
                result.deal_id,
                int(result.merged),
                stamp,
            ),
        )
        out = await _rebuild(conn, result.deal_id, result.merged)
        await conn.execute(
            "UPDATE deal_keys SET result = ? WHERE source = ? AND key = ?",
            (out.model_dump_json(), source, key),
        )
        results[index] = out
    results.update(found)
    return [results[i] for i in range(len(deals))]


async def _validate(
    conn: aiosqlite.Connection,
    deals: Sequence[Keyed],
    indexes: list[int],
    intake: Intake,
    source: str,
    managers: Managers,
    batch: bool,
    offset: int,
) -> dict[int, ImportRow]:
    """Each new deal as a clean /import row, or `DealRefused` with every problem of the batch."""
    reader = PhoneReader(intake.region)
    hashes = {
        phone_hash(e164)
        for i in indexes
        if (phone := deals[i][1].person.phone) and (e164 := reader(phone))
    }
    erased: frozenset[str] = frozenset()
    if hashes:
        marks = ",".join("?" * len(hashes))
        got = await conn.execute_fetchall(
            f"SELECT phone_hash FROM erased_phones WHERE phone_hash IN ({marks})", tuple(hashes)
        )
        erased = frozenset(r[0] for r in got)
    validator = RowValidator(
        HEADER, managers, intake.default_manager_id, intake.today, intake.region, erased
    )
    # A deal naming no manager goes to the default one (the token's owner, the connector's
    # manager), who must still be active staff: never to someone who left.
    default_active = managers.find(str(intake.default_manager_id)) is not None
    rows: dict[int, ImportRow] = {}
    errors: list[FieldError] = []
    for i in indexes:
        deal = deals[i][1]
        prefix = f"deals.{offset + i}." if batch else ""
        manager, unmapped = await _manager_cell(conn, deal, source)
        if unmapped:
            errors.append(
                FieldError(prefix + "manager.external_id", "unknown_manager", "not mapped to staff")
            )
            continue
        if manager == "" and not default_active:
            errors.append(
                FieldError(
                    prefix + "manager",
                    "inactive_manager",
                    "no manager named and the default one is not active staff",
                )
            )
            continue
        checked = validator.check(i + 1, as_cells(deal, manager, intake.today))
        if isinstance(checked, ImportRow):
            rows[i] = checked
        elif checked:
            errors += field_errors(checked, prefix)
    if errors:
        raise DealRefused(errors)
    return rows


async def _manager_cell(conn: aiosqlite.Connection, deal: DealIn, source: str) -> tuple[str, bool]:
    """The manager as /import reads a cell ("" = the default manager), and whether an external
    id had no mapping to a staff member."""
    m = deal.manager
    if m is None:
        return "", False
    if m.telegram_id is not None:
        return str(m.telegram_id), False
    if m.username is not None:
        return "@" + m.username.removeprefix("@"), False
    got = await (
        await conn.execute(
            "SELECT user_id FROM staff_links WHERE system = ? AND external_id = ?",
            (source, m.external_id),
        )
    ).fetchone()
    return (str(got[0]), False) if got else ("", True)


async def _phoneless_people(conn: aiosqlite.Connection) -> dict[int, int]:
    """As storage/imports.phoneless_people, inside this transaction."""
    rows = await conn.execute_fetchall(
        "SELECT id, full_name, organization FROM contacts "
        "WHERE phone IS NULL AND forgotten_at IS NULL AND full_name IS NOT NULL"
    )
    people: dict[int, int] = {}
    for contact_id, name, organization in rows:
        people.setdefault(person_key(name, organization), contact_id)
    return people


async def _rebuild(conn: aiosqlite.Connection, deal_id: int, merged: bool) -> DealOut:
    """The answer for a deal, from what the base holds now."""
    row = await (
        await conn.execute(
            "SELECT d.id, d.description, d.deal_date, d.manager_id, d.created_at, "
            "coalesce(s.kind, c.kind) AS kind, s.token, c.id AS cid, c.kind AS ckind, "
            "c.full_name, c.organization, c.phone, k.external_id, k.person_id "
            "FROM deals d LEFT JOIN surveys s ON s.deal_id = d.id "
            "JOIN contacts c ON c.id = d.contact_id LEFT JOIN deal_keys k ON k.deal_id = d.id "
            "WHERE d.id = ?",
            (deal_id,),
        )
    ).fetchone()
    return DealOut(
        deal=DealPart(
            id=row["id"],
            external_id=row["external_id"],
            product=row["description"],
            date=row["deal_date"],
            manager_id=row["manager_id"],
            kind=row["kind"],
            created_at=row["created_at"].replace(" ", "T") + "Z",
        ),
        contact=ContactPart(
            id=row["cid"],
            kind=row["ckind"],
            name=row["full_name"],
            organization=row["organization"],
            phone=row["phone"],
            external_id=row["person_id"],
            merged=merged,
        ),
        survey=SurveyPart(token=row["token"]) if row["token"] else None,
    )


async def map_external_user(
    db: Database, system: str, external_id: str, user_id: int, now: datetime
) -> None:
    """Tie an id of another system's user to a staff member (the manager of their deals)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO staff_links (system, external_id, user_id, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (system, external_id) "
            "DO UPDATE SET user_id = excluded.user_id",
            (system, external_id, user_id, ts(now)),
        )


async def map_external_manager(
    db: Database, system: str, external_id: str, who: str, now: datetime
) -> int | None:
    """Tie another system's user id to the active staff member `who` names (a Telegram id or
    @username, as /import reads them); their id, or None when nobody active is meant."""
    user_id = Managers(await list_active_staff(db)).find(who)
    if user_id is not None:
        await map_external_user(db, system, external_id, user_id, now)
    return user_id


async def deal_written_with(db: Database, deal_id: int, source: str, prefix: str) -> bool:
    """Whether the deal was recorded by `source` under a key starting with `prefix` (one API
    token's keys)."""
    async with db.read() as conn:
        row = await (
            await conn.execute(
                "SELECT 1 FROM deal_keys WHERE deal_id = ? AND source = ? "
                "AND substr(key, 1, ?) = ?",
                (deal_id, source, len(prefix), prefix),
            )
        ).fetchone()
    return row is not None


async def deal_status(
    db: Database, deal_id: int
) -> tuple[DealOut, dict[str, object] | None] | None:
    """A deal as recording it answered (rebuilt from the base now), with its survey's progress:
    status (created, opened, answered), score and its dates (None: a deal without a survey, as
    /import's). None: no such deal."""
    async with db.read() as conn:
        found = await (
            await conn.execute(
                "SELECT d.id, coalesce(k.merged, 0) AS merged, s.status, s.score, s.opened_at, "
                "s.scored_at, s.answered_at FROM deals d LEFT JOIN surveys s ON s.deal_id = d.id "
                "LEFT JOIN deal_keys k ON k.deal_id = d.id WHERE d.id = ?",
                (deal_id,),
            )
        ).fetchone()
        if found is None:
            return None
        out = await _rebuild(conn, deal_id, bool(found["merged"]))
    if found["status"] is None:
        return out, None
    progress = {
        key: found[key] for key in ("status", "score", "opened_at", "scored_at", "answered_at")
    }
    return out, progress
