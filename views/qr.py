"""QR codes of survey links, as PNG bytes ready to send as a photo."""

from __future__ import annotations

import io

import segno


def qr_png(data: str, scale: int = 10) -> bytes:
    """Error correction M survives a crumpled receipt; scale 10 gives ~400 px for a 24-char link."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
