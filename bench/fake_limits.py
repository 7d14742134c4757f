"""A fake Bot API that enforces Telegram's sending limits, for bench/bench_sender.py:

    python -m bench.fake_limits [--rtt 0.1] [--rate 30] [--per-chat 1.0]

It answers `sendMessage` with 429 and a `retry_after` when the bot goes faster than `--rate`
messages in any one-second window (global), or sends a chat a message less than `--per-chat`
seconds after the previous one (per chat), the rule Telegram's Bot FAQ gives. It records every
accepted message with the time it was received, which `GET /stats` returns as JSON.

The one decision: it runs in a process of its own (the bench starts it), so a busy event loop in
the bot under test does not bunch the receipt times, which would make the fake count a spaced
sequence of sends as a burst. A request is counted when it arrives and answered `--rtt` seconds
later: as a network would, shifted by half a round trip (the counting sees no timer's jitter).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections import deque
from typing import Any

from aiohttp import web


class Limits:
    def __init__(self, rate: int, per_chat: float, rtt: float) -> None:
        self.rate = rate
        self.per_chat = per_chat
        self.rtt = rtt
        self.window: deque[float] = deque()
        self.chat_last: dict[int, float] = {}
        self.accepted: list[tuple[int, str, float]] = []
        self.refused: list[tuple[int, str, float]] = []  # (chat, "global" | "chat", at)
        self.in_flight = 0
        self.max_in_flight = 0
        self.message_id = 0

    def decide(self, chat_id: int, now: float) -> tuple[str, int] | None:
        """None if the message is taken; else (which limit, retry_after)."""
        last = self.chat_last.get(chat_id)
        if last is not None and now - last < self.per_chat:
            return "chat", max(1, math.ceil(self.per_chat - (now - last)))
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.rate:
            return "global", max(1, math.ceil(self.window[0] + 1.0 - now))
        return None

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        form = await request.post()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = self.execute(method, dict(form))
            if self.rtt:
                await asyncio.sleep(self.rtt)
        finally:
            self.in_flight -= 1
        return web.json_response(body)

    def execute(self, method: str, form: dict[str, Any]) -> dict[str, Any]:
        if method == "getme":
            user = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return {"ok": True, "result": user}
        chat_id = int(form.get("chat_id", 0))
        text = str(form.get("text", ""))
        if method != "sendmessage":  # edits and the rest: fine, not counted
            return {"ok": True, "result": True}
        now = time.monotonic()
        refusal = self.decide(chat_id, now)
        if refusal is not None:
            kind, retry_after = refusal
            self.refused.append((chat_id, kind, now))
            return {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
        self.window.append(now)
        self.chat_last[chat_id] = now
        self.accepted.append((chat_id, text, now))
        self.message_id += 1
        message = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "text": text,
        }
        return {"ok": True, "result": message}

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "accepted": self.accepted,
                "refused": self.refused,
                "max_in_flight": self.max_in_flight,
            }
        )


async def serve(rate: int, per_chat: float, rtt: float) -> None:
    limits = Limits(rate, per_chat, rtt)
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", limits.handle)
    app.router.add_get("/stats", limits.stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()  # until the bench terminates the process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=30, help="messages per second overall")
    parser.add_argument("--per-chat", type=float, default=1.0, help="seconds between two in a chat")
    parser.add_argument("--rtt", type=float, default=0.0, help="simulated round trip, seconds")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.rate, args.per_chat, args.rtt))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
