"""amoCRM (Kommo) API v4: the "lead status changed" webhook and the REST calls with a
long-lived token.

Webhooks are form-encoded (`leads[status][0][id]=..&leads[status][0][status_id]=142`), several
leads in one request; only moves to the won status (142) are kept. Answers are HAL JSON
(`application/hal+json`); a lead that does not exist answers 204 with no body; 429 means slower.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crm.http import AMO_INTERVAL, CrmError, Failure, Transport
from crm.model import Event, WonDeal, birthday_from, date_from

KIND = "amocrm"
WON_STATUS = "142"
_STATUS_KEY = re.compile(r"^leads\[status\]\[(\d{1,4})\]\[(id|status_id)\]$")


def parse_event(form: Mapping[str, str]) -> list[Event]:
    """The leads moved to the won status in one webhook request."""
    found: dict[str, dict[str, str]] = {}
    for key, value in form.items():
        match = _STATUS_KEY.match(key)
        if match:
            found.setdefault(match[1], {})[match[2]] = str(value).strip()
    events = []
    for fields in found.values():
        lead_id = fields.get("id", "")
        status = fields.get("status_id", "")
        if lead_id.isdigit() and len(lead_id) <= 18 and status == WON_STATUS:
            events.append(Event("lead.status", lead_id, status))
    return events


def is_status_webhook(form: Mapping[str, str]) -> bool:
    return any(_STATUS_KEY.match(k) for k in form)


def _classify(what: str):  # type: ignore[no-untyped-def]
    def classify(status: int, body: Any) -> CrmError | None:
        if status in (401, 402, 403):
            return CrmError(Failure.AUTH, f"{what}: HTTP {status}")
        if status == 429:
            return CrmError(Failure.BUSY, f"{what}: HTTP 429")
        if status >= 500:
            return CrmError(Failure.TEMPORARY, f"{what}: HTTP {status}")
        if status == 204:
            return CrmError(Failure.REFUSED, f"{what}: not found")
        if status >= 400:
            detail = body.get("detail") or body.get("title") if isinstance(body, dict) else ""
            return CrmError(Failure.REFUSED, f"{what}: HTTP {status} {detail or ''}".strip())
        if not isinstance(body, dict):
            return CrmError(Failure.TEMPORARY, f"{what}: an unreadable answer")
        return None

    return classify


def _field(contact: dict[str, Any], *, code: str = "", ftype: str = "") -> list[Any]:
    values = []
    for f in contact.get("custom_fields_values") or []:
        if not isinstance(f, dict):
            continue
        if (code and f.get("field_code") == code) or (ftype and f.get("field_type") == ftype):
            values += [v.get("value") for v in f.get("values") or [] if isinstance(v, dict)]
    return values


class AmoCRM:
    kind = KIND

    def __init__(
        self,
        transport: Transport,
        base_url: str,
        account: str,
        token: str,
        interval: float = AMO_INTERVAL,
    ) -> None:
        self._transport = transport
        self._base = base_url
        self._token = token
        self.account = account
        self._limiter = transport.limiter(f"{KIND}:{account}", interval)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        what = f"{self.account} {method} {re.sub(r'/[0-9]+', '/{id}', path)}"
        headers = {"Authorization": f"Bearer {self._token}"}
        return await self._transport.request(
            self._limiter,
            what,
            method,
            self._base + path,
            _classify(what),
            headers=headers,
            **kwargs,
        )

    async def check(self) -> str:
        account = await self._call("GET", "api/v4/account")
        return str(account.get("name") or account.get("subdomain") or "?")

    async def won_deal(self, event: Event) -> WonDeal | None:
        lead = await self._call(
            "GET", f"api/v4/leads/{event.entity_id}", params={"with": "contacts"}
        )
        if str(lead.get("status_id") or "") != WON_STATUS:
            return None
        contacts = [
            c for c in (lead.get("_embedded") or {}).get("contacts") or [] if isinstance(c, dict)
        ]
        main = next((c for c in contacts if c.get("is_main")), contacts[0] if contacts else None)
        base = WonDeal(
            crm_id=event.entity_id,
            title=str(lead.get("name") or "").strip(),
            contact_id=str(main["id"]) if main and main.get("id") else None,
            responsible_id=str(lead.get("responsible_user_id") or "").strip() or None,
            closed_on=date_from(lead.get("closed_at")),
        )
        if base.contact_id is None:
            return base
        contact = await self._call("GET", f"api/v4/contacts/{base.contact_id}")
        name = str(contact.get("name") or "").strip() or " ".join(
            str(contact.get(k) or "").strip() for k in ("first_name", "last_name")
        )
        phones = tuple(
            str(p).strip() for p in _field(contact, code="PHONE") if str(p or "").strip()
        )
        birthdays = _field(contact, ftype="birthday") or _field(contact, code="BIRTHDAY")
        return WonDeal(
            crm_id=base.crm_id,
            title=base.title,
            contact_id=base.contact_id,
            contact_name=" ".join(name.split()) or None,
            phones=phones,
            birthday=birthday_from(birthdays[0]) if birthdays else None,
            responsible_id=base.responsible_id,
            closed_on=base.closed_on,
        )

    async def user_name(self, user_id: str) -> str | None:
        user = await self._call("GET", f"api/v4/users/{user_id}")
        return str(user.get("name") or "").strip() or None

    async def comment(self, crm_id: str, text: str) -> None:
        """A common note on the lead."""
        await self._call(
            "POST",
            f"api/v4/leads/{crm_id}/notes",
            json=[{"note_type": "common", "params": {"text": text}}],
        )
