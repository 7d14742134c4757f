"""The deliverer's guard against server-side request forgery: webhooks go to public addresses.

An owner, or an API token with the webhooks scope, chooses where the bot POSTs; without a guard
that could be the machine itself (127.0.0.1, ::1), the office network (10/8, 192.168/16,
fc00::/7) or the cloud's metadata service (169.254.169.254). Registration refuses a URL that
names such an address by itself (domain/hooks.py); this module judges what a host name
resolves to, at every delivery.

The one non-obvious decision: the check is done *inside* the connection, by the resolver the
aiohttp connector uses (`TCPConnector(resolver=GuardedResolver(...))`), and the connector then
connects to exactly the addresses the resolver returned. A check done beforehand with its own
lookup would be undone by DNS rebinding: a name that resolves to a public address for the check
and to 127.0.0.1 a second later for the connection. aiohttp does not ask the resolver about an
IP literal, so the deliverer checks those itself (`domain.hooks.private_url`) first.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from domain.hooks import public_address


class Refused(OSError):
    """The host resolves only to addresses a webhook may not reach."""


class GuardedResolver(AbstractResolver):
    """Resolves with `inner` and yields only public addresses; Refused when none is left."""

    def __init__(self, inner: AbstractResolver) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if public_address(r["host"])]
        if not allowed:
            raise Refused(f"{host} resolves to an internal address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
