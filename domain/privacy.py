"""What is kept of a person who asked to be forgotten: a salted digest of their phone, nothing else.

The digest lets /import refuse an old spreadsheet row of that person without keeping the phone."""

from __future__ import annotations

import hashlib


def phone_hash(phone: str) -> str:
    """The digest kept of an erased phone (E.164): enough to recognise it, not to read it back
    without trying numbers one by one, which is why nothing else about the person is kept."""
    return hashlib.sha256(f"followup-bot erased phone {phone}".encode()).hexdigest()
