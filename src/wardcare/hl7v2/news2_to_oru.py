"""A nursing result (NEWS2 with its sub-scores, or another assessment's total) as ORU^R01 v2.5.1.

One OBR for the assessment, then one OBX per value (HL7 v2.5.1 Chapter 7, 7.3.1): the total first,
then each sub-score (NEWS2: the SNOMED CT sub-score codes), each with its code and coding system
(OBX-3), numeric value (OBX-5), units (OBX-6, UCUM `{score}` for points), and result status
(OBX-11: F final, C a correction of a result already sent, W posted in error). The NEWS2 risk
band sets the total's abnormal flag (OBX-8, table 0078) and is written in words in an NTE,
with the RCP's response, so a receiving system that ignores flags still shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wardcare.fhir import codes
from wardcare.hl7v2.outbound_fields import (
    Header,
    coded,
    escape,
    first_coding,
    join_components,
    message,
    msh,
    pid,
    pv1,
    segment,
    timestamp,
)

MESSAGE_TYPE = "ORU^R01"
SCORE_UNITS = "{score}^score^UCUM"
# NEWS2 clinical-risk bands (RCP 2017, chart 2) as HL7 table 0078 abnormal flags: low risk is
# normal; a single red score is abnormal; medium (urgent response) high; high (emergency
# response) critically high.
NEWS2_FLAGS = {"low": "N", "low-medium": "A", "medium": "H", "high": "HH"}


def result_status(observation: Mapping[str, Any]) -> str:
    """OBX-11 / OBR-25: a later version of a result, or an amended one, corrects what was sent
    (table 0085 C); entered-in-error withdraws it (W)."""
    status = observation.get("status")
    if status == "entered-in-error":
        return "W"
    version = str((observation.get("meta") or {}).get("versionId") or "1")
    if status in ("amended", "corrected") or version != "1":
        return "C"
    return "F"


def oru_r01(
    observation: Mapping[str, Any],
    *,
    patient: Mapping[str, Any],
    encounter: Mapping[str, Any] | None,
    bed_code: str | None,
    header: Header,
) -> str:
    tz = header.timezone
    status = result_status(observation)
    effective = observation.get("effectiveDateTime") or (observation.get("effectivePeriod") or {})
    if isinstance(effective, Mapping):
        effective = effective.get("start")
    when = timestamp(effective, tz)
    changed = timestamp((observation.get("meta") or {}).get("lastUpdated"), tz)
    performer = _performer(observation)
    code = coded(first_coding(observation.get("code")), (observation.get("code") or {}).get("text"))
    segments = [
        msh(header, MESSAGE_TYPE),
        pid(patient),
        pv1(encounter, bed_code, header.sending_facility),
        segment(
            "OBR",
            "1",
            "",
            join_components(escape(observation.get("id", "")), "WARDCARE"),
            code,
            "",
            "",
            when,
            *([""] * 14),
            changed,
            "",
            "",
            "F" if status == "F" else "C",
        ),
    ]
    band = _band(observation)
    total_type, total_value, total_units = _value(observation)
    segments.append(
        _obx(
            1,
            total_type,
            code,
            total_value,
            total_units,
            NEWS2_FLAGS.get(band or "", "") if _is_news2(observation) else "",
            status,
            when,
            performer,
        )
    )
    notes = []
    for interpretation in observation.get("interpretation") or ():
        text = interpretation.get("text") or (first_coding(interpretation) or {}).get("display")
        if text:
            notes.append(text)
    notes.extend(n["text"] for n in observation.get("note") or () if n.get("text"))
    segments.extend(
        segment("NTE", str(i), "L", escape(text)) for i, text in enumerate(notes, start=1)
    )
    for index, component in enumerate(observation.get("component") or (), start=2):
        value_type, value, units = _value(component)
        if not value_type:
            continue
        component_code = coded(first_coding(component.get("code")))
        segments.append(
            _obx(index, value_type, component_code, value, units, "", status, when, performer)
        )
    return message(segments)


def _obx(
    set_id: int,
    value_type: str,
    code: str,
    value: str,
    units: str,
    flag: str,
    status: str,
    when: str,
    performer: str,
) -> str:
    return segment(
        "OBX",
        str(set_id),
        value_type,
        code,
        "",
        value,
        units,
        "",
        flag,
        "",
        "",
        status,
        "",
        "",
        when,
        "",
        performer,
    )


def _value(element: Mapping[str, Any]) -> tuple[str, str, str]:
    """OBX-2 value type, OBX-5 value and OBX-6 units of a FHIR value[x]."""
    if "valueInteger" in element:
        return "NM", str(element["valueInteger"]), SCORE_UNITS
    quantity = element.get("valueQuantity")
    if isinstance(quantity, Mapping) and "value" in quantity:
        units = join_components(
            escape(quantity.get("code") or quantity.get("unit") or ""),
            escape(quantity.get("unit") or ""),
            "UCUM" if quantity.get("system") == codes.UCUM else "L",
        )
        return "NM", _number(quantity["value"]), units
    concept = element.get("valueCodeableConcept")
    if isinstance(concept, Mapping):
        return "CWE", coded(first_coding(concept), concept.get("text")), ""
    if "valueString" in element:
        return "ST", escape(element["valueString"]), ""
    return "", "", ""


def _number(value: Any) -> str:
    """An NM value: no exponent, no trailing zeros beyond what was recorded."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _band(observation: Mapping[str, Any]) -> str | None:
    for interpretation in observation.get("interpretation") or ():
        coding = first_coding(interpretation)
        if coding:
            return str(coding["code"])
    return None


def _is_news2(observation: Mapping[str, Any]) -> bool:
    coding = first_coding(observation.get("code")) or {}
    return coding.get("system") == codes.SNOMED and coding.get("code") == codes.NEWS2_TOTAL


def _performer(observation: Mapping[str, Any]) -> str:
    """OBX-16 responsible observer: the Practitioner's id (XCN.1)."""
    for performer in observation.get("performer") or ():
        reference = performer.get("reference") or ""
        if reference.startswith("Practitioner/"):
            return escape(reference.split("/", 1)[1])
    return ""
