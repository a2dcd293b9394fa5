"""An assessment's results as FHIR Observations (brief section 4, "Results").

The score is one Observation: value = the total, interpretation = the risk band (in words too, so
black-and-white print and colour-blind readers lose nothing), a component per scored item (NEWS2:
the SNOMED CT sub-score codes), `derivedFrom` the QuestionnaireResponse and the input readings.
Items marked `extract` become Observations of their own (SDC observationExtract).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.catalog.template_schema import Item
from wardcare.domain.assessment_outcome import Outcome
from wardcare.domain.assessment_scoring import Answer
from wardcare.fhir import codes

VITAL_SIGN_LOINC = {
    "9279-1",
    "59408-5",
    "2708-6",
    "8480-6",
    "8867-4",
    "8310-5",
    "3151-8",
    "29463-7",
    "8302-2",
    "39156-5",
}
RCP_ACKNOWLEDGEMENT = "NEWS2: Royal College of Physicians, National Early Warning Score 2 (2017)"


@dataclass(frozen=True)
class Context:
    """Who, when and for whom: shared by every Observation of one assessment."""

    patient: str  # "Patient/id"
    encounter: str | None
    effective: str
    performer: dict[str, Any] | None  # a Reference
    derived_from: list[str]  # e.g. ["QuestionnaireResponse/id"]


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code}]}


def _base(ctx: Context, code: dict[str, Any], category: str) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category(category)],
        "code": code,
        "subject": {"reference": ctx.patient},
        "effectiveDateTime": ctx.effective,
    }
    if ctx.encounter:
        observation["encounter"] = {"reference": ctx.encounter}
    if ctx.performer:
        observation["performer"] = [ctx.performer]
    if ctx.derived_from:
        observation["derivedFrom"] = [{"reference": r} for r in ctx.derived_from]
    return observation


def extracted_observation(
    loaded: LoadedTemplate, item: Item, answer: Answer, ctx: Context
) -> dict[str, Any]:
    assert item.code is not None
    coding = [item.code.model_dump(exclude_none=True)]
    is_vital = item.code.system == codes.LOINC and item.code.code in VITAL_SIGN_LOINC
    if item.code.code == "59408-5":
        # The FHIR vital-signs profile identifies oxygen saturation by 2708-6.
        coding.append({"system": codes.LOINC, "code": "2708-6", "display": "Oxygen saturation"})
    category = (
        "vital-signs"
        if is_vital
        else ("exam" if item.code.code == codes.ACVPU_FINDING else "survey")
    )
    observation = _base(ctx, {"coding": coding, "text": item.text}, category)
    if item.type in ("integer", "decimal") and isinstance(answer, int | float):
        quantity: dict[str, Any] = {"value": answer}
        if item.unit:
            quantity.update(
                unit=item.unit.display or item.unit.code,
                system=item.unit.system,
                code=item.unit.code,
            )
        observation["valueQuantity"] = quantity
    elif item.type == "boolean":
        observation["valueBoolean"] = bool(answer)
    elif item.type == "choice":
        option = next(o for o in item.answers if o.code == answer)
        observation["valueCodeableConcept"] = {
            "coding": [
                {
                    "system": option.system or loaded.template.code_system,
                    "code": option.code,
                    "display": option.display,
                }
            ],
            "text": option.display,
        }
    else:
        observation["valueString"] = str(answer)
    return observation


def score_observation(
    loaded: LoadedTemplate, outcome: Outcome, ctx: Context, *, spo2_scale: int = 1
) -> dict[str, Any]:
    template = loaded.template
    assert template.total is not None
    assert outcome.total is not None
    observation = _base(
        ctx,
        {"coding": [template.total.model_dump(exclude_none=True)], "text": template.title},
        "survey",
    )
    observation["valueInteger"] = outcome.total
    if outcome.band_code:
        system = loaded.band_system
        observation["interpretation"] = [
            {
                "coding": [
                    {"system": system, "code": outcome.band_code, "display": outcome.band_display}
                ],
                "text": f"{outcome.band_display}: {outcome.response}",
            }
        ]
    observation["component"] = _components(loaded, outcome, spo2_scale)
    if template.engine == "news2":
        observation["note"] = [{"text": RCP_ACKNOWLEDGEMENT}]
    return observation


def _components(loaded: LoadedTemplate, outcome: Outcome, spo2_scale: int) -> list[dict[str, Any]]:
    template = loaded.template
    components = []
    if template.engine == "news2":
        for parameter, points in outcome.points.items():
            key = f"spo2_scale_{spo2_scale}" if parameter == "spo2" else parameter
            code, display = codes.NEWS2_SUBSCORES[key]
            components.append(
                {
                    "code": {
                        "coding": [{"system": codes.SNOMED, "code": code, "display": display}]
                    },
                    "valueInteger": points,
                }
            )
        return components
    items = {i.link_id: i for i in template.items}
    for link_id, points in outcome.points.items():
        # Points are the template's own measure, not the item's concept (a BMI code with a
        # value of 2 would read as a BMI of 2), so they are coded in the template's CodeSystem.
        coding = {
            "system": template.code_system,
            "code": f"{link_id}-points",
            "display": f"{items[link_id].text} score",
        }
        components.append({"code": {"coding": [coding]}, "valueInteger": points})
    return components
