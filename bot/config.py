"""Settings: read once from the environment (and `.env`) into an immutable, typed object.

Every value is validated here, so a bad `.env` stops start-up with one line that names the setting
and what is expected, instead of a traceback deep inside aiogram. Handlers never read `os.environ`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, time
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from domain.settings import SUPPORTED_LANGUAGES, WEEKDAYS, Cadence, Settings

DEFAULT_API_URL = "https://api.telegram.org"

# "<bot id>:<secret>": the id is digits, the secret is 35 characters of base64url in practice.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")
# Telegram's rule for setWebhook's secret_token (sent back in X-Telegram-Bot-Api-Secret-Token).
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# api.telegram.org delivers webhooks only to these ports; a local Bot API server to any.
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)


class ConfigError(Exception):
    """A setting is missing or invalid. The message is shown to the person starting the bot."""


def load_settings(env: Mapping[str, str]) -> Settings:
    """The settings from the environment, each value checked; ConfigError names a wrong one."""

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
    api_url = _parse_url(get("TELEGRAM_API_URL"))
    webhook_url, webhook_secret = _parse_webhook(
        get("WEBHOOK_URL"), get("WEBHOOK_SECRET"), local_api=api_url is not None
    )
    return Settings(
        bot_token=token,
        owner_ids=_parse_owner_ids(get("OWNER_IDS")),
        database_path=_parse_path(get("DATABASE_PATH")),
        telegram_api_url=api_url,
        timezone=_parse_timezone(get("TIMEZONE")),
        company_name=_parse_company(get("COMPANY_NAME")),
        company_name_en=_parse_company(get("COMPANY_NAME_EN"), "COMPANY_NAME_EN", ""),
        default_language=_parse_language(get("DEFAULT_LANGUAGE")),
        log_level=_parse_log_level(get("LOG_LEVEL")),
        phone_region=_parse_region(get("PHONE_REGION")),
        send_rate=_parse_send_rate(get("SEND_RATE")),
        telegram_timeout=_parse_int("TELEGRAM_TIMEOUT", get("TELEGRAM_TIMEOUT"), 30, 1, 300),
        telegram_retry_seconds=_parse_int(
            "TELEGRAM_RETRY_SECONDS", get("TELEGRAM_RETRY_SECONDS"), 30, 0, 600
        ),
        backup_keep=_parse_int("BACKUP_KEEP", get("BACKUP_KEEP"), 14, 1, 365),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_listen=_parse_listen(get("WEBHOOK_LISTEN")),
        webhook_port=_parse_int("WEBHOOK_PORT", get("WEBHOOK_PORT"), 8080, 1, 65535),
        hooks_timeout=_parse_int("HOOKS_TIMEOUT", get("HOOKS_TIMEOUT"), 10, 1, 120),
        hooks_max_in_flight=_parse_int("HOOKS_MAX_IN_FLIGHT", get("HOOKS_MAX_IN_FLIGHT"), 4, 1, 64),
        hooks_allow_private=_parse_flag("HOOKS_ALLOW_PRIVATE", get("HOOKS_ALLOW_PRIVATE")),
        cadence=_parse_cadence(get),
        api_port=_parse_api_port(get("API_PORT")),
        api_listen=_parse_listen(get("API_LISTEN"), "127.0.0.1", "API_LISTEN"),
        api_rate=_parse_api_rate(get("API_RATE")),
        api_public_url=_parse_public_url(get("API_PUBLIC_URL")),
        test_clock_start=_parse_instant("TEST_CLOCK_START", get("TEST_CLOCK_START")),
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


def _parse_webhook(
    raw_url: str | None, raw_secret: str | None, *, local_api: bool
) -> tuple[str | None, str | None]:
    """WEBHOOK_URL and WEBHOOK_SECRET. api.telegram.org only posts to https on a few ports; a
    local Bot API server (TELEGRAM_API_URL set) also to plain http, as in the tests."""
    if raw_secret is not None and not _WEBHOOK_SECRET_RE.match(raw_secret):
        raise ConfigError(
            "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's "
            'rule); make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    if raw_url is None:
        return None, None
    parsed = urlparse(raw_url)
    allowed = ("https", "http") if local_api else ("https",)
    if parsed.scheme not in allowed or not parsed.hostname:
        raise ConfigError(
            f"WEBHOOK_URL must be the bot's public https URL, e.g. "
            f"https://bot.example.com/tg/webhook; got {raw_url!r}."
        )
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(f"WEBHOOK_URL has an invalid port; got {raw_url!r}.") from None
    if not local_api and port not in TELEGRAM_WEBHOOK_PORTS:
        raise ConfigError(
            f"WEBHOOK_URL port must be one of 443, 80, 88 or 8443 (Telegram posts nowhere "
            f"else); got {port}. Put a reverse proxy on one of them."
        )
    if parsed.path.rstrip("/") == "/healthz" or parsed.query or parsed.fragment:
        raise ConfigError(
            f"WEBHOOK_URL must have a plain path other than /healthz, e.g. /tg/webhook; "
            f"got {raw_url!r}."
        )
    if raw_secret is None:
        raise ConfigError(
            "WEBHOOK_SECRET is required with WEBHOOK_URL: Telegram sends it with every update "
            "so the bot can refuse anyone else; make one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return raw_url, raw_secret


def _parse_listen(raw: str | None, default: str = "0.0.0.0", name: str = "WEBHOOK_LISTEN") -> str:
    host = raw or default
    if not re.fullmatch(r"[A-Za-z0-9.:_-]+", host):
        raise ConfigError(
            f"{name} must be an address to listen on, such as 0.0.0.0 or 127.0.0.1; got {raw!r}."
        )
    return host


def _parse_api_port(raw: str | None) -> int | None:
    if raw is None:
        return None
    return _parse_int("API_PORT", raw, 8081, 1, 65535)


def _parse_api_rate(raw: str | None) -> float:
    try:
        rate = float(raw) if raw is not None else 10.0
    except ValueError:
        rate = -1.0
    if not 0.1 <= rate <= 10_000:
        raise ConfigError(
            f"API_RATE must be the requests a second one API token may make, 0.1-10000; "
            f"got {raw!r}."
        )
    return rate


def _parse_public_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"API_PUBLIC_URL must be the API's public base URL, such as https://bot.example.com; "
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


def _parse_company(
    raw: str | None, setting: str = "COMPANY_NAME", default: str = "Наша компания"
) -> str:
    name = raw or default
    if len(name) > 100:
        raise ConfigError(f"{setting} must be at most 100 characters.")
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
        return 28.5
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 1 <= rate <= 30:
        raise ConfigError(
            f"SEND_RATE must be a number of messages per second from 1 to 30; got {raw!r}."
        )
    return rate


def _parse_time(name: str, raw: str | None, default: time) -> time:
    if raw is None:
        return default
    try:
        hours, minutes = raw.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{name} must be a time as HH:MM, e.g. 09:00; got {raw!r}.") from None


def _parse_int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}; got {raw!r}.")
    return value


def _parse_flag(name: str, raw: str | None) -> bool:
    if raw is None:
        return False
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 (on) or 0 (off); got {raw!r}.")


def _parse_workdays(raw: str | None) -> frozenset[int]:
    """`mon-fri`, `mon,tue,thu` or a mix like `mon-wed,fri`."""
    if raw is None:
        return frozenset(range(5))
    days: set[int] = set()
    for part in raw.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ConfigError(
                f"WORKDAYS must list days as mon,tue,… or a range like mon-fri; got {raw!r}."
            )
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if last else start
        if end < start:
            raise ConfigError(f"WORKDAYS range {part!r} goes backwards; write it as mon-fri.")
        days.update(range(start, end + 1))
    return frozenset(days)


def _parse_hours(name: str, raw: str | None, default: tuple[time, time]) -> tuple[time, time]:
    """`HH:MM-HH:MM` within one day, e.g. 09:00-18:00."""
    if raw is None:
        return default
    example = f"{default[0]:%H:%M}-{default[1]:%H:%M}"
    start_raw, sep, end_raw = raw.partition("-")
    if not sep:
        raise ConfigError(f"{name} must be like {example}; got {raw!r}.")
    start = _parse_time(name, start_raw.strip(), default[0])
    end = _parse_time(name, end_raw.strip(), default[1])
    if end <= start:
        raise ConfigError(f"{name} must end after it starts; got {raw!r}.")
    return start, end


def _parse_cadence(get: Callable[[str], str | None]) -> Cadence:
    work_start, work_end = _parse_hours("WORK_HOURS", get("WORK_HOURS"), (time(9, 0), time(18, 0)))
    respondent_start, respondent_end = _parse_hours(
        "RESPONDENT_HOURS", get("RESPONDENT_HOURS"), (time(10, 0), time(20, 0))
    )
    cadence = Cadence(
        digest_time=_parse_time("DIGEST_TIME", get("DIGEST_TIME"), time(9, 0)),
        workdays=_parse_workdays(get("WORKDAYS")),
        work_start=work_start,
        work_end=work_end,
        respondent_start=respondent_start,
        respondent_end=respondent_end,
        offer_min_days=_parse_int("OFFER_MIN_DAYS", get("OFFER_MIN_DAYS"), 30, 1, 365),
        offer_max_days=_parse_int("OFFER_MAX_DAYS", get("OFFER_MAX_DAYS"), 60, 1, 730),
        birthday_lead_days=_parse_int("BIRTHDAY_LEAD_DAYS", get("BIRTHDAY_LEAD_DAYS"), 3, 0, 30),
        refresh_after_days=_parse_int("REFRESH_AFTER_DAYS", get("REFRESH_AFTER_DAYS"), 180, 7, 730),
        passive_after_days=_parse_int(
            "PASSIVE_AFTER_DAYS", get("PASSIVE_AFTER_DAYS"), 180, 7, 1825
        ),
        contact_min_days=_parse_int("CONTACT_MIN_DAYS", get("CONTACT_MIN_DAYS"), 7, 0, 90),
        nudge_after_hours=_parse_int("NUDGE_AFTER_HOURS", get("NUDGE_AFTER_HOURS"), 24, 1, 168),
        resend_after_days=_parse_int("RESEND_AFTER_DAYS", get("RESEND_AFTER_DAYS"), 3, 1, 30),
        case_take_hours=_parse_int("CASE_TAKE_HOURS", get("CASE_TAKE_HOURS"), 4, 1, 72),
        case_resolve_days=_parse_int("CASE_RESOLVE_DAYS", get("CASE_RESOLVE_DAYS"), 2, 1, 30),
        max_call_attempts=_parse_int("MAX_CALL_ATTEMPTS", get("MAX_CALL_ATTEMPTS"), 3, 1, 10),
    )
    if not cadence.workdays:
        raise ConfigError("WORKDAYS must name at least one day.")
    if cadence.offer_max_days < cadence.offer_min_days:
        raise ConfigError("OFFER_MAX_DAYS must not be smaller than OFFER_MIN_DAYS.")
    return cadence


def _parse_instant(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ConfigError(
            f"{name} must be an ISO instant with a zone, e.g. 2026-11-21T09:00+03:00."
        )
    return value


def database_path_from_env(env: Mapping[str, str]) -> Path:
    """Only DATABASE_PATH, for commands that need no bot token (`python -m bot backup`)."""
    raw = (env.get("DATABASE_PATH") or "").strip()
    return _parse_path(raw or None)


def timezone_from_env(env: Mapping[str, str]) -> ZoneInfo:
    """Only TIMEZONE, for commands that need no bot token (`python -m bot rebuild-figures`)."""
    return _parse_timezone((env.get("TIMEZONE") or "").strip() or None)
