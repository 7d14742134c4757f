"""Owner reports: /trend (NPS by month as a chart) and /export (answers and contacts as files).

Both take longer than any other command (a chart render; a file of up to 300,000 rows), so the
rendering and file writing run in worker threads and the database is read in short chunks: the bot
keeps answering everybody else meanwhile. One owner gets one report at a time: a second /trend or
/export while one is being built is told to wait instead of starting the work twice.

An export (minutes for "all time" on a large base) runs as a background job after the tap is
answered, not inside the update: one person's updates are handled one after another, so an export
inside its update would hold up every other message of that owner until it is done. Meanwhile
Telegram shows "sending a file…" (aiogram's ChatActionSender, renewed every 4 s), and an export
that runs over 3 s shows how far it got in its "⏳ preparing" message, edited at most every 3 s.

The one non-obvious decision: the chat action is a courtesy, so it may neither fail nor slow the
export. aiogram's sender lets its worker die on the first failed call (an exception nobody
retrieves, logged as an ERROR when the task is collected) and, on leaving the block, waits for a
call in flight, which our retry layer may repeat for 30 s. So it is given the bot through
`_CourtesyBot`, which drops a failed or slow call, and a call still in flight when the export is
done is cancelled. The documents are sent inside the block, so the status lasts until the last one.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, cast

from aiogram import Bot, Dispatcher, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    Message,
)
from aiogram.utils.chat_action import ChatActionSender

from domain.clock import Clock
from domain.periods import Period, resolve
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, edit_message, forged, send_or_log, show
from scheduler.background import SHUTDOWN_GRACE, BackgroundJobs
from storage import Database
from storage.import_runs import EXPORT, end_run, start_run
from storage.reports import (
    AnswerRow,
    ContactRow,
    count_answers,
    count_contacts,
    iter_answers,
    iter_contacts,
    last_months,
    monthly_nps,
)
from views.callbacks import ExportPeriod
from views.chart import render_trend
from views.exports import (
    Format_,
    Source,
    Written,
    answer_cells,
    answer_columns,
    contact_cells,
    contact_columns,
    export_table,
    fit_for_upload,
)
from views.reports import (
    build_chart,
    cut_mark,
    export_caption,
    export_period_label,
    export_progress,
    period_keyboard,
    trend_caption,
)
from views.texts import plain, t

log = logging.getLogger(__name__)

PERIODS = ("30", "90", "y", "all")  # the /export buttons, in domain.periods codes
ACTION_INTERVAL = 4.0  # "sending a file…" fades after 5 s
ACTION_LIMIT = 3.0  # a chat action call that takes longer is dropped
PROGRESS_AFTER = 3.0  # an export shows its progress once it has run this long
PROGRESS_EVERY = 3.0  # and then at most this often


def monotonic() -> float:
    """The progress clock (a test replaces it; asyncio's own `time.monotonic` stays)."""
    return time.monotonic()


def router() -> Router:
    reports = Reports()
    r = Router(name="reports")
    r.message.filter(HasRole(Role.OWNER))
    r.callback_query.filter(HasRole(Role.OWNER))
    r.message.register(reports.trend_command, Command("trend"))
    r.message.register(reports.export_command, Command("export"))
    r.callback_query.register(reports.export_period, ExportPeriod.filter())
    r.shutdown.register(on_shutdown)
    return r


def export_jobs(dispatcher: Dispatcher) -> BackgroundJobs:
    """The exports running now (kept referenced, awaitable by tests, stopped at shutdown)."""
    return dispatcher.workflow_data.setdefault("export_jobs", BackgroundJobs())


async def on_shutdown(dispatcher: Dispatcher) -> None:
    await export_jobs(dispatcher).stop(SHUTDOWN_GRACE)


class Busy:
    """Owners with a report being built. The check and the claim happen with no `await` between
    them, so on one event loop this is as good as a lock per user, and nothing needs cleaning up."""

    def __init__(self) -> None:
        self._users: set[int] = set()

    def __contains__(self, user_id: int) -> bool:
        return user_id in self._users

    def take(self, user_id: int) -> bool:
        """Claim for a job that outlives the handler (`release` when it ends); False if busy."""
        if user_id in self._users:
            return False
        self._users.add(user_id)
        return True

    def release(self, user_id: int) -> None:
        self._users.discard(user_id)

    @contextmanager
    def claim(self, user_id: int) -> Iterator[bool]:
        if not self.take(user_id):
            yield False
            return
        try:
            yield True
        finally:
            self.release(user_id)


class Reports:
    """The handlers, sharing one `Busy` per dispatcher (a fresh one for every test)."""

    def __init__(self) -> None:
        self.busy = Busy()

    async def trend_command(
        self, message: Message, bot: Bot, lang: str, settings: Settings, db: Database, clock: Clock
    ) -> None:
        assert message.from_user is not None
        with self.busy.claim(message.from_user.id) as claimed:
            if not claimed:
                await message.answer(t(lang, "trend.busy"))
                return
            now = clock()
            months = last_months(now, settings.timezone)
            counts = await monthly_nps(db, months)
            if not counts:
                await message.answer(t(lang, "trend.empty"))
                return
            async with uploading(bot, message.chat.id, ChatAction.UPLOAD_PHOTO):
                chart = build_chart(months, counts, lang, settings.company(lang))
                png = await asyncio.to_thread(render_trend, chart)
                today = now.astimezone(settings.timezone).date()
                await message.answer_photo(
                    BufferedInputFile(png, filename=f"nps-trend-{today.isoformat()}.png"),
                    caption=trend_caption(months, counts, lang),
                )

    async def export_command(self, message: Message, lang: str) -> None:
        assert message.from_user is not None
        if message.from_user.id in self.busy:
            await message.answer(t(lang, "export.busy"))
            return
        await message.answer(t(lang, "export.ask"), reply_markup=period_keyboard(lang))

    async def export_period(
        self,
        query: CallbackQuery,
        callback_data: ExportPeriod,
        bot: Bot,
        lang: str,
        settings: Settings,
        db: Database,
        clock: Clock,
        dispatcher: Dispatcher,
    ) -> None:
        if callback_data.period not in PERIODS:
            await forged(query, lang)
            return
        user_id = query.from_user.id
        if not self.busy.take(user_id):
            await answer(query, plain(lang, "export.busy"), alert=True)
            return
        try:
            await answer(query)
            tz = settings.timezone
            now = clock()
            today = now.astimezone(tz).date()
            period = resolve(callback_data.period, today, tz)
            assert period is not None  # every code in PERIODS resolves
            label = export_period_label(
                callback_data.period, period.first_day, period.last_day, lang
            )
            shown = await self._status(query, bot, t(lang, "export.preparing", period=label))
            run_id = await start_run(db, user_id, shown, label, lang, now, kind=EXPORT)
        except BaseException:
            self.busy.release(user_id)
            raise
        export_jobs(dispatcher).spawn(
            self._export(user_id, period, label, today, bot, lang, tz, db, clock, run_id, shown)
        )

    async def _export(
        self,
        user_id: int,
        period: Period,
        label: str,
        today: date,
        bot: Bot,
        lang: str,
        tz: tzinfo,
        db: Database,
        clock: Clock,
        run_id: int,
        shown: int,
    ) -> None:
        """The files themselves, as a background job; the owner is free again when it ends.
        Its run stays open if it is cancelled (a shutdown): the next start tells the owner."""
        try:
            folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="export-"))
            try:
                progress = Progress(bot, user_id, shown)
                async with uploading(bot, user_id):
                    answers_table = await answers_source(db, period, today, tz, lang)
                    answers = await export_table(
                        answers_table,
                        folder,
                        self._sender(bot, user_id, lang, "answers", period=label),
                        progress.counter(lang, label, "answers", answers_table.total),
                    )
                    contacts_table = await contacts_source(db, today, tz, lang, clock())
                    contacts = await export_table(
                        contacts_table,
                        folder,
                        self._sender(bot, user_id, lang, "contacts"),
                        progress.counter(lang, label, "contacts", contacts_table.total),
                    )
                done = t(lang, "export.done", period=label, answers=answers, contacts=contacts)
                if not await edit_message(bot, user_id, shown, done):  # deleted meanwhile
                    await bot.send_message(user_id, done)
            finally:
                await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
        except Exception:
            log.exception("export for %s failed", user_id)
            try:
                await bot.send_message(user_id, t(lang, "error.generic"))
            except Exception:  # the apology itself failed (network, blocked)
                log.warning("could not tell user %s about the failed export", user_id)
        finally:
            self.busy.release(user_id)
        await end_run(db, run_id, clock())

    def _sender(
        self, bot: Bot, chat_id: int, lang: str, table: str, **values: str
    ) -> Callable[[Written, bool], Any]:
        """Send each piece's files as it closes, each with a caption that says what is in it
        and its format; the formats too big to send (to be split, when `can_split`)."""

        async def deliver(written: Written, can_split: bool) -> frozenset[Format_]:
            too_big: set[Format_] = set()
            files: tuple[tuple[Format_, Path | None], ...] = (
                ("csv", written.csv),
                ("xlsx", written.xlsx),
            )
            for fmt, path in files:
                if path is None:
                    continue
                upload = await asyncio.to_thread(fit_for_upload, path)
                if upload is None:
                    if can_split:
                        too_big.add(fmt)
                        continue
                    too_large = t(lang, "export.too_large", name=path.name)
                    await send_or_log(bot.send_message(chat_id, too_large), "export too large")
                    continue
                kind = "zip" if upload.suffix == ".zip" else fmt
                document = bot.send_document(
                    chat_id,
                    FSInputFile(upload, filename=upload.name),
                    caption=export_caption(lang, table, written, kind, **values),
                )
                await send_or_log(document, upload.name)
            return frozenset(too_big)

        return deliver

    async def _status(self, query: CallbackQuery, bot: Bot, text: str) -> int:
        """Show progress in the message with the period buttons (or a new one if it is gone);
        the id of the message showing it."""
        return await show(query, bot, text, None)


