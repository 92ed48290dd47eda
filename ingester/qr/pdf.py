"""The poster as PDF (reportlab): vector QR code, the typeface embedded, ready for a print shop."""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ingester.qr import fonts
from ingester.qr.poster import Poster


def render_pdf(poster: Poster) -> bytes:
    fonts.registered()
    out = io.BytesIO()
    page_h = poster.height_mm * mm
    # invariant=1: no creation date or random id in the file, so the same poster is the same bytes.
    canvas = Canvas(out, pagesize=(poster.width_mm * mm, page_h), invariant=1, pageCompression=1)
    canvas.setTitle(poster.title)
    canvas.setSubject(poster.link)
    canvas.setFillColorRGB(0, 0, 0)

    qr = poster.qr
    unit = qr.module_mm * mm
    path = canvas.beginPath()
    for y, x, n in qr.runs():  # PDF's y axis points up: flip each row
        top = page_h - qr.y_mm * mm - y * unit
        path.rect(qr.x_mm * mm + x * unit, top - unit, n * unit, unit)
    # One filled path rather than many rectangles: no hairline seams between modules when rasterised.
    canvas.drawPath(path, fill=1, stroke=0)

    for line in poster.lines:
        canvas.setFont(fonts.NAMES[line.bold], line.size_pt)
        canvas.drawCentredString(line.x_mm * mm, page_h - line.baseline_mm * mm, line.text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
