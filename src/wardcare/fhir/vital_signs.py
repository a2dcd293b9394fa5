"""Read NEWS2 inputs out of vital-sign Observations: the contract in the README.

LOINC + UCUM: respiratory rate 9279-1, SpO2 59408-5 or 2708-6, systolic BP 8480-6 (alone or as a
component of the 85354-9 panel), pulse 8867-4, temperature 8310-5 (Cel); inhaled oxygen flow
3151-8 in L/min, as its own Observation or a component of the SpO2 one (0 means room air);
consciousness as SNOMED 1104441000000107 with an ACVPU code; the patient's SpO2 scale as
news2|spo2-scale with valueInteger 1 or 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wardcare.domain.news2 import ACVPU_LETTERS, Parameter
from wardcare.fhir import codes
from wardcare.fhir.dates import InvalidDate, date_range

_BY_LOINC = {
    codes.RESPIRATORY_RATE: Parameter.RESPIRATION_RATE,
    "59408-5": Parameter.SPO2,
    "2708-6": Parameter.SPO2,
    codes.SYSTOLIC_BP: Parameter.SYSTOLIC_BP,
    codes.HEART_RATE: Parameter.PULSE,
    codes.BODY_TEMPERATURE: Parameter.TEMPERATURE,
}
_UNITS = {
    Parameter.RESPIRATION_RATE: {"/min"},
    Parameter.SPO2: {"%"},
    Parameter.SYSTOLIC_BP: {"mm[Hg]"},
    Parameter.PULSE: {"/min"},
    Parameter.TEMPERATURE: {"Cel"},
}
# LOINC 3150-0 Inhaled oxygen concentration (FiO2), in %: checked when recorded, not scored.
FIO2 = "3150-0"
# Every code that can carry a NEWS2 input, for searching a patient's recent vital signs.
INPUT_CODES = (
    *(f"{codes.LOINC}|{c}" for c in (*_BY_LOINC, codes.BP_PANEL, codes.INHALED_O2_FLOW)),
    f"{codes.SNOMED}|{codes.ACVPU_FINDING}",
)
_FINAL = {"final", "amended", "corrected"}


@dataclass(frozen=True)
class Reading:
    parameter: Parameter
    value: float | bool | str  # a number; True/False for on oxygen; the ACVPU letter
    element: str  # the FHIRPath of the value, for error messages
    unit: str | None  # the UCUM code as recorded
    amount: float | None = None  # air or oxygen: the flow as recorded (L/min when valid)


@dataclass(frozen=True)
class Problem:
    """A reading that cannot be read as the contract says, with the element at fault."""

    element: str
    message: str


def _codings(concept: Any) -> list[tuple[str | None, str | None]]:
    if not isinstance(concept, dict):
        return []
    return [
        (c.get("system"), c.get("code")) for c in concept.get("coding", ()) if isinstance(c, dict)
    ]


def readings(observation: dict[str, Any]) -> list[Reading]:
    """The NEWS2 inputs an Observation carries (none if it is not a final vital sign)."""
    if observation.get("resourceType") != "Observation":
        return []
    if observation.get("status") not in _FINAL:
        return []
    found: list[Reading] = []
    code = _codings(observation.get("code"))
    loinc = {c for s, c in code if s == codes.LOINC}
    if (codes.SNOMED, codes.ACVPU_FINDING) in code:
        # Only a letter of the ACVPU CodeSystem is a reading (RCP NEWS2 chart 1): anything else
        # is refused on write (acvpu_problems), and one already stored is skipped, so the set
        # stays incomplete rather than being scored or crashing the score.
        letter = next(
            (c for s, c in _codings(observation.get("valueCodeableConcept")) if s == codes.ACVPU),
            None,
        )
        if letter in ACVPU_LETTERS:
            found.append(
                Reading(Parameter.CONSCIOUSNESS, letter, "Observation.valueCodeableConcept", None)
            )
        return found
    for loinc_code, parameter in _BY_LOINC.items():
        if loinc_code in loinc:
            quantity = observation.get("valueQuantity")
            if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
                found.append(
                    Reading(
                        parameter,
                        quantity["value"],
                        "Observation.valueQuantity.value",
                        quantity.get("code"),
                    )
                )
            break
    if codes.INHALED_O2_FLOW in loinc:
        flow = _quantity(observation.get("valueQuantity"))
        if flow is not None:
            found.append(
                Reading(
                    Parameter.AIR_OR_OXYGEN,
                    flow > 0,
                    "Observation.valueQuantity.value",
                    _unit(observation.get("valueQuantity")),
                    flow,
                )
            )
    for index, component in enumerate(observation.get("component", ())):
        if not isinstance(component, dict):
            continue
        component_loinc = {c for s, c in _codings(component.get("code")) if s == codes.LOINC}
        value = _quantity(component.get("valueQuantity"))
        if value is None:
            continue
        where = f"Observation.component[{index}].valueQuantity.value"
        if codes.SYSTOLIC_BP in component_loinc:
            unit = component.get("valueQuantity", {}).get("code")
            found.append(Reading(Parameter.SYSTOLIC_BP, value, where, unit))
        elif codes.INHALED_O2_FLOW in component_loinc:
            unit = _unit(component.get("valueQuantity"))
            found.append(Reading(Parameter.AIR_OR_OXYGEN, value > 0, where, unit, value))
    return found


def _quantity(quantity: Any) -> float | None:
    if (
        isinstance(quantity, dict)
        and isinstance(quantity.get("value"), int | float)
        and not isinstance(quantity.get("value"), bool)
    ):
        return float(quantity["value"])
    return None


def _unit(quantity: Any) -> str | None:
    code = quantity.get("code") if isinstance(quantity, dict) else None
    return code if isinstance(code, str) else None


def acvpu_problems(observation: dict[str, Any]) -> list[Problem]:
    """A consciousness Observation (SNOMED CT 1104441000000107) must be coded with one letter of
    http://wardcare.org/fhir/CodeSystem/acvpu: A, C, V, P or U (RCP NEWS2 chart 1)."""
    if observation.get("resourceType") != "Observation":
        return []
    if (codes.SNOMED, codes.ACVPU_FINDING) not in _codings(observation.get("code")):
        return []
    expected = f"A, C, V, P or U of {codes.ACVPU}"
    concept = observation.get("valueCodeableConcept")
    codings = concept.get("coding", ()) if isinstance(concept, dict) else ()
    for index, coding in enumerate(codings):
        if isinstance(coding, dict) and coding.get("system") == codes.ACVPU:
            if coding.get("code") in ACVPU_LETTERS:
                return []
            return [
                Problem(
                    f"Observation.valueCodeableConcept.coding[{index}].code",
                    f"consciousness {coding.get('code')!r} is not an ACVPU level: "
                    f"record {expected}",
                )
            ]
    return [
        Problem(
            "Observation.valueCodeableConcept",
            f"consciousness (ACVPU) must be a valueCodeableConcept coded {expected}",
        )
    ]


