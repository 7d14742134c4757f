"""How long `python -m bot` takes to start, and how much memory it holds idle, at several commits.

    python -m bench.bench_startup                       # this tree
    python -m bench.bench_startup --at a7bca5d --at .   # before the lazy imports (dd8301d), and now

Each run starts the real process, as a company would, against the fake Bot API of this tree
(tests/fakes/bot_api.py) with a fresh database in a temp folder, and reads: the time from the
spawn to the first `getUpdates` (imports, migrations, the commands menu, the scheduler); the CPU
time the process used for it (which a loaded machine inflates less than the wall time); its VmRSS
after 10 s idle; whether matplotlib's compiled modules are mapped. Median of 5 runs (`--runs`).
Another commit is checked out into a temporary detached worktree and run with this tree's
virtualenv on its PYTHONPATH (its runtime dependencies must be the same; the lazy imports changed
none); the worktree is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fakes.bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
OWNER = 111
IDLE = 10.0


def vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (robust to a loaded machine, unlike wall)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def maps_matplotlib(pid: int) -> bool:
    return "/matplotlib/" in Path(f"/proc/{pid}/maps").read_text()


async def one_run(tree: Path) -> tuple[float, float, bool, float]:
    api = FakeBotAPI(TOKEN)
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="startup-") as folder:
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("BOT_", "OWNER_", "TELEGRAM_", "DATABASE_", "WEBHOOK_"))
            }
            env.update(
                BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=api.url,
                OWNER_IDS=str(OWNER),
                DATABASE_PATH=str(Path(folder) / "data" / "bot.sqlite3"),
                PYTHONPATH=str(tree),
                LOG_LEVEL="INFO",
            )
            log = (Path(folder) / "bot.log").open("wb")
            start = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=folder, env=env, stdout=log, stderr=log
            )
            log.close()
            try:
                await api.wait_calls("getUpdates", 1, timeout=120)
                ready = time.perf_counter() - start
                cpu = cpu_seconds(proc.pid)
                await asyncio.sleep(IDLE)
                rss = vm_rss_mib(proc.pid)
                plots = maps_matplotlib(proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    finally:
        await api.stop()
    return ready, rss, plots, cpu


def compile_all(tree: Path) -> None:
    """Compile first, so no run pays for writing __pycache__ (a fresh worktree has none)."""
    for package in ("bot", "handlers", "storage", "scheduler", "domain", "views"):
        if (tree / package).is_dir():
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(tree / package)], check=False
            )


@contextmanager
def checkout(rev: str) -> Iterator[tuple[Path, str]]:
    """(the tree to run, its commit): this tree for ".", else a temporary detached worktree."""
    if rev == ".":
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        compile_all(ROOT)
        yield ROOT, f"{commit} (this tree)"
        return
    folder = Path(tempfile.mkdtemp(prefix="startup-tree-"))
    tree = folder / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    try:
        compile_all(tree)
        yield tree, rev
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


async def measure(
    revs: list[str], runs: int
) -> list[tuple[str, list[tuple[float, float, bool, float]]]]:
    results = []
    for rev in revs:
        with checkout(rev) as (tree, label):
            samples = []
            for i in range(runs):
                sample = await one_run(tree)
                print(
                    f"  {label} run {i + 1}: first getUpdates after {sample[0]:.2f} s "
                    f"({sample[3]:.2f} s CPU), "
                    f"VmRSS {sample[1]:.0f} MiB, matplotlib mapped: {sample[2]}",
                    flush=True,
                )
                samples.append(sample)
            results.append((label, samples))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", action="append", help="a commit, or . for this tree (repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(measure(args.at or ["."], args.runs))
    print(f"\nmedian of {args.runs} runs, VmRSS after {IDLE:.0f} s idle")
    print(
        "| commit | to the first getUpdates, s (range) | its CPU time, s | "
        "idle VmRSS, MiB (range) | matplotlib |"
    )
    print("|---|---:|---:|---:|---|")
    for label, samples in results:
        ready = [s[0] for s in samples]
        rss = [s[1] for s in samples]
        cpu = statistics.median(s[3] for s in samples)
        print(
            f"| {label} | {statistics.median(ready):.2f} ({min(ready):.2f}–{max(ready):.2f}) | "
            f"{cpu:.2f} | "
            f"{statistics.median(rss):.0f} ({min(rss):.0f}–{max(rss):.0f}) | "
            f"{'loaded' if any(s[2] for s in samples) else 'not loaded'} |"
        )


if __name__ == "__main__":
    main()
