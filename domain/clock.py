"""The type of the injected clock: every 'now' in the bot comes from one, so tests can move time.

The clocks themselves (the system's, a shifted one for end-to-end tests) are in bot/clock.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