def fio2_readings(observation: dict[str, Any]) -> list[Reading]:
    """FiO2 (LOINC 3150-0) values an Observation carries, alone or as components."""
    if observation.get("resourceType") != "Observation":
        return []
    found: list[Reading] = []
    if (codes.LOINC, FIO2) in _codings(observation.get("code")):
        quantity = observation.get("valueQuantity")
        value = _quantity(quantity)
        if value is not None:
            found.append(
                Reading(
                    Parameter.AIR_OR_OXYGEN,
                    value > 21,
                    "Observation.valueQuantity.value",
                    _unit(quantity),
                    value,
                )
            )
    for index, component in enumerate(observation.get("component", ())):
        if isinstance(component, dict) and (codes.LOINC, FIO2) in _codings(component.get("code")):
            quantity = component.get("valueQuantity")
            value = _quantity(quantity)
            if value is not None:
                where = f"Observation.component[{index}].valueQuantity.value"
                found.append(
                    Reading(Parameter.AIR_OR_OXYGEN, value > 21, where, _unit(quantity), value)
                )
    return found


def effective_range(observation: dict[str, Any]) -> tuple[int, int] | None:
    """When the observation was made, as a microsecond range (None if not stated)."""
    try:
        if isinstance(observation.get("effectiveDateTime"), str):
            return date_range(observation["effectiveDateTime"])
        if isinstance(observation.get("effectiveInstant"), str):
            return date_range(observation["effectiveInstant"])
        period = observation.get("effectivePeriod")
        if isinstance(period, dict) and isinstance(period.get("start"), str):
            return date_range(period["start"])
    except InvalidDate:
        return None
    return None


def expected_units(parameter: Parameter) -> set[str]:
    return _UNITS.get(parameter, set())


def spo2_scale_setting(observation: dict[str, Any]) -> int | None:
    """The scale a news2|spo2-scale Observation sets (1 or 2), or None."""
    if (codes.NEWS2_SYSTEM, codes.SPO2_SCALE) not in _codings(observation.get("code")):
        return None
    value = observation.get("valueInteger")
    return value if value in (1, 2) else None
