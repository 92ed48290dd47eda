"""Geometry of the small "replies and likes per day" bar chart. Pure: numbers in, coordinates out;
the template draws them as inline SVG (no JavaScript, no requests, prints sharp in a PDF)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ingester import i18n
from ingester.i18n import Language
from ingester.report.figures import Day

WIDTH, HEIGHT = 700, 180
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 24
MAX_LABELS = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    kind: str  # "replies" | "favourites": the CSS class
    title: str  # tooltip text


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    grid: list[tuple[float, str]]  # (y, label)
    labels: list[tuple[float, str]]  # (x centre, label)
    baseline: float
    left: int = LEFT  # the plot area's x range: grid lines and the axis run from left to right
    right: int = WIDTH - RIGHT


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2, 3, 4, 5, 6 or 8 times a power of ten that is >= value (at least 1): a top close
    to the highest bar whose half is a round number too."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 3, 4, 5, 6, 8, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover


def build(days: list[Day], lang: Language, names: dict[str, str]) -> Chart:
    """Two bars per day (replies, favourites), a y axis with 0, half and top, and day labels."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max([d.replies for d in days] + [d.favourites for d in days] + [0]))
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.36, 1.0)
    baseline = TOP + plot_h
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    every = math.ceil(len(days) / MAX_LABELS) if days else 1
    for i, d in enumerate(days):
        x0 = LEFT + i * slot + (slot - 2 * bar_w) / 2
        for j, (kind, value) in enumerate((("replies", d.replies), ("favourites", d.favourites))):
            h = plot_h * value / top
            bars.append(Bar(round(x0 + j * bar_w, 2), round(baseline - h, 2), round(bar_w, 2), round(h, 2), kind,
                            f"{i18n.day(d.day, lang)}: {i18n.number(value, lang)} {names[kind]}"))
        if i % every == 0:
            labels.append((round(LEFT + (i + 0.5) * slot, 2), i18n.day(d.day, lang).rsplit(" ", 1)[0]))
    grid = [(round(baseline - plot_h * f, 2), i18n.number(top * f, lang, 0 if top * f == int(top * f) else 1))
            for f in (0, 0.5, 1)]
    return Chart(WIDTH, HEIGHT, bars, grid, labels, baseline)
