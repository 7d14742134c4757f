"""Survey updates per second: our bot beside a bare aiogram bot, same fake API, same calls.

    python -m bench.bench_updates               # 300 surveys, 50 in flight, 5 pairs
    python -m bench.bench_updates --surveys 300 --in-flight 50 --pairs 9
    python -m bench.bench_updates --surveys 3 --in-flight 2 --pairs 1 --calls   # list the calls
    python -m bench.bench_updates --pairs 1 --profile /tmp/prof   # where each bot's time goes
    python -m bench.bench_updates --ours-at 66471cd --ours-at .   # two versions of ours, one run

Each run starts one bot as a process of its own — ours (``python -m bot`` on a fresh database
holding ``--surveys`` survey links, each for its own respondent) or the bare one
(bench/bare_bot.py) — against the fast fake Bot API (bench/fake_api.py), which runs in this
process together with the respondents. Closed loop: ``--in-flight`` respondents at a time, each
opening their link (``/start s_<token>``) and answering every question the moment it arrives:
a score (a fifth detractors, half promoters, as bench/generate.py weighs them), the reason typed,
"yes" or "no" to being contacted (``--skip-share``: that share taps "skip" instead of typing
the reason). A respondent who got the thanks makes room for the next. A
detractor's answer also makes our bot queue alerts to the staff (the owner and the manager) in
the outbox, which its sender delivers during the run: that is part of our real load, and the
bare bot has nothing like it.

Measured per run: updates per second (4 per survey, from the first update offered to the last
thanks), the latency from offering an update to the call that carries the next question (or the
thanks) reaching the fake (p50, p95), the bot process's CPU seconds per update (utime + stime
from /proc over the same span) and its peak RSS (VmHWM). Runs alternate (ours, bare, ours, …);
printed are the medians over the pairs, the ratio ours/bare and each figure's min–max. This
process lowers its priority (``nice`` 10) for itself and the bots it starts. ``--ours-at REV``
(repeatable) runs ours from a temporary worktree of that commit instead of this tree, each on a
database its own code made (bench/updates_db.py), so a before and an after share one run's load.

The one non-obvious decision: the fake and the respondents share this process, and the bot has
the other core to itself; a respondent's answer is queued in the same call that records the
question arriving, so the bench adds no hop of its own to the latency it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fake_api import Call, FastFakeAPI

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAHbenchTokenForTimingOnly_abcdefghij"
OWNER_ID = 111  # bench/updates_db.py makes the owner and four managers
FIRST_USER = 10_000_000
CLOCK_START = "2026-11-21T12:00:00+03:00"  # a Saturday noon: no plans due, respondents' hours
SCORES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
WEIGHTS = [1, 1, 1, 2, 2, 4, 6, 10, 14, 22, 20]  # bench/generate.py's: ~a fifth detractors
REASONS = [
    "Быстро и вежливо",
    "Долго ждали доставку",
    "Всё понравилось, спасибо мастеру",
    "Цена выше, чем у конкурентов",
    "Не перезвонили, как обещали",
    "Отличное качество",
]
STEPS = ("start", "score", "reason", "consent")
BARE = "bare"


# ------------------------------------------------------------------------------------------------
# The database: survey links as managers make them
# ------------------------------------------------------------------------------------------------


async def make_database(path: Path, surveys: int, tree: Path = ROOT) -> list[str]:
    """A fresh database of `surveys` links made by `tree`'s own code (bench/updates_db.py, run
    as a process with that tree on its path); the survey tokens, in order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "updates_db.py"),
        str(path),
        str(surveys),
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"making the database at {tree} failed:\n{err.decode()[-3000:]}")
    tokens = out.decode().split()
    assert len(tokens) == surveys, (len(tokens), surveys)
    return tokens


def copy_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


# ------------------------------------------------------------------------------------------------
# Respondents
# ------------------------------------------------------------------------------------------------


