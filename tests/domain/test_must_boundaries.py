"""'MUST' (BAPEN) scored through the shipped template's rules, at every band boundary of every step.

BAPEN 'MUST' chart: step 1 BMI >20 (>30 obese) = 0, 18.5-20 = 1, <18.5 = 2; step 2 unplanned
weight loss in 3-6 months <5 % = 0, 5-10 % = 1, >10 % = 2; step 3 acute disease effect = 2;
step 4 overall risk 0 low, 1 medium, 2 or more high. The bands apply to the value itself, never
to a rounded one: a BMI worked out as 18.496 is under 18.5 (2 points), not "18.5" (1 point).
"""

from __future__ import annotations

from typing import Any

import pytest

from wardcare import paths
from wardcare.catalog.catalog import LoadedTemplate, load_template

MUST: LoadedTemplate = load_template(paths.CARE_TEMPLATES / "assessments" / "must.yaml")


def _step_points(link_id: str, **answers: Any) -> int:
    outcome = MUST.score(answers)
    return outcome.points.get(link_id, 0)


@pytest.mark.parametrize(
    ("bmi", "points"),
    [
        # BAPEN 'MUST' step 1: <18.5 = 2
        (5, 2),
        (18.4, 2),
        (18.46, 2),
        (18.49, 2),
        (18.499, 2),
        # 18.5-20 = 1 (both ends included)
        (18.5, 1),
        (19.0, 1),
        (19.99, 1),
        (20, 1),
        (20.0, 1),
        # >20 = 0
        (20.001, 0),
        (20.01, 0),
        (20.1, 0),
        (30.5, 0),
        (100, 0),
    ],
)
def test_must_step_1_bmi_entered_every_boundary(bmi: float, points: int) -> None:
    answers = {"bmi": bmi, "weight-loss-percent": 0, "acute-disease-effect": False}
    assert _step_points("bmi", **answers) == points


@pytest.mark.parametrize(
    ("weight", "height", "bmi", "points"),
    [
        # Worked out from weight and height, unrounded (BAPEN 'MUST' step 1).
        (56.66, 1.75, 18.5012, 1),  # just at or above 18.5
        (56.64, 1.75, 18.4947, 2),  # 18.49..., which rounding to 2 places would make 18.49 -> 2
        (56.648, 1.75, 18.4973, 2),  # rounds to 18.50 at 2 places: must still score 2
        (61.25, 1.75, 20.0, 1),  # exactly 20.0
        (61.26, 1.75, 20.0033, 0),  # rounds to 20.00 at 2 places: must still score 0 (>20)
        (61.24, 1.75, 19.9967, 1),
    ],
)
def test_must_step_1_bmi_worked_out_is_banded_unrounded(
    weight: float, height: float, bmi: float, points: int
) -> None:
    assert weight / (height * height) == pytest.approx(bmi, abs=1e-4)
    answers = {
        "weight": weight,
        "height": height,
        "weight-loss-percent": 0,
        "acute-disease-effect": False,
    }
    assert _step_points("bmi", **answers) == points


@pytest.mark.parametrize(
    ("percent", "points"),
    [
        # BAPEN 'MUST' step 2: <5 % = 0, 5-10 % = 1, >10 % = 2.
        (0, 0),
        (4.9, 0),
        (4.99, 0),
        (4.999, 0),
        (5, 1),
        (5.0, 1),
        (7.5, 1),
        (9.99, 1),
        (10, 1),
        (10.0, 1),
        (10.001, 2),
        (10.01, 2),
        (10.1, 2),
        (100, 2),
    ],
)
def test_must_step_2_weight_loss_entered_every_boundary(percent: float, points: int) -> None:
    answers = {"bmi": 24, "weight-loss-percent": percent, "acute-disease-effect": False}
    assert _step_points("weight-loss-percent", **answers) == points


@pytest.mark.parametrize(
    ("previous", "now", "points"),
    [
        (70, 66.5, 1),  # exactly 5 %: (70 - 66.5) / 70 = 0.05
        (70, 66.504, 0),  # 4.994 %: rounds to 4.99 or 5.0 depending on places; it is <5
        (70, 66.4999, 1),  # 5.0001 %
        (70, 63, 1),  # exactly 10 % (floating point says 10.000000000000002)
        (70, 62.999, 2),  # 10.0014 %
        (70, 63.0005, 1),  # 9.9993 %: rounding to 2 places would say 10.0 (still 1)
        (100, 89.999, 2),  # 10.001 %: rounding to 2 places would say 10.0 -> 1
        (100, 95.001, 0),  # 4.999 %: rounding to 2 places would say 5.0 -> 1
        (70, 72, 0),  # a gain counts as no loss
    ],
)
def test_must_step_2_weight_loss_worked_out_is_banded_unrounded(
    previous: float, now: float, points: int
) -> None:
    answers = {
        "bmi": 24,
        "weight": now,
        "previous-weight": previous,
        "acute-disease-effect": False,
    }
    assert _step_points("weight-loss-percent", **answers) == points


@pytest.mark.parametrize(("ill", "points"), [(False, 0), (True, 2)])
def test_must_step_3_acute_disease_effect(ill: bool, points: int) -> None:
    answers = {"bmi": 24, "weight-loss-percent": 0, "acute-disease-effect": ill}
    assert _step_points("acute-disease-effect", **answers) == points


@pytest.mark.parametrize(
    ("bmi", "loss", "ill", "total", "band"),
    [
        # BAPEN 'MUST' step 4: 0 low, 1 medium, 2 or more high.
        (20.01, 4.99, False, 0, "low"),
        (20.0, 4.99, False, 1, "medium"),
        (20.01, 5, False, 1, "medium"),
        (18.49, 4.99, False, 2, "high"),
        (20.0, 5, False, 2, "high"),
        (16, 12, True, 6, "high"),
    ],
)
def test_must_step_4_overall_risk_boundaries(
    bmi: float, loss: float, ill: bool, total: int, band: str
) -> None:
    outcome = MUST.score({"bmi": bmi, "weight-loss-percent": loss, "acute-disease-effect": ill})
    assert (outcome.total, outcome.band_code) == (total, band)
