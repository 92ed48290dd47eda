"""The poster as PNG (Pillow) at print resolution, with its DPI recorded so it prints at its size."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from ingester.qr import fonts
from ingester.qr.poster import Poster

DPI = 300


@cache
def _font(bold: bool, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.FILES[bold]), size_px)


def render_png(poster: Poster, dpi: int = DPI) -> bytes:
    px_per_mm = dpi / 25.4
    width, height = round(poster.width_mm * px_per_mm), round(poster.height_mm * px_per_mm)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)

    qr = poster.qr
    # Whole pixels per module, or a scanner sees modules of uneven width; centre what rounding left.
    module = max(1, int(qr.module_mm * px_per_mm))
    side = module * len(qr.rows)
    left = round((qr.x_mm + qr.size_mm / 2) * px_per_mm) - side // 2
    top = round((qr.y_mm + qr.size_mm / 2) * px_per_mm) - side // 2
    for y, x, n in qr.runs():
        x0, y0 = left + x * module, top + y * module
        draw.rectangle((x0, y0, x0 + n * module - 1, y0 + module - 1), fill=0)

    for line in poster.lines:
        size_px = max(1, round(line.size_pt / 72 * dpi))
        draw.text(
            (line.x_mm * px_per_mm, line.baseline_mm * px_per_mm),
            line.text,
            fill=0,
            font=_font(line.bold, size_px),
            anchor="ms",  # middle, baseline: the same reference point as SVG and PDF
        )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()
