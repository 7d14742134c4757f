"""A fake amoCRM (Kommo) account: API v4 as documented, HAL JSON (`application/hal+json`) and
problem JSON for errors; a lead that does not exist answers 204 with no body; a Bearer token;
at most `per_second` requests in any second, 429 beyond. `post_status` sends the "lead status
changed" webhook as amoCRM does (form-encoded `leads[status][0][id]`, `[status_id]`, ...)."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.crm_server import FakeCRM

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.long-lived-token-for-tests.sig"
HAL = "application/hal+json"


class FakeAmoCRM(FakeCRM):
    def __init__(self, *, per_second: int = 7) -> None:
        super().__init__()
        self.per_second = per_second
        self.leads: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {"11": {"id": 11, "name": "Ольга Продажи"}}
        self.notes: list[tuple[int, dict[str, Any]]] = []
        self.limited = 0
        self._accepted: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def account(self) -> str:
        return f"127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v4/account", self._account)
        app.router.add_get("/api/v4/leads/{id}", self._lead)
        app.router.add_get("/api/v4/contacts/{id}", self._contact)
        app.router.add_get("/api/v4/users/{id}", self._user)
        app.router.add_post("/api/v4/leads/{id}/notes", self._add_notes)

    def won(
        self,
        lead_id: int,
        *,
        contact: dict[str, Any] | None = None,
        responsible: int = 11,
        status: int = 142,
    ) -> None:
        embedded: list[dict[str, Any]] = []
        if contact is not None:
            cid = 900 + lead_id
            self.contacts[str(cid)] = {"id": cid, "responsible_user_id": responsible, **contact}
            embedded.append({"id": cid, "is_main": True, "_links": {}})
        self.leads[str(lead_id)] = {
            "id": lead_id,
            "name": f"Сделка {lead_id}",
            "price": 120000,
            "responsible_user_id": responsible,
            "status_id": status,
            "pipeline_id": 3177727,
            "closed_at": 1763596800,
            "_links": {"self": {"href": f"{self.url}/api/v4/leads/{lead_id}"}},
            "_embedded": {"contacts": embedded, "tags": []},
        }

    def _guard(self, request: web.Request, what: str) -> web.Response | None:
        fault = self.fault()
        if fault is not None:
            self.note(what, fault.status)
            return fault
        if self.revoked or request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.note(what, 401)
            return web.json_response(
                {"title": "Unauthorized", "type": "https://httpstatus.es/401", "status": 401,
                 "detail": "Unauthorized"},
                status=401, content_type="application/problem+json",
            )  # fmt: skip
        now = time.monotonic()
        self._accepted = [t for t in self._accepted if now - t < 1.0]
        if len(self._accepted) >= self.per_second:
            self.limited += 1
            self.note(what, 429)
            return web.Response(status=429)
        self._accepted.append(now)
        return None

    def _hal(self, what: str, body: Any) -> web.Response:
        self.note(what, 200)
        return web.json_response(body, content_type=HAL)

    async def _account(self, request: web.Request) -> web.StreamResponse:
        return self._guard(request, "account") or self._hal(
            "account", {"id": 29085955, "name": "Ромашка", "subdomain": "romashka"}
        )

    async def _lead(self, request: web.Request) -> web.StreamResponse:
        refused = self._guard(request, "lead")
        if refused is not None:
            return refused
        lead = self.leads.get(request.match_info["id"])
        if lead is None:
            self.note("lead", 204)
            return web.Response(status=204)
        body = dict(lead)
        if "contacts" not in request.query.get("with", ""):
            body["_embedded"] = {"tags": []}
        return self._hal("lead", body)

    async def _contact(self, request: web.Request) -> web.StreamResponse:
        refused = self._guard(request, "contact")
        if refused is not None:
            return refused
        contact = self.contacts.get(request.match_info["id"])
        if contact is None:
            self.note("contact", 204)
            return web.Response(status=204)
        return self._hal("contact", contact)

    async def _user(self, request: web.Request) -> web.StreamResponse:
        refused = self._guard(request, "user")
        if refused is not None:
            return refused
        user = self.users.get(request.match_info["id"])
        if user is None:
            self.note("user", 204)
            return web.Response(status=204)
        return self._hal("user", user)

    async def _add_notes(self, request: web.Request) -> web.StreamResponse:
        refused = self._guard(request, "notes")
        if refused is not None:
            return refused
        lead_id = request.match_info["id"]
        notes = await request.json()
        if lead_id not in self.leads or not isinstance(notes, list):
            self.note("notes", 400)
            return web.json_response(
                {"title": "Bad Request", "status": 400, "detail": "Invalid entity"},
                status=400, content_type="application/problem+json",
            )  # fmt: skip
        out = []
        for n in notes:
            self.notes.append((int(lead_id), n))
            out.append({"id": len(self.notes), "entity_id": int(lead_id), "request_id": "0"})
        return self._hal("notes", {"_total_items": len(out), "_embedded": {"notes": out}})


def contact(
    name: str = "Мария Кузнецова",
    phone: str | None = "+7 (903) 555-12-34",
    birthday: int | None = 642628800,  # 1990-05-14 00:00 in Moscow (UTC+4 that summer)
) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    if phone is not None:
        fields.append({
            "field_id": 264911, "field_name": "Телефон", "field_code": "PHONE",
            "field_type": "multitext", "values": [{"value": phone, "enum_code": "WORK"}],
        })  # fmt: skip
    if birthday is not None:
        fields.append({
            "field_id": 264915, "field_name": "День рождения", "field_code": None,
            "field_type": "birthday", "values": [{"value": birthday}],
        })  # fmt: skip
    return {"name": name, "first_name": name.split()[0], "custom_fields_values": fields or None}


async def post_status(
    address: str, *leads: tuple[int, int], subdomain: str = "romashka"
) -> tuple[int, str]:
    """The "lead status changed" webhook for (lead id, new status id) pairs; (status, body)."""
    form: dict[str, str] = {"account[subdomain]": subdomain, "account[id]": "29085955"}
    for i, (lead_id, status) in enumerate(leads):
        form[f"leads[status][{i}][id]"] = str(lead_id)
        form[f"leads[status][{i}][status_id]"] = str(status)
        form[f"leads[status][{i}][pipeline_id]"] = "3177727"
        form[f"leads[status][{i}][old_status_id]"] = "27445648"
    async with aiohttp.ClientSession() as session, session.post(address, data=form) as response:
        return response.status, await response.text()
