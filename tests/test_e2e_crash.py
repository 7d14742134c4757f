"""End to end: the real bot process killed (SIGKILL) again and again while 20 respondents answer.

Twenty respondents go through their surveys side by side; each round every one of them does the
next thing their chat asks for (open the link, tap a score, write the reason, tap "No"), all at
once, and the process is killed at a random moment of that burst, then started again on the same
database and the same fake Bot API. After each restart everyone must get what follows their
answer; at the end every answer is stored exactly once and nobody was asked a question twice.

One repeat cannot be ruled out by any bot, and the test tells it apart instead of hiding it:
Telegram's sendMessage has no idempotency key, so when the process dies after Telegram accepted a
question but before the bot noted it (`surveys.asked_step`, written right after the send), the
question goes out again after the restart. Right after each kill, before the restart, the test
compares what the fake API delivered with what the database says was delivered; only a question
caught in that gap may come twice, and only once more.

A second test holds one respondent's update on a Bot API call that never returns, while the
others go through their whole surveys (the polling must keep fetching and handling theirs), and
kills the process with that person's next updates stored behind the held one: after the restart
the held one is handled as a replay and the stored ones as new, each once, in order.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from storage import Database
from storage.sale import SaleInput, record_sale
from storage.staff import touch_owner
from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.fakes.process import Launcher
from tests.harness import TOKEN
from tests.helpers.e2e import BOT_ID, OWNER_ID, bot_env

pytestmark = pytest.mark.e2e  # starts the real bot process

PEOPLE = 20
KILLS = 20
STEPS = ("score", "reason", "consent", "done")
PREFIX = {"1 из 3": "score", "2 из 3": "reason", "3 из 3": "consent", "Спасибо за ответы": "done"}


def step_of(message: SentMessage) -> str | None:
    text = message.text or ""
    return next((step for prefix, step in PREFIX.items() if text.startswith(prefix)), None)


@dataclass
class Respondent:
    user: FakeUser
    token: str
    survey_id: int
    reason: str
    actions: int = 0
    unnoted: Counter[str] = field(default_factory=Counter)
    """Per question, how many copies had reached the person at a kill that came before the bot
    noted sending it: the restarted bot sends it once more, and only once."""

    def received(self, step: str) -> int:
        return sum(1 for m in self.user.messages if step_of(m) == step)

    @property
    def waiting_for(self) -> str:
        """The step whose question (or thanks) should follow the actions done so far."""
        return STEPS[min(self.actions, len(STEPS)) - 1]

    def latest(self, step: str) -> SentMessage:
        return [m for m in self.user.messages if step_of(m) == step][-1]

    async def act(self) -> None:
        """Queue the answer to what the chat shows now. FakeUser's send and tap never yield to
        the event loop, so a burst of these is queued whole before the bot can fetch any."""
        if self.actions == 0:
            await self.user.send(f"/start {self.token}")
        elif self.actions == 1:
            q1 = self.latest("score")
            await self.user.tap(q1, q1.button("8"))
        elif self.actions == 2:
            await self.user.send(self.reason)
        else:
            q3 = self.latest("consent")
            await self.user.tap(q3, q3.button("Нет"))
        self.actions += 1


async def make_surveys(path: Path, count: int) -> list[tuple[int, str]]:
    """`count` sales recorded through the bot's own storage (the owner as manager): the links
    the respondents open. (The /sale conversation has end-to-end tests of its own.)"""
    db = Database(path)
    await db.open()
    now = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    await touch_owner(db, OWNER_ID, "Ольга", None, "ru", now)
    links = []
    for n in range(count):
        sale = SaleInput(
            idem_key=f"crash-{n}",
            manager_id=OWNER_ID,
            kind="client",
            full_name=f"Клиент {n}",
            organization=None,
            phone=None,
            contact_tg_id=None,
            birthday=None,
            description="Кухня",
            deal_date=date(2026, 11, 19),
        )
        result = await record_sale(db, sale, now)
        async with db.read() as conn:
            row = await (
                await conn.execute("SELECT id FROM surveys WHERE token = ?", (result.survey_token,))
            ).fetchone()
        links.append((int(row[0]), f"s_{result.survey_token}"))
    await db.close()
    return links


def asked_steps(path: Path) -> dict[int, str | None]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, asked_step FROM surveys"))


async def test_killed_during_bursts_nothing_lost_nothing_repeated(
    api: FakeBotAPI,
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("CRASH_SEED") or random.randrange(1_000_000))  # to replay a run
    rng = random.Random(seed)
    env = bot_env(api, tmp_path)
    env["LOG_LEVEL"] = "INFO"
    db_path = Path(env["DATABASE_PATH"])
    # each survey takes four rounds; every finished respondent is replaced by a new one
    links = await make_surveys(db_path, PEOPLE * (KILLS // len(STEPS) + 2))
    fresh = iter(links)
    user_ids = iter(range(900_001, 999_999))

    def newcomer() -> Respondent:
        survey_id, token = next(fresh)
        user = api.user(next(user_ids), "Респондент")
        return Respondent(user, token, survey_id, f"Доставка {survey_id}: быстрее бы")

    everyone: list[Respondent] = []
    active = [newcomer() for _ in range(PEOPLE)]
    everyone.extend(active)
    kills_mid_burst = 0

    async with Launcher() as launcher:
        process = launcher.bot(tmp_path, env)
        await process.start()
        await api.wait_polling(timeout=60)
        for round_no in range(KILLS):
            before = len(api.requests)
            for person in active:
                await person.act()
            # kill after a random share of the burst's requests (each action makes one to three:
            # the answers are stored first, the next questions go out last)
            threshold = rng.randint(0, 3 * PEOPLE + 10)
            await api.wait_until(
                lambda before=before, threshold=threshold: (
                    len(api.requests) - before >= threshold
                    or all(p.received(p.waiting_for) for p in active)  # noqa: B023
                ),
                timeout=60,
                description="the burst to get going",
            )
            await asyncio.sleep(rng.uniform(0, 0.02))
            assert await process.kill() == -9
            # the fake finishes requests that reached it before the kill
            await api.wait_until(lambda: api.active_polls == 0, timeout=30, description="poll gone")
            await asyncio.sleep(0.1)

            asked = asked_steps(db_path)
            done_now = sum(1 for p in active if p.received(p.waiting_for))
            kills_mid_burst += 0 < done_now < PEOPLE
            for person in active:
                noted = asked.get(person.survey_id)
                noted_index = STEPS.index(noted) if noted in STEPS else -1
                for step in STEPS[noted_index + 1 :]:
                    if person.received(step):  # delivered, and the bot died before noting it
                        person.unnoted[step] = max(person.unnoted[step], person.received(step))

            await process.start()
            await api.wait_until(
                lambda: all(p.received(p.waiting_for) for p in active),  # noqa: B023
                timeout=90,
                description=f"round {round_no} (seed {seed}): everyone's next question",
            )
            active = [p if p.actions < len(STEPS) else newcomer() for p in active]
            everyone.extend(p for p in active if p not in everyone)
        await api.wait_updates_confirmed(timeout=60)
        await api.wait_polling(timeout=60)  # the last start may still be under way
        assert await process.stop() == 0

    log = process.log()
    with sqlite3.connect(db_path) as conn:
        rows = {
            survey_id: (score, reason, consent, answered)
            for survey_id, score, reason, consent, answered in conn.execute(
                "SELECT id, score, reason, consent, answered_at FROM surveys"
            )
        }
        comments = Counter(
            text for (text,) in conn.execute("SELECT text FROM comments WHERE source = 'survey'")
        )
    for person in everyone:
        where = f"respondent {person.user.id} (seed {seed})"
        score, reason, consent, answered = rows[person.survey_id]
        if person.actions >= 2:
            assert score == 8, where
        if person.actions >= 3:
            assert reason == person.reason, where
            assert comments[person.reason] == 1, where  # stored exactly once
        if person.actions >= 4:
            assert consent == 0 and answered is not None, where
        for step in STEPS[: person.actions]:
            got = person.received(step)
            texts = [(m.text or "")[:12] for m in person.user.messages]
            assert 1 <= got <= 1 + person.unnoted[step], (where, step, person.unnoted, texts)
        texts = [m.text or "" for m in person.user.messages]
        assert not [t for t in texts if t.startswith("Пожалуйста")], (where, texts)
        assert not [t for t in texts if "что-то пошло не так" in t], (where, texts)
    assert kills_mid_burst >= 1, "no kill landed while the next questions were going out"
    assert "Traceback" not in log, log
    repeats = sum(max(0, p.received(step) - 1) for p in everyone for step in STEPS)
    print(
        f"seed {seed}: {KILLS} kills, {kills_mid_burst} while questions went out, {repeats} repeats"
    )


class HoldingAPI(FakeBotAPI):
    """The fake Bot API, with every sendMessage to the chats in `held` never answered (the
    request hangs until the bot goes away; the message is not delivered)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: set[int] = set()
        self.holding = 0

    async def _execute(self, call: Any) -> Any:
        if call.name == "sendmessage" and call.chat_id in self.held:
            self.holding += 1
            self._changes.notify()
            try:
                await asyncio.Event().wait()
            finally:
                self.holding -= 1
                self._changes.notify()
        return await super()._execute(call)


