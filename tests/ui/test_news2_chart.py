"""The NEWS2 chart geometry: time runs left to right, a higher score sits higher, and the RCP
thresholds (5-6 medium, 7+ high) are shaded between whole scores."""

from datetime import UTC, datetime, timedelta

from wardcare.services.patient_summaries import News2Score
from wardcare.ui.news2_chart import news2_chart

START = datetime(2026, 12, 1, tzinfo=UTC)


def _score(hours: int, total: int, band: str) -> News2Score:
    return News2Score(START + timedelta(hours=hours), total, band, {}, "Observation/x")


def test_points_are_placed_by_time_and_score() -> None:
    chart = news2_chart(
        [_score(6, 1, "low"), _score(30, 7, "high"), _score(60, 3, "low-medium")],
        start=START,
        end=START + timedelta(hours=72),
        label=lambda t: t.strftime("%H:%M"),
    )
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs)
    assert chart.plot_left < xs[0] < xs[-1] < chart.plot_right
    high, low = chart.points[1], chart.points[0]
    assert high.y < low.y  # SVG y grows downwards
    assert chart.path.startswith(f"M{low.x},{low.y}")
    red, amber = chart.shades
    assert (red.level, amber.level) == (3, 2)
    assert red.y + red.height == amber.y  # the high band sits on the medium band
    assert amber.y < low.y  # a score of 1 is below the medium band
    assert len(chart.x_ticks) == 7  # every 12 hours across 72 hours, both ends included


def test_an_empty_chart_still_draws_its_axes() -> None:
    chart = news2_chart([], start=START, end=START + timedelta(hours=72), label=str)
    assert chart.points == []
    assert chart.path == ""
    assert [t.label for t in chart.y_ticks] == ["0", "3", "5", "7", "10"]
