"""QR codes of invitation links, for door cards and posters (segno, not hand-written)."""

from __future__ import annotations

import io

import segno

SCALE = 8  # pixels per module: about 300 px square for a typical link, sharp when printed
BORDER = 4  # the quiet zone the QR standard asks for


def png(url: str) -> bytes:
    """A PNG of ``url`` as a QR code, error correction M (survives a little dirt)."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=SCALE, border=BORDER)
    return buffer.getvalue()
