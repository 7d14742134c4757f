"""The bot's settings as a typed, immutable value: what every layer may take, with no I/O.

Reading them from the environment (and checking each value) is bot/config.py's `load_settings`:
the type lives here so that storage, views and the scheduler can take `Settings` without
importing the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

SUPPORTED_LANGUAGES = ("ru", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Cadence:
    """The follow-up rules' settings (method sections 3–6, 9, 10 of the product brief)."""

    digest_time: time = time(9, 0)
    workdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    # The bot writes first to respondents (nudges, greetings, questions) only in these hours.
    respondent_start: time = time(10, 0)
    respondent_end: time = time(20, 0)
    offer_min_days: int = 30
    offer_max_days: int = 60
    birthday_lead_days: int = 3
    refresh_after_days: int = 180
    passive_after_days: int = 180
    contact_min_days: int = 7
    nudge_after_hours: int = 24
    resend_after_days: int = 3
    case_take_hours: int = 4
    case_resolve_days: int = 2
    max_call_attempts: int = 3


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str = field(repr=False)
    owner_ids: frozenset[int] = frozenset()
    database_path: Path = Path("data/bot.sqlite3")
    telegram_api_url: str | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    company_name: str = "Наша компания"
    # The name in English texts; empty: English texts use `company_name` too.
    company_name_en: str = ""
    default_language: str = "ru"
    log_level: str = "INFO"
    phone_region: str = "RU"
    send_rate: float = 28.5  # bench/bench_sender.py: 0 global 429s at 30/s
    # How long one Bot API request may take, and how long one call may keep retrying Telegram's
    # transient errors (429, 5xx, a connection lost before the answer): see bot/retries.py.
    telegram_timeout: int = 30
    telegram_retry_seconds: int = 30
    backup_keep: int = 14
    # Webhook mode when webhook_url is set (Telegram posts updates to it); long polling otherwise.
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8080
    # Signed webhooks out (scheduler/webhooks.py): seconds one delivery may take, and how many
    # deliveries may be out at once, so a slow receiver never holds up more than its slot.
    hooks_timeout: int = 10
    hooks_max_in_flight: int = 4
    # Webhooks may go to internal addresses (127.0.0.1, 10/8, 192.168/16, ...): off, so an owner
    # or an API token cannot make the bot reach its own network (SSRF); on for a receiver there.
    hooks_allow_private: bool = False
    cadence: Cadence = field(default_factory=lambda: Cadence())
    # The HTTP API (api/): served by the webhook server in webhook mode; in long polling by a
    # server of its own, only when api_port is set. At most api_rate requests a second per token.
    api_port: int | None = None
    api_listen: str = "127.0.0.1"
    api_rate: float = 10.0
    api_public_url: str | None = None  # the base of the QR URLs answered (default: the request's)
    # Test-only: the clock starts at this instant (and then runs), so an end-to-end test can run
    # the real process "tomorrow at 09:00". Never set in production.
    test_clock_start: datetime | None = None

    def company(self, lang: str) -> str:
        """The company's name for a reader of `lang`: the English name in English texts when
        one is set, the Russian name otherwise."""
        if lang == "en" and self.company_name_en:
            return self.company_name_en
        return self.company_name