@dataclass
class Respondent:
    index: int
    token: str
    score: int
    reason: str
    consent: bool
    skip: bool = False
    """Taps "skip" instead of typing the reason (ours and the bare bot then make 11 calls)."""
    step: int = 0
    """Index into STEPS of the update offered last."""
    offered_at: float = 0.0
    question: Call | None = None
    calls: list[Call] = field(default_factory=list)
    done: bool = False

    @property
    def user_id(self) -> int:
        return FIRST_USER + self.index

    def user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": f"Клиент {self.index}",
            "language_code": "ru",
        }

    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": f"Клиент {self.index}"}


def respondents(tokens: Sequence[str], seed: int = 14, skip_share: float = 0.0) -> list[Respondent]:
    rng, skips = random.Random(seed), random.Random(seed + 1)
    return [
        Respondent(
            n,
            token,
            rng.choices(SCORES, WEIGHTS)[0],
            rng.choice(REASONS),
            rng.random() < 0.6,
            skips.random() < skip_share,
        )
        for n, token in enumerate(tokens)
    ]


@dataclass
class RunResult:
    bot: str
    surveys: int
    completed: int
    updates: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float
    peak_rss_mib: float
    calls_per_survey: list[list[tuple[str, str]]]
    """Per respondent, (method, keyboard kind) of each call the bot made to their chat."""
    other_calls: dict[str, int]
    """Calls to anyone else (our bot's alerts to staff) during the run, by method."""
    driver_cpu_share: float = 0.0
    """CPU of this process (the fake and the respondents) over the run, in cores: near 1.0 the
    bench itself would be the bottleneck."""

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_per_update_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.updates if self.updates else float("nan")


class Crowd:
    """The respondents in flight: reacts to each call the fake receives, offers the next update."""

    def __init__(self, api: FastFakeAPI, people: list[Respondent], in_flight: int) -> None:
        self.api = api
        self.people = people
        self.by_chat = {p.user_id: p for p in people}
        self.in_flight = in_flight
        self.next_person = 0
        self.latencies: list[float] = []
        self.completed = 0
        self.first_offer = 0.0
        self.last_reply = 0.0
        self.other_calls: dict[str, int] = {}
        """Calls to anyone else (our bot's alerts to staff) once the crowd began, by method."""
        self.finished = asyncio.Event()
        """Set when every respondent got the thanks, or on `error`."""
        self.error: str | None = None
        """What went wrong: a question the respondents could not answer (the flow changed)."""
        self._message_ids = 0

    def begin(self) -> None:
        self.first_offer = time.monotonic()
        for _ in range(min(self.in_flight, len(self.people))):
            self._open_next()

    def _open_next(self) -> None:
        if self.next_person >= len(self.people):
            return
        person = self.people[self.next_person]
        self.next_person += 1
        text = f"/start s_{person.token}"
        self._offer(
            person,
            {
                "message": {
                    **self._message_base(person),
                    "text": text,
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                }
            },
        )

    def _message_base(self, person: Respondent) -> dict[str, Any]:
        self._message_ids += 1
        return {
            "message_id": 1_000_000 + self._message_ids,
            "date": int(time.time()),
            "chat": person.chat(),
            "from": person.user(),
        }

    def _offer(self, person: Respondent, update: dict[str, Any]) -> None:
        person.offered_at = time.monotonic()
        self.api.add_update(update)

    def _tap(self, person: Respondent, data: str) -> None:
        question = person.question
        assert question is not None and question.message_id is not None
        message = {
            "message_id": question.message_id,
            "date": int(time.time()),
            "chat": person.chat(),
            "from": self.api.bot_user(),
            "text": question.text or "",
        }
        query = {
            "id": f"{person.user_id}-{person.step}",
            "from": person.user(),
            "chat_instance": f"ci{person.user_id}",
            "data": data,
            "message": message,
        }
        self._offer(person, {"callback_query": query})

    def on_call(self, call: Call) -> None:
        try:
            self._react(call)
        except Exception as exc:  # the run cannot go on: say why instead of timing out
            self.error = f"{type(exc).__name__}: {exc}"
            self.finished.set()

    def _react(self, call: Call) -> None:
        chat_id = call.chat_id
        if chat_id is None and call.query_id is not None:
            head = call.query_id.split("-")[0]  # the respondents' query ids: <user id>-<step>
            chat_id = int(head) if head.isdigit() else None
        person = self.by_chat.get(chat_id) if chat_id is not None else None
        if person is None:
            if self.first_offer:
                self.other_calls[call.method] = self.other_calls.get(call.method, 0) + 1
            return
        person.calls.append(call)
        if call.method != "sendmessage" or person.done:
            return
        step = STEPS[person.step]
        if step == "start" and not call.buttons():
            return  # the greeting: the first question follows
        self.latencies.append(call.at - person.offered_at)
        self.last_reply = call.at
        person.question = call
        if step == "start":
            person.step = 1
            self._tap(person, _button(call, str(person.score)))
        elif step == "score":
            person.step = 2
            if person.skip:
                self._tap(person, _button(call, "Пропустить ➡️"))
            else:
                text = person.reason
                self._offer(person, {"message": {**self._message_base(person), "text": text}})
        elif step == "reason":
            person.step = 3
            self._tap(person, _button(call, "Да" if person.consent else "Нет"))
        else:
            person.done = True
            self.completed += 1
            if self.completed == len(self.people):
                self.finished.set()
            else:
                self._open_next()


