"""Bitrix24: the outbound webhook's events, and the REST calls through the inbound webhook.

Events are form-encoded (`event=ONCRMDEALUPDATE&data[FIELDS][ID]=..&auth[application_token]=..`)
and say only which deal changed: the deal is always read again (`crm.deal.get`), so repeated or
reordered events see the same, current deal. Answers are `{"result": ...}` or `{"error": ...,
"error_description": ...}`; `QUERY_LIMIT_EXCEEDED` (HTTP 503) means "slower", not "down".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.http import BITRIX_INTERVAL, CrmError, Failure, Transport
from crm.model import Event, WonDeal, birthday_from, date_from

KIND = "bitrix24"
EVENTS = ("ONCRMDEALUPDATE", "ONCRMDEALADD")
WON = "S"  # STAGE_SEMANTIC_ID of a deal in a success stage
_AUTH_ERRORS = {
    "NO_AUTH_FOUND",
    "INVALID_CREDENTIALS",
    "expired_token",
    "invalid_token",
    "WRONG_AUTH_TYPE",
    "insufficient_scope",
    "ACCESS_DENIED",
    "authorization_error",
}
_BUSY_ERRORS = {"QUERY_LIMIT_EXCEEDED"}
_LATER_ERRORS = {"OVERLOAD_LIMIT", "INTERNAL_SERVER_ERROR", "ERROR_CORE"}


def parse_event(form: Mapping[str, str]) -> tuple[Event | None, str]:
    """(the event or None when it is not one we handle, its application_token)."""
    token = form.get("auth[application_token]", "")
    name = (form.get("event") or "").upper()
    deal_id = (form.get("data[FIELDS][ID]") or "").strip()
    if name not in EVENTS or not deal_id.isdigit() or len(deal_id) > 18:
        return None, token
    return Event(name, deal_id), token


def _classify(what: str):  # type: ignore[no-untyped-def]
    def classify(status: int, body: Any) -> CrmError | None:
        if isinstance(body, dict) and "error" in body:
            code = str(body.get("error") or "")
            text = str(body.get("error_description") or code)[:200]
            if code in _BUSY_ERRORS:
                return CrmError(Failure.BUSY, f"{what}: {code}")
            if code in _AUTH_ERRORS or status == 401:
                return CrmError(Failure.AUTH, f"{what}: {code or status} {text}")
            if code in _LATER_ERRORS or status >= 500:
                return CrmError(Failure.TEMPORARY, f"{what}: HTTP {status} {code}")
            return CrmError(Failure.REFUSED, f"{what}: {code} {text}".strip())
        if status == 401:
            return CrmError(Failure.AUTH, f"{what}: HTTP 401")
        if status >= 500 or status == 429:
            return CrmError(Failure.TEMPORARY, f"{what}: HTTP {status}")
        if status != 200 or not isinstance(body, dict) or "result" not in body:
            if 200 <= status < 300:
                return CrmError(Failure.TEMPORARY, f"{what}: an unreadable answer")
            return CrmError(Failure.REFUSED, f"{what}: HTTP {status}")
        return None

    return classify


class Bitrix24:
    kind = KIND

    def __init__(
        self, transport: Transport, base_url: str, account: str, interval: float = BITRIX_INTERVAL
    ) -> None:
        self._transport = transport
        self._base = base_url
        self.account = account
        self._limiter = transport.limiter(f"{KIND}:{account}", interval)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        what = f"{self.account} {method}"
        body = await self._transport.request(
            self._limiter, what, "POST", self._base + method, _classify(what), json=params
        )
        return body["result"]

    async def check(self) -> str:
        """One call that proves the webhook works: the name of its user."""
        me = await self.call("user.current", {})
        if not isinstance(me, dict):
            raise CrmError(Failure.TEMPORARY, f"{self.account} user.current: an unreadable answer")
        return " ".join(str(me.get(k) or "") for k in ("NAME", "LAST_NAME")).strip() or "?"

    async def won_deal(self, event: Event) -> WonDeal | None:
        """The deal with its contact, products and responsible user, or None if not won now."""
        deal = await self.call("crm.deal.get", {"id": event.entity_id})
        if not isinstance(deal, dict):
            raise CrmError(Failure.REFUSED, f"{self.account} crm.deal.get: not a deal")
        if str(deal.get("STAGE_SEMANTIC_ID") or "") != WON:
            return None
        contact_id = str(deal.get("CONTACT_ID") or "").strip()
        if not contact_id.isdigit() or contact_id == "0":
            contact_id = ""
        rows = await self.call("crm.deal.productrows.get", {"id": event.entity_id})
        products = tuple(
            str(r.get("PRODUCT_NAME") or "").strip()
            for r in (rows if isinstance(rows, list) else [])
            if isinstance(r, dict) and str(r.get("PRODUCT_NAME") or "").strip()
        )
        base = WonDeal(
            crm_id=event.entity_id,
            title=str(deal.get("TITLE") or "").strip(),
            contact_id=contact_id or None,
            products=products,
            responsible_id=str(deal.get("ASSIGNED_BY_ID") or "").strip() or None,
            closed_on=date_from(deal.get("CLOSEDATE")),
        )
        if not contact_id:
            return base
        contact = await self.call("crm.contact.get", {"id": contact_id})
        if not isinstance(contact, dict):
            return base
        name = " ".join(
            str(contact.get(k) or "").strip() for k in ("NAME", "SECOND_NAME", "LAST_NAME")
        )
        phones = tuple(
            str(p.get("VALUE") or "").strip()
            for p in (contact.get("PHONE") or [])
            if isinstance(p, dict) and str(p.get("VALUE") or "").strip()
        )
        return WonDeal(
            crm_id=base.crm_id,
            title=base.title,
            contact_id=contact_id,
            contact_name=" ".join(name.split()) or None,
            phones=phones,
            birthday=birthday_from(contact.get("BIRTHDATE")),
            products=base.products,
            responsible_id=base.responsible_id,
            closed_on=base.closed_on,
        )

    async def user_name(self, user_id: str) -> str | None:
        users = await self.call("user.get", {"ID": user_id})
        if isinstance(users, list) and users and isinstance(users[0], dict):
            u = users[0]
            return " ".join(str(u.get(k) or "") for k in ("NAME", "LAST_NAME")).strip() or None
        return None

    async def comment(self, crm_id: str, text: str) -> None:
        """A comment in the deal's timeline (what the manager sees in the deal card)."""
        await self.call(
            "crm.timeline.comment.add",
            {"fields": {"ENTITY_ID": int(crm_id), "ENTITY_TYPE": "deal", "COMMENT": text}},
        )
