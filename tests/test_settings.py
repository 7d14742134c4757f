"""Settings: parsed once, typed, immutable; every bad value named in one clear line."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.harness import TOKEN

ROOT = Path(__file__).resolve().parent.parent


def test_defaults() -> None:
    s = load_settings({"BOT_TOKEN": TOKEN})
    assert s.owner_ids == frozenset()
    assert s.database_path == Path("data/bot.sqlite3")
    assert s.telegram_api_url is None
    assert s.timezone.key == "Europe/Moscow"
    assert s.default_language == "ru"
    assert s.phone_region == "RU" and s.send_rate == 28.5
    assert (s.cadence.respondent_start, s.cadence.respondent_end) == (time(10), time(20))


def test_respondent_hours_parsed() -> None:
    s = load_settings({"BOT_TOKEN": TOKEN, "RESPONDENT_HOURS": " 09:30 - 21:00 "})
    assert (s.cadence.respondent_start, s.cadence.respondent_end) == (time(9, 30), time(21))
    assert (s.cadence.work_start, s.cadence.work_end) == (time(9), time(18))  # untouched


def test_all_values_parsed() -> None:
    s = load_settings(
        {
            "BOT_TOKEN": f"  {TOKEN} ",
            "OWNER_IDS": "111, 222,,333",
            "DATABASE_PATH": "/tmp/x/bot.db",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "TIMEZONE": "Asia/Novosibirsk",
            "COMPANY_NAME": "ООО «Ромашка»",
            "DEFAULT_LANGUAGE": "EN",
        }
    )
    assert s.owner_ids == {111, 222, 333}
    assert s.telegram_api_url == "http://127.0.0.1:8081"
    assert s.timezone.key == "Asia/Novosibirsk"
    assert s.company_name == "ООО «Ромашка»"
    assert s.default_language == "en"


def test_settings_are_immutable_and_hide_the_token() -> None:
    s = load_settings({"BOT_TOKEN": TOKEN})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.company_name = "x"  # type: ignore[misc]
    assert TOKEN not in repr(s)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "   "}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN does not look like a bot token"),
        ({"BOT_TOKEN": "123:short"}, "BOT_TOKEN does not look like a bot token"),
        ({"BOT_TOKEN": TOKEN, "OWNER_IDS": "111,abc"}, "OWNER_IDS must be"),
        ({"BOT_TOKEN": TOKEN, "OWNER_IDS": "-5"}, "OWNER_IDS must be"),
        ({"BOT_TOKEN": TOKEN, "TIMEZONE": "Moscow"}, "TIMEZONE must be an IANA"),
        ({"BOT_TOKEN": TOKEN, "DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE must be one of ru, en"),
        ({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "localhost:8081"}, "TELEGRAM_API_URL must be"),
        ({"BOT_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
        ({"BOT_TOKEN": TOKEN, "COMPANY_NAME": "x" * 101}, "COMPANY_NAME must be"),
        ({"BOT_TOKEN": TOKEN, "PHONE_REGION": "XX"}, "PHONE_REGION must be"),
        ({"BOT_TOKEN": TOKEN, "SEND_RATE": "fast"}, "SEND_RATE must be"),
        ({"BOT_TOKEN": TOKEN, "SEND_RATE": "100"}, "SEND_RATE must be"),
        ({"BOT_TOKEN": TOKEN, "RESPONDENT_HOURS": "10:00"}, "RESPONDENT_HOURS must be like"),
        ({"BOT_TOKEN": TOKEN, "RESPONDENT_HOURS": "10-20"}, "RESPONDENT_HOURS must be a time"),
        ({"BOT_TOKEN": TOKEN, "RESPONDENT_HOURS": "20:00-10:00"}, "RESPONDENT_HOURS must end"),
        ({"BOT_TOKEN": TOKEN, "RESPONDENT_HOURS": "10:00-25:00"}, "RESPONDENT_HOURS must be a"),
        ({"BOT_TOKEN": TOKEN, "WORK_HOURS": "18:00-09:00"}, "WORK_HOURS must end after"),
    ],
)
def test_invalid_values_are_named(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(env)


def test_database_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATABASE_PATH must be a file path"):
        load_settings({"BOT_TOKEN": TOKEN, "DATABASE_PATH": str(tmp_path)})


def _run_bot(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OWNER_"))}
    clean.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_process_without_token_prints_one_clear_line(tmp_path: Path) -> None:
    result = _run_bot(tmp_path, {})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "BOT_TOKEN" in lines[0] and ".env.example" in lines[0]
    assert "Traceback" not in result.stderr


def test_process_reads_dotenv_and_names_bad_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nTIMEZONE=Mars/Olympus\n")
    result = _run_bot(tmp_path, {})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: TIMEZONE must be an IANA time zone name such as Europe/Moscow; "
        "got 'Mars/Olympus'."
    )
