"""The poster's typeface: Bitstream Vera Sans, as shipped inside reportlab (permissive licence), so the
PDF embeds it, the PNG draws with it and the layout measures with it: the same widths everywhere, and
nothing depends on which fonts the machine happens to have."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

_DIR = Path(reportlab.__file__).parent / "fonts"
FILES = {False: _DIR / "Vera.ttf", True: _DIR / "VeraBd.ttf"}
NAMES = {False: "PulseVera", True: "PulseVera-Bold"}
# For SVG, which refers to fonts by name: Vera first, then its metric-compatible descendants.
SVG_FAMILY = "'Bitstream Vera Sans', 'DejaVu Sans', Verdana, sans-serif"

PT_MM = 25.4 / 72


@cache
def registered() -> None:
    """Register both weights with reportlab once (reads the two font files)."""
    for bold, path in FILES.items():
        pdfmetrics.registerFont(TTFont(NAMES[bold], str(path)))


def width_mm(text: str, bold: bool, size_pt: float) -> float:
    registered()
    return pdfmetrics.stringWidth(text, NAMES[bold], size_pt) * PT_MM
