"""Clinical checks on a vital-sign Observation before it is stored (brief section 2).

A reading that cannot be real (SpO2 140 %, a temperature in Fahrenheit, a negative rate) is
refused with a plain-words reason naming the element, never stored and never scored. The SpO2
scale is a per-patient clinical decision, so its Observation must say who made it.
"""

from __future__ import annotations

from typing import Any

from wardcare.domain.news2 import (
    ImplausibleVitalSign,
    Parameter,
    check_fio2,
    check_oxygen_flow,
    check_plausible,
)
from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir import codes
from wardcare.fhir.vital_signs import (
    Reading,
    acvpu_problems,
    expected_units,
    fio2_readings,
    readings,
)

# UCUM: oxygen flow in litres per minute, FiO2 in percent (README, the NEWS2 input contract).
_OXYGEN_FLOW_UNIT = "L/min"
_FIO2_UNIT = "%"


def check_vital_signs(resource: dict[str, Any]) -> None:
    if resource.get("resourceType") != "Observation":
        return
    issues: list[Issue] = [
        Issue(problem.message, (problem.element,), "value") for problem in acvpu_problems(resource)
    ]
    for reading in fio2_readings(resource):
        issues.extend(_oxygen_issues(reading, "FiO2", _FIO2_UNIT))
    for reading in readings(resource):
        if reading.parameter is Parameter.AIR_OR_OXYGEN:
            issues.extend(_oxygen_issues(reading, "oxygen flow", _OXYGEN_FLOW_UNIT))
            continue
        if reading.parameter is Parameter.CONSCIOUSNESS:
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


def usable(reading: Reading) -> bool:
    """Whether a reading already in the record passes today's checks. One that does not (stored
    before a check existed, or by a route that skipped it) is left out of NEWS2, so the set is
    incomplete rather than scored from it or crashing the write that completes the set."""
    if reading.parameter is Parameter.CONSCIOUSNESS:
        return True  # fhir/vital_signs.readings yields only A, C, V, P or U
    if reading.parameter is Parameter.AIR_OR_OXYGEN:
        return not _oxygen_issues(reading, "oxygen flow", _OXYGEN_FLOW_UNIT)
    if reading.unit not in expected_units(reading.parameter):
        return False
    if isinstance(reading.value, bool) or not isinstance(reading.value, int | float):
        return False
    try:
        check_plausible(reading.parameter, reading.value)
    except ImplausibleVitalSign:
        return False
    return True


def _oxygen_issues(reading: Reading, name: str, unit: str) -> list[Issue]:
    """Oxygen flow 0-60 L/min, FiO2 21-100 % (domain/news2.py): wrong unit or out of range."""
    if reading.unit != unit:
        return [
            Issue(
                f"{name} must be recorded in {unit} (UCUM), not {reading.unit!r}",
                (reading.element.rsplit(".", 1)[0] + ".code",),
                "value",
            )
        ]
    assert reading.amount is not None
    try:
        (check_fio2 if unit == _FIO2_UNIT else check_oxygen_flow)(reading.amount)
    except ImplausibleVitalSign as exc:
        return [Issue(str(exc), (reading.element,), "value")]
    return []


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
