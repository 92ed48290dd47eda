"""Format → renderer."""

from __future__ import annotations

from ingester.qr.pdf import render_pdf
from ingester.qr.png import render_png
from ingester.qr.poster import Format, Poster
from ingester.qr.svg import render_svg


def render(poster: Poster, fmt: Format) -> bytes:
    return {Format.svg: render_svg, Format.png: render_png, Format.pdf: render_pdf}[fmt](poster)
