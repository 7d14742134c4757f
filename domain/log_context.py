"""What a log line is about (`update 123`, `outbox 45`, `tick`), set where the work starts.

It lives in a contextvar, so concurrent updates never see each other's label; bot/logs.py's
formatter reads it. Stdlib only: the dispatcher, the sender and the scheduler's jobs all set it."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_context: contextvars.ContextVar[str] = contextvars.ContextVar("log_context", default="-")


@contextmanager
def log_context(label: str) -> Iterator[None]:
    """Lines logged inside carry `[label]` (e.g. `outbox 45`)."""
    token = _context.set(label)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> str:
    """The label of the work running now, `-` outside any."""
    return _context.get()
