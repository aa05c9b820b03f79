"""QR codes drawn on the server as inline SVG (segno): no script, no external image."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(data: str, label: str) -> Markup:
    """An accessible inline <svg> QR code of `data`, named by `label` for screen readers."""
    svg = segno.make(data, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff", svgclass="app-qr")
    escaped = Markup.escape(label)
    return Markup(  # noqa: S704 - segno's own markup, plus our escaped label
        svg.replace("<svg ", f'<svg role="img" aria-label="{escaped}" ', 1)
    )
