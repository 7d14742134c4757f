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
import subprocess
import sys
import threading
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
    the same `main()` as `python -m bot`, without paying for the imports at every start
    (about 4.5 s of CPU on this machine, 10 s of wall time under load).

    It talks to the zygote from a thread of its own and keeps no asyncio objects, so one launcher
    serves every test of a run, each in its own event loop (the `launcher` fixture in
    tests/conftest.py); ``async with Launcher() as launcher:`` still makes a private one."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._spawning = threading.Lock()
        self._changed = threading.Condition()
        self._started: list[int] = []
        self._exits: dict[int, int] = {}
        self._children: set[int] = set()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def open(self) -> Launcher:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.zygote"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read, name="zygote-reader", daemon=True)
        self._reader.start()
        return self

    def close(self) -> None:
        proc = self._proc
        if proc is None:
            return
        for pid in self._children - set(self._exits):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        self._proc = None

    async def __aenter__(self) -> Launcher:
        return self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def bot(self, workdir: Path, env: dict[str, str]) -> ForkedBot:
        return ForkedBot(self, workdir, env)

    async def _spawn(self, workdir: Path, log_path: Path, env: dict[str, str]) -> int:
        request = {"cwd": str(workdir), "log": str(log_path), "env": env}
        return await asyncio.to_thread(self._spawn_now, (json.dumps(request) + "\n").encode())

    def _spawn_now(self, request: bytes) -> int:
        proc = self._proc
        assert proc is not None and proc.stdin is not None, "the launcher is not open"
        with self._spawning:  # one request at a time: the zygote answers them in order
            proc.stdin.write(request)
            proc.stdin.flush()
            with self._changed:
                if not self._changed.wait_for(lambda: self._started, timeout=30):
                    raise AssertionError("the launcher did not start a bot within 30 s")
                pid = self._started.pop(0)
        self._children.add(pid)
        return pid

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            return self._exits.get(pid)

    async def wait_exit(self, pid: int, timeout: float) -> int:
        """The exit code of child `pid`, once it has ended (TimeoutError after `timeout`)."""
        changed = asyncio.Event()
        waiter = (asyncio.get_running_loop(), changed)
        with self._changed:
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                while (code := self.exit_code(pid)) is None:
                    await changed.wait()
                    changed.clear()
        finally:
            with self._changed:
                self._waiters.remove(waiter)
        return code

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            message = json.loads(line)
            with self._changed:
                if "pid" in message:
                    self._started.append(message["pid"])
                else:
                    self._exits[message["exit"]] = message["code"]
                    for loop, changed in self._waiters:
                        with contextlib.suppress(RuntimeError):  # that test's loop is closed
                            loop.call_soon_threadsafe(changed.set)
                self._changed.notify_all()


class ForkedBot(BotProcess):
    """A bot process made by a `Launcher`; the same interface as `BotProcess`."""

    def __init__(self, launcher: Launcher, workdir: Path, env: dict[str, str]) -> None:
        super().__init__(workdir, env)
        self._launcher = launcher
        self._pid: int | None = None

    async def start(self) -> None:
        _check_allowed()
        self.log_path.touch()  # as `BotProcess.start` does: the log exists once start() returns
        self._pid = await self._launcher._spawn(self.workdir, self.log_path, self.process_env())

    @property
    def running(self) -> bool:
        return self._pid is not None and self._launcher.exit_code(self._pid) is None

    async def wait(self, timeout: float = 30.0) -> int:
        assert self._pid is not None, "not started"
        code = await self._launcher.wait_exit(self._pid, timeout)
        self._pid = None
        return code

    async def _end(self, sig: signal.Signals, timeout: float) -> int:
        pid = self._pid
        assert pid is not None, "not started"
        if self._launcher.exit_code(pid) is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            try:
                await self._launcher.wait_exit(pid, timeout)
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                await self._launcher.wait_exit(pid, 10.0)
                raise AssertionError(f"the bot did not stop on {sig.name}:\n{self.log()}") from None
        self._pid = None
        code = self._launcher.exit_code(pid)
        assert code is not None
        return code
