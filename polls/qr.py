"""QR codes of join links, drawn on the server as SVG with segno (no service, no script)."""

from __future__ import annotations

import segno


def svg(text: str, *, title: str) -> str:
    """An inline SVG QR code of `text`, sized by its container (CSS), with a text title."""
    code = segno.make(text, error="m")
    # No XML declaration and no fixed size: it goes inside a page and scales with it.
    return str(code.svg_inline(scale=1, border=2, title=title, omitsize=True))