# ---- the two tables ---------------------------------------------------------------------------


async def answers_source(
    db: Database, period: Period, today: date, tz: tzinfo, lang: str
) -> Source[AnswerRow]:
    """The answers of `period` as /export writes them (also used by bench/bench_export.py)."""
    total = await count_answers(db, period.start, period.end)

    def read(after: Any, limit: int) -> AsyncIterator[list[AnswerRow]]:
        return iter_answers(db, period.start, period.end, tz=tz, after=after, limit=limit)

    return Source(
        stem=f"answers-{today.isoformat()}",
        sheet=plain(lang, "export.sheet.answers"),
        columns=answer_columns(lang),
        total=total,
        read=read,
        key=lambda row: (row.scored_at, row.id),
        cells=answer_cells(lang),
        cut_mark=cut_mark(lang),
        day=lambda row: row.answered.text[:10],
    )


async def contacts_source(
    db: Database, today: date, tz: tzinfo, lang: str, now: datetime
) -> Source[ContactRow]:
    """Every contact not forgotten, as /export writes them."""
    total, last_id = await count_contacts(db)

    def read(after: Any, limit: int) -> AsyncIterator[list[ContactRow]]:
        return iter_contacts(db, tz=tz, now=now, after=after, limit=limit, last_id=last_id)

    return Source(
        stem=f"contacts-{today.isoformat()}",
        sheet=plain(lang, "export.sheet.contacts"),
        columns=contact_columns(lang),
        total=total,
        read=read,
        key=lambda row: row.id,
        cells=contact_cells(lang),
        cut_mark=cut_mark(lang),
    )