def journal(path: Path) -> dict[int, tuple[bool, bool, bool]]:
    """update id → (begun, finished, payload kept), read beside the dead process."""
    with sqlite3.connect(path) as conn:
        return {
            row[0]: (row[1] is not None, row[2] is not None, row[3] is not None)
            for row in conn.execute(
                "SELECT update_id, started_at, done_at, payload FROM handled_updates"
            )
        }


async def test_a_held_update_holds_up_nobody_and_its_followers_survive_a_kill(
    launcher: Launcher, tmp_path: Path
) -> None:
    async with HoldingAPI(TOKEN, bot_id=BOT_ID) as api:
        env = bot_env(api, tmp_path)
        env["LOG_LEVEL"] = "INFO"
        env["TELEGRAM_TIMEOUT"] = "300"  # the held call must not time out during the test
        db_path = Path(env["DATABASE_PATH"])
        links = await make_surveys(db_path, 11)
        others = [
            Respondent(api.user(910_000 + n, "Респондент"), token, survey_id, f"Причина {n}")
            for n, (survey_id, token) in enumerate(links[1:])
        ]
        anna = api.user(909_999, "Анна")
        api.held.add(anna.id)
        process = launcher.bot(tmp_path, env)
        await process.start()
        await api.wait_polling(timeout=60)

        await anna.send(f"/start {links[0][1]}")
        opened = api._next_update_id - 1
        await api.wait_until(lambda: api.holding == 1, timeout=60, description="Anna held")
        # everyone else answers the whole survey meanwhile, burst after burst
        for _ in STEPS:
            for person in others:
                await person.act()
            await api.wait_until(
                lambda: all(p.received(p.waiting_for) for p in others),
                timeout=90,
                description="everyone's next question while Anna's update hangs",
            )
        assert all(p.received("done") == 1 for p in others)
        # Anna writes twice more: stored behind her first update, confirmed, not begun
        await anna.send("/help")
        await anna.send("/help")
        helps = [api._next_update_id - 2, api._next_update_id - 1]
        await api.wait_until(
            lambda: api.confirmed_offset > helps[-1], timeout=60, description="stored"
        )
        assert api.holding == 1 and anna.messages == []
        async with asyncio.timeout(60):  # the others' last updates noted finished
            while sum(done for _, done, _ in journal(db_path).values()) < 4 * len(others):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert await process.kill() == -9
        await api.wait_until(lambda: api.holding == 0, timeout=30, description="the call gone")

        rows = journal(db_path)
        assert rows[opened] == (True, False, True)  # begun, unfinished: a replay to come
        assert [rows[h] for h in helps] == [(False, False, True)] * 2  # stored, never begun
        api.held.clear()
        await process.start()
        await anna.wait_message(lambda m: "Этот бот собирает" in (m.text or ""), timeout=60)
        await api.wait_until(
            lambda: sum("Этот бот собирает" in (m.text or "") for m in anna.messages) == 2,
            timeout=60,
            description="both of Anna's /help answered",
        )
        assert await process.stop() == 0

    kinds = [
        step_of(m) or ("help" if "Этот бот" in (m.text or "") else "other") for m in anna.messages
    ]
    # the first question (a greeting at most once), then the two answers to /help, once each
    assert [k for k in kinds if k != "other"] == ["score", "help", "help"], anna.texts
    assert kinds.count("other") <= 1, anna.texts
    assert all(p.received(step) == 1 for p in others for step in STEPS)
    assert all(done and not kept for _, done, kept in journal(db_path).values())
    log = process.log()
    replays = [line for line in log.splitlines() if "handling it again" in line]
    assert len(replays) == 1 and f"update {opened}" in replays[0], replays
    assert "3 updates stored before the restart" in log
    assert "Traceback" not in log, log
