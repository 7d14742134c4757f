"""The CRM's events arriving at the bot's HTTP server: `add_routes(app, service)`.

Each connection has its own address, `/crm/<kind>/<secret>`: an unknown secret is 404, so a
stranger cannot even learn whether a portal is connected. A Bitrix24 event must also carry the
portal's `application_token` (kept from the first event, compared in constant time; a mismatch
is refused with 403 and logged). An event is stored and answered 200 at once; reading the deal
happens later, from the table (crm/service.py), so a slow CRM never holds up its own webhook.
Nothing secret is logged: not the address, not the token, not the body.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import parse_qsl

from aiohttp import web

from crm import amo, bitrix, store
from crm.service import CrmService

log = logging.getLogger(__name__)

PREFIX = "/crm"
MAX_BODY = 64 * 1024  # an event is a few hundred bytes


def add_routes(app: web.Application, service: CrmService) -> None:
    app.router.add_post(PREFIX + "/bitrix24/{secret}", _bitrix(service))
    app.router.add_post(PREFIX + "/amocrm/{secret}", _amo(service))


async def _form(request: web.Request) -> dict[str, str] | None:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    try:
        # `content.read(n)` returns what has arrived so far, not the whole body: a form split
        # over two TCP segments would lose its tail (the application_token); read to the end.
        raw = bytearray()
        while chunk := await request.content.read(MAX_BODY + 1 - len(raw)):
            raw += chunk
            if len(raw) > MAX_BODY:
                return None
        pairs = parse_qsl(bytes(raw).decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)


def _bitrix(service: CrmService):  # type: ignore[no-untyped-def]
    async def receive(request: web.Request) -> web.StreamResponse:
        connection = await store.connection_by_path(
            service.db, "bitrix24", request.match_info["secret"]
        )
        if connection is None:
            log.warning("crm: an event for an unknown Bitrix24 address refused")
            return web.json_response({"error": "unknown"}, status=404)
        form = await _form(request)
        now = service.clock()
        if form is None:
            await store.note_error(service.db, connection.id, "an unreadable event refused", now)
            log.warning("crm %s: an unreadable event refused", connection.account)
            return web.json_response({"error": "malformed"}, status=400)
        event, token = bitrix.parse_event(form)
        if connection.app_token is None:
            if event is None or not token:
                return web.json_response({"error": "malformed"}, status=400)
            if await store.learn_app_token(service.db, connection.id, token):
                log.info("crm %s: application token kept from the first event", connection.account)
            connection = await store.get_connection(service.db, connection.id)
            assert connection is not None
        if not hmac.compare_digest(
            (connection.app_token or "").encode(), token.encode("utf-8", "replace")
        ):
            await store.note_error(
                service.db, connection.id, "an event with a wrong application_token refused", now
            )
            log.warning(
                "crm %s: an event with a wrong application_token refused", connection.account
            )
            return web.json_response({"error": "forbidden"}, status=403)
        if event is None:
            if (form.get("event") or "").upper() in bitrix.EVENTS:
                await store.note_error(service.db, connection.id, "an event without a deal id", now)
                return web.json_response({"error": "malformed"}, status=400)
            return web.json_response({"ok": True, "ignored": True})
        await store.store_events(
            service.db, connection.id, [(event.event, event.entity_id, None)], now
        )
        service.wake()
        return web.json_response({"ok": True})

    return receive


def _amo(service: CrmService):  # type: ignore[no-untyped-def]
    async def receive(request: web.Request) -> web.StreamResponse:
        connection = await store.connection_by_path(
            service.db, "amocrm", request.match_info["secret"]
        )
        if connection is None:
            log.warning("crm: an event for an unknown amoCRM address refused")
            return web.json_response({"error": "unknown"}, status=404)
        form = await _form(request)
        now = service.clock()
        if form is None or not amo.is_status_webhook(form):
            await store.note_error(service.db, connection.id, "an unreadable event refused", now)
            log.warning("crm %s: an unreadable event refused", connection.account)
            return web.json_response({"error": "malformed"}, status=400)
        events = amo.parse_event(form)
        await store.store_events(
            service.db,
            connection.id,
            [(e.event, e.entity_id, e.status_hint) for e in events],
            now,
        )
        if events:
            service.wake()
        return web.json_response({"ok": True, "stored": len(events)})

    return receive
