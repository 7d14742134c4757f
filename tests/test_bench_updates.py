"""The updates benchmark (bench/bench_updates.py) at a tiny size: the harness itself works.

Both bots — ours (`python -m bot` on a database the bench fills) and the bare aiogram bot
(bench/bare_bot.py) — run as processes against the bench's fake API, and every respondent must
reach the thanks. The comparison is only fair while both bots make the same calls per survey, so
the test holds them to it: the same methods and keyboard kinds, in the same order, for each
respondent — the ten of the survey, eleven for one who taps "skip" (a change to our survey's
calls must be mirrored in the bare bot). No timings are asserted: those are the bench's to print.

Without processes: the respondents' loop fed calls by hand (each question answered with the next
update; a question they cannot answer ends the run with the reason instead of a ten-minute
timeout), and the fake's getUpdates over HTTP (offset confirmation, a held empty poll).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bench import bench_updates
from bench.fake_api import Call, FastFakeAPI

TEN = [
    ("sendmessage", ""),  # greeting
    ("sendmessage", "inline"),  # question 1: the scores
    ("answercallbackquery", ""),
    ("editmessagetext", ""),  # the score shown, the buttons gone
    ("sendmessage", "inline"),  # question 2, with "skip"
    ("editmessagereplymarkup", ""),  # the reason typed: "skip" taken off question 2
    ("sendmessage", "inline"),  # question 3: yes / no
    ("answercallbackquery", ""),
    ("editmessagetext", ""),
    ("sendmessage", "remove"),  # thanks
]


# "skip" tapped instead of the reason typed: the reason question is closed like the others
SKIP = [
    ("answercallbackquery", ""),
    ("editmessagetext", ""),  # "no comment" shown, the button gone
]
ELEVEN = TEN[:5] + SKIP + TEN[6:]


@pytest.mark.e2e  # starts the real bot process (and the bare one)
async def test_both_bots_finish_every_survey_with_the_same_calls(tmp_path: Path) -> None:
    skip_share = 0.5
    skips = [p.skip for p in bench_updates.respondents(["-"] * 4, skip_share=skip_share)]
    assert True in skips and False in skips  # both paths are taken
    results = await bench_updates.compare(
        surveys=4, in_flight=2, pairs=1, folder=tmp_path, timeout=180, skip_share=skip_share
    )
    ours, bare = results["ours"][0], results["bare"][0]
    for run in (ours, bare):
        assert run.completed == run.surveys == 4, (run.bot, run.completed)
        assert run.updates == 16 and len(run.latencies) == 16
        assert run.cpu_seconds > 0 and run.peak_rss_mib > 0
    expected = [ELEVEN if skip else TEN for skip in skips]
    assert ours.calls_per_survey == expected
    assert bare.calls_per_survey == expected
    print(bench_updates.report(results))


def test_a_crowd_answers_each_question_with_the_next_update() -> None:
    """Without processes: the respondent's side of the loop, fed calls by hand."""
    offered: list[dict[str, object]] = []

    class Api:
        def add_update(self, update: dict[str, object]) -> int:
            offered.append(update)
            return len(offered)

        def bot_user(self) -> dict[str, object]:
            return {"id": 1, "is_bot": True, "first_name": "B"}

    person = bench_updates.Respondent(0, "tok", score=3, reason="Долго", consent=False)
    crowd = bench_updates.Crowd(Api(), [person], in_flight=5)  # type: ignore[arg-type]
    crowd.begin()
    assert offered[-1]["message"]["text"] == "/start s_tok"  # type: ignore[index]
    chat = person.user_id
    buttons = ", ".join(f'{{"text": "{n}", "callback_data": "q1:7:{n}"}}' for n in range(11))
    scores = '{"inline_keyboard": [[' + buttons + "]]}"
    crowd.on_call(Call(1.0, "sendmessage", chat, "hello", None, 1))
    assert len(offered) == 1  # the greeting is not a question
    crowd.on_call(Call(1.0, "sendmessage", chat, "1 из 3", scores, 2))
    assert offered[-1]["callback_query"]["data"] == "q1:7:3"  # type: ignore[index]
    crowd.on_call(Call(1.0, "answercallbackquery", None, None, None, query_id=f"{chat}-1"))
    crowd.on_call(Call(1.0, "sendmessage", chat, "2 из 3", None, 3))
    assert offered[-1]["message"]["text"] == "Долго"  # type: ignore[index]
    yes_no = (
        '{"inline_keyboard": [[{"text": "Да", "callback_data": "y"}, '
        '{"text": "Нет", "callback_data": "n"}]]}'
    )
    crowd.on_call(Call(1.0, "sendmessage", chat, "3 из 3", yes_no, 4))
    assert offered[-1]["callback_query"]["data"] == "n"  # type: ignore[index]
    assert not crowd.finished.is_set()
    crowd.on_call(Call(1.0, "sendmessage", chat, "Спасибо", None, 5))
    assert crowd.finished.is_set() and crowd.completed == 1 and len(crowd.latencies) == 4
    assert [c.method for c in person.calls].count("answercallbackquery") == 1
    crowd.on_call(Call(1.0, "sendmessage", 111, "alert", None, 1))
    assert crowd.other_calls == {"sendmessage": 1}