def _button(call: Call, text: str) -> str:
    for label, data in call.buttons():
        if label == text:
            return data
    raise AssertionError(f"no button {text!r} in {call.buttons()} ({call.text!r})")


# ------------------------------------------------------------------------------------------------
# The bot process
# ------------------------------------------------------------------------------------------------


def _bot_env(api_url: str, database: Path | None, tree: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BOT_", "OWNER_", "TELEGRAM_", "DATABASE_", "WEBHOOK_", "TEST_"))
    }
    env.update(
        {
            "PYTHONPATH": str(tree),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "OWNER_IDS": str(OWNER_ID),
            "COMPANY_NAME": "Ромашка",
            "TEST_CLOCK_START": CLOCK_START,
            "LOG_LEVEL": "INFO",
        }
    )
    if database is not None:
        env["DATABASE_PATH"] = str(database)
    return env


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_one(
    bot: str,
    template: Path | None,
    tokens: Sequence[str],
    in_flight: int,
    folder: Path,
    timeout: float,
    profile: Path | None = None,
    tree: Path = ROOT,
    skip_share: float = 0.0,
) -> RunResult:
    """One bot, one crowd: start the bot, let every respondent finish, stop it. `bot` is a label;
    with a `template` database it is ours (`python -m bot` from `tree`, on a copy), without one
    the bare bot. With `profile` (a file name), the bot runs under cProfile and writes its
    statistics there on exit."""
    people = respondents(tokens, skip_share=skip_share)
    crowd: Crowd
    api = FastFakeAPI(TOKEN, on_call=lambda call: crowd.on_call(call))
    crowd = Crowd(api, people, in_flight)
    workdir = folder / bot
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    database = None
    if template is not None:
        database = workdir / "data" / "bot.sqlite3"
        copy_database(template, database)
        module = "bot"
    else:
        module, tree = "bench.bare_bot", ROOT
    argv = [sys.executable, "-m", module]
    if profile is not None:
        argv = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", module]
    async with api:
        log = (workdir / "bot.log").open("ab")
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=workdir, env=_bot_env(api.url, database, tree), stdout=log, stderr=log
        )
        log.close()
        try:
            # A niced bot's start-up on a busy machine can take minutes: as long as a run may.
            await _wait(lambda: api.polls > 0 or proc.returncode is not None, timeout, "first poll")
            if proc.returncode is not None:
                raise RuntimeError(f"{bot} bot exited: {(workdir / 'bot.log').read_text()}")
            await asyncio.sleep(1.0)  # start-up work (menus, catch-up) out of the way
            cpu_before = _cpu_seconds(proc.pid)
            driver_before = time.process_time()
            crowd.begin()
            ended = asyncio.ensure_future(proc.wait())
            finished = asyncio.ensure_future(crowd.finished.wait())
            await asyncio.wait({ended, finished}, timeout=timeout, return_when="FIRST_COMPLETED")
            finished.cancel()
            if crowd.error is not None or proc.returncode is not None:
                log_text = (workdir / "bot.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"{bot}: {crowd.error or f'the bot exited ({proc.returncode})'}\n{log_text}"
                )
            cpu = _cpu_seconds(proc.pid) - cpu_before
            driver_cpu = time.process_time() - driver_before
            rss = _peak_rss_mib(proc.pid)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    completed_updates = sum(p.step + 1 if p.done else p.step for p in people)
    seconds = (crowd.last_reply - crowd.first_offer) if crowd.last_reply else 0.0
    return RunResult(
        bot=bot,
        surveys=len(people),
        completed=crowd.completed,
        updates=completed_updates,
        seconds=seconds,
        latencies=crowd.latencies,
        cpu_seconds=cpu,
        peak_rss_mib=rss,
        calls_per_survey=[[(c.method, c.keyboard) for c in p.calls] for p in people],
        other_calls=crowd.other_calls,
        driver_cpu_share=driver_cpu / seconds if seconds else 0.0,
    )


