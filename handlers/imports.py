"""/import, /template, and a CSV or XLSX file sent by a manager or an owner.

The handler answers at once and the import runs as a background job: the file is downloaded to
a temporary folder (never held in memory), checked in full, written in chunks, and the one
progress message is edited at most once a second (by the injected clock) and finally turned into
the summary. The imported people are planned as they are written, chunk by chunk, in the
transaction of their chunk (storage/db.py re-plans every contact a transaction touches), so the
summary comes when their tasks already exist. Anyone who is not staff never reaches this router
with a file.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Document, FSInputFile, Message
from aiohttp import ClientError

from domain.clock import Clock
from domain.importing.report import ImportReport, Unreadable
from domain.importing.rows import Managers
from domain.roles import Role, StaffMember
from domain.settings import Settings
from handlers.filters import HasRole
from handlers.replies import edit_message
from scheduler.background import SHUTDOWN_GRACE, BackgroundJobs
from scheduler.followup import FollowUp
from scheduler.importing.runner import ImportContext, Interrupted, run_import
from scheduler.importing.sources import MAX_FILE_BYTES, declared_format
from storage import Database
from storage.import_runs import end_run, start_run, unfinished_runs
from storage.staff import list_active_staff
from views.common import cut
from views.imports import (
    interrupted_text,
    progress_text,
    summary_text,
    template_xlsx,
    unreadable_text,
)
from views.texts import plain, t

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = timedelta(seconds=1)
DOWNLOAD_TIMEOUT = 180
NAME_LIMIT = 80


def router() -> Router:
    r = Router(name="imports")
    r.message.filter(HasRole(Role.MANAGER, Role.OWNER))
    r.message.register(import_command, Command("import"))
    r.message.register(template_command, Command("template"))
    r.message.register(on_document, F.document)
    r.message.register(on_photo, F.photo)
    r.startup.register(on_startup)
    r.startup.register(tell_cut_short)
    r.shutdown.register(on_shutdown)
    return r


def import_jobs(dispatcher: Dispatcher) -> BackgroundJobs:
    return dispatcher.workflow_data.setdefault("import_jobs", BackgroundJobs())


def scratch_folder(settings: Settings) -> Path:
    """Where files being imported are kept: beside the database (so one bot's leftovers are its
    own to clean), never in memory."""
    return settings.database_path.parent / "import-tmp"


async def on_startup(settings: Settings) -> None:
    """A crash mid-import leaves the downloaded client base on disk: personal data, removed."""
    folder = scratch_folder(settings)
    if folder.is_dir():
        await asyncio.to_thread(shutil.rmtree, folder, True)
        log.info("removed files left by an interrupted import")


async def tell_cut_short(bot: Bot, db: Database, clock: Clock) -> None:
    """At start-up: whoever was importing or exporting when the process died, still looking at a
    progress message that will never move, is told to send the file (ask for the export) again."""
    for run in await unfinished_runs(db):
        text = t(run.language, f"{run.kind}.crashed", name=run.file_name)
        try:
            if not await edit_message(bot, run.user_id, run.message_id, text):
                await bot.send_message(run.user_id, text)  # the progress message is gone
        except TelegramForbiddenError:
            log.info("%s by %s cut short by a restart; they blocked the bot", run.kind, run.user_id)
        except Exception as exc:  # the next start tries again
            log.warning("%s by %s cut short: could not tell them (%s)", run.kind, run.user_id, exc)
            continue
        else:
            log.info(
                "%s by %s was cut short by a restart: told to ask again", run.kind, run.user_id
            )
        await end_run(db, run.id, clock())


async def on_shutdown(dispatcher: Dispatcher) -> None:
    await import_jobs(dispatcher).stop(SHUTDOWN_GRACE)


async def import_command(
    message: Message, lang: str, member: StaffMember | None, followup: FollowUp
) -> None:
    await message.answer(t(lang, "import.help"))
    await template_command(message, lang, member, followup)


async def template_command(
    message: Message, lang: str, member: StaffMember | None, followup: FollowUp
) -> None:
    user = message.from_user
    name = member.full_name if member else (user.full_name if user else "")
    data = template_xlsx(lang, name, followup.today())
    await message.answer_document(
        BufferedInputFile(data, filename=plain(lang, "import.template_file")),
        caption=t(lang, "import.template_caption"),
    )


async def on_photo(message: Message, lang: str) -> None:
    await message.answer(t(lang, "import.refuse.photo"))


def _file_name(document: Document) -> str:
    name = document.file_name or "file"
    return cut(name, NAME_LIMIT)


async def on_document(
    message: Message,
    bot: Bot,
    db: Database,
    settings: Settings,
    clock: Clock,
    lang: str,
    followup: FollowUp,
    dispatcher: Dispatcher,
) -> None:
    document = message.document
    assert document is not None and message.from_user is not None
    name = _file_name(document)
    declared = declared_format(document.file_name, document.mime_type)
    if declared in ("xls", "sheet", "other"):
        key = {"xls": "import.refuse.xls", "sheet": "import.refuse.sheet"}.get(declared)
        await message.answer(t(lang, key or "import.refuse.format", name=name))
        return
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        size = f"{document.file_size / 1024 / 1024:.1f}"
        await message.answer(t(lang, "import.refuse.too_big", name=name, size=size))
        return
    user_id = message.from_user.id
    jobs = import_jobs(dispatcher)
    if user_id in jobs.running:
        await message.answer(t(lang, "import.busy"))
        return
    jobs.running.add(user_id)
    try:
        shown = await message.answer(t(lang, "import.received", name=name))
        run_id = await start_run(db, user_id, shown.message_id, name, lang, clock())
    except BaseException:
        jobs.running.discard(user_id)
        raise
    progress = _ProgressMessage(bot, shown, lang, name, clock)
    jobs.spawn(_import(message, document, declared, progress, db, settings, followup, jobs, run_id))


async def _import(
    message: Message,
    document: Document,
    declared: str,
    progress: _ProgressMessage,
    db: Database,
    settings: Settings,
    followup: FollowUp,
    jobs: BackgroundJobs,
    run_id: int,
) -> None:
    """The import itself, as a background job: the update is answered at once, so neither a
    polling task nor a webhook request (which Telegram would time out and send again) waits for
    a 30-second import."""
    user_id, lang, name = progress.message.chat.id, progress.lang, progress.file_name
    try:
        scratch = scratch_folder(settings)
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="import-", dir=scratch) as folder:
            workdir = Path(folder)
            path = workdir / "upload"
            try:
                await progress.bot.download(document, destination=path, timeout=DOWNLOAD_TIMEOUT)
            except (TelegramAPIError, ClientError, OSError, TimeoutError) as exc:
                # only the kind of failure: an aiohttp error's text holds the file URL, and
                # the URL holds the bot token
                log.warning("import by %s: download failed (%s)", user_id, type(exc).__name__)
                await progress.finish(t(lang, "import.download_failed", name=name))
                return
            context = ImportContext(
                db=db,
                managers=Managers(await list_active_staff(db)),
                importer_id=user_id,
                today=followup.today(),
                now=followup.clock(),
                region=settings.phone_region,
                lang=lang,
            )
            report = await _run(path, declared, workdir, context, progress, user_id)
            if report is None:
                return
            await progress.finish(summary_text(lang, name, report))
            if report.rejected_path is not None:
                await _send_rejected(message, lang, name, report)
    except asyncio.CancelledError:
        log.warning("import by %s stopped: the bot is shutting down", user_id)
        await progress.finish(t(lang, "import.stopped", name=name), quiet=True)
        raise
    except Exception:
        log.exception("import by %s failed", user_id)
        await progress.finish(t(lang, "error.generic"), quiet=True)
        return
    finally:
        jobs.running.discard(user_id)
        await end_run(db, run_id, followup.clock())


async def _run(
    path: Path,
    declared: str,
    workdir: Path,
    context: ImportContext,
    progress: _ProgressMessage,
    user_id: int,
) -> ImportReport | None:
    lang, name = context.lang, progress.file_name
    try:
        report = await run_import(path, declared, workdir, context, progress)
    except Unreadable as exc:
        log.info("import by %s: unreadable file (%s)", user_id, exc.code)
        await progress.finish(unreadable_text(lang, name, exc))
        return None
    except Interrupted as exc:
        log.exception("import by %s: interrupted after %d rows", user_id, exc.report.written)
        await progress.finish(interrupted_text(lang, name, exc.report))
        return None
    counts = report.counts
    log.info(
        "import by %s: %d rows, %d created, %d merged (%d filled), %d duplicates, %d rejected, "
        "%d deals",
        user_id,
        report.rows,
        counts.created,
        counts.merged,
        counts.filled,
        counts.duplicates,
        report.rejected,
        counts.deals,
    )
    return report


async def _send_rejected(message: Message, lang: str, name: str, report: ImportReport) -> None:
    assert report.rejected_path is not None
    stem = Path(name).stem or "file"
    try:
        await message.answer_document(
            FSInputFile(
                report.rejected_path, filename=plain(lang, "import.rejected_file", name=stem)
            ),
            caption=t(lang, "import.rejected_caption", count=report.rejected),
        )
    except TelegramAPIError as exc:
        log.warning("could not send the rejected rows file: %s", exc)


class _ProgressMessage:
    """The one message that shows progress: edited at most once per PROGRESS_INTERVAL, and an
    edit that fails (flood control, "not modified", network) never stops the import."""

    def __init__(self, bot: Bot, message: Message, lang: str, file_name: str, clock: Clock) -> None:
        self.bot = bot
        self.message = message
        self.lang = lang
        self.file_name = file_name
        self.clock = clock
        self._next_at = clock() + PROGRESS_INTERVAL

    async def __call__(self, phase: str, done: int, total: int | None, share: float) -> None:
        now = self.clock()
        if now < self._next_at:
            return
        self._next_at = now + PROGRESS_INTERVAL
        text = progress_text(self.lang, self.file_name, phase, done, total, share)
        try:
            await edit_message(self.bot, self.message.chat.id, self.message.message_id, text)
        except TelegramRetryAfter as exc:
            self._next_at = now + timedelta(seconds=exc.retry_after)
        except TelegramAPIError as exc:
            log.debug("progress not shown: %s", exc)

    async def finish(self, text: str, *, quiet: bool = False) -> None:
        """The final word replaces the progress; if that edit is refused, it is sent anew.
        `quiet`: a failure is only logged (when the import itself has already failed)."""
        try:
            try:
                if await edit_message(
                    self.bot, self.message.chat.id, self.message.message_id, text
                ):
                    return
            except TelegramRetryAfter as exc:
                if quiet:
                    raise
                await asyncio.sleep(exc.retry_after)
            except TelegramAPIError as exc:
                log.debug("final edit refused: %s", exc)
            await self.bot.send_message(self.message.chat.id, text)
        except Exception as exc:
            if not quiet:
                raise
            log.warning(
                "could not tell user %s how the import ended: %s", self.message.chat.id, exc
            )