def test_a_question_the_crowd_cannot_answer_ends_the_run_with_the_reason() -> None:
    """A changed survey (no score buttons) stops the run at once instead of timing out."""

    class Api:
        def add_update(self, update: dict[str, object]) -> int:
            return 1

    person = bench_updates.Respondent(0, "tok", score=3, reason="Долго", consent=False)
    crowd = bench_updates.Crowd(Api(), [person], in_flight=1)  # type: ignore[arg-type]
    crowd.begin()
    odd = '{"inline_keyboard": [[{"text": "Открыть", "callback_data": "x"}]]}'
    crowd.on_call(Call(1.0, "sendmessage", person.user_id, "Что-то новое", odd, 2))
    assert crowd.finished.is_set() and crowd.completed == 0
    assert crowd.error is not None and "no button '3'" in crowd.error


async def test_the_fake_confirms_by_offset_and_holds_an_empty_poll() -> None:
    """getUpdates as Telegram's: ids below the offset are gone, an empty poll waits for one."""
    token = bench_updates.TOKEN
    async with FastFakeAPI(token) as api, ClientSession() as http:

        async def get_updates(**params: int) -> list[dict[str, object]]:
            url = f"{api.url}/bot{token}/getUpdates"
            form = {key: str(value) for key, value in params.items()}
            async with http.post(url, data=form) as response:
                body = await response.json()
            assert body["ok"] is True
            return body["result"]

        first, second = api.add_update({"message": {}}), api.add_update({"message": {}})
        assert [u["update_id"] for u in await get_updates(timeout=0)] == [first, second]
        assert [u["update_id"] for u in await get_updates(offset=second, timeout=0)] == [second]
        assert await get_updates(offset=second + 1, timeout=0) == []
        assert api.pending == 0 and api.confirmed == second

        held = asyncio.create_task(get_updates(offset=second + 1, timeout=30))
        await asyncio.sleep(0.2)
        assert not held.done()  # nothing to give: the request is held
        third = api.add_update({"message": {}})
        assert [u["update_id"] for u in await asyncio.wait_for(held, 10)] == [third]

        async with http.post(
            f"{api.url}/bot{token}/sendMessage", data={"chat_id": "42", "text": "hi"}
        ) as response:
            sent = (await response.json())["result"]
        assert sent["chat"]["id"] == 42 and sent["text"] == "hi" and sent["message_id"] == 1
        assert [(c.method, c.chat_id, c.message_id) for c in api.calls] == [("sendmessage", 42, 1)]