async def _wait(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------------------------------------
# The comparison
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[tuple[Path, str]]:
    """(the tree to run, its label): this tree for ".", else a temporary detached worktree."""
    if rev == ".":
        yield ROOT, "ours"
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-updates-tree-"))
    tree = folder / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    try:
        yield tree, f"ours@{rev}"
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


async def compare(
    surveys: int,
    in_flight: int,
    pairs: int,
    folder: Path,
    timeout: float = 600.0,
    profile: Path | None = None,
    ours_at: Sequence[str] = (".",),
    skip_share: float = 0.0,
) -> dict[str, list[RunResult]]:
    """Each pair runs every version of ours (`ours_at`: commits, "." for this tree) and then the
    bare bot; results by label ("ours", "ours@<rev>", "bare"), in that order."""
    with contextlib.ExitStack() as stack:
        variants = []  # (label, tree, template, tokens)
        for n, rev in enumerate(ours_at):
            tree, label = stack.enter_context(checkout(rev))
            template = folder / f"template-{n}.sqlite3"
            tokens = await make_database(template, surveys, tree)
            variants.append((label, tree, template, tokens))
        runs: list[tuple[str, Path, Path | None, list[str]]] = [
            *variants,
            (BARE, ROOT, None, variants[0][3]),
        ]
        results: dict[str, list[RunResult]] = {label: [] for label, *_ in runs}
        width = max(len(label) for label in results)
        for pair in range(pairs):
            for label, tree, template, tokens in runs:
                stats = profile / f"{label}-{pair + 1}.prof" if profile is not None else None
                result = await run_one(
                    label, template, tokens, in_flight, folder, timeout, stats, tree, skip_share
                )
                results[label].append(result)
                print(
                    f"  pair {pair + 1} {label:{width}}: {result.rate:6.1f} updates/s, "
                    f"p50 {result.percentile(0.5):.3f} s, p95 {result.percentile(0.95):.3f} s, "
                    f"{result.cpu_per_update_ms:.2f} ms CPU/update, "
                    f"{result.completed}/{result.surveys} surveys",
                    flush=True,
                )
    return results


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, list[RunResult]]) -> str:
    """Medians (min–max) per bot, and each of ours against the bare bot of the same pair."""
    bare = results[BARE]
    ours = [label for label in results if label != BARE]
    rows = [
        ("updates/s", lambda r: r.rate, "{:.1f}"),
        ("p50 latency, s", lambda r: r.percentile(0.5), "{:.3f}"),
        ("p95 latency, s", lambda r: r.percentile(0.95), "{:.3f}"),
        ("CPU ms/update", lambda r: r.cpu_per_update_ms, "{:.2f}"),
        ("peak RSS, MiB", lambda r: r.peak_rss_mib, "{:.0f}"),
        ("fake's CPU, cores", lambda r: r.driver_cpu_share, "{:.2f}"),
    ]
    head = [f"{'median (min–max)':18}"]
    head += [f"{label:>22}" for label in [*ours, BARE]]
    head += [f"{label + '/bare':>18}" for label in ours]
    lines = [" ".join(head)]
    for name, get, fmt in rows:
        cells = [f"{name:18}"]
        for label in [*ours, BARE]:
            values = [get(r) for r in results[label]]
            spread = f"{fmt.format(min(values))}–{fmt.format(max(values))}"
            cells.append(f"{fmt.format(_median(values)) + ' (' + spread + ')':>22}")
        for label in ours:
            ratios = [get(o) / get(b) for o, b in zip(results[label], bare, strict=True) if get(b)]
            ratio = (
                f"{_median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})" if ratios else "n/a"
            )
            cells.append(f"{ratio:>18}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def call_list(result: RunResult) -> str:
    """The calls of the first survey, one per line: what 'the same calls' means."""
    return ", ".join(f"{m}{'[' + k + ']' if k else ''}" for m, k in result.calls_per_survey[0])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surveys", type=int, default=300)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run at most")
    parser.add_argument("--calls", action="store_true", help="print each bot's calls per survey")
    parser.add_argument(
        "--skip-share",
        type=float,
        default=0.0,
        help="share of respondents who tap 'skip' instead of typing the reason (default 0: "
        "every survey is the 10 calls)",
    )
    parser.add_argument("--keep", type=Path, help="keep databases and logs in this folder")
    parser.add_argument(
        "--ours-at",
        action="append",
        metavar="REV",
        help="run our bot at this commit (a temporary worktree; '.' is this tree); repeatable, "
        "to compare versions in one run",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="run each bot under cProfile and write <bot>-<pair>.prof here (slows both down; "
        "read with: python -m pstats FILE, then sort cumulative / stats 30)",
    )
    args = parser.parse_args(argv)
    os.nice(10)
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    print(
        f"{args.surveys} surveys, {args.in_flight} in flight, {args.pairs} pairs "
        f"(ours, bare alternating), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as tmp:
        folder = args.keep or Path(tmp)
        results = asyncio.run(
            compare(
                args.surveys,
                args.in_flight,
                args.pairs,
                folder,
                args.timeout,
                args.profile,
                args.ours_at or ["."],
                args.skip_share,
            )
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(report(results))
    for bot, runs in results.items():
        first = runs[0]
        print(f"{bot} calls per survey ({len(first.calls_per_survey[0])}): {call_list(first)}")
        if args.calls:
            for n, calls in enumerate(first.calls_per_survey):
                print(f"  survey {n}: {calls}")
    for bot, runs in results.items():
        others = runs[0].other_calls
        if others:
            listed = ", ".join(f"{n} {m}" for m, n in sorted(others.items()))
            print(f"{bot} also made, in its first run, calls to staff: {listed}")
    if any(r[0].calls_per_survey != results[BARE][0].calls_per_survey for r in results.values()):
        print(
            "WARNING: the two bots' calls per survey differ (--calls lists them)", file=sys.stderr
        )
    incomplete = [r for runs in results.values() for r in runs if r.completed < r.surveys]
    if incomplete:
        print(f"WARNING: {len(incomplete)} runs did not complete every survey", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
