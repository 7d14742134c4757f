"""Owner reports: /trend (NPS by month as a chart) and /export (answers and contacts as files).

Both take longer than any other command (a chart render; a file of up to 300,000 rows), so the
rendering and file writing run in worker threads and the database is read in short chunks: the bot
keeps answering everybody else meanwhile. One owner gets one report at a time: a second /trend or
/export while one is being built is told to wait instead of starting the work twice.

An export (minutes for "all time" on a large base) runs as a background job after the tap is
answered, not inside the update: one person's updates are handled one after another, so an export
inside its update would hold up every other message of that owner until it is done.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, tzinfo
from pathlib import Path

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

from domain.clock import Clock
from domain.periods import Period, resolve
from domain.roles import Role
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import answer, forged, send_or_log, show
from scheduler.background import SHUTDOWN_GRACE, BackgroundJobs
from storage import Database
from storage.import_runs import EXPORT, end_run, start_run
from storage.reports import (
    iter_answers,
    iter_contacts,
    last_months,
    monthly_nps,
)
from views.callbacks import ExportPeriod
from views.chart import render_trend
from views.exports import (
    Table,
    answer_cells,
    answer_columns,
    contact_cells,
    contact_columns,
    fit_for_upload,
    write_table,
)
from views.reports import build_chart, export_period_label, period_keyboard, trend_caption
from views.texts import Raw, plain, t

log = logging.getLogger(__name__)

PERIODS = ("30", "90", "y", "all")  # the /export buttons, in domain.periods codes


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
            try:
                await bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_PHOTO)
            except TelegramAPIError as exc:  # only a courtesy: the chart still goes out
                log.debug("chat action failed: %s", exc)
            chart = build_chart(months, counts, lang, settings.company_name)
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
            self._export(user_id, query, period, label, today, bot, lang, tz, db, clock, run_id)
        )

    async def _export(
        self,
        user_id: int,
        query: CallbackQuery,
        period: Period,
        label: str,
        today: date,
        bot: Bot,
        lang: str,
        tz: tzinfo,
        db: Database,
        clock: Clock,
        run_id: int,
    ) -> None:
        """The files themselves, as a background job; the owner is free again when it ends.
        Its run stays open if it is cancelled (a shutdown): the next start tells the owner."""
        try:
            folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="export-"))
            try:
                answers = await write_table(
                    folder,
                    f"answers-{today.isoformat()}",
                    plain(lang, "export.sheet.answers"),
                    answer_columns(lang),
                    iter_answers(db, period.start, period.end),
                    answer_cells,
                    lang,
                    tz,
                )
                contacts = await write_table(
                    folder,
                    f"contacts-{today.isoformat()}",
                    plain(lang, "export.sheet.contacts"),
                    contact_columns(lang),
                    iter_contacts(db),
                    contact_cells,
                    lang,
                    tz,
                )
                await self._status(
                    query,
                    bot,
                    t(
                        lang,
                        "export.done",
                        period=label,
                        answers=answers.rows,
                        contacts=contacts.rows,
                    ),
                )
                await self._send_table(
                    bot, user_id, answers, lang, "export.caption.answers", period=label
                )
                await self._send_table(bot, user_id, contacts, lang, "export.caption.contacts")
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

    async def _send_table(
        self, bot: Bot, chat_id: int, table: Table, lang: str, caption: str, **values: object
    ) -> None:
        """Both files of a table, each with a caption that says what is in it and its format."""
        for path in (table.csv, table.xlsx):
            upload = await asyncio.to_thread(fit_for_upload, path)
            if upload is None:
                too_large = t(lang, "export.too_large", name=path.name)
                await send_or_log(bot.send_message(chat_id, too_large), "export too large")
                continue
            if upload.suffix == ".zip":
                kind = "export.format.zip"
            else:
                kind = "export.format.csv" if path.suffix == ".csv" else "export.format.xlsx"
            document = bot.send_document(
                chat_id,
                FSInputFile(upload, filename=upload.name),
                caption=t(lang, caption, count=table.rows, format=Raw(t(lang, kind)), **values),
            )
            await send_or_log(document, upload.name)

    async def _status(self, query: CallbackQuery, bot: Bot, text: str) -> int:
        """Show progress in the message with the period buttons (or a new one if it is gone);
        the id of the message showing it."""
        return await show(query, bot, text, None)
