"""ORU^R01 vital signs -> FHIR R4 vital-sign Observations (one per parameter, the README's
NEWS2 input contract), built as JSON directly: tests prove every shape valid against the R4
models and the WardCare vital-signs profile, so the hot path does not re-validate.

OBX-3 is LOINC (coding system LN) or a local code mapped by fhir_profiles/
hl7v2-observation-codes.json; systolic and diastolic OBX become one 85354-9 blood-pressure panel
(FHIR R4 vital signs profile). Each result has a stable id from the sending facility, the
filler order number (OBR-3), the code and OBX-4, so a corrected result (OBX-11 C) is a new
version of the Observation it corrects (HL7 v2.5.1 7.4.2.11, table 0085).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wardcare.fhir import codes
from wardcare.hl7v2.hl7_values import BadValue, decimal, fhir_datetime, stable_id
from wardcare.hl7v2.message_parsing import ParsedMessage, Segment
from wardcare.hl7v2.observation_codes import ObservationCodes
from wardcare.hl7v2.pid_to_patient import MappingProblem

RESULT_IDENTIFIER = "http://wardcare.org/fhir/Id/hl7v2-result"
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
ACVPU_DISPLAY = {"A": "Alert", "C": "New confusion", "V": "Voice", "P": "Pain", "U": "Unresponsive"}
# HL7 table 0085 (observation result status) -> FHIR ObservationStatus.
_STATUS = {
    "F": "final",
    "C": "corrected",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "I": "registered",
    "W": "entered-in-error",
    "D": "entered-in-error",
    "X": "cancelled",
}
_STATUS_RANK = ["registered", "preliminary", "final", "corrected", "cancelled", "entered-in-error"]
_VITAL_SIGNS = [
    {
        "coding": [
            {"system": codes.OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}
        ]
    }
]
_EXAM = [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "exam", "display": "Exam"}]}]


@dataclass
class ResultSet:
    observations: list[dict[str, Any]] = field(default_factory=list)
    problems: list[MappingProblem] = field(default_factory=list)


def observations(
    message: ParsedMessage,
    code_map: ObservationCodes,
    *,
    facility: str,
    patient_ref: str,
    encounter_ref: str | None,
    zone: str,
) -> ResultSet:
    result = ResultSet()
    obr: Segment | None = None
    panels: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()  # (Observation id, component code) stored so far
    occurrence = 0
    for segment in message.segments:
        if segment.name == "OBR":
            obr = segment
        elif segment.name == "OBX":
            occurrence += 1
            where = f"OBX^{occurrence}"
            try:
                built = _observation(
                    segment,
                    obr,
                    message,
                    code_map,
                    facility,
                    patient_ref,
                    encounter_ref,
                    zone,
                    where,
                )
            except MappingProblem as problem:
                result.problems.append(problem)
                continue
            if built is None:
                continue
            panel_code, observation, component = built
            # The same result twice in one message (same OBR-3, code and OBX-4: the same
            # Observation id) has no single value to store: AE 205, duplicate key (table 0357).
            code = component["code"]["coding"][0]["code"] if component else ""
            if (observation["id"], code) in seen:
                result.problems.append(
                    MappingProblem(
                        "205",
                        f"OBX-3 {segment.get(3, 1)!r} with OBX-4 {segment.get(4)!r} appears "
                        "more than once under one OBR; send each result once, or give "
                        "repeated results distinct OBX-4 sub-ids",
                        f"{where}^3",
                    )
                )
                continue
            seen.add((observation["id"], code))
            if panel_code is None:
                result.observations.append(observation)
                continue
            panel = panels.get(observation["id"])
            if panel is None:
                panel = panels[observation["id"]] = {**observation, "component": []}
                panel.pop("valueQuantity", None)
                panel["code"] = {
                    "coding": [
                        {"system": codes.LOINC, "code": BP_PANEL[0], "display": BP_PANEL[1]}
                    ],
                    "text": "Blood pressure",
                }
                result.observations.append(panel)
            panel["component"].append(component)
            panel["status"] = max(panel["status"], observation["status"], key=_STATUS_RANK.index)
    if not result.observations and not result.problems:
        result.problems.append(MappingProblem("101", "The ORU carries no OBX result", "OBX"))
    return result


def _observation(  # noqa: PLR0915 - one OBX, read field by field in order
    obx: Segment,
    obr: Segment | None,
    message: ParsedMessage,
    code_map: ObservationCodes,
    facility: str,
    patient_ref: str,
    encounter_ref: str | None,
    zone: str,
    where: str,
) -> tuple[str | None, dict[str, Any], dict[str, Any]] | None:
    """One OBX; `where` is its ERL (OBX^occurrence, HL7 v2.5.1 2.A.27.2)."""
    code, text, system = obx.get(3, 1).strip(), obx.get(3, 2), obx.get(3, 3).upper()
    loinc_code, acvpu, coded_values = None, False, {}
    if system in ("LN", "LOINC"):
        loinc_code = code
    else:
        local = code_map.local.get(code.upper())
        if local is not None:
            loinc_code, acvpu, coded_values = local.loinc, local.acvpu, local.values
    if not acvpu and (loinc_code is None or loinc_code not in code_map.loinc):
        raise MappingProblem(
            "103",
            f"OBX-3 {code!r} ({text or system or 'no coding system'}) is not a vital sign WardCare "
            "maps (see fhir_profiles/hl7v2-observation-codes.json)",
            f"{where}^3",
        )
    status = _STATUS.get(obx.get(11).upper())
    if status is None:
        raise MappingProblem(
            "103", f"OBX-11 result status {obx.get(11)!r} is not in table 0085", f"{where}^11"
        )
    try:
        when = fhir_datetime(obx.get(14), zone) or fhir_datetime(
            obr.get(7) if obr else message.msh.get(7), zone
        )
    except BadValue as exc:
        raise MappingProblem("102", str(exc), f"{where}^14") from exc
    if not when:
        raise MappingProblem("101", "No observation time (OBX-14, OBR-7)", f"{where}^14")
    filler = (obr.get(3, 1) or obr.get(2, 1)) if obr else ""
    filler = filler or message.msh.get(10)
    panel_of = code_map.loinc[loinc_code].panel if loinc_code else None
    key = "acvpu" if acvpu else str(panel_of or loinc_code)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": stable_id("result", facility, filler, key, obx.get(4)),
        "identifier": [
            {"system": RESULT_IDENTIFIER, "value": f"{facility}|{filler}|{key}|{obx.get(4)}"}
        ],
        "status": status,
        "category": _EXAM if acvpu else _VITAL_SIGNS,
        "subject": {"reference": patient_ref},
        "effectiveDateTime": when,
    }
    if encounter_ref:
        observation["encounter"] = {"reference": encounter_ref}
    performer = " ".join(x for x in (obx.get(16, 3), obx.get(16, 2), obx.get(16, 6)) if x)
    if performer:
        observation["performer"] = [{"display": performer}]
    if status in ("cancelled", "entered-in-error") and not obx.get(5):
        observation["code"] = _code(code_map, loinc_code, acvpu, text)
        return None, observation, {}
    if acvpu:
        letter = obx.get(5, 1).strip().upper()
        if letter not in ACVPU_DISPLAY:
            raise MappingProblem(
                "102", f"ACVPU must be A, C, V, P or U, not {obx.get(5, 1)!r}", f"{where}^5"
            )
        observation["code"] = _code(code_map, None, True, text)
        observation["valueCodeableConcept"] = {
            "coding": [{"system": codes.ACVPU, "code": letter, "display": ACVPU_DISPLAY[letter]}]
        }
        return None, observation, {}
    assert loinc_code is not None
    target = code_map.loinc[loinc_code]
    raw_value = obx.get(5, 1).strip()
    if raw_value.upper() in coded_values:
        value: int | float = coded_values[raw_value.upper()]
        value = int(value) if float(value).is_integer() else value
        unit = target.unit
    else:
        try:
            value = decimal(raw_value)
        except BadValue as exc:
            raise MappingProblem("102", f"OBX-5 {exc} ({target.display})", f"{where}^5") from None
        unit = code_map.ucum(obx.get(6, 1).strip()) if obx.get(6, 1).strip() else target.unit
    if unit != target.unit:
        raise MappingProblem(
            "102",
            f"{target.display} must be in {target.unit} (UCUM), not {obx.get(6, 1)!r}",
            f"{where}^6",
        )
    quantity = {"value": value, "unit": obx.get(6, 2) or unit, "system": codes.UCUM, "code": unit}
    concept = _code(code_map, loinc_code, False, text)
    if target.panel:
        observation["code"] = concept
        observation["valueQuantity"] = quantity
        return target.panel, observation, {"code": concept, "valueQuantity": quantity}
    observation["code"] = concept
    observation["valueQuantity"] = quantity
    return None, observation, {}


def _code(code_map: ObservationCodes, loinc: str | None, acvpu: bool, text: str) -> dict[str, Any]:
    if acvpu:
        return {
            "coding": [
                {
                    "system": codes.SNOMED,
                    "code": codes.ACVPU_FINDING,
                    "display": "ACVPU (alert, new confusion, voice, pain, unresponsive) "
                    "scale score",
                }
            ],
            "text": text or "Consciousness (ACVPU)",
        }
    assert loinc is not None
    target = code_map.loinc[loinc]
    coding = [{"system": codes.LOINC, "code": loinc, "display": target.display}]
    coding += [
        {"system": codes.LOINC, "code": c, "display": code_map.loinc[c].display}
        for c in target.also
        if c in code_map.loinc
    ]
    return {"coding": coding, "text": text or target.display}
