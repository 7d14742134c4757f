"""What an owner may register as a webhook URL: pure rules, no I/O.

The non-obvious decision: an internal address is refused here only when the URL names it by
itself (an IP literal, `localhost`); a host name is judged after it is resolved, at each
delivery (scheduler/hooks_guard.py), since what a name resolves to can change (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

URL_LIMIT = 2000


def webhook_url(text: str) -> str | None:
    """The URL as it will be stored, or None if it cannot be one: http(s), a host, no spaces,
    no user and password in it (they would be shown in the chat), at most URL_LIMIT characters."""
    url = text.strip()
    if not url or len(url) > URL_LIMIT or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port out of range or not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if port == 0:
        return None
    return url


def public_address(address: str) -> bool:
    """Whether a webhook may be sent to this IP address: a global unicast one. Loopback,
    private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, where cloud
    metadata lives; fe80::/10), shared (100.64/10), multicast, reserved and unspecified ones are
    not; an IPv4 address inside IPv6 (::ffff:a.b.c.d) is judged as the IPv4 one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone aside
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    """The IP address a URL's host names by itself (no DNS), in its usual form, or None for a
    name. The old IPv4 spellings a resolver still takes (2130706433, 0x7f.1, 127.1) count."""
    bare = host.strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        pass
    if bare and all(ch in "0123456789abcdefxABCDEFX." for ch in bare):
        try:
            return socket.inet_ntoa(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def private_url(url: str) -> bool:
    """Whether a URL names an internal address by itself: an IP that is not public, or
    `localhost` (and `*.localhost`, which resolvers send to the machine itself). A name that
    resolves to one is caught when sending (scheduler/hooks_guard.py), after the lookup."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    return address is not None and not public_address(address)
