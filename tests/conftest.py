from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import User

from bot.app import create_bot, create_dispatcher
from domain.settings import Settings
from scheduler.sender import Sender
from storage import Database
from tests.fakes import process, recording
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import Launcher
from tests.fakes.recording import RecordingSession
from tests.harness import BOT_USERNAME, TOKEN, FakeClock, Harness
from tests.helpers.database import new_database
from tests.helpers.e2e import BOT_ID

OWNER_ID = 111
START = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # a Friday, 10:00 in Moscow


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "owner_ids": frozenset({OWNER_ID}),
        "database_path": tmp_path / "bot.sqlite3",
        "timezone": ZoneInfo("Europe/Moscow"),
        "company_name": "Ромашка",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def only_e2e_tests_start_the_bot(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts the real process must carry the `e2e` mark (tests/fakes/process.py)."""
    process.E2E_ALLOWED = request.node.get_closest_marker("e2e") is not None
    yield
    process.E2E_ALLOWED = True


@pytest.fixture(autouse=True)
def telegram_would_accept_every_call() -> Iterator[None]:
    """Fail a test whose bot made a call Telegram would refuse (see tests/fakes/recording.py),
    even when the product caught the error and carried on."""
    recording.SESSIONS.clear()
    yield
    refused = recording.unexamined_refusals()
    recording.SESSIONS.clear()
    assert not refused, "Telegram would have refused: " + "; ".join(refused)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API an end-to-end test's bot talks to (tests of the fake define their own)."""
    async with FakeBotAPI(TOKEN, bot_id=BOT_ID) as server:
        yield server


@pytest.fixture(scope="session")
def launcher() -> Iterator[Launcher]:
    """One zygote for the run, which forks each end-to-end test's bot processes: the bot's
    imports are paid once, not at every start (tests/fakes/process.py). The start-up tests
    (test_e2e_foundation, test_webhook) still run `python -m bot` itself."""
    with contextlib.closing(Launcher().open()) as shared:
        yield shared


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    new_database(settings.database_path)  # a copy of the schema migrated once per run
    database = Database(settings.database_path)
    await database.open()
    yield database
    await database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def harness(settings: Settings, db: Database, clock: FakeClock) -> AsyncIterator[Harness]:
    session = RecordingSession(BOT_USERNAME)
    bot = create_bot(settings, session=session)
    bot._me = User(id=bot.id, is_bot=True, first_name="Bot", username=BOT_USERNAME)
    sender = Sender(bot, db, clock, rate=0, per_chat_interval=0)
    dp = create_dispatcher(settings, db, sender, clock)
    yield Harness(bot=bot, dp=dp, session=session, clock=clock, sender=sender)
    await dp["followup"].stop()
    await bot.session.close()
