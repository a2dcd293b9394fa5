from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wardcare.domain.sparkline import sparkline

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def test_scores_are_placed_oldest_left_higher_up() -> None:
    line = sparkline(
        [(NOW - timedelta(hours=12), 2), (NOW - timedelta(hours=18), 0), (NOW, 10)],
        until=NOW,
        width=30,
        height=8,
        pad=1,
    )
    assert [p.total for p in line.points] == [0, 2, 10]
    xs = [p.x for p in line.points]
    assert xs == sorted(xs)
    assert xs[-1] == pytest.approx(29)  # the newest at the right edge
    assert line.points[0].y == pytest.approx(7)  # 0 at the bottom
    assert line.points[-1].y == pytest.approx(1)  # 10 at the top
    assert line.top == 10
    assert line.polyline.count(",") == 3


def test_scores_outside_the_span_are_left_out_and_scale_grows_for_high_scores() -> None:
    line = sparkline(
        [(NOW - timedelta(hours=30), 1), (NOW - timedelta(hours=1), 15), (NOW + timedelta(1), 3)],
        until=NOW,
    )
    assert [p.total for p in line.points] == [15]
    assert line.top == 15
    assert [score for score, _y in line.guides] == [5, 7]


def test_no_scores_makes_an_empty_line() -> None:
    assert sparkline([], until=NOW).points == ()


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match="positive span"):
        sparkline([], until=NOW, span=timedelta(0))
