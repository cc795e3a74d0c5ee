"""Geometry of the reports' SVG charts: plain numbers in, rectangles out (the templates only draw them).

Server-drawn SVG needs no script and no CDN, prints, and scales with the page; every chart sits
above a table of the same numbers, so nothing is only in a picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 220
LEFT = 44  # room for the value axis labels
BOTTOM = 24  # room for the category labels
TOP = 8
MAX_LABELS = 12  # category labels that fit under a chart without overlapping


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    series: int
    label: str
    value: float


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    value: float


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    rects: list[Rect]
    ticks: list[Tick]
    labels: list[tuple[float, str]]  # (centre, category)
    series: list[str]


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    raise AssertionError("10 x power always covers the value")


def tick_values(top: float) -> list[float]:
    """Round steps from 0 to ``top`` (a ``nice_max``): 5 -> 0, 1, ..., 5; 2.5 and 2 -> steps of 0.5."""
    power = 10 ** math.floor(math.log10(top))
    leading = round(top / power, 1)
    step = {1.0: 0.2, 2.0: 0.5, 2.5: 0.5, 5.0: 1.0, 10.0: 2.0}[leading] * power
    count = round(top / step)
    return [round(step * k, 10) for k in range(count + 1)]


def columns(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]) -> Chart:
    """Vertical bars, one group per category, one bar per series within a group."""
    top = nice_max(max((v or 0 for _, values in series for v in values), default=0))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    group = plot_w / max(len(categories), 1)
    bar = group * 0.8 / max(len(series), 1)
    rects = []
    for i, category in enumerate(categories):
        for s, (_, values) in enumerate(series):
            value = values[i] or 0
            h = plot_h * value / top
            rects.append(Rect(x=round(LEFT + i * group + group * 0.1 + s * bar, 1), y=round(TOP + plot_h - h, 1),
                              w=round(bar, 1), h=round(h, 1), series=s, label=category, value=value))
    ticks = [Tick(pos=round(TOP + plot_h - plot_h * v / top, 1), value=v) for v in tick_values(top)]
    step = max(1, math.ceil(len(categories) / MAX_LABELS))  # five years of months: every fifth labelled
    labels = [(round(LEFT + (i + 0.5) * group, 1), category) for i, category in enumerate(categories)
              if i % step == 0]
    return Chart(WIDTH, HEIGHT, rects, ticks, labels, [name for name, _ in series])


ROW = 22  # height of one horizontal bar's row
NAME = 160  # room for the row names


def stacked_rows(names: Sequence[str], segments: Sequence[tuple[str, Sequence[float | None]]]) -> Chart:
    """Horizontal bars, one per name, each the sum of its segments laid end to end."""
    totals = [sum(values[i] or 0 for _, values in segments) for i in range(len(names))]
    top = nice_max(max(totals, default=0))
    plot_w = WIDTH - NAME - 8
    rects = []
    for i, name in enumerate(names):
        x = float(NAME)
        for s, (_, values) in enumerate(segments):
            value = values[i] or 0
            w = plot_w * value / top
            rects.append(Rect(x=round(x, 1), y=i * ROW + 3, w=round(w, 1), h=ROW - 6, series=s, label=name,
                              value=value))
            x += w
    height = max(len(names), 1) * ROW + BOTTOM
    ticks = [Tick(pos=round(NAME + plot_w * v / top, 1), value=v) for v in tick_values(top)]
    labels = [(i * ROW + ROW / 2, name) for i, name in enumerate(names)]
    return Chart(WIDTH, height, rects, ticks, labels, [name for name, _ in segments])
