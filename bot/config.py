"""Settings: read once from the environment (and `.env`) into an immutable, typed object.

Every value is validated here, so a bad `.env` stops start-up with one line that names the setting
and what is expected, instead of a traceback deep inside aiogram. Handlers never read `os.environ`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

SUPPORTED_LANGUAGES = ("ru", "en")
DEFAULT_API_URL = "https://api.telegram.org"

# "<bot id>:<secret>": the id is digits, the secret is 35 characters of base64url in practice.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")


class ConfigError(Exception):
    """A setting is missing or invalid. The message is shown to the person starting the bot."""


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str = field(repr=False)
    owner_ids: frozenset[int] = frozenset()
    database_path: Path = Path("data/bot.sqlite3")
    telegram_api_url: str | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    company_name: str = "Наша компания"
    default_language: str = "ru"
    log_level: str = "INFO"
    phone_region: str = "RU"
    send_rate: float = 25.0

    @property
    def bot_id(self) -> int:
        return int(self.bot_token.split(":", 1)[0])

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(name)
            if value is None:
                return None
            value = value.strip()
            return value or None

        token = get("BOT_TOKEN")
        if token is None:
            raise ConfigError(
                "BOT_TOKEN is not set: put the token from @BotFather into .env "
                "(see .env.example) or the environment."
            )
        if not _TOKEN_RE.match(token):
            raise ConfigError(
                "BOT_TOKEN does not look like a bot token (expected '<digits>:<35 characters>' "
                "from @BotFather); see .env.example."
            )
        return cls(
            bot_token=token,
            owner_ids=_parse_owner_ids(get("OWNER_IDS")),
            database_path=_parse_path(get("DATABASE_PATH")),
            telegram_api_url=_parse_url(get("TELEGRAM_API_URL")),
            timezone=_parse_timezone(get("TIMEZONE")),
            company_name=_parse_company(get("COMPANY_NAME")),
            default_language=_parse_language(get("DEFAULT_LANGUAGE")),
            log_level=_parse_log_level(get("LOG_LEVEL")),
            phone_region=_parse_region(get("PHONE_REGION")),
            send_rate=_parse_send_rate(get("SEND_RATE")),
        )


def _parse_owner_ids(raw: str | None) -> frozenset[int]:
    if raw is None:
        return frozenset()
    ids: set[int] = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            raise ConfigError(
                f"OWNER_IDS must be comma-separated numeric Telegram user ids "
                f"(e.g. 123456789,987654321); got {part!r}."
            )
        ids.add(int(part))
    return frozenset(ids)


def _parse_path(raw: str | None) -> Path:
    path = Path(raw) if raw else Path("data/bot.sqlite3")
    if path.exists() and path.is_dir():
        raise ConfigError(f"DATABASE_PATH must be a file path, but {str(path)!r} is a folder.")
    return path


def _parse_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"TELEGRAM_API_URL must be an http(s) base URL such as http://localhost:8081; "
            f"got {raw!r}."
        )
    return raw.rstrip("/")


def _parse_timezone(raw: str | None) -> ZoneInfo:
    name = raw or "Europe/Moscow"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"TIMEZONE must be an IANA time zone name such as Europe/Moscow; got {name!r}."
        ) from None


def _parse_company(raw: str | None) -> str:
    name = raw or "Наша компания"
    if len(name) > 100:
        raise ConfigError("COMPANY_NAME must be at most 100 characters.")
    return name


def _parse_language(raw: str | None) -> str:
    lang = (raw or "ru").lower()
    if lang not in SUPPORTED_LANGUAGES:
        raise ConfigError(
            f"DEFAULT_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}; got {raw!r}."
        )
    return lang


def _parse_log_level(raw: str | None) -> str:
    level = (raw or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got {raw!r}.")
    return level


def _parse_region(raw: str | None) -> str:
    region = (raw or "RU").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"PHONE_REGION must be a two-letter country code such as RU or NO; got {raw!r}."
        )
    return region


def _parse_send_rate(raw: str | None) -> float:
    if raw is None:
        return 25.0
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 1 <= rate <= 30:
        raise ConfigError(
            f"SEND_RATE must be a number of messages per second from 1 to 30; got {raw!r}."
        )
    return rate
