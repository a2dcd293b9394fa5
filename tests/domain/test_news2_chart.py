from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wardcare.domain import news2
from wardcare.domain.news2 import Parameter, SpO2Scale
from wardcare.domain.news2_chart import (
    AIR_OR_OXYGEN,
    CONSCIOUSNESS,
    PULSE,
    RESPIRATIONS,
    SPO2_SCALE_1,
    SPO2_SCALE_2,
    SYSTOLIC_BP,
    TEMPERATURE,
    ObservationSet,
    blocks_for,
    chart_geometry,
    row_index,
)

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

SCORERS = {
    RESPIRATIONS: (news2.score_respiration_rate, range(4, 60)),
    SPO2_SCALE_1: (news2.score_spo2, range(70, 101)),
    SYSTOLIC_BP: (news2.score_systolic_bp, range(60, 260)),
    PULSE: (news2.score_pulse, range(25, 200)),
    TEMPERATURE: (news2.score_temperature, [t / 10 for t in range(330, 420)]),
}


@pytest.mark.parametrize("block", list(SCORERS), ids=lambda b: b.title)
def test_every_value_lands_in_a_row_shaded_with_its_score(block: object) -> None:
    """The chart cannot disagree with the scores: every plausible value, in every row."""
    score, values = SCORERS[block]  # type: ignore[index]
    for value in values:
        row = block.rows[row_index(block, value)]  # type: ignore[attr-defined]
        assert row.points == score(value), (block, value)  # type: ignore[attr-defined]


def test_spo2_scale_2_uses_oxygen_above_92() -> None:
    for spo2 in range(75, 101):
        for oxygen in (False, True):
            row = SPO2_SCALE_2.rows[row_index(SPO2_SCALE_2, spo2, oxygen)]
            assert row.points == news2.score_spo2(spo2, SpO2Scale.SCALE_2, oxygen), (spo2, oxygen)


def test_categorical_rows() -> None:
    assert AIR_OR_OXYGEN.rows[row_index(AIR_OR_OXYGEN, True)].label == "Oxygen"
    assert CONSCIOUSNESS.rows[row_index(CONSCIOUSNESS, "A")].points == 0
    assert CONSCIOUSNESS.rows[row_index(CONSCIOUSNESS, "C")].points == 3


def test_blocks_follow_chart_1_order_with_the_patients_scale() -> None:
    assert [b.parameter for b in blocks_for(SpO2Scale.SCALE_1)] == list(Parameter)
    assert blocks_for(SpO2Scale.SCALE_2)[1] is SPO2_SCALE_2


def test_geometry_marks_each_reading_and_total_within_72_hours() -> None:
    sets = [
        ObservationSet(NOW - timedelta(hours=80), {Parameter.PULSE: 80}),  # too old
        ObservationSet(
            NOW - timedelta(hours=36), {Parameter.PULSE: 80, Parameter.CONSCIOUSNESS: "A"}
        ),
        ObservationSet(NOW - timedelta(hours=1), {Parameter.PULSE: 135}),
        ObservationSet(NOW - timedelta(hours=1), {}, total=7, band="high"),
    ]
    chart = chart_geometry(sets, until=NOW, width=265, label_width=44)
    assert len(chart.marks) == 3
    assert [t.text for t in chart.totals] == ["7"]
    assert chart.totals[0].swatch.fill == "#e8473c"
    # Half way along the 72 hours is half way across the plot.
    assert chart.marks[0].x == pytest.approx(44 + 221 / 2)
    # A pulse of 135 (>=131) sits above a pulse of 80 (51-90).
    assert chart.marks[1].y < chart.marks[0].y
    assert len(chart.gridlines) == 12
    assert all(44 <= x <= 265 for x, _label in chart.gridlines)
    assert chart.height > 0
