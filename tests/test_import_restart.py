"""An import cut short by a crash: at the next start its sender is told to send the file again."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.methods import EditMessageText, GetFile, SendMessage, TelegramMethod
from aiogram.types import User

from bot.app import create_bot, create_dispatcher
from domain.settings import Settings
from handlers.imports import import_jobs, tell_cut_short
from scheduler.sender import Sender
from storage import Database
from storage.import_runs import start_run, unfinished_runs
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, Harness, replies
from tests.helpers.imports import csv_bytes, feed_file, owner


async def test_an_import_cut_short_by_a_crash_is_reported_at_the_next_start(
    harness: Harness, db: Database, settings: Settings
) -> None:
    # The import gets stuck downloading; then the process "dies" (this dispatcher is abandoned).
    stuck = asyncio.Event()
    real = harness.session.make_request

    async def make_request(bot: Any, method: TelegramMethod[Any], timeout: Any = None) -> Any:
        if isinstance(method, GetFile):
            await stuck.wait()
        return await real(bot, method, timeout)

    harness.session.make_request = make_request  # type: ignore[method-assign]
    data = csv_bytes([["Имя", "Телефон"], ["Анна", "+79161234567"]])
    await feed_file(harness, owner(harness), "база.csv", data)
    (progress,) = [r for r in harness.session.requests if isinstance(r, SendMessage)]
    assert progress.text.startswith("📥 Получил «база.csv»")
    assert len(await unfinished_runs(db)) == 1

    # The restart: a new bot and dispatcher on the same database run their start-up hooks.
    session = RecordingSession(BOT_USERNAME)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    create_dispatcher(settings, db, Sender(bot, db, harness.clock), harness.clock)
    await tell_cut_short(bot, db, harness.clock)
    (edit,) = session.requests
    assert isinstance(edit, EditMessageText) and edit.chat_id == progress.chat_id
    assert edit.text == (
        "⚠️ Загрузка «база.csv» прервалась: бот перезапустился. Отправьте тот же файл ещё раз — "
        "уже загруженное не удвоится."
    )
    assert await unfinished_runs(db) == []
    await tell_cut_short(bot, db, harness.clock)  # a second start says nothing more
    assert len(session.requests) == 1

    # if the progress message is gone, the word comes as a new message
    await start_run(db, owner(harness).id, 999, "вторая.csv", "ru", harness.clock())
    session.fail_next(
        "EditMessageText", error_code=400, description="Bad Request: message to edit not found"
    )
    await tell_cut_short(bot, db, harness.clock)
    assert replies(session.requests[-1:])[0].startswith("⚠️ Загрузка «вторая.csv» прервалась")

    stuck.set()  # let the abandoned process's jobs end before the test does
    await import_jobs(harness.dp).wait_idle()
    await bot.session.close()
