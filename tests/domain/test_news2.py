"""NEWS2 scoring rules (Royal College of Physicians, NEWS2 2017, charts 1, 2 and 4).

Every band boundary is tested on both sides; the exhaustive checks compare the module with an
oracle written here independently, straight from the chart 1 table.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

import pytest

from wardcare.domain.news2 import (
    ClinicalResponse,
    Consciousness,
    ImplausibleVitalSign,
    NotAWholeNumber,
    Parameter,
    RiskBand,
    SpO2Scale,
    VitalSigns,
    check_fio2,
    check_oxygen_flow,
    clinical_response,
    news2,
    score_air_or_oxygen,
    score_consciousness,
    score_pulse,
    score_respiration_rate,
    score_spo2,
    score_systolic_bp,
    score_temperature,
)

S1, S2 = SpO2Scale.SCALE_1, SpO2Scale.SCALE_2
Scorer = Callable[[float], int]

# A complete set that scores 0 everywhere; tests replace one field at a time.
NORMAL = VitalSigns(
    respiration_rate=16,
    spo2=97,
    on_oxygen=False,
    systolic_bp=128,
    pulse=72,
    consciousness=Consciousness.ALERT,
    temperature=36.8,
)

# --- Oracle: chart 1 written as inclusive integer ranges (low, high, score) -----------------------
RR_BANDS = [(0, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, 80, 3)]
SPO2_SCALE1_BANDS = [(0, 91, 3), (92, 93, 2), (94, 95, 1), (96, 100, 0)]
SPO2_SCALE2_AIR_BANDS = [(0, 83, 3), (84, 85, 2), (86, 87, 1), (88, 100, 0)]
SPO2_SCALE2_OXYGEN_BANDS = [(0, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0), (93, 94, 1)]
SPO2_SCALE2_OXYGEN_BANDS += [(95, 96, 2), (97, 100, 3)]
SBP_BANDS = [(20, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, 300, 3)]
PULSE_BANDS = [(0, 40, 3), (41, 50, 1), (51, 90, 0), (91, 110, 1), (111, 130, 2), (131, 300, 3)]
# Temperature in tenths of a degree, as printed on the chart.
TEMP_TENTHS_BANDS = [(250, 350, 3), (351, 360, 1), (361, 380, 0), (381, 390, 1), (391, 450, 2)]


def oracle(bands: list[tuple[int, int, int]], value: int) -> int:
    matches = [score for low, high, score in bands if low <= value <= high]
    assert len(matches) == 1, f"{value} is in {len(matches)} bands: the table has a gap or overlap"
    return matches[0]


def temperature_oracle(celsius: Decimal) -> int:
    # "Up to and including its upper bound": round UP to the chart's tenths, then look it up.
    tenths = int((celsius * 10).to_integral_value(rounding=ROUND_CEILING))
    return oracle(TEMP_TENTHS_BANDS, tenths)


# --- Respiration rate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (0, 3), (80, 3)],
)
def test_respiration_rate_band_boundaries(rate: int, expected: int) -> None:
    assert score_respiration_rate(rate) == expected


def test_respiration_rate_every_whole_number_0_to_80_matches_chart_1() -> None:
    for rate in range(81):
        assert score_respiration_rate(rate) == oracle(RR_BANDS, rate), rate


# --- SpO2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0), (0, 3)],
)
def test_spo2_scale1_band_boundaries(spo2: int, expected: int) -> None:
    assert score_spo2(spo2, S1) == expected


@pytest.mark.parametrize("on_oxygen", [True, False, None])
@pytest.mark.parametrize("spo2", [88, 91, 96, 97, 100])
def test_spo2_scale1_ignores_oxygen(spo2: int, on_oxygen: bool | None) -> None:
    assert score_spo2(spo2, S1, on_oxygen) == oracle(SPO2_SCALE1_BANDS, spo2)


def test_spo2_default_scale_is_scale_1() -> None:
    assert score_spo2(93) == 2


@pytest.mark.parametrize("on_oxygen", [True, False])
@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0)],
)
def test_spo2_scale2_up_to_92_scores_the_same_on_air_and_oxygen(
    spo2: int, expected: int, on_oxygen: bool
) -> None:
    assert score_spo2(spo2, S2, on_oxygen) == expected


@pytest.mark.parametrize("spo2", [92, 93, 94, 95, 96, 97, 100])
def test_spo2_scale2_88_and_above_on_air_scores_0(spo2: int) -> None:
    assert score_spo2(spo2, S2, on_oxygen=False) == 0


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(92, 0), (93, 1), (94, 1), (95, 2), (96, 2), (97, 3), (100, 3)],
)
def test_spo2_scale2_93_and_above_on_oxygen_scores_1_2_3(spo2: int, expected: int) -> None:
    assert score_spo2(spo2, S2, on_oxygen=True) == expected


def test_spo2_scale2_97_on_oxygen_scores_3() -> None:
    assert score_spo2(97, S2, on_oxygen=True) == 3


def test_spo2_scale2_93_needs_air_or_oxygen_recorded() -> None:
    with pytest.raises(ValueError, match="air or oxygen"):
        score_spo2(93, S2, on_oxygen=None)
    assert score_spo2(92, S2, on_oxygen=None) == 0


def test_spo2_every_whole_number_0_to_100_matches_chart_1_on_both_scales() -> None:
    for spo2 in range(101):
        assert score_spo2(spo2, S1) == oracle(SPO2_SCALE1_BANDS, spo2), spo2
        assert score_spo2(spo2, S2, False) == oracle(SPO2_SCALE2_AIR_BANDS, spo2), spo2
        assert score_spo2(spo2, S2, True) == oracle(SPO2_SCALE2_OXYGEN_BANDS, spo2), spo2


# --- Air or oxygen ---------------------------------------------------------------------------


def test_oxygen_scores_2_and_air_scores_0() -> None:
    assert score_air_or_oxygen(True) == 2
    assert score_air_or_oxygen(False) == 0


@pytest.mark.parametrize("scale", [S1, S2])
def test_oxygen_adds_2_to_the_total_on_both_scales(scale: SpO2Scale) -> None:
    on_air = news2(dataclasses.replace(NORMAL, spo2=90), scale)
    on_oxygen = news2(dataclasses.replace(NORMAL, spo2=90, on_oxygen=True), scale)
    assert on_oxygen.sub_scores[Parameter.AIR_OR_OXYGEN] == 2
    assert on_air.sub_scores[Parameter.AIR_OR_OXYGEN] == 0
    assert on_oxygen.total is not None
    assert on_air.total is not None
    assert on_oxygen.total - on_air.total == 2


def test_air_or_oxygen_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="air or oxygen"):
        score_air_or_oxygen("no")  # type: ignore[arg-type]


# --- Systolic blood pressure ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("systolic", "expected"),
    [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (20, 3)],
)
def test_systolic_bp_band_boundaries(systolic: int, expected: int) -> None:
    assert score_systolic_bp(systolic) == expected


def test_systolic_bp_every_whole_number_20_to_300_matches_chart_1() -> None:
    for systolic in range(20, 301):
        assert score_systolic_bp(systolic) == oracle(SBP_BANDS, systolic), systolic


# --- Pulse -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pulse", "expected"),
    [
        (40, 3),
        (41, 1),
        (50, 1),
        (51, 0),
        (90, 0),
        (91, 1),
        (110, 1),
        (111, 2),
        (130, 2),
        (131, 3),
        (0, 3),
        (300, 3),
    ],
)
def test_pulse_band_boundaries(pulse: int, expected: int) -> None:
    assert score_pulse(pulse) == expected


def test_pulse_every_whole_number_0_to_300_matches_chart_1() -> None:
    for pulse in range(301):
        assert score_pulse(pulse) == oracle(PULSE_BANDS, pulse), pulse


# --- Consciousness ---------------------------------------------------------------------------


def test_alert_scores_0() -> None:
    assert score_consciousness(Consciousness.ALERT) == 0


@pytest.mark.parametrize(
    "level",
    [
        Consciousness.NEW_CONFUSION,
        Consciousness.VOICE,
        Consciousness.PAIN,
        Consciousness.UNRESPONSIVE,
    ],
)
def test_new_confusion_voice_pain_unresponsive_score_3(level: Consciousness) -> None:
    assert score_consciousness(level) == 3


def test_acvpu_codes_are_the_chart_letters() -> None:
    assert [c.value for c in Consciousness] == ["A", "C", "V", "P", "U"]
    assert score_consciousness(Consciousness("C")) == 3


def test_unknown_consciousness_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="X"):
        score_consciousness("X")  # type: ignore[arg-type]


# --- Temperature -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("celsius", "expected"),
    [
        (35.0, 3),
        (35.05, 1),
        (35.1, 1),
        (36.0, 1),
        (36.05, 0),
        (36.1, 0),
        (38.0, 0),
        (38.05, 1),
        (38.1, 1),
        (39.0, 1),
        (39.05, 2),
        (39.1, 2),
        (25.0, 3),
        (45.0, 2),
    ],
)
def test_temperature_bands_include_their_upper_bound(celsius: float, expected: int) -> None:
    assert score_temperature(celsius) == expected


def test_temperature_38_05_scores_in_the_38_1_to_39_0_band() -> None:
    # The brief's own example: no value falls between 38.0 and 38.1.
    assert score_temperature(38.05) == score_temperature(38.1) == 1


def test_temperature_every_hundredth_25_to_45_matches_chart_1() -> None:
    for hundredths in range(2500, 4501):
        celsius = Decimal(hundredths) / 100
        assert score_temperature(float(celsius)) == temperature_oracle(celsius), celsius


def test_temperature_accepts_whole_numbers() -> None:
    assert score_temperature(37) == 0
    assert score_temperature(35) == 3


# --- Whole numbers: decimals rejected, whole floats accepted ------------------------------------


WHOLE_NUMBER_SCORERS = [
    pytest.param(score_respiration_rate, Parameter.RESPIRATION_RATE, 20.5, id="respiration-rate"),
    pytest.param(score_spo2, Parameter.SPO2, 95.5, id="spo2"),
    pytest.param(score_systolic_bp, Parameter.SYSTOLIC_BP, 90.5, id="systolic-bp"),
    pytest.param(score_pulse, Parameter.PULSE, 90.5, id="pulse"),
]


@pytest.mark.parametrize(("scorer", "parameter", "decimal"), WHOLE_NUMBER_SCORERS)
def test_decimal_is_rejected_for_whole_number_parameters_never_rounded(
    scorer: Scorer, parameter: Parameter, decimal: float
) -> None:
    with pytest.raises(NotAWholeNumber, match="whole number") as caught:
        scorer(decimal)
    assert caught.value.parameter is parameter
    assert caught.value.value == decimal
    assert parameter.label in str(caught.value)


def test_decimal_rejection_is_an_implausible_vital_sign_and_a_value_error() -> None:
    with pytest.raises(ImplausibleVitalSign):
        score_pulse(72.4)
    with pytest.raises(ValueError, match="pulse"):
        score_pulse(72.4)


@pytest.mark.parametrize(
    ("scorer", "whole_float", "expected"),
    [
        (score_respiration_rate, 12.0, 0),
        (score_respiration_rate, 25.0, 3),
        (score_spo2, 96.0, 0),
        (score_spo2, 91.0, 3),
        (score_systolic_bp, 111.0, 0),
        (score_systolic_bp, 220.0, 3),
        (score_pulse, 51.0, 0),
        (score_pulse, 131.0, 3),
    ],
)
def test_whole_floats_are_accepted(scorer: Scorer, whole_float: float, expected: int) -> None:
    assert scorer(whole_float) == expected


def test_decimal_in_a_full_set_is_rejected_not_scored() -> None:
    with pytest.raises(NotAWholeNumber) as caught:
        news2(dataclasses.replace(NORMAL, systolic_bp=110.5))
    assert caught.value.parameter is Parameter.SYSTOLIC_BP


def test_whole_float_full_set_scores_like_integers() -> None:
    floats = dataclasses.replace(NORMAL, respiration_rate=16.0, spo2=97.0, systolic_bp=128.0)
    assert news2(floats) == news2(NORMAL)


# --- Plausibility -----------------------------------------------------------------------------


def test_spo2_140_is_questioned_not_scored() -> None:
    with pytest.raises(ImplausibleVitalSign) as caught:
        score_spo2(140)
    assert caught.value.parameter is Parameter.SPO2
    assert caught.value.value == 140
    assert "SpO2 140 %? check the reading" in str(caught.value)


def test_temperature_101_2_is_named_as_probably_fahrenheit() -> None:
    with pytest.raises(ImplausibleVitalSign) as caught:
        score_temperature(101.2)
    message = str(caught.value)
    assert caught.value.parameter is Parameter.TEMPERATURE
    assert "temperature 101.2" in message
    assert "Fahrenheit" in message
    assert "38.4" in message  # what 101.2 F is in Celsius


def test_temperature_far_out_of_range_is_not_called_fahrenheit() -> None:
    with pytest.raises(ImplausibleVitalSign) as caught:
        score_temperature(370)  # a missed decimal point, not Fahrenheit
    assert "Fahrenheit" not in str(caught.value)
    assert "temperature 370" in str(caught.value)


@pytest.mark.parametrize(
    ("scorer", "parameter", "value"),
    [
        (score_respiration_rate, Parameter.RESPIRATION_RATE, -1),
        (score_respiration_rate, Parameter.RESPIRATION_RATE, 81),
        (score_spo2, Parameter.SPO2, -1),
        (score_spo2, Parameter.SPO2, 101),
        (score_systolic_bp, Parameter.SYSTOLIC_BP, 19),
        (score_systolic_bp, Parameter.SYSTOLIC_BP, 301),
        (score_systolic_bp, Parameter.SYSTOLIC_BP, -120),
        (score_pulse, Parameter.PULSE, -1),
        (score_pulse, Parameter.PULSE, 301),
        (score_temperature, Parameter.TEMPERATURE, 24.9),
        (score_temperature, Parameter.TEMPERATURE, 45.1),
        (score_temperature, Parameter.TEMPERATURE, -37.0),
    ],
)
def test_implausible_values_are_rejected_naming_the_parameter(
    scorer: Scorer, parameter: Parameter, value: float
) -> None:
    with pytest.raises(ImplausibleVitalSign) as caught:
        scorer(value)
    assert caught.value.parameter is parameter
    assert caught.value.value == value
    assert str(caught.value).startswith(f"{parameter.label} {value:g}")
    assert "check the reading" in str(caught.value)


@pytest.mark.parametrize(
    ("scorer", "value", "expected"),
    [
        (score_respiration_rate, 0, 3),  # apnoea scores, it is not refused
        (score_respiration_rate, 80, 3),
        (score_spo2, 0, 3),
        (score_spo2, 100, 0),
        (score_systolic_bp, 20, 3),
        (score_systolic_bp, 300, 3),
        (score_pulse, 0, 3),  # no pulse scores, it is not refused
        (score_pulse, 300, 3),
        (score_temperature, 25.0, 3),
        (score_temperature, 45.0, 2),
    ],
)
def test_plausibility_limits_themselves_are_accepted(
    scorer: Scorer, value: float, expected: int
) -> None:
    assert scorer(value) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_not_a_number_is_rejected(value: float) -> None:
    with pytest.raises(ImplausibleVitalSign, match="pulse"):
        score_pulse(value)
    with pytest.raises(ImplausibleVitalSign, match="temperature"):
        score_temperature(value)


def test_true_is_not_a_respiration_rate() -> None:
    with pytest.raises(TypeError, match="respiration rate"):
        score_respiration_rate(True)
    with pytest.raises(TypeError, match="SpO2"):
        score_spo2("96")  # type: ignore[arg-type]


def test_implausible_value_in_a_full_set_raises_rather_than_scoring() -> None:
    with pytest.raises(ImplausibleVitalSign) as caught:
        news2(dataclasses.replace(NORMAL, spo2=140))
    assert caught.value.parameter is Parameter.SPO2


def test_implausible_value_in_a_partial_set_still_raises() -> None:
    with pytest.raises(ImplausibleVitalSign):
        news2(VitalSigns(temperature=101.2))
    # Scale 2 at 93 % or more cannot be scored without oxygen, but is still checked.
    with pytest.raises(ImplausibleVitalSign):
        news2(VitalSigns(spo2=140), S2)


# --- Risk band, monitoring and escalation (charts 2 and 4) --------------------------------------


@pytest.mark.parametrize(
    ("total", "band", "interval", "priority"),
    [
        (0, RiskBand.LOW, timedelta(hours=12), None),
        (1, RiskBand.LOW, timedelta(hours=4), "routine"),
        (4, RiskBand.LOW, timedelta(hours=4), "routine"),
        (5, RiskBand.MEDIUM, timedelta(hours=1), "urgent"),
        (6, RiskBand.MEDIUM, timedelta(hours=1), "urgent"),
        (7, RiskBand.HIGH, None, "stat"),
        (20, RiskBand.HIGH, None, "stat"),
    ],
)
def test_response_at_every_threshold(
    total: int, band: RiskBand, interval: timedelta | None, priority: str | None
) -> None:
    response = clinical_response(total, single_parameter_3=False)
    assert response.band is band
    assert response.monitoring_interval == interval
    assert response.escalation_priority == priority


@pytest.mark.parametrize("total", [3, 4])
def test_single_parameter_3_below_5_is_low_medium_hourly_urgent(total: int) -> None:
    response = clinical_response(total, single_parameter_3=True)
    assert response.band is RiskBand.LOW_MEDIUM
    assert response.monitoring_interval == timedelta(hours=1)
    assert response.escalation_priority == "urgent"
    assert "ward-based" in response.response_text


@pytest.mark.parametrize(("total", "band"), [(5, RiskBand.MEDIUM), (6, RiskBand.MEDIUM)])
def test_total_5_or_6_with_a_3_is_medium_not_low_medium(total: int, band: RiskBand) -> None:
    assert clinical_response(total, single_parameter_3=True).band is band


@pytest.mark.parametrize("total", [7, 12, 20])
def test_total_7_or_more_with_a_3_is_high(total: int) -> None:
    assert clinical_response(total, single_parameter_3=True).band is RiskBand.HIGH


def test_every_total_0_to_20_has_the_chart_2_band() -> None:
    for total in range(21):
        expected = RiskBand.HIGH if total >= 7 else RiskBand.MEDIUM if total >= 5 else RiskBand.LOW
        assert clinical_response(total, single_parameter_3=False).band is expected, total
        if total >= 3:
            expected_red = RiskBand.LOW_MEDIUM if total < 5 else expected
            assert clinical_response(total, single_parameter_3=True).band is expected_red, total


def test_high_is_continuous_monitoring_with_emergency_response() -> None:
    response = clinical_response(7, single_parameter_3=False)
    assert response.monitoring_interval is None
    assert "Continuous" in response.monitoring_text
    assert "Emergency assessment" in response.response_text
    assert "critical care" in response.response_text


def test_medium_asks_for_urgent_assessment_in_a_monitored_environment() -> None:
    text = clinical_response(5, single_parameter_3=False).response_text
    assert "immediately inform the medical team" in text
    assert "urgent assessment" in text


def test_low_asks_the_registered_nurse_to_assess() -> None:
    assert "registered nurse" in clinical_response(1, False).response_text.lower()
    assert clinical_response(0, False).response_text == "Continue routine NEWS monitoring."


@pytest.mark.parametrize("total", [-1, 21])
def test_total_outside_0_to_20_is_rejected(total: int) -> None:
    with pytest.raises(ValueError, match="0-20"):
        clinical_response(total, single_parameter_3=False)


def test_a_3_cannot_hide_in_a_total_below_3() -> None:
    with pytest.raises(ValueError, match="cannot include"):
        clinical_response(2, single_parameter_3=True)


def test_band_labels_are_capitals_for_print() -> None:
    assert [b.label for b in RiskBand] == ["LOW", "LOW-MEDIUM", "MEDIUM", "HIGH"]


# --- Completeness -------------------------------------------------------------------------------


FIELD_OF = {
    Parameter.RESPIRATION_RATE: "respiration_rate",
    Parameter.SPO2: "spo2",
    Parameter.AIR_OR_OXYGEN: "on_oxygen",
    Parameter.SYSTOLIC_BP: "systolic_bp",
    Parameter.PULSE: "pulse",
    Parameter.CONSCIOUSNESS: "consciousness",
    Parameter.TEMPERATURE: "temperature",
}


@pytest.mark.parametrize("parameter", list(Parameter))
def test_each_single_missing_parameter_makes_the_set_incomplete(parameter: Parameter) -> None:
    result = news2(dataclasses.replace(NORMAL, **{FIELD_OF[parameter]: None}))
    assert not result.complete
    assert result.total is None
    assert result.response is None
    assert result.missing == (parameter,)
    assert parameter not in result.sub_scores
    assert set(result.sub_scores) == set(Parameter) - {parameter}


@pytest.mark.parametrize("parameter", list(Parameter))
def test_a_missing_parameter_never_shows_as_a_low_score_even_when_the_rest_is_high(
    parameter: Parameter,
) -> None:
    sick = VitalSigns(
        respiration_rate=30,
        spo2=85,
        on_oxygen=True,
        systolic_bp=85,
        pulse=140,
        consciousness=Consciousness.VOICE,
        temperature=34.0,
    )
    result = news2(dataclasses.replace(sick, **{FIELD_OF[parameter]: None}))
    assert result.total is None
    assert result.response is None
    assert result.has_single_parameter_3  # the red score is still visible


def test_empty_set_is_incomplete_with_everything_missing() -> None:
    result = news2(VitalSigns())
    assert not result.complete
    assert result.total is None
    assert result.response is None
    assert result.missing == tuple(Parameter)
    assert dict(result.sub_scores) == {}
    assert not result.has_single_parameter_3


def test_missing_lists_parameters_in_chart_order() -> None:
    result = news2(VitalSigns(pulse=80, spo2=96))
    assert result.missing == (
        Parameter.RESPIRATION_RATE,
        Parameter.AIR_OR_OXYGEN,
        Parameter.SYSTOLIC_BP,
        Parameter.CONSCIOUSNESS,
        Parameter.TEMPERATURE,
    )
    assert dict(result.sub_scores) == {Parameter.SPO2: 0, Parameter.PULSE: 0}


def test_scale2_spo2_93_without_air_or_oxygen_has_no_sub_score() -> None:
    result = news2(dataclasses.replace(NORMAL, spo2=95, on_oxygen=None), S2)
    assert result.missing == (Parameter.AIR_OR_OXYGEN,)
    assert Parameter.SPO2 not in result.sub_scores
    assert result.total is None


def test_scale2_spo2_92_without_air_or_oxygen_still_has_its_sub_score() -> None:
    result = news2(dataclasses.replace(NORMAL, spo2=92, on_oxygen=None), S2)
    assert result.sub_scores[Parameter.SPO2] == 0
    assert result.missing == (Parameter.AIR_OR_OXYGEN,)


def test_result_is_read_only() -> None:
    result = news2(NORMAL)
    with pytest.raises(TypeError):
        result.sub_scores[Parameter.PULSE] = 0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 0  # type: ignore[misc]


def test_news2_defaults_to_scale_1_and_reports_the_scale() -> None:
    assert news2(NORMAL).scale is S1
    assert news2(NORMAL, S2).scale is S2


# --- Worked examples, computed by hand from chart 1 ----------------------------------------------


def test_worked_example_febrile_tachycardic_patient_is_high() -> None:
    # RR 22 -> 2, SpO2 94 (scale 1) -> 1, air -> 0, SBP 104 -> 1, pulse 112 -> 2, Alert -> 0,
    # temp 38.4 -> 1.  Total 2+1+0+1+2+0+1 = 7: HIGH, continuous monitoring, emergency response.
    result = news2(
        VitalSigns(
            respiration_rate=22,
            spo2=94,
            on_oxygen=False,
            systolic_bp=104,
            pulse=112,
            consciousness=Consciousness.ALERT,
            temperature=38.4,
        )
    )
    assert dict(result.sub_scores) == {
        Parameter.RESPIRATION_RATE: 2,
        Parameter.SPO2: 1,
        Parameter.AIR_OR_OXYGEN: 0,
        Parameter.SYSTOLIC_BP: 1,
        Parameter.PULSE: 2,
        Parameter.CONSCIOUSNESS: 0,
        Parameter.TEMPERATURE: 1,
    }
    assert result.total == 7
    assert result.response is not None
    assert result.response.band is RiskBand.HIGH
    assert result.response.monitoring_interval is None
    assert result.response.escalation_priority == "stat"
    assert not result.has_single_parameter_3


def test_worked_example_well_patient_scores_0_low_12_hourly() -> None:
    # RR 16 -> 0, SpO2 97 -> 0, air -> 0, SBP 128 -> 0, pulse 72 -> 0, Alert -> 0, 36.8 -> 0.
    result = news2(NORMAL)
    assert result.complete
    assert result.total == 0
    assert result.response is not None
    assert result.response.band is RiskBand.LOW
    assert result.response.monitoring_interval == timedelta(hours=12)
    assert result.response.escalation_priority is None


def test_worked_example_new_confusion_alone_is_low_medium() -> None:
    # All normal (0 each) but new confusion -> 3.  Total 3 with a single 3: LOW-MEDIUM, hourly.
    result = news2(dataclasses.replace(NORMAL, consciousness=Consciousness.NEW_CONFUSION))
    assert result.total == 3
    assert result.has_single_parameter_3
    assert result.response is not None
    assert result.response.band is RiskBand.LOW_MEDIUM
    assert result.response.monitoring_interval == timedelta(hours=1)
    assert result.response.escalation_priority == "urgent"


def test_worked_example_copd_scale2_on_oxygen_in_target_is_medium() -> None:
    # Scale 2: RR 23 -> 2, SpO2 90 -> 0 (in the 88-92 target), oxygen -> 2, SBP 135 -> 0,
    # pulse 95 -> 1, Alert -> 0, 37.2 -> 0.  Total 2+0+2+0+1+0+0 = 5: MEDIUM, hourly, urgent.
    vitals = VitalSigns(
        respiration_rate=23,
        spo2=90,
        on_oxygen=True,
        systolic_bp=135,
        pulse=95,
        consciousness=Consciousness.ALERT,
        temperature=37.2,
    )
    result = news2(vitals, S2)
    assert result.total == 5
    assert result.response is not None
    assert result.response.band is RiskBand.MEDIUM
    assert result.response.escalation_priority == "urgent"
    # The same readings on scale 1: SpO2 90 -> 3, so 2+3+2+0+1+0+0 = 8: HIGH.
    assert news2(vitals, S1).total == 8


def test_worked_example_scale2_97_on_oxygen_total_5_with_a_3_is_medium() -> None:
    # Scale 2: SpO2 97 on oxygen -> 3, oxygen -> 2, everything else 0.  Total 5 with a single 3:
    # the total of 5 wins over the single-parameter rule, so MEDIUM, not LOW-MEDIUM.
    result = news2(dataclasses.replace(NORMAL, spo2=97, on_oxygen=True), S2)
    assert result.sub_scores[Parameter.SPO2] == 3
    assert result.total == 5
    assert result.has_single_parameter_3
    assert result.response is not None
    assert result.response.band is RiskBand.MEDIUM
    # On scale 1 the same 97 % scores 0: total 2 (oxygen only), LOW, 4-hourly, routine.
    on_scale_1 = news2(dataclasses.replace(NORMAL, spo2=97, on_oxygen=True), S1)
    assert on_scale_1.total == 2
    assert on_scale_1.response is not None
    assert on_scale_1.response.band is RiskBand.LOW
    assert on_scale_1.response.monitoring_interval == timedelta(hours=4)
    assert on_scale_1.response.escalation_priority == "routine"


def test_worked_example_worst_possible_set_scores_20() -> None:
    # RR 8 -> 3, SpO2 91 (scale 1) -> 3, oxygen -> 2, SBP 90 -> 3, pulse 40 -> 3,
    # Unresponsive -> 3, 35.0 -> 3.  Total 3+3+2+3+3+3+3 = 20: HIGH.
    result = news2(
        VitalSigns(
            respiration_rate=8,
            spo2=91,
            on_oxygen=True,
            systolic_bp=90,
            pulse=40,
            consciousness=Consciousness.UNRESPONSIVE,
            temperature=35.0,
        )
    )
    assert result.total == 20
    assert result.response is not None
    assert result.response.band is RiskBand.HIGH


def test_worked_example_total_4_without_a_3_is_low_4_hourly() -> None:
    # RR 21 -> 2, pulse 91 -> 1, temp 38.1 -> 1, rest 0.  Total 4, no 3: LOW, 4-hourly, routine.
    result = news2(dataclasses.replace(NORMAL, respiration_rate=21, pulse=91, temperature=38.1))
    assert result.total == 4
    assert result.response == clinical_response(4, single_parameter_3=False)
    assert isinstance(result.response, ClinicalResponse)
    assert result.response.band is RiskBand.LOW
    assert result.response.escalation_priority == "routine"


def test_total_is_the_sum_of_sub_scores_and_the_red_flag_follows_them() -> None:
    for pulse in (35, 45, 60, 100, 120, 140):
        result = news2(dataclasses.replace(NORMAL, pulse=pulse))
        assert result.total == sum(result.sub_scores.values())
        assert result.has_single_parameter_3 == (result.sub_scores[Parameter.PULSE] == 3)


# --- Review against RCP NEWS2 (2017) charts 1-4: the single-parameter rule through a whole set,
# --- each red score on its own, and the monitoring frequency of every band ------------------------

# One parameter at the edge of its 3 (RCP NEWS2 chart 1), everything else scoring 0.
RED_EDGES = [
    pytest.param({"respiration_rate": 8}, S1, id="rr-8"),
    pytest.param({"respiration_rate": 25}, S1, id="rr-25"),
    pytest.param({"spo2": 91}, S1, id="spo2-scale1-91"),
    pytest.param({"spo2": 83}, S2, id="spo2-scale2-83"),
    pytest.param({"systolic_bp": 90}, S1, id="sbp-90"),
    pytest.param({"systolic_bp": 220}, S1, id="sbp-220"),
    pytest.param({"pulse": 40}, S1, id="pulse-40"),
    pytest.param({"pulse": 131}, S1, id="pulse-131"),
    pytest.param({"consciousness": Consciousness.NEW_CONFUSION}, S1, id="new-confusion"),
    pytest.param({"consciousness": Consciousness.VOICE}, S1, id="voice"),
    pytest.param({"temperature": 35.0}, S1, id="temp-35.0"),
]


@pytest.mark.parametrize(("change", "scale"), RED_EDGES)
def test_a_single_3_alone_is_low_medium_hourly_with_an_urgent_ward_response(
    change: dict[str, object], scale: SpO2Scale
) -> None:
    result = news2(dataclasses.replace(NORMAL, **change), scale)  # type: ignore[arg-type]
    assert result.total == 3
    assert result.has_single_parameter_3
    assert result.response is not None
    assert result.response.band is RiskBand.LOW_MEDIUM
    assert result.response.monitoring_interval == timedelta(hours=1)
    assert result.response.escalation_priority == "urgent"


# The value one step inside each red edge scores less than 3: no single-parameter trigger.
NOT_RED = [
    pytest.param({"respiration_rate": 9}, S1, 1, id="rr-9"),
    pytest.param({"respiration_rate": 24}, S1, 2, id="rr-24"),
    pytest.param({"spo2": 92}, S1, 2, id="spo2-scale1-92"),
    pytest.param({"spo2": 84}, S2, 2, id="spo2-scale2-84"),
    pytest.param({"systolic_bp": 91}, S1, 2, id="sbp-91"),
    pytest.param({"systolic_bp": 219}, S1, 0, id="sbp-219"),
    pytest.param({"pulse": 41}, S1, 1, id="pulse-41"),
    pytest.param({"pulse": 130}, S1, 2, id="pulse-130"),
    pytest.param({"temperature": 35.1}, S1, 1, id="temp-35.1"),
    pytest.param({"temperature": 39.1}, S1, 2, id="temp-39.1"),
]


@pytest.mark.parametrize(("change", "scale", "total"), NOT_RED)
def test_one_step_inside_each_red_edge_is_low_without_the_single_parameter_rule(
    change: dict[str, object], scale: SpO2Scale, total: int
) -> None:
    result = news2(dataclasses.replace(NORMAL, **change), scale)  # type: ignore[arg-type]
    assert result.total == total
    assert not result.has_single_parameter_3
    assert result.response is not None
    assert result.response.band is RiskBand.LOW
    expected = timedelta(hours=12) if total == 0 else timedelta(hours=4)
    assert result.response.monitoring_interval == expected


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "spo2_points", "total", "band"),
    [
        # RCP NEWS2 chart 1, SpO2 scale 2: 93 % or more scores only on oxygen; air/oxygen adds 2.
        (92, True, 0, 2, RiskBand.LOW),
        (93, True, 1, 3, RiskBand.LOW),
        (94, True, 1, 3, RiskBand.LOW),
        (95, True, 2, 4, RiskBand.LOW),
        (96, True, 2, 4, RiskBand.LOW),
        (97, True, 3, 5, RiskBand.MEDIUM),  # a 3 and a total of 5: medium outranks low-medium
        (100, True, 3, 5, RiskBand.MEDIUM),
        (93, False, 0, 0, RiskBand.LOW),
        (97, False, 0, 0, RiskBand.LOW),
        (100, False, 0, 0, RiskBand.LOW),
        (88, False, 0, 0, RiskBand.LOW),
        (87, False, 1, 1, RiskBand.LOW),
    ],
)
def test_scale_2_top_bands_score_only_on_oxygen_through_a_whole_set(
    spo2: int, on_oxygen: bool, spo2_points: int, total: int, band: RiskBand
) -> None:
    result = news2(dataclasses.replace(NORMAL, spo2=spo2, on_oxygen=on_oxygen), S2)
    assert result.sub_scores[Parameter.SPO2] == spo2_points
    assert result.total == total
    assert result.response is not None
    assert result.response.band is band


@pytest.mark.parametrize(
    ("change", "total", "band", "interval"),
    [
        # RCP NEWS2 charts 2 and 4: aggregate 4 | 5 and 6 | 7, without any single 3.
        ({"respiration_rate": 22, "pulse": 112}, 4, RiskBand.LOW, timedelta(hours=4)),
        (
            {"respiration_rate": 22, "pulse": 112, "temperature": 38.5},
            5,
            RiskBand.MEDIUM,
            timedelta(hours=1),
        ),
        (
            {"respiration_rate": 22, "pulse": 112, "spo2": 92},
            6,
            RiskBand.MEDIUM,
            timedelta(hours=1),
        ),
        (
            {"respiration_rate": 22, "pulse": 112, "spo2": 92, "temperature": 38.5},
            7,
            RiskBand.HIGH,
            None,
        ),
    ],
)
def test_aggregate_thresholds_4_5_6_7_through_a_whole_set(
    change: dict[str, object], total: int, band: RiskBand, interval: timedelta | None
) -> None:
    result = news2(dataclasses.replace(NORMAL, **change))  # type: ignore[arg-type]
    assert result.total == total
    assert not result.has_single_parameter_3
    assert result.response is not None
    assert result.response.band is band
    assert result.response.monitoring_interval == interval


@pytest.mark.parametrize(
    ("flow", "ok"), [(0, True), (0.5, True), (60, True), (-0.1, False), (60.1, False)]
)
def test_oxygen_flow_is_0_to_60_l_per_min(flow: float, ok: bool) -> None:
    if ok:
        assert check_oxygen_flow(flow) == flow
    else:
        with pytest.raises(ImplausibleVitalSign, match="oxygen flow"):
            check_oxygen_flow(flow)


@pytest.mark.parametrize(
    ("fio2", "ok"), [(21, True), (100, True), (20.9, False), (100.1, False), (0.4, False)]
)
def test_fio2_is_21_to_100_percent(fio2: float, ok: bool) -> None:
    if ok:
        assert check_fio2(fio2) == fio2
    else:
        with pytest.raises(ImplausibleVitalSign, match="FiO2"):
            check_fio2(fio2)
