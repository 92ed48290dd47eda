"""One poster, laid out once in millimetres and drawn by the SVG, PNG and PDF renderers alike.

Pure apart from reading the font's metrics: the QR matrix comes from segno (error correction H, about
30 % of the symbol may be smudged, torn or rained on and it still reads), text sizes from `fonts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

import segno
from pydantic import BaseModel, ConfigDict

from ingester.entrylink import EntryLink
from ingester.i18n import Catalog, Language
from ingester.qr.fonts import PT_MM, width_mm

QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires
MIN_MODULE_MM = 0.5  # smaller modules blur on a cheap printer and on a phone's camera at arm's length


class PosterSettings(BaseModel):
    """The slice of the settings a poster needs (`Settings.poster()`)."""

    model_config = ConfigDict(frozen=True)

    entry_url: str
    language: Language = "nl"


class Format(StrEnum):
    svg = "svg"
    png = "png"
    pdf = "pdf"


class Size(StrEnum):
    a4 = "a4"
    a6 = "a6"


PAGES_MM: dict[Size, tuple[float, float]] = {Size.a4: (210.0, 297.0), Size.a6: (105.0, 148.0)}

TEXTS = Catalog(
    {
        "nl": {
            "headline": "Praat mee met de gemeente",
            "intro": "Lees het gesprek van vandaag en stel je vraag. Meelezen kan zonder account.",
            "scan": "Scan de code of ga naar",
            "footer": "Geen reclame, geen tracking.",
            "title": "Praat mee: {link}",
        },
        "en": {
            "headline": "Talk with the city",
            "intro": "Read today's conversation and ask your question. No account needed to read along.",
            "scan": "Scan the code or go to",
            "footer": "No ads, no tracking.",
            "title": "Talk with us: {link}",
        },
    }
)


@dataclass(frozen=True)
class TextLine:
    """One centred line of text; `baseline_mm` is measured from the top of the page."""

    text: str
    bold: bool
    size_pt: float
    x_mm: float
    baseline_mm: float


@dataclass(frozen=True)
class QrBlock:
    """The symbol including its quiet zone; `rows[y][x]` is True for a dark module."""

    x_mm: float
    y_mm: float
    size_mm: float
    rows: tuple[tuple[bool, ...], ...]

    @property
    def module_mm(self) -> float:
        return self.size_mm / len(self.rows)

    def runs(self) -> list[tuple[int, int, int]]:
        """Horizontal runs of dark modules as (row, first column, length): fewer shapes to draw."""
        out: list[tuple[int, int, int]] = []
        for y, row in enumerate(self.rows):
            x = 0
            for dark, run in groupby(row):
                n = len(list(run))
                if dark:
                    out.append((y, x, n))
                x += n
        return out


@dataclass(frozen=True)
class Poster:
    width_mm: float
    height_mm: float
    link: str
    title: str
    language: Language
    qr: QrBlock
    lines: tuple[TextLine, ...]


def qr_rows(data: str) -> tuple[tuple[bool, ...], ...]:
    # boost_error=False: exactly level H, never silently something else; micro=False: phones read
    # only full QR codes.
    code = segno.make(data, error="h", micro=False, boost_error=False)
    return tuple(tuple(bool(v) for v in row) for row in code.matrix_iter(scale=1, border=QUIET_ZONE))


def _wrap(text: str, bold: bool, size_pt: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and width_mm(candidate, bold, size_pt) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


def _fit(text: str, bold: bool, size_pt: float, floor_pt: float, width: float) -> float:
    """The largest size ≤ `size_pt` (not below `floor_pt`) at which `text` fits on one line."""
    size = size_pt
    while size > floor_pt and width_mm(text, bold, size) > width:
        size = max(floor_pt, size * 0.95)
    return size


@dataclass
class _Block:
    """Lines stacked from y = 0 (their top) downwards; `height` is where the next block may start."""

    items: list[tuple[str, bool, float, float]]  # text, bold, size_pt, baseline from block top (mm)
    height: float = 0.0

    @classmethod
    def of(cls, lines: list[str], bold: bool, size_pt: float) -> _Block:
        em = size_pt * PT_MM
        items = [(t, bold, size_pt, em * (0.8 + 1.2 * i)) for i, t in enumerate(lines)]
        return cls(items, em * (1.2 * len(lines) - 0.2) if lines else 0.0)

    def then(self, gap: float, other: _Block) -> _Block:
        offset = self.height + gap
        return _Block(self.items + [(t, b, s, y + offset) for t, b, s, y in other.items], offset + other.height)


def layout(settings: PosterSettings, source: str, size: Size, headline: str | None = None) -> Poster:
    """Lay out the poster for `source` (checked: `SourceError` if it is not a valid code)."""
    link = EntryLink(settings.entry_url)
    exact = link.for_source(source)
    lang = settings.language
    page_w, page_h = PAGES_MM[size]
    k = page_w / 210.0  # A6 is A4 at half scale
    margin = 14.0 * k
    inner = page_w - 2 * margin

    head_text = (headline or TEXTS.text(lang, "headline")).strip()
    # One line if it fits at three quarters of the full size; otherwise the largest size (down to half)
    # at which it wraps into at most three lines, so a long call to action does not eat the QR code.
    head_pt = _fit(head_text, True, 40 * k, 30 * k, inner)
    if width_mm(head_text, True, head_pt) > inner:
        head_pt = _fit(max(head_text.split(), key=len), True, 40 * k, 12 * k, inner)
        while head_pt > 20 * k and len(_wrap(head_text, True, head_pt, inner)) > 3:
            head_pt *= 0.95
    top = _Block.of(_wrap(head_text, True, head_pt, inner), True, head_pt).then(
        5 * k, _Block.of(_wrap(TEXTS.text(lang, "intro"), False, 17 * k, inner), False, 17 * k)
    )

    short_pt = _fit(link.short, True, 44 * k, 8 * k, inner)
    exact_pt = _fit(exact, False, 11 * k, 5.0, inner)
    exact_lines = [exact] if width_mm(exact, False, exact_pt) <= inner else exact.split("?", 1)
    if len(exact_lines) == 2:
        exact_lines[1] = "?" + exact_lines[1]
    bottom = (
        _Block.of([TEXTS.text(lang, "scan")], False, 16 * k)
        .then(3 * k, _Block.of([link.short], True, short_pt))
        .then(3 * k, _Block.of(exact_lines, False, exact_pt))
    )
    footer = _Block.of([TEXTS.text(lang, "footer")], False, 11 * k)

    gap = 8 * k
    free = page_h - 2 * margin - top.height - bottom.height - footer.height - 3 * gap
    qr_mm = min(inner, free)
    rows = qr_rows(exact)
    if qr_mm / len(rows) < MIN_MODULE_MM:
        raise ValueError("the headline leaves too little room for the QR code; shorten it")
    slack = free - qr_mm  # when the symbol is as wide as the page allows, centre the stack vertically
    y0 = margin + slack / 2

    center = page_w / 2
    lines: list[TextLine] = []

    def place(block: _Block, at: float) -> None:
        lines.extend(TextLine(t, b, s, center, at + y) for t, b, s, y in block.items)

    place(top, y0)
    qr_y = y0 + top.height + gap
    place(bottom, qr_y + qr_mm + gap)
    place(footer, page_h - margin - footer.height)
    qr = QrBlock(x_mm=center - qr_mm / 2, y_mm=qr_y, size_mm=qr_mm, rows=rows)
    return Poster(
        width_mm=page_w,
        height_mm=page_h,
        link=exact,
        title=TEXTS.text(lang, "title", link=link.short),
        language=lang,
        qr=qr,
        lines=tuple(lines),
    )
