"""What a scored assessment concluded, whichever engine scored it (a sum of points, or NEWS2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from wardcare.domain import news2
from wardcare.domain.assessment_scoring import Answer, AnswerError, AssessmentResult

# The NEWS2 template's linkIds: the contract between care_templates/assessments/news2.yaml and
# the RCP rules in domain/news2.py.
NEWS2_LINK_IDS: Mapping[news2.Parameter, str] = {
    news2.Parameter.RESPIRATION_RATE: "respiration-rate",
    news2.Parameter.SPO2: "spo2",
    news2.Parameter.AIR_OR_OXYGEN: "on-oxygen",
    news2.Parameter.SYSTOLIC_BP: "systolic-bp",
    news2.Parameter.PULSE: "pulse",
    news2.Parameter.CONSCIOUSNESS: "consciousness",
    news2.Parameter.TEMPERATURE: "temperature",
}


@dataclass(frozen=True)
class Outcome:
    total: int | None
    band_code: str | None
    band_display: str | None
    meaning: str | None
    response: str | None
    priority: str | None  # FHIR Task priority when the result needs escalation
    recheck: timedelta | None  # when to repeat; for NEWS2 the minimum monitoring interval
    continuous_monitoring: bool
    points: Mapping[str, int]  # linkId (or NEWS2 parameter) -> points
    missing: tuple[str, ...]
    single_parameter_3: bool = False

    @property
    def complete(self) -> bool:
        return not self.missing


def from_sum(result: AssessmentResult) -> Outcome:
    band = result.band
    return Outcome(
        total=result.total,
        band_code=band.code if band else None,
        band_display=band.display if band else None,
        meaning=band.meaning if band else None,
        response=band.response if band else None,
        priority=band.priority if band else None,
        recheck=band.recheck if band else None,
        continuous_monitoring=False,
        points={s.link_id: s.points for s in result.items if s.points is not None},
        missing=result.missing,
    )


def news2_vitals(answers: Mapping[str, Answer]) -> news2.VitalSigns:
    """NEWS2 answers as vital signs; AnswerError names the linkId of an answer of the wrong type."""

    def number(parameter: news2.Parameter) -> float | None:
        link_id = NEWS2_LINK_IDS[parameter]
        value = answers.get(link_id)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswerError(link_id, f"{parameter.label}: answer with a number")
        return float(value)

    on_oxygen = answers.get("on-oxygen")
    if on_oxygen is not None and not isinstance(on_oxygen, bool):
        raise AnswerError("on-oxygen", "On supplemental oxygen: answer yes or no")
    level = answers.get("consciousness")
    consciousness = None
    if level is not None:
        try:
            consciousness = news2.Consciousness(str(level))
        except ValueError:
            raise AnswerError(
                "consciousness", f"Consciousness: {level!r} is not A, C, V, P or U"
            ) from None
    return news2.VitalSigns(
        respiration_rate=number(news2.Parameter.RESPIRATION_RATE),
        spo2=number(news2.Parameter.SPO2),
        on_oxygen=on_oxygen,
        systolic_bp=number(news2.Parameter.SYSTOLIC_BP),
        pulse=number(news2.Parameter.PULSE),
        consciousness=consciousness,
        temperature=number(news2.Parameter.TEMPERATURE),
    )


def from_news2(result: news2.News2Result) -> Outcome:
    response = result.response
    return Outcome(
        total=result.total,
        band_code=response.band.value if response else None,
        band_display=response.band.label if response else None,
        meaning=response.monitoring_text if response else None,
        response=response.response_text if response else None,
        priority=response.escalation_priority if response else None,
        recheck=response.monitoring_interval if response else None,
        continuous_monitoring=response is not None and response.monitoring_interval is None,
        points={p.value: s for p, s in result.sub_scores.items()},
        missing=tuple(NEWS2_LINK_IDS[p] for p in result.missing),
        single_parameter_3=result.has_single_parameter_3,
    )


def score_news2(answers: Mapping[str, Answer], scale: int) -> Outcome:
    vitals = news2_vitals(answers)
    try:
        result = news2.news2(vitals, news2.SpO2Scale(scale))
    except news2.ImplausibleVitalSign as exc:
        raise AnswerError(NEWS2_LINK_IDS[exc.parameter], str(exc)) from exc
    return from_news2(result)
