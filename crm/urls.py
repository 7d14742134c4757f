"""Reading what an owner pastes in /crm: a Bitrix24 inbound webhook URL, an amoCRM subdomain.

Plain `http` is accepted only for this machine (the tests' fake CRMs); everything else must be
https, so a webhook code never crosses the network in clear."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_LOCAL = {"127.0.0.1", "localhost", "::1"}
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    base_url: str  # ends with "/"
    account: str  # the host (and port), the CRM's name for the owner and in deal sources


def _scheme_ok(scheme: str, host: str) -> bool:
    return scheme == "https" or (scheme == "http" and host in _LOCAL)


def bitrix_webhook(text: str) -> Endpoint | None:
    """`https://<portal>/rest/<user id>/<code>/` (a method name after it is dropped)."""
    raw = text.strip()
    if len(raw) > 300 or any(c.isspace() for c in raw):
        return None
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if (
        not host
        or not _scheme_ok(parts.scheme, host)
        or (host not in _LOCAL and not _HOST.match(host))
    ):
        return None
    match = re.match(r"^/rest/(\d{1,10})/([A-Za-z0-9_]{6,64})(/.*)?$", parts.path)
    if not match or parts.query or parts.fragment or parts.username or parts.password:
        return None
    account = f"{host}:{port}" if port else host
    return Endpoint(f"{parts.scheme}://{account}/rest/{match[1]}/{match[2]}/", account)


def amo_account(text: str) -> Endpoint | None:
    """A subdomain ("mycompany" → mycompany.amocrm.ru), a host (mycompany.kommo.com) or a URL."""
    raw = text.strip().lower().rstrip("/")
    if not raw or len(raw) > 200 or any(c.isspace() for c in raw):
        return None
    if _SUBDOMAIN.match(raw):
        host = f"{raw}.amocrm.ru"
        return Endpoint(f"https://{host}/", host)
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if (
        not host
        or not _scheme_ok(parts.scheme, host)
        or (host not in _LOCAL and not _HOST.match(host))
    ):
        return None
    if parts.path not in ("", "/") or parts.query or parts.username:
        return None
    account = f"{host}:{port}" if port else host
    return Endpoint(f"{parts.scheme}://{account}/", account)


def mask(secret: str, keep: int = 4) -> str:
    """A secret as the owner may see it again: its first and last characters."""
    if len(secret) <= keep * 2 + 2:
        return "…"
    return f"{secret[:keep]}…{secret[-keep:]}"


def masked_webhook(base_url: str) -> str:
    """https://portal/rest/1/abcd…wxyz/: the portal and user stay readable, the code does not."""
    head, _, code = base_url.rstrip("/").rpartition("/")
    return f"{head}/{mask(code)}/"
