"""A cheap fake Telegram Bot API HTTP server for throughput benchmarks (bench/bench_updates.py).

The test suite's fake (tests/fakes/bot_api.py) checks every rule Telegram enforces on every call,
which costs more CPU per call than the bot under test spends on it; measuring a bot's update rate
against it would measure the fake. This one does the least that keeps aiogram happy: it answers
with the same JSON shapes (a message with ``message_id``, ``date``, ``chat`` and ``text``, ``true``
for the rest), parses only the fields the driver needs, and keeps nothing but a flat record of
each call with its monotonic arrival time.

``getUpdates`` behaves as Telegram's: updates whose id is below ``offset`` are confirmed and
dropped, up to ``limit`` of the rest are returned at once, and with none pending the request is
held for up to ``timeout`` seconds until one is added.

The one non-obvious decision: the driver lives in this server's process and event loop (``on_call``
is called synchronously as each call arrives, and :meth:`FastFakeAPI.add_update` wakes the held
poll), so a respondent reacts to a question without any extra hop, and the only process the bench
measures — the bot — is a separate one; with ``python -m bench.fake_api`` the server also runs
alone, for poking at a bot by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["Call", "FastFakeAPI"]

BOT_FIRST_NAME = "Bench Bot"
BOT_USERNAME = "bench_followup_bot"


@dataclass(slots=True)
class Call:
    """One request the bot made: when it arrived (``time.monotonic()``), what, and to whom."""

    at: float
    method: str
    """As aiogram sends it (``sendMessage``), lower-cased."""
    chat_id: int | None
    text: str | None
    reply_markup: str | None
    """The raw JSON string, decoded only by whoever needs the buttons."""
    message_id: int | None = None
    """The id of the message sent or edited (as answered to the bot)."""
    query_id: str | None = None
    """``callback_query_id`` of answerCallbackQuery (it names no chat)."""

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of an inline keyboard, in order; [] without one."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        markup = json.loads(self.reply_markup)
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup["inline_keyboard"]
            for b in row
        ]

    @property
    def keyboard(self) -> str:
        """ "inline", "reply", "remove" or "" — the kind of markup sent, for comparing bots."""
        markup = self.reply_markup or ""
        if "inline_keyboard" in markup:
            return "inline"
        if '"keyboard"' in markup:
            return "reply"
        if "remove_keyboard" in markup:
            return "remove"
        return ""


_TRUE_METHODS = frozenset(
    {
        "answercallbackquery",
        "deletemessage",
        "setmycommands",
        "deletemycommands",
        "setchatmenubutton",
        "deletewebhook",
        "setwebhook",
        "sendchataction",
        "setmydescription",
        "setmyshortdescription",
    }
)


class FastFakeAPI:
    """The server. ``async with FastFakeAPI(token) as api:`` then point the bot at ``api.url``."""

    def __init__(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.host = host
        self.port = port
        self.on_call = on_call
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []  # pending, in id order
        self._next_update_id = 1
        self._arrived = asyncio.Event()
        self._message_ids: dict[int, int] = {}
        self.polls = 0
        """getUpdates requests answered or held so far."""
        self.confirmed = 0
        """The highest update id confirmed by an offset."""
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._arrived.set()  # release held polls
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FastFakeAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- what the driver does ----------------------------------------------------------------

    def add_update(self, update: dict[str, Any]) -> int:
        """Queue an update (without ``update_id``: it is assigned here); wakes a held poll."""
        update_id = self._next_update_id
        self._next_update_id += 1
        update["update_id"] = update_id
        self._updates.append(update)
        self._arrived.set()
        return update_id

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @property
    def pending(self) -> int:
        return len(self._updates)

    # --- the server --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _reply({"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.match_info["method"].lower()
        form = await request.post() if request.can_read_body else {}
        if method == "getupdates":
            return _reply({"ok": True, "result": await self._get_updates(form)})
        chat_id = _int(form.get("chat_id"))
        text = form.get("text")
        markup = form.get("reply_markup")
        call = Call(
            time.monotonic(),
            method,
            chat_id,
            text if isinstance(text, str) else None,
            markup if isinstance(markup, str) else None,
        )
        if method == "answercallbackquery":
            query_id = form.get("callback_query_id")
            call.query_id = query_id if isinstance(query_id, str) else None
        result = self._result(call, form)
        if isinstance(result, dict) and "message_id" in result:
            call.message_id = result["message_id"]
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        return _reply({"ok": True, "result": result})

    def _result(self, call: Call, form: Any) -> Any:
        method = call.method
        if method in ("sendmessage", "sendphoto", "senddocument"):
            chat_id = call.chat_id or 0
            message_id = self._message_ids.get(chat_id, 0) + 1
            self._message_ids[chat_id] = message_id
            return self._message(chat_id, message_id, call.text)
        if method in ("editmessagetext", "editmessagereplymarkup", "editmessagecaption"):
            return self._message(call.chat_id or 0, _int(form.get("message_id")) or 0, call.text)
        if method == "getme":
            return self.bot_user()
        if method == "getwebhookinfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if method in _TRUE_METHODS:
            return True
        return True

    def _message(self, chat_id: int, message_id: int, text: str | None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": BOT_FIRST_NAME},
        }
        if text is not None:
            message["text"] = text
        return message

    async def _get_updates(self, form: Any) -> list[dict[str, Any]]:
        self.polls += 1
        offset = _int(form.get("offset")) or 0
        limit = _int(form.get("limit")) or 100
        timeout = _int(form.get("timeout")) or 0
        if offset:
            self.confirmed = max(self.confirmed, offset - 1)
            drop = 0
            for update in self._updates:
                if update["update_id"] >= offset:
                    break
                drop += 1
            if drop:
                del self._updates[:drop]
        if not self._updates and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        return self._updates[: min(max(limit, 1), 100)]


def _reply(payload: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(payload, ensure_ascii=False), content_type="application/json"
    )


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _serve(token: str, port: int) -> None:
    async with FastFakeAPI(token, port=port) as api:
        print(f"fake Bot API at {api.url} (token {token.split(':')[0]}:…); Ctrl-C to stop")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--token", default="123456789:AAHbenchTokenForTimingOnly_abcdefghij")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    asyncio.run(_serve(args.token, args.port))


if __name__ == "__main__":
    main()
