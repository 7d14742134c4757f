"""Run the real bot (`python -m bot`) as a separate process, as a company would run it.

The process gets a clean environment (no `.env` from the repository: its working folder is the
test's own), its log goes to a file the test can read, and it can be stopped politely (SIGTERM)
or killed (SIGKILL) to test what a crash leaves behind. `Launcher` makes such processes by forking
one that has already imported the bot, for tests that restart it many times.

A test that starts a process must be marked `e2e` (the fast lane, `pytest -m "not e2e"`, leaves
those out): `tests/conftest.py` sets `E2E_ALLOWED` per test, and starting a process in a test
without the mark fails it at once rather than slowing the fast lane down unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

E2E_ALLOWED = True
"""False while a test without the `e2e` mark runs (set by tests/conftest.py; benches may start
processes freely)."""


def _check_allowed() -> None:
    if not E2E_ALLOWED:
        raise AssertionError(
            "this test starts the real bot process: mark it @pytest.mark.e2e (see pyproject.toml)"
        )


class BotProcess:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.log_path = workdir / "bot.log"
        self._proc: asyncio.subprocess.Process | None = None

    def process_env(self) -> dict[str, str]:
        """The machine's environment without the bot's own settings, then the test's."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BOT_", "OWNER_", "TELEGRAM_", "DATABASE_", "WEBHOOK_"))
        }
        env.update(self.env)
        env["PYTHONPATH"] = str(ROOT)
        env.setdefault("LOG_LEVEL", "INFO")
        return env

    async def start(self) -> None:
        _check_allowed()
        env = self.process_env()
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

    async def signal(self, sig: signal.Signals, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the process to end; its exit code (-N: killed by signal N)."""
        return await self._end(sig, timeout)

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


class Launcher:
    """Starts bot processes forked from one pre-imported launcher (`tests/fakes/zygote.py`):
    the same `main()` as `python -m bot`, without paying for the imports at every restart.
    ``async with Launcher() as launcher: bot = launcher.bot(workdir, env)``."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._started: asyncio.Queue[int] = asyncio.Queue()
        self._exits: dict[int, asyncio.Future[int]] = {}

    async def __aenter__(self) -> Launcher:
        _check_allowed()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT)
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.zygote",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        for pid, exited in self._exits.items():
            if not exited.done():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            self._reader.cancel()

    def bot(self, workdir: Path, env: dict[str, str]) -> ForkedBot:
        return ForkedBot(self, workdir, env)

    async def _spawn(self, workdir: Path, log_path: Path, env: dict[str, str]) -> int:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        request = {"cwd": str(workdir), "log": str(log_path), "env": env}
        proc.stdin.write((json.dumps(request) + "\n").encode())
        await proc.stdin.drain()
        pid = await asyncio.wait_for(self._started.get(), 30)
        self._exits.setdefault(pid, asyncio.get_running_loop().create_future())
        return pid

    async def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        loop = asyncio.get_running_loop()
        while line := await proc.stdout.readline():
            message = json.loads(line)
            if "pid" in message:
                self._exits.setdefault(message["pid"], loop.create_future())
                self._started.put_nowait(message["pid"])
            else:
                exited = self._exits.setdefault(message["exit"], loop.create_future())
                if not exited.done():
                    exited.set_result(message["code"])


class ForkedBot(BotProcess):
    """A bot process made by a `Launcher`; the same interface as `BotProcess`."""

    def __init__(self, launcher: Launcher, workdir: Path, env: dict[str, str]) -> None:
        super().__init__(workdir, env)
        self._launcher = launcher
        self._pid: int | None = None

    async def start(self) -> None:
        _check_allowed()
        self._pid = await self._launcher._spawn(self.workdir, self.log_path, self.process_env())

    @property
    def running(self) -> bool:
        return self._pid is not None and not self._launcher._exits[self._pid].done()

    async def wait(self, timeout: float = 30.0) -> int:
        assert self._pid is not None, "not started"
        code = await asyncio.wait_for(asyncio.shield(self._launcher._exits[self._pid]), timeout)
        self._pid = None
        return code

    async def _end(self, sig: signal.Signals, timeout: float) -> int:
        pid = self._pid
        assert pid is not None, "not started"
        exited = self._launcher._exits[pid]
        if not exited.done():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            try:
                await asyncio.wait_for(asyncio.shield(exited), timeout)
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                await exited
                raise AssertionError(f"the bot did not stop on {sig.name}:\n{self.log()}") from None
        self._pid = None
        return exited.result()
