"""`python -m bot`: read the settings, then run the bot until stopped.

A stop (SIGTERM from systemd or Docker, Ctrl+C) can come at any moment, also while the bot is
still starting (migrating the database, waiting for the Bot API): before the poller or the
webhook server install their own handlers, SIGTERM is turned into the KeyboardInterrupt Python
raises for Ctrl+C, so both unwind start-up the same way (the database closed, the instance lock
released) and the process exits 0 without a traceback, instead of dying by the signal's default
action."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from dotenv import load_dotenv

from bot.config import ConfigError, database_path_from_env, load_settings, timezone_from_env


def backup(args: list[str]) -> int:
    """`python -m bot backup PATH`: an online backup of the database (the bot may be running)."""
    from storage.backup import backup_file

    if len(args) != 1:
        print("Usage: python -m bot backup PATH", file=sys.stderr)
        return 2
    try:
        source = database_path_from_env(os.environ)
        target = backup_file(source, Path(args[0]))
    except (ConfigError, FileNotFoundError) as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"Backup of {source} written to {target} ({target.stat().st_size // 1024} KiB)")
    return 0


def rebuild_figures(args: list[str]) -> int:
    """`python -m bot rebuild-figures`: the per-day figures made again from the raw answers,
    cases and deals (the bot may be running: it is one write transaction); prints the sums
    before and after."""
    import asyncio
    import time

    from storage import Database
    from storage.figures import fill_offsets, rebuild_figures, totals

    if args:
        print("Usage: python -m bot rebuild-figures", file=sys.stderr)
        return 2
    try:
        path = database_path_from_env(os.environ)
        tz = timezone_from_env(os.environ)
    except ConfigError as exc:
        print(f"Rebuild failed: {exc}", file=sys.stderr)
        return 2
    if not path.exists():
        print(f"Rebuild failed: no database at {path}", file=sys.stderr)
        return 2

    async def rebuild() -> tuple[dict[str, int], dict[str, int], float]:
        db = Database(path, timezone=tz)
        await db.open()
        try:
            began = time.monotonic()
            async with db.transaction() as conn:
                before = await totals(conn)
                await fill_offsets(conn, tz)
                await rebuild_figures(conn)
                after = await totals(conn)
            return before, after, time.monotonic() - began
        finally:
            await db.close()

    before, after, seconds = asyncio.run(rebuild())
    print(f"Per-day figures of {path} rebuilt for {tz.key} in {seconds:.1f} s")
    for name, value in after.items():
        mark = "" if before[name] == value else "   (was different)"
        print(f"  {name}: {before[name]} -> {value}{mark}")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    load_dotenv(".env", override=False)
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "backup":
        return backup(args[1:])
    if args and args[0] == "rebuild-figures":
        return rebuild_figures(args[1:])
    if args:
        print(
            "Usage: python -m bot                  (run the bot)\n"
            "       python -m bot backup PATH       (an online backup of the database)\n"
            "       python -m bot rebuild-figures   (make the per-day figures again)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run_bot()
    except KeyboardInterrupt:  # stopped while starting: nothing is running yet
        return 0


def _run_bot() -> int:
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2

    from bot.app import run
    from bot.instance import AlreadyRunning, InstanceLock
    from bot.logs import setup_logging

    setup_logging(settings.log_level, [settings.bot_token, settings.webhook_secret or ""])
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
