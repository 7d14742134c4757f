"""What an owner may register as a webhook URL: pure rules, no I/O."""

from __future__ import annotations

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
