"""The NEWS2 chart on the patient page: aggregate scores over time, drawn as SVG on the server.

The background shades the RCP NEWS2 thresholds (chart 2: 5-6 medium, 7 or more high) and each
point is coloured by its band and labelled with its value, so the chart reads without colour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from wardcare.services.patient_summaries import News2Score

WIDTH, HEIGHT = 860, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 36


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int
    band: str
    at: datetime


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Shade:
    y: float
    height: float
    level: int  # RCP colour level: 3 red, 2 amber


@dataclass(frozen=True)
class News2Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    points: list[Point]
    path: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    shades: list[Shade]


def news2_chart(
    scores: list[News2Score],
    *,
    start: datetime,
    end: datetime,
    label: Callable[[datetime], str],
) -> News2Chart:
    top_value = min(20, max(10, *(s.total + 2 for s in scores))) if scores else 10
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return round(LEFT + plot_w * (at - start).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top_value), 1)

    points = [Point(x(s.at), y(s.total), s.total, s.band, s.at) for s in scores]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    x_ticks = []
    tick = start.replace(minute=0, second=0, microsecond=0)
    step = timedelta(hours=12 if span > 36 * 3600 else 4)
    while tick <= end:
        if tick >= start:
            x_ticks.append(Tick(x(tick), label(tick)))
        tick += step
    y_ticks = [Tick(y(v), str(v)) for v in (0, 3, 5, 7, 10, 15, 20) if v <= top_value]
    # 5-6 (medium) in amber, 7 and above (high) in red; a band boundary sits half-way between
    # whole scores so 4 and 5 fall either side of it.
    shades = [
        Shade(y(top_value), y(6.5) - y(top_value), 3),
        Shade(y(6.5), y(4.5) - y(6.5), 2),
    ]
    return News2Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        WIDTH - RIGHT,
        TOP,
        HEIGHT - BOTTOM,
        points,
        path,
        x_ticks,
        y_ticks,
        shades,
    )
