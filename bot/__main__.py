"""`python -m bot`: read the settings, then run the bot until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from dotenv import load_dotenv

from bot.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    load_dotenv(".env", override=False)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2

    from bot.app import run
    from bot.instance import AlreadyRunning, InstanceLock
    from bot.logs import setup_logging

    setup_logging(settings.log_level, [settings.bot_token])
    lock = InstanceLock(settings.database_path)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"Not started: {exc}", file=sys.stderr)
        return 3
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the normal way to stop
            asyncio.run(run(settings))
    except ConfigError as exc:  # found only by asking Telegram (a revoked token)
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
