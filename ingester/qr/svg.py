"""The poster as SVG: page size in millimetres, the QR code as one path of crisp rectangles."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ingester.qr.fonts import PT_MM, SVG_FAMILY
from ingester.qr.poster import Poster


def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".")


def render_svg(poster: Poster) -> bytes:
    w, h = poster.width_mm, poster.height_mm
    qr = poster.qr
    # In module units, scaled once by the group transform: short path data, exact module edges.
    path = "".join(f"M{x} {y}h{n}v1h-{n}z" for y, x, n in qr.runs())
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(w)}mm" height="{_n(h)}mm" '
            f'viewBox="0 0 {_n(w)} {_n(h)}" lang="{poster.language}">'
        ),
        f"<title>{escape(poster.title)}</title>",
        f'<rect width="{_n(w)}" height="{_n(h)}" fill="#fff"/>',
        (
            f'<g transform="translate({_n(qr.x_mm)} {_n(qr.y_mm)}) scale({qr.module_mm:.6f})">'
            f'<path d="{path}" fill="#000" shape-rendering="crispEdges"/></g>'
        ),
        f"<g fill=\"#000\" font-family={quoteattr(SVG_FAMILY)} text-anchor=\"middle\">",
    ]
    for line in poster.lines:
        weight = ' font-weight="bold"' if line.bold else ""
        parts.append(
            f'<text x="{_n(line.x_mm)}" y="{_n(line.baseline_mm)}" font-size="{_n(line.size_pt * PT_MM)}"'
            f"{weight}>{escape(line.text)}</text>"
        )
    parts += ["</g>", "</svg>", ""]
    return "\n".join(parts).encode("utf-8")
