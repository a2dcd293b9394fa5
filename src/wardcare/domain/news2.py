"""NEWS2: the National Early Warning Score 2 (Royal College of Physicians, 2017).

Pure rules: a set of vital signs in; sub-scores, total, risk band and clinical response out.
Source: Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the
assessment of acute-illness severity in the NHS. Updated report of a working party. London: RCP,
2017. Chart 1 is the scoring system, chart 2 the thresholds and triggers, chart 4 the clinical
response. The RCP must be acknowledged wherever the score is shown (``RCP_ACKNOWLEDGEMENT``).

Decisions (each one is proved by a test in ``tests/domain/test_news2.py``):

* Whole numbers. Respiration rate, SpO2, systolic BP and pulse are whole numbers on chart 1, so a
  decimal (20.5 /min, 95.5 %) is REJECTED, never rounded: nobody counts half a breath, so a decimal
  signals a unit, device-mapping or typing error, and rounding would silently choose a band exactly
  where the score changes (90.5 mmHg is 3 points or 2 depending on the rounding rule). Whole floats
  (96.0) are accepted because HL7 v2 and FHIR quantities often carry them that way.
* Temperature may carry any precision; each band is read "up to and including its upper bound"
  (WardCare brief section 2), so 35.05 scores as 35.1-36.0 and 38.05 as 38.1-39.0.
* Plausibility. A value outside these limits is rejected, not scored, with a message naming the
  parameter: respiration rate 0-80 /min, SpO2 0-100 %, systolic BP 20-300 mmHg, pulse 0-300 /min,
  temperature 25.0-45.0 C. The low limits stay generous (0 breaths or beats is an arrest, which
  must score 3, not be refused); the high limits sit beyond anything a ward sees, so values above
  them are typing or unit errors (a temperature of 77-113 is named as probably Fahrenheit).
* SpO2 scale 2 is a per-patient setting made by a clinical decision maker, passed in by the caller.
  On scale 2 an SpO2 of 93 % or more scores by air or oxygen, so with air/oxygen unrecorded it has
  no sub-score (air/oxygen is listed missing).
* Completeness. Without all seven parameters there is no total and no response, never a low score.
* Monitoring. Chart 4 says "minimum 4-6 hourly" for totals 1-4: we schedule the stricter 4 hours.
* Escalation priority uses FHIR Task.priority codes: none for 0, "routine" for 1-4 (the
  registered nurse assesses), "urgent" for a single 3 or 5-6, "stat" for 7 or more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

RCP_ACKNOWLEDGEMENT: Final = "NEWS2 © Royal College of Physicians 2017"


class SpO2Scale(IntEnum):
    SCALE_1 = 1
    SCALE_2 = 2  # only for confirmed hypercapnic respiratory failure (RCP NEWS2 chart 1)


class Consciousness(StrEnum):
    """ACVPU: Alert, new Confusion, Voice, Pain, Unresponsive."""

    ALERT = "A"
    NEW_CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


class Parameter(StrEnum):
    """The seven NEWS2 parameters, in chart 1 order (which is also the order of ``missing``)."""

    RESPIRATION_RATE = "respiration_rate"
    SPO2 = "spo2"
    AIR_OR_OXYGEN = "air_or_oxygen"
    SYSTOLIC_BP = "systolic_bp"
    PULSE = "pulse"
    CONSCIOUSNESS = "consciousness"
    TEMPERATURE = "temperature"

    @property
    def label(self) -> str:
        """The name nurses read on the chart."""
        return _LABELS[self]


_LABELS: Final = {
    Parameter.RESPIRATION_RATE: "respiration rate",
    Parameter.SPO2: "SpO2",
    Parameter.AIR_OR_OXYGEN: "air or oxygen",
    Parameter.SYSTOLIC_BP: "systolic BP",
    Parameter.PULSE: "pulse",
    Parameter.CONSCIOUSNESS: "consciousness",
    Parameter.TEMPERATURE: "temperature",
}


class RiskBand(StrEnum):
    LOW = "low"
    LOW_MEDIUM = "low-medium"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label(self) -> str:
        """Written in capitals beside the colour, so black-and-white print loses nothing."""
        return self.value.upper()


class ImplausibleVitalSign(ValueError):
    """A value that cannot be a real reading: it is rejected, never scored."""

    def __init__(self, parameter: Parameter, value: float, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value


class NotAWholeNumber(ImplausibleVitalSign):
    """A decimal where chart 1 has only whole numbers (see the module docstring)."""


# (lowest, highest, unit) accepted; see "Plausibility" in the module docstring.
_LIMITS: Final[Mapping[Parameter, tuple[float, float, str]]] = {
    Parameter.RESPIRATION_RATE: (0, 80, "/min"),
    Parameter.SPO2: (0, 100, "%"),
    Parameter.SYSTOLIC_BP: (20, 300, "mmHg"),
    Parameter.PULSE: (0, 300, "/min"),
    Parameter.TEMPERATURE: (25.0, 45.0, "°C"),
}
_WHOLE_NUMBERS: Final = frozenset(
    {Parameter.RESPIRATION_RATE, Parameter.SPO2, Parameter.SYSTOLIC_BP, Parameter.PULSE}
)


def _checked(parameter: Parameter, value: float) -> float:
    """The value itself, once it is a finite, plausible number of the right kind."""
    # bool is an int in Python: True must not score as a respiration rate of 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{parameter.label} must be a number, not {value!r}")
    low, high, unit = _LIMITS[parameter]
    name = parameter.label
    if not math.isfinite(value):
        raise ImplausibleVitalSign(parameter, value, f"{name} {value} is not a number")
    if not low <= value <= high:
        message = f"{name} {value:g} {unit}? check the reading (expected {low:g}-{high:g} {unit})"
        fahrenheit_low, fahrenheit_high = low * 9 / 5 + 32, high * 9 / 5 + 32
        if parameter is Parameter.TEMPERATURE and fahrenheit_low <= value <= fahrenheit_high:
            celsius = (value - 32) * 5 / 9
            message += f": looks like Fahrenheit ({value:g} °F = {celsius:.1f} °C); record Celsius"
        raise ImplausibleVitalSign(parameter, value, message)
    if parameter in _WHOLE_NUMBERS and not float(value).is_integer():
        raise NotAWholeNumber(
            parameter,
            value,
            f"{name} {value:g} {unit} is not a whole number: {name} is counted in whole numbers, "
            "so a decimal suggests a unit or device error; check the reading",
        )
    return value


def check_plausible(parameter: Parameter, value: float) -> float:
    """Reject a reading that cannot be real (ImplausibleVitalSign) before it is stored."""
    return _checked(parameter, value)


# Air or oxygen (RCP NEWS2 chart 1) is read from the inhaled oxygen flow (0 = room air) or, where
# recorded, the inspired oxygen fraction. Neither has a band of its own, but a value no device
# gives is a unit or typing error: flow 0-60 L/min (high-flow nasal oxygen reaches 60), FiO2
# 21 % (room air) to 100 % (a fraction such as 0.4 is refused: FiO2 is recorded in %).
OXYGEN_FLOW_LIMITS: Final = (0.0, 60.0)
FIO2_LIMITS: Final = (21.0, 100.0)


def _in_limits(value: float, limits: tuple[float, float], name: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {value!r}")
    low, high = limits
    if not math.isfinite(value) or not low <= value <= high:
        raise ImplausibleVitalSign(
            Parameter.AIR_OR_OXYGEN,
            value,
            f"{name} {value:g} {unit}? check the reading (expected {low:g}-{high:g} {unit})",
        )
    return value


def check_oxygen_flow(litres_per_minute: float) -> float:
    """Inhaled oxygen flow in L/min, 0 (room air) to 60; ImplausibleVitalSign outside it."""
    return _in_limits(litres_per_minute, OXYGEN_FLOW_LIMITS, "oxygen flow", "L/min")


def check_fio2(percent: float) -> float:
    """Inspired oxygen fraction in %, 21 (room air) to 100; ImplausibleVitalSign outside it."""
    return _in_limits(percent, FIO2_LIMITS, "FiO2", "%")


ACVPU_LETTERS: Final = frozenset(level.value for level in Consciousness)


def _band(value: float, upper_bounds: tuple[tuple[float, int], ...], above: int) -> int:
    """The score of the first band whose upper bound (inclusive) holds the value, else ``above``.

    Reading every band as "up to and including its upper bound" leaves no value between bands.
    """
    for upper, score in upper_bounds:
        if value <= upper:
            return score
    return above


def score_respiration_rate(rate: float) -> int:
    """RCP NEWS2 chart 1: <=8 scores 3, 9-11 1, 12-20 0, 21-24 2, >=25 3."""
    rate = _checked(Parameter.RESPIRATION_RATE, rate)
    return _band(rate, ((8, 3), (11, 1), (20, 0), (24, 2)), above=3)


def score_spo2(
    spo2: float, scale: SpO2Scale = SpO2Scale.SCALE_1, on_oxygen: bool | None = None
) -> int:
    """RCP NEWS2 chart 1, SpO2 scale 1 or 2 (scale 2 needs air/oxygen known from 93 % up)."""
    spo2 = _checked(Parameter.SPO2, spo2)
    if SpO2Scale(scale) is SpO2Scale.SCALE_1:
        # Scale 1: <=91 3, 92-93 2, 94-95 1, >=96 0, whatever the oxygen.
        return _band(spo2, ((91, 3), (93, 2), (95, 1)), above=0)
    # Scale 2 targets 88-92 %: <=83 3, 84-85 2, 86-87 1, 88-92 0. Above 92 a saturation scores
    # only when oxygen produces it (risk of hypercapnia): 93-94 1, 95-96 2, >=97 3; on air 0.
    if spo2 <= 92:
        return _band(spo2, ((83, 3), (85, 2), (87, 1)), above=0)
    if on_oxygen is None:
        raise ValueError(f"SpO2 {spo2:g} % on scale 2 scores by air or oxygen: record which")
    return _band(spo2, ((94, 1), (96, 2)), above=3) if on_oxygen else 0


def score_air_or_oxygen(on_oxygen: bool) -> int:
    """RCP NEWS2 chart 1: supplemental oxygen scores 2, air 0 (on both SpO2 scales)."""
    if not isinstance(on_oxygen, bool):
        raise TypeError(f"air or oxygen must be True (oxygen) or False (air), not {on_oxygen!r}")
    return 2 if on_oxygen else 0


def score_systolic_bp(systolic: float) -> int:
    """RCP NEWS2 chart 1: <=90 3, 91-100 2, 101-110 1, 111-219 0, >=220 3."""
    systolic = _checked(Parameter.SYSTOLIC_BP, systolic)
    return _band(systolic, ((90, 3), (100, 2), (110, 1), (219, 0)), above=3)


def score_pulse(pulse: float) -> int:
    """RCP NEWS2 chart 1: <=40 3, 41-50 1, 51-90 0, 91-110 1, 111-130 2, >=131 3."""
    pulse = _checked(Parameter.PULSE, pulse)
    return _band(pulse, ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2)), above=3)


def score_consciousness(level: Consciousness) -> int:
    """RCP NEWS2 chart 1: Alert scores 0; new Confusion, Voice, Pain or Unresponsive score 3."""
    return 0 if Consciousness(level) is Consciousness.ALERT else 3


def score_temperature(celsius: float) -> int:
    """RCP NEWS2 chart 1: <=35.0 3, 35.1-36.0 1, 36.1-38.0 0, 38.1-39.0 1, >=39.1 2.

    Bands are read up to and including their upper bound, so 36.05 scores 0 and 38.05 scores 1.
    """
    celsius = _checked(Parameter.TEMPERATURE, celsius)
    return _band(celsius, ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1)), above=2)


@dataclass(frozen=True)
class VitalSigns:
    """One set of observations; None means not recorded."""

    respiration_rate: float | None = None
    spo2: float | None = None
    on_oxygen: bool | None = None
    systolic_bp: float | None = None
    pulse: float | None = None
    consciousness: Consciousness | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class ClinicalResponse:
    """RCP NEWS2 charts 2 and 4: what the score asks of the ward."""

    band: RiskBand
    monitoring_interval: timedelta | None  # None means continuous monitoring
    monitoring_text: str
    response_text: str
    escalation_priority: str | None  # FHIR Task.priority: routine | urgent | stat; None for 0


# Response wording follows RCP NEWS2 chart 4 (with the chart 2 trigger names).
_ZERO: Final = ClinicalResponse(
    RiskBand.LOW,
    timedelta(hours=12),
    "Minimum 12-hourly",
    "Continue routine NEWS monitoring.",
    None,
)
_LOW: Final = ClinicalResponse(
    RiskBand.LOW,
    timedelta(hours=4),
    "Minimum 4-6-hourly (scheduled every 4 hours)",
    "Inform registered nurse, who must assess the patient. Registered nurse decides whether "
    "increased frequency of monitoring and/or escalation of care is required.",
    "routine",
)
_LOW_MEDIUM: Final = ClinicalResponse(
    RiskBand.LOW_MEDIUM,
    timedelta(hours=1),
    "Minimum 1-hourly",
    "Urgent ward-based response: registered nurse to inform the medical team caring for the "
    "patient, who will review and decide whether escalation of care is necessary.",
    "urgent",
)
_MEDIUM: Final = ClinicalResponse(
    RiskBand.MEDIUM,
    timedelta(hours=1),
    "Minimum 1-hourly",
    "Urgent response threshold: registered nurse to immediately inform the medical team caring "
    "for the patient and to request urgent assessment by a clinician or team with core "
    "competencies in the care of acutely ill patients. Provide clinical care in an environment "
    "with monitoring facilities.",
    "urgent",
)
_HIGH: Final = ClinicalResponse(
    RiskBand.HIGH,
    None,
    "Continuous monitoring of vital signs",
    "Emergency response threshold: registered nurse to immediately inform the medical team caring "
    "for the patient (at least specialist registrar level). Emergency assessment by a team with "
    "critical care competencies, including practitioner(s) with advanced airway management "
    "skills. Consider transfer of care to a level 2 or 3 clinical care facility, ie "
    "higher-dependency unit or ICU. Clinical care in an environment with monitoring facilities.",
    "stat",
)


def clinical_response(total: int, single_parameter_3: bool) -> ClinicalResponse:
    """RCP NEWS2 charts 2 and 4. A total of 5 or more outranks the single-parameter-3 rule."""
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= 20:
        raise ValueError(f"a NEWS2 total is a whole number 0-20, not {total!r}")
    if single_parameter_3 and total < 3:
        raise ValueError(f"a total of {total} cannot include a parameter scoring 3")
    if total >= 7:
        return _HIGH
    if total >= 5:
        return _MEDIUM
    if single_parameter_3:
        return _LOW_MEDIUM
    return _LOW if total >= 1 else _ZERO


@dataclass(frozen=True)
class News2Result:
    scale: SpO2Scale
    sub_scores: Mapping[Parameter, int]  # only parameters that were present (and scoreable)
    missing: tuple[Parameter, ...]  # in chart order
    total: int | None  # None when incomplete: a partial set never shows as a low score
    response: ClinicalResponse | None  # None when incomplete

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def has_single_parameter_3(self) -> bool:
        """A red score (RCP chart 2); reported even for an incomplete set."""
        return 3 in self.sub_scores.values()


def news2(vitals: VitalSigns, scale: SpO2Scale = SpO2Scale.SCALE_1) -> News2Result:
    """Score a set of observations; raises ImplausibleVitalSign for a value that cannot be real."""
    scale = SpO2Scale(scale)
    v = vitals
    present = {
        Parameter.RESPIRATION_RATE: v.respiration_rate,
        Parameter.SPO2: v.spo2,
        Parameter.AIR_OR_OXYGEN: v.on_oxygen,
        Parameter.SYSTOLIC_BP: v.systolic_bp,
        Parameter.PULSE: v.pulse,
        Parameter.CONSCIOUSNESS: v.consciousness,
        Parameter.TEMPERATURE: v.temperature,
    }
    missing = tuple(p for p in Parameter if present[p] is None)
    scores: dict[Parameter, int] = {}  # filled in chart order, so it reads in chart order
    if v.respiration_rate is not None:
        scores[Parameter.RESPIRATION_RATE] = score_respiration_rate(v.respiration_rate)
    if v.spo2 is not None:
        spo2 = _checked(Parameter.SPO2, v.spo2)
        # Scale 2 from 93 % up depends on air/oxygen: no sub-score until that is recorded.
        if scale is SpO2Scale.SCALE_1 or spo2 <= 92 or v.on_oxygen is not None:
            scores[Parameter.SPO2] = score_spo2(spo2, scale, v.on_oxygen)
    if v.on_oxygen is not None:
        scores[Parameter.AIR_OR_OXYGEN] = score_air_or_oxygen(v.on_oxygen)
    if v.systolic_bp is not None:
        scores[Parameter.SYSTOLIC_BP] = score_systolic_bp(v.systolic_bp)
    if v.pulse is not None:
        scores[Parameter.PULSE] = score_pulse(v.pulse)
    if v.consciousness is not None:
        scores[Parameter.CONSCIOUSNESS] = score_consciousness(v.consciousness)
    if v.temperature is not None:
        scores[Parameter.TEMPERATURE] = score_temperature(v.temperature)
    read_only = MappingProxyType(scores)
    if missing:
        return News2Result(scale, read_only, missing, None, None)
    total = sum(scores.values())
    return News2Result(
        scale, read_only, missing, total, clinical_response(total, 3 in scores.values())
    )
