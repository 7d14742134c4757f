"""A launcher that imports the bot once and forks a fresh bot process per start.

`python -m bot` spends most of its start-up importing aiogram (several seconds on a loaded
machine); a test that kills and restarts the bot twenty times would spend minutes on that alone.
This launcher pays for the imports once, then for each request forks a child that sets its own
environment, working folder and log file and calls `bot.__main__.main()`, exactly what
`python -m bot` runs. Each child is a separate OS process: SIGKILL ends it as abruptly as any.

Protocol (JSON lines): stdin `{"cwd": ..., "log": ..., "env": {...}}` starts a child and is
answered `{"pid": N}`; when a child ends, `{"exit": N, "code": C}` is written (`-9` for SIGKILL).
"""

from __future__ import annotations

import json
import os
import select
import sys

import bot.__main__ as entry
import bot.app  # noqa: F401 - the expensive imports, done once before any fork


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _say({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _child(request: dict[str, object]) -> None:
    os.chdir(str(request["cwd"]))
    log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    try:
        code = entry.main([])
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0.05)
        _reap()
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            return
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _say({"pid": pid})


if __name__ == "__main__":
    main()
