"""A NEWS2 trend sparkline: where each score of the last 24 hours goes in a small box.

Pure geometry (millimetres, origin top left, y down as in SVG); the templates draw it. The
vertical scale is fixed at 0-10 (or the highest score, if higher) so the beds on one sheet can
be compared at a glance, with guide lines at the RCP thresholds 5 (urgent response) and 7
(emergency response).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

THRESHOLDS = (5, 7)  # RCP NEWS2 chart 3: 5-6 urgent response, 7+ emergency response
_MIN_TOP = 10


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int


@dataclass(frozen=True)
class Sparkline:
    width: float
    height: float
    points: tuple[Point, ...]
    guides: tuple[tuple[int, float], ...]  # (score, y) of each threshold line
    top: int  # the score at the top edge

    @property
    def polyline(self) -> str:
        """SVG `points` attribute: "x,y x,y ..." to two decimals (small files render fast)."""
        return " ".join(f"{p.x:.2f},{p.y:.2f}" for p in self.points)


def sparkline(
    scores: Sequence[tuple[datetime, int]],
    *,
    until: datetime,
    span: timedelta = timedelta(hours=24),
    width: float = 30.0,
    height: float = 8.0,
    pad: float = 0.8,
) -> Sparkline:
    """Place the scores taken in (until - span, until] on a width x height box, oldest left."""
    if span <= timedelta(0) or width <= 2 * pad or height <= 2 * pad:
        raise ValueError("a sparkline needs a positive span and room inside its padding")
    since = until - span
    shown = sorted((at, total) for at, total in scores if since < at <= until)
    top = max([_MIN_TOP, *(total for _at, total in shown)])
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def y_of(total: float) -> float:
        return pad + inner_h * (1 - total / top)

    points = tuple(
        Point(pad + inner_w * ((at - since) / span), y_of(total), total) for at, total in shown
    )
    return Sparkline(width, height, points, tuple((t, y_of(t)) for t in THRESHOLDS), top)