# ---- courtesies while it works ----------------------------------------------------------------


class _CourtesyBot:
    """The bot as ChatActionSender uses it (`id`, `send_chat_action`): a call that fails or takes
    over ACTION_LIMIT seconds is dropped (the next one comes with the next interval), and `stop()`
    cancels a call still in flight, so leaving the block never waits for one."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._worker: asyncio.Task[Any] | None = None

    @property
    def id(self) -> int:
        return self._bot.id

    async def send_chat_action(self, **kwargs: Any) -> bool:
        self._worker = asyncio.current_task()
        try:
            async with asyncio.timeout(ACTION_LIMIT):
                return await self._bot.send_chat_action(**kwargs)
        except Exception as exc:  # TimeoutError and every Telegram or network error
            log.debug("chat action not shown: %s", exc)
            return False
        finally:
            self._worker = None

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()


@asynccontextmanager
async def uploading(
    bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_DOCUMENT
) -> AsyncIterator[None]:
    """Telegram shows "sending a file…" (or `action`) in the chat while the block runs."""
    courtesy = _CourtesyBot(bot)
    sender = ChatActionSender(
        bot=cast(Bot, courtesy), chat_id=chat_id, action=action, interval=ACTION_INTERVAL
    )
    async with sender:
        try:
            yield
        finally:
            courtesy.stop()


class Progress:
    """The "⏳ preparing" message, edited once the export has run PROGRESS_AFTER seconds and then
    at most every PROGRESS_EVERY seconds, never with the text it already shows (Telegram refuses
    an unchanged message). A failed edit is only logged: the files matter, not the counter."""

    def __init__(self, bot: Bot, chat_id: int, message_id: int) -> None:
        self._bot, self._chat_id, self._message_id = bot, chat_id, message_id
        self._next = monotonic() + PROGRESS_AFTER
        self._shown: str | None = None

    async def show(self, text: str) -> None:
        now = monotonic()
        if now < self._next or text == self._shown:
            return
        self._next = now + PROGRESS_EVERY
        self._shown = text
        try:
            await edit_message(self._bot, self._chat_id, self._message_id, text)
        except TelegramAPIError as exc:
            log.warning("export progress not shown: %s", exc)

    def counter(self, lang: str, period: str, table: str, total: int) -> Callable[[int], Any]:
        async def rows_done(done: int) -> None:
            await self.show(export_progress(lang, period, table, done, total))

        return rows_done
