"""Clinical checks on a vital-sign Observation before it is stored (brief section 2).

A reading that cannot be real (SpO2 140 %, a temperature in Fahrenheit, a negative rate) is
refused with a plain-words reason naming the element, never stored and never scored. The SpO2
scale is a per-patient clinical decision, so its Observation must say who made it.
"""

from __future__ import annotations

from typing import Any

from wardcare.domain.news2 import ImplausibleVitalSign, Parameter, check_plausible
from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir import codes
from wardcare.fhir.vital_signs import expected_units, readings


def check_vital_signs(resource: dict[str, Any]) -> None:
    if resource.get("resourceType") != "Observation":
        return
    issues: list[Issue] = []
    for reading in readings(resource):
        if reading.parameter in (Parameter.CONSCIOUSNESS, Parameter.AIR_OR_OXYGEN):
            continue
        units = expected_units(reading.parameter)
        unit_path = reading.element.rsplit(".", 1)[0] + ".code"
        if reading.unit not in units:
            issues.append(
                Issue(
                    f"{reading.parameter.label} must be recorded in {' or '.join(sorted(units))} "
                    f"(UCUM), not {reading.unit!r}",
                    (unit_path,),
                    "value",
                )
            )
            continue
        assert isinstance(reading.value, int | float)
        try:
            check_plausible(reading.parameter, reading.value)
        except ImplausibleVitalSign as exc:
            issues.append(Issue(str(exc), (reading.element,), "value"))
    issues.extend(_spo2_scale_issues(resource))
    if issues:
        raise WardCareError(Category.UNPROCESSABLE, issues)


def _spo2_scale_issues(resource: dict[str, Any]) -> list[Issue]:
    coded = resource.get("code", {}).get("coding", ())
    if not any(
        c.get("system") == codes.NEWS2_SYSTEM and c.get("code") == codes.SPO2_SCALE
        for c in coded
        if isinstance(c, dict)
    ):
        return []
    issues = []
    if resource.get("valueInteger") not in (1, 2):
        issues.append(
            Issue(
                "The SpO2 scale is 1, or 2 for confirmed hypercapnic respiratory failure",
                ("Observation.valueInteger",),
                "value",
            )
        )
    if not resource.get("performer"):
        issues.append(
            Issue(
                "Record who set the SpO2 scale: it is a decision for a competent "
                "clinical decision-maker (RCP NEWS2)",
                ("Observation.performer",),
                "required",
            )
        )
    subject = resource.get("subject", {}).get("reference", "")
    if not isinstance(subject, str) or not subject.startswith("Patient/"):
        issues.append(
            Issue("The SpO2 scale is set for a patient", ("Observation.subject",), "required")
        )
    return issues
