"""Run the real bot (`python -m bot`) as a separate process, as a company would run it.

The process gets a clean environment (no `.env` from the repository: its working folder is the
test's own), its log goes to a file the test can read, and it can be stopped politely (SIGTERM)
or killed (SIGKILL) to test what a crash leaves behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.log_path = workdir / "bot.log"
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BOT_", "OWNER_", "TELEGRAM_", "DATABASE_", "WEBHOOK_"))
        }
        env.update(self.env)
        env["PYTHONPATH"] = str(ROOT)
        env.setdefault("LOG_LEVEL", "INFO")
        log = self.log_path.open("ab")
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=self.workdir, env=env, stdout=log, stderr=log
        )
        log.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself; its exit code."""
        proc = self._proc
        assert proc is not None, "not started"
        code = await asyncio.wait_for(proc.wait(), timeout)
        self._proc = None
        return code

    async def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the log contains `text` (polled: the log is a file the process writes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text not in self.log():
            if loop.time() > deadline:
                raise AssertionError(f"{text!r} not in the log after {timeout}s:\n{self.log()}")
            await asyncio.sleep(0.2)

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as systemd or Docker would send, and wait for a clean exit."""
        return await self._end(signal.SIGTERM, timeout)

    async def kill(self) -> int:
        """SIGKILL: a crash. Nothing in the process gets to clean up."""
        return await self._end(signal.SIGKILL, 10.0)

    async def _end(self, sig: signal.Signals, timeout: float) -> int:
        proc = self._proc
        assert proc is not None, "not started"
        if proc.returncode is None:
            proc.send_signal(sig)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise AssertionError(f"the bot did not stop on {sig.name}:\n{self.log()}") from None
        self._proc = None
        return proc.returncode if proc.returncode is not None else -1

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
