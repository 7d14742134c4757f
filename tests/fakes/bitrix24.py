"""A fake Bitrix24 portal: the REST methods the connector calls through an inbound webhook
(`/rest/<user>/<code>/<method>`, JSON or form parameters), answered as Bitrix24 documents them:
`{"result": ..., "time": {...}}`, or `{"error": ..., "error_description": ...}` with the HTTP
status Bitrix24 uses (401 for refused credentials, 400 for "Not found", 503 for
QUERY_LIMIT_EXCEEDED). The request-rate limit is Bitrix24's leaky bucket (a counter raised by
every request and drained `leak` per second; at `bucket` every next request is refused), and
`post_event` sends an outbound-webhook event the way Bitrix24 does: form-encoded, with the
portal's `auth[application_token]`.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.crm_server import FakeCRM

USER_ID = 1
CODE = "k3y0f1nb0und7ebh00k"
APP_TOKEN = "51856fefc120afa4b628cc82d3935cce"


class FakeBitrix24(FakeCRM):
    def __init__(self, *, bucket: float = 50, leak: float = 2) -> None:
        super().__init__()
        self.bucket, self.leak = bucket, leak
        self._level = 0.0
        self._drained_at = time.monotonic()
        self.deals: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.products: dict[str, list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {"1": {"ID": "1", "NAME": "Админ", "LAST_NAME": ""}}
        self.comments: list[tuple[int, str]] = []
        self.limited = 0  # requests answered QUERY_LIMIT_EXCEEDED

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/rest/{USER_ID}/{CODE}/"

    @property
    def account(self) -> str:
        return f"127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/rest/{user}/{code}/{method}", self._handle)

    def won(
        self,
        deal_id: int,
        *,
        contact: dict[str, Any] | None = None,
        assigned: str = "7",
        products: tuple[str, ...] = ("Диван «Уют»",),
        stage: str = "S",
    ) -> None:
        cid = str(500 + deal_id) if contact is not None else "0"
        self.deals[str(deal_id)] = {
            "ID": str(deal_id),
            "TITLE": f"Сделка #{deal_id}",
            "STAGE_ID": "WON" if stage == "S" else "NEW",
            "STAGE_SEMANTIC_ID": stage,
            "CONTACT_ID": cid if contact is not None else None,
            "ASSIGNED_BY_ID": assigned,
            "CLOSEDATE": "2026-11-19T03:00:00+03:00",
        }
        if contact is not None:
            self.contacts[cid] = {"ID": cid, **contact}
        self.products[str(deal_id)] = [
            {"ID": str(i), "PRODUCT_NAME": p, "QUANTITY": 1} for i, p in enumerate(products)
        ]

    def _drain(self) -> None:
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._drained_at) * self.leak)
        self._drained_at = now

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"].removesuffix(".json")
        fault = self.fault()
        if fault is not None:
            self.note(method, fault.status)
            return fault
        if (
            self.revoked
            or request.match_info["user"] != str(USER_ID)
            or request.match_info["code"] != CODE
        ):
            self.note(method, 401)
            return web.json_response(
                {
                    "error": "INVALID_CREDENTIALS",
                    "error_description": "Invalid request credentials",
                },
                status=401,
            )
        self._drain()
        if self._level + 1 > self.bucket:
            self.limited += 1
            self.note(method, 503)
            return web.json_response(
                {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
                status=503,
            )
        self._level += 1
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        status, body = self._method(method, params)
        self.note(method, status)
        if status == 200:
            body = {"result": body, "time": {"start": time.time(), "duration": 0.01}}
        return web.json_response(body, status=status)

    def _method(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        not_found = (400, {"error": "", "error_description": "Not found"})
        ident = str(params.get("id") or params.get("ID") or "")
        if method == "user.current":
            return 200, self.users["1"]
        if method == "user.get":
            user = self.users.get(ident)
            return 200, [user] if user else []
        if method == "crm.deal.get":
            return (200, self.deals[ident]) if ident in self.deals else not_found
        if method == "crm.contact.get":
            return (200, self.contacts[ident]) if ident in self.contacts else not_found
        if method == "crm.deal.productrows.get":
            return (200, self.products.get(ident, [])) if ident in self.deals else not_found
        if method == "crm.timeline.comment.add":
            fields = params.get("fields") or {}
            if (
                fields.get("ENTITY_TYPE") != "deal"
                or str(fields.get("ENTITY_ID")) not in self.deals
            ):
                return not_found
            self.comments.append((int(fields["ENTITY_ID"]), str(fields["COMMENT"])))
            return 200, len(self.comments)
        return 404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


async def post_event(
    address: str,
    deal_id: int | str,
    *,
    token: str = APP_TOKEN,
    event: str = "ONCRMDEALUPDATE",
    domain: str = "b24-test.bitrix24.ru",
) -> tuple[int, str]:
    """An outbound-webhook event as Bitrix24 posts it (form-encoded); (status, body)."""
    form = {
        "event": event,
        "event_handler_id": "201",
        "data[FIELDS][ID]": str(deal_id),
        "ts": str(int(time.time())),
        "auth[domain]": domain,
        "auth[client_endpoint]": f"https://{domain}/rest/",
        "auth[server_endpoint]": "https://oauth.bitrix.info/rest/",
        "auth[member_id]": "a223c6b3710f85df22e9377d6c4f7553",
        "auth[application_token]": token,
    }
    async with aiohttp.ClientSession() as session, session.post(address, data=form) as response:
        return response.status, await response.text()
