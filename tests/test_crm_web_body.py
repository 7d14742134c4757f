"""A CRM event's form read whole, however it arrives: aiohttp's `content.read(n)` returns what
has arrived so far, so a body split over two TCP segments used to lose its tail (Bitrix24's
`auth[application_token]`), and the first such event could teach the bot a cut token.

One decision: a real aiohttp server and client, the body sent as two chunks with a pause between
them, so the second chunk really arrives later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from aiohttp import test_utils, web

from crm.web import MAX_BODY, _form


async def _echo(request: web.Request) -> web.Response:
    form = await _form(request)
    return web.json_response({"form": form})


async def _client() -> test_utils.TestClient:
    app = web.Application()
    app.router.add_post("/e", _echo)
    client = test_utils.TestClient(test_utils.TestServer(app))
    await client.start_server()
    return client


async def test_a_form_split_in_two_arrives_whole() -> None:
    body = urlencode(
        {
            "event": "ONCRMDEALUPDATE",
            "data[FIELDS][ID]": "42",
            "ts": "1",
            "auth[application_token]": "abcdef0123456789",
        }
    ).encode()
    cut = body.index(b"auth") + 3

    async def pieces() -> AsyncIterator[bytes]:
        yield body[:cut]
        await asyncio.sleep(0.2)
        yield body[cut:]

    client = await _client()
    try:
        response = await client.post("/e", data=pieces())
        form = (await response.json())["form"]
    finally:
        await client.close()
    assert form["auth[application_token]"] == "abcdef0123456789"
    assert form["data[FIELDS][ID]"] == "42"


async def test_a_body_over_the_limit_in_pieces_is_refused() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"a=" + b"x" * (MAX_BODY // 2)
            await asyncio.sleep(0.05)

    client = await _client()
    try:
        response = await client.post("/e", data=pieces())
        assert (await response.json())["form"] is None
    finally:
        await client.close()
