"""An aiogram `Bot` that talks HTTP to the fake Bot API (`tests/fakes/bot_api.py`), for tests
that check the fake itself with a real client.

`LocalSession` is aiogram's own aiohttp session minus the 250 ms pause its `close()` makes for TLS
connections to api.telegram.org: the fake speaks plain HTTP, and the pause would double the time
of the tests that open a client each.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer


class LocalSession(AiohttpSession):
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def http_bot(url: str, token: str, **bot_kwargs: Any) -> Bot:
    """A bot whose calls go to the fake server at ``url`` (``FakeBotAPI.url``)."""
    return Bot(token, session=LocalSession(api=TelegramAPIServer.from_base(url)), **bot_kwargs)
