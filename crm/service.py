"""The CRM worker: processes stored events into bot deals and sends comments back to the CRM.

One loop, woken by an arriving event (or every few seconds), does three things in turn: process
due events (read the deal; if won, record it and queue the survey link's comment), queue
comments for new answers and cases of CRM deals, and send due comments, oldest first per
connection, stopping at a connection's first failure so a deal's answer never overtakes its
link. Every step starts from the tables, so a stop, a crash or a CRM down for hours delays the
work and never loses or repeats it. The decision worth knowing: a temporary failure (5xx,
timeout, an error page) is retried without end, backing off to 15 minutes; a 401 stops that
connection until the owner pastes new credentials in /crm, and the owners are told once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any, Protocol

from crm import store
from crm.amo import AmoCRM
from crm.bitrix import Bitrix24
from crm.deals import DealIn, Refused, record_deal
from crm.http import AMO_INTERVAL, BITRIX_INTERVAL, CrmError, Failure, Transport
from crm.model import Event, WonDeal
from domain.clock import Clock
from domain.deeplinks import LinkKind, make_link
from domain.nps import category
from domain.parsing import parse_phone
from domain.privacy import phone_hash
from storage import Database
from storage.outbox import enqueue
from storage.settings import LiveSettings
from storage.staff import staff_languages
from views.texts import plain, t

log = logging.getLogger(__name__)

RETRY_FIRST = 30.0  # seconds before the first retry of a temporary failure
RETRY_MAX = 900.0  # never more than 15 minutes between tries
ANSWER_SETTLE = timedelta(minutes=30)  # a score without the reason is reported after this
NOTE_ATTEMPTS_REFUSED = 1  # a comment the CRM refuses (4xx: the deal is gone) is not repeated


class Kicker(Protocol):
    def kick(self) -> None: ...


class BotLike(Protocol):
    async def me(self) -> Any: ...


Client = Bitrix24 | AmoCRM


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX))


class CrmService:
    def __init__(
        self,
        db: Database,
        live: LiveSettings,
        clock: Clock,
        sender: Kicker | None = None,
        *,
        transport: Transport | None = None,
        intervals: dict[str, float] | None = None,
        poll_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.live = live
        self.clock = clock
        self.sender = sender
        self.transport = transport or Transport()
        self.intervals = {"bitrix24": BITRIX_INTERVAL, "amocrm": AMO_INTERVAL, **(intervals or {})}
        self.poll_seconds = poll_seconds
        self._bot: BotLike | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def bind(self, bot: BotLike) -> None:
        """The bot whose username the survey links carry."""
        self._bot = bot

    async def start(self, bot: BotLike) -> None:
        self.bind(bot)
        recovered = await store.recover_working(self.db)
        if recovered:
            log.info("crm: %d interrupted events back in the queue", recovered)
        self._task = asyncio.create_task(self._loop(), name="crm")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.transport.close()

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end the loop: logged, and tried again later
                log.exception("crm: the worker failed; trying again shortly")
                busy = 0
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self, max_events: int = 20) -> int:
        """One round: due events, each followed by the comments due (so a deal's link is on its
        timeline seconds after it was won, not after the whole backlog), then new answers and
        cases; how much was done."""
        done = 0
        for _ in range(max_events):
            event = await store.claim_event(self.db, self.clock())
            if event is None:
                break
            await self.process(event)
            done += 1 + await self.send_notes()
        await self.queue_reports()
        done += await self.send_notes()
        return done

    # --- clients --------------------------------------------------------------------------------

    def client(self, connection: store.Connection) -> Client:
        if connection.kind == "bitrix24":
            return Bitrix24(
                self.transport,
                connection.base_url,
                connection.account,
                self.intervals["bitrix24"],
            )
        return AmoCRM(
            self.transport,
            connection.base_url,
            connection.account,
            connection.token or "",
            self.intervals["amocrm"],
        )

    async def check(self, kind: str, base_url: str, account: str, token: str | None) -> str:
        """One call with credentials an owner pasted: the CRM user's (or account's) name."""
        probe = store.Connection(
            0, kind, account, base_url, token, "", None, 0, None, None, None, None
        )
        return await self.client(probe).check()

    async def _username(self) -> str:
        if self._bot is None:
            return ""
        me = await self._bot.me()
        return me.username or ""

    # --- events → deals -------------------------------------------------------------------------

    async def process(self, event: store.EventRow) -> None:
        now = self.clock()
        connection = await store.get_connection(self.db, event.connection_id)
        if connection is None:
            await store.finish_event(self.db, event.id, "disconnected", now, failed=True)
            return
        client = self.client(connection)
        try:
            won = await client.won_deal(Event(event.event, event.entity_id, event.status_hint))
            outcome = await self._record(connection, client, won) if won else "not won"
        except CrmError as exc:
            await self._failed(connection, event, exc)
            return
        except Exception as exc:  # a bug or a database error: logged, and the event kept
            log.exception("crm %s deal %s: processing failed", connection.account, event.entity_id)
            now = self.clock()
            await store.note_error(
                self.db, connection.id, f"internal error: {type(exc).__name__}", now
            )
            await store.retry_event(
                self.db, event, now + retry_delay(event.attempts), type(exc).__name__, now
            )
            return
        await store.finish_event(self.db, event.id, outcome, self.clock())
        log.info("crm %s deal %s: %s", connection.account, event.entity_id, outcome)

    async def _failed(
        self, connection: store.Connection, event: store.EventRow, exc: CrmError
    ) -> None:
        now = self.clock()
        await store.note_error(self.db, connection.id, str(exc), now)
        if exc.failure is Failure.REFUSED:
            await store.finish_event(self.db, event.id, f"refused: {exc}", now, failed=True)
            log.warning("crm %s deal %s refused: %s", connection.account, event.entity_id, exc)
            return
        await store.retry_event(self.db, event, now + retry_delay(event.attempts), str(exc), now)
        if exc.failure is Failure.AUTH:
            await self._auth_failed(connection, str(exc))
        else:
            log.warning(
                "crm %s deal %s: %s; retrying in %s",
                connection.account,
                event.entity_id,
                exc,
                retry_delay(event.attempts),
            )

    async def _record(self, connection: store.Connection, client: Client, won: WonDeal) -> str:
        settings = self.live.current
        now = self.clock()
        if won.contact_id is None or not won.contact_name:
            await store.note_error(
                self.db, connection.id, f"deal {won.crm_id}: no contact, not recorded", now
            )
            return "no contact"
        phones = [p for p in (parse_phone(raw, settings.phone_region) for raw in won.phones) if p]
        for phone in phones:
            if await store.is_erased_phone(self.db, phone_hash(phone)):
                await store.note_error(
                    self.db,
                    connection.id,
                    f"deal {won.crm_id}: the client asked to be forgotten, not recorded",
                    now,
                )
                return "forgotten"
        manager_id, unmatched = await self._manager(connection, client, won)
        today = now.astimezone(settings.timezone).date()
        deal_date = won.closed_on if won.closed_on and won.closed_on <= today else today
        try:
            recorded = await record_deal(
                self.db,
                DealIn(
                    name=won.contact_name,
                    phone=phones[0] if phones else None,
                    birthday=won.birthday,
                    description=won.description,
                    deal_date=deal_date,
                    manager_id=manager_id,
                ),
                source=f"{connection.kind}:{connection.account}",
                key=won.crm_id,
                now=now,
                timezone=settings.timezone,
                region=settings.phone_region,
            )
        except Refused as exc:
            outcome = "forgotten" if "forgotten" in exc.codes else f"refused: {exc}"
            await store.note_error(
                self.db, connection.id, f"deal {won.crm_id}: not recorded ({exc})", now
            )
            return outcome
        lang = settings.default_language
        link = make_link(await self._username(), LinkKind.SURVEY, recorded.survey_token)
        text = plain(lang, "crm.note.link", name=won.contact_name, link=link)
        if not phones:
            text += "\n" + plain(lang, "crm.note.no_phone")
        new = await store.link_deal(
            self.db, connection.id, won.crm_id, recorded.deal_id, won.responsible_id, text, now
        )
        if new and unmatched is not None:
            await self._tell_owners(
                f"crm_unmatched:{connection.id}:{won.crm_id}",
                "crm.owner.unmatched",
                crm=plain(lang, f"crm.kind.{connection.kind}"),
                deal=won.crm_id,
                name=won.contact_name,
                user=unmatched,
            )
        return f"deal {recorded.deal_id}" + ("" if recorded.created else " (already recorded)")

    async def _manager(
        self, connection: store.Connection, client: Client, won: WonDeal
    ) -> tuple[int, str | None]:
        """The staff member of the responsible user, or the connecting owner and the user's name
        (to tell the owners) when nobody is matched yet."""
        if won.responsible_id is None:
            return connection.created_by, "—"
        user = await store.get_user(self.db, connection.id, won.responsible_id)
        if user is not None and user.staff_id is not None:
            return user.staff_id, None
        name = user.name if user is not None else None
        if name is None:
            try:
                name = await client.user_name(won.responsible_id)
            except CrmError as exc:
                # Without the `user` scope, or a user deleted since: the deal goes on without
                # the name; a CRM that is down keeps the event for later.
                if exc.failure is Failure.TEMPORARY:
                    raise
                name = None
            await store.remember_user(
                self.db, connection.id, won.responsible_id, name, self.clock()
            )
        return connection.created_by, name or f"#{won.responsible_id}"

    # --- the owners -----------------------------------------------------------------------------

    async def _tell_owners(self, idem: str, key: str, **values: Any) -> None:
        settings = self.live.current
        if not settings.owner_ids:
            return
        now = self.clock()
        async with self.db.transaction() as conn:
            languages = await staff_languages(conn, settings.owner_ids)
            for owner_id in sorted(settings.owner_ids):
                lang = languages.get(owner_id) or settings.default_language
                await enqueue(
                    conn,
                    chat_id=owner_id,
                    purpose="crm",
                    payload={"text": t(lang, key, **values)},
                    now=now,
                    idem_key=f"{idem}:{owner_id}",
                )
        if self.sender is not None:
            self.sender.kick()

    async def _auth_failed(self, connection: store.Connection, error: str) -> None:
        if await store.mark_auth_failed(self.db, connection.id, self.clock()):
            log.warning("crm %s: credentials refused (%s); owners told", connection.account, error)
            await self._tell_owners(
                f"crm_auth:{connection.id}:{self.clock().isoformat()}",
                "crm.owner.auth_failed",
                crm=plain(self.live.current.default_language, f"crm.kind.{connection.kind}"),
                account=connection.account,
            )

    # --- back to the CRM ------------------------------------------------------------------------

    async def queue_reports(self) -> int:
        now = self.clock()
        answers, cases = await store.unreported(self.db, now - ANSWER_SETTLE)
        if not answers and not cases:
            return 0
        lang = self.live.current.default_language
        notes: list[tuple[int, str, str, str]] = []
        for a in answers:
            cat = plain(lang, f"crm.cat.{category(a.score)}")
            if a.reason:
                text = plain(lang, "crm.note.answer", score=a.score, category=cat, reason=a.reason)
            else:
                text = plain(lang, "crm.note.answer_no_reason", score=a.score, category=cat)
            notes.append((a.connection_id, a.crm_id, f"answer:{a.survey_id}", text))
        for c in cases:
            notes.append(
                (c.connection_id, c.crm_id, f"case:{c.case_id}",
                 plain(lang, "crm.note.case_opened", case=c.case_id))
            )  # fmt: skip
            if c.status == "resolved":
                notes.append(
                    (c.connection_id, c.crm_id, f"case_resolved:{c.case_id}",
                     plain(lang, "crm.note.case_resolved", case=c.case_id))
                )  # fmt: skip
        return await store.queue_notes(self.db, notes, now)

    async def send_notes(self) -> int:
        now = self.clock()
        rows = await store.due_notes(self.db, now)
        stopped: set[int] = set()
        sent = 0
        connections: dict[int, store.Connection | None] = {}
        for row in rows:
            if row.connection_id in stopped:
                continue
            if row.connection_id not in connections:
                connections[row.connection_id] = await store.get_connection(
                    self.db, row.connection_id
                )
            connection = connections[row.connection_id]
            if connection is None:
                continue
            try:
                await self.client(connection).comment(row.crm_id, row.text)
            except CrmError as exc:
                now = self.clock()
                await store.note_error(self.db, connection.id, str(exc), now)
                if exc.failure is Failure.REFUSED:
                    # The deal is gone or the comment refused: repeating cannot help, and the
                    # notes after it must not wait for it.
                    await store.note_later(self.db, row.id, now, str(exc), failed=True)
                    log.warning("crm %s: a comment refused: %s", connection.account, exc)
                    continue
                await store.note_later(
                    self.db, row.id, now + retry_delay(row.attempts + 1), str(exc)
                )
                stopped.add(row.connection_id)
                if exc.failure is Failure.AUTH:
                    await self._auth_failed(connection, str(exc))
                continue
            await store.note_sent(self.db, row.id, self.clock())
            sent += 1
        return sent
