"""ADT segments -> FHIR: PV1 -> Encounter (with ward and bed Locations), AL1 ->
AllergyIntolerance, DG1 -> Condition. Pure: the caller looks up what exists and stores.

Conventions (README, "Conventions other systems rely on"): PV1-3 is ward^bay^bed^facility; the
Locations are identified as WARD7, WARD7/BAY2, WARD7/BAY2/BED5; the current bed is the
Encounter's `location` entries with status active (the ward and the bed). A transfer completes
those entries and adds new ones, so the location history stays on the Encounter (FHIR R4
Encounter.location: "the location history").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wardcare.hl7v2.hl7_values import BadValue, fhir_date, fhir_datetime, stable_id
from wardcare.hl7v2.message_parsing import Segment
from wardcare.hl7v2.pid_to_patient import MappingProblem

LOCATION_CODE = "http://wardcare.org/fhir/Id/location-code"
VISIT_NUMBER = "http://wardcare.org/fhir/Id/visit-number"
LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CLASS = {"I": "IMP", "O": "AMB", "E": "EMER", "P": "PRENC", "R": "IMP", "B": "IMP"}
_CLASS_NAME = {"IMP": "inpatient encounter", "AMB": "ambulatory", "EMER": "emergency"}
_CLASS_NAME["PRENC"] = "pre-admission"
_ALLERGY_CATEGORY = {"DA": "medication", "FA": "food", "EA": "environment", "AA": "environment"}
_CRITICALITY = {"SV": "high", "MO": "low", "MI": "low", "U": "unable-to-assess"}
_CODE_SYSTEMS = {
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "LN": "http://loinc.org",
}


@dataclass(frozen=True)
class Place:
    code: str  # WARD7, WARD7/BAY2, WARD7/BAY2/BED5
    kind: str  # wa, ro, bd
    name: str
    parent: str | None  # the code of the Location it is part of


def places(segment: Segment, field: int) -> list[Place]:
    """The ward, bay and bed a PL field (PV1-3, PV1-6) names, outermost first."""
    ward, bay, bed = (segment.get(field, c).strip() for c in (1, 2, 3))
    if not ward:
        return []
    found = [Place(ward, "wa", ward, None)]
    if bay:
        found.append(Place(f"{ward}/{bay}", "ro", bay, ward))
    if bed:
        parent = f"{ward}/{bay}" if bay else ward
        found.append(Place(f"{parent}/{bed}", "bd", bed, parent))
    return found


def location_id(code: str) -> str:
    return stable_id("location", code)


def location_resource(place: Place, parent_id: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "identifier": [{"system": LOCATION_CODE, "value": place.code}],
        "status": "active",
        "name": place.name,
        "mode": "instance",
        "physicalType": {"coding": [{"system": LOCATION_TYPE, "code": place.kind}]},
    }
    if parent_id:
        resource["partOf"] = {"reference": f"Location/{parent_id}"}
    return resource


def encounter_id(facility: str, pv1: Segment, patient_id: str) -> str:
    """The same visit always maps to the same Encounter: PV1-19 (visit number) when sent."""
    visit = pv1.get(19).strip()
    if visit:
        return stable_id("encounter", facility, visit)
    return stable_id("encounter-of-patient", patient_id, pv1.get(44))


def event_time(time_text: str, where: str, zone: str) -> str | None:
    try:
        return fhir_datetime(time_text, zone)
    except BadValue as exc:
        raise MappingProblem("102", str(exc), where) from exc


def _moment(text: str | None) -> datetime | None:
    """A FHIR dateTime as an instant to compare (a date alone counts from its midnight UTC; a
    year or year-month is too coarse to order moves by)."""
    if not text or len(text) < 10:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _start(entry: dict[str, Any]) -> datetime | None:
    return _moment(entry.get("period", {}).get("start"))


def active_places(encounter: dict[str, Any]) -> list[str]:
    """The Location references of the Encounter's current places (the ward and the bed)."""
    return [
        e["location"]["reference"] for e in encounter.get("location", ()) if e["status"] == "active"
    ]


def is_older(when: str | None, encounter: dict[str, Any]) -> bool:
    """True when an event at `when` happened before the latest move already on the Encounter.
    Moves are ordered by when they happened (HL7 v2.5.1 3.4.1.6 EVN-6 Event Occurred, else
    3.4.1.2 EVN-2 Recorded Date/Time, else MSH-7), not by when they arrived: an interface
    engine can deliver an older event after a newer one. Unknown times order by arrival."""
    moment = _moment(when)
    starts = [s for e in encounter.get("location", ()) if (s := _start(e)) is not None]
    return moment is not None and bool(starts) and moment < max(starts)


def is_before(when: str | None, other: str | None) -> bool:
    """True when an event at `when` happened before `other`; unknown times order by arrival."""
    moment, then = _moment(when), _moment(other)
    return moment is not None and then is not None and moment < then


def as_history(
    encounter: dict[str, Any],
    *,
    when: str | None,
    bed_refs: list[tuple[str, str]],
    until: str | None = None,
) -> dict[str, Any]:
    """An older move than the latest: its places become `completed` entries in their place in
    the location history (from `when` to the next move, or `until`), and the current places
    stay as they are. The stay before it now ends at `when`. Applied twice, it changes nothing."""
    history = copy.deepcopy(encounter)
    entries: list[dict[str, Any]] = history.get("location", [])
    moment = _moment(when)
    if moment is None or not bed_refs:
        return history
    known = {(e["location"]["reference"], e.get("period", {}).get("start")) for e in entries}
    if all((ref, when) in known for ref, _ in bed_refs):
        return history
    later = sorted(
        (start, e["period"]["start"]) for e in entries if (start := _start(e)) and start > moment
    )
    end = until or (later[0][1] if later else None)
    for entry in entries:
        start = _start(entry)
        ended = _moment(entry.get("period", {}).get("end"))
        if (
            entry["status"] == "completed"
            and start is not None
            and start < moment
            and (ended is None or ended > moment)
        ):
            entry["period"]["end"] = when
    added = []
    for entry in _active_entries(bed_refs, when):
        entry["status"] = "completed"
        if end:
            entry["period"]["end"] = end
        added.append(entry)
    at = next((i for i, e in enumerate(entries) if (s := _start(e)) and s > moment), len(entries))
    history["location"] = entries[:at] + added + entries[at:]
    return history


def _active_entries(refs: list[tuple[str, str]], start: str | None) -> list[dict[str, Any]]:
    entries = []
    for location_ref, kind in refs:
        entry: dict[str, Any] = {
            "location": {"reference": location_ref},
            "status": "active",
            "physicalType": {"coding": [{"system": LOCATION_TYPE, "code": kind}]},
        }
        if start:
            entry["period"] = {"start": start}
        entries.append(entry)
    return entries


def _complete_active(encounter: dict[str, Any], end: str | None) -> None:
    for entry in encounter.get("location", ()):
        if entry.get("status") == "active":
            entry["status"] = "completed"
            if end:
                entry.setdefault("period", {})["end"] = end


def admitted(
    existing: dict[str, Any] | None,
    *,
    pv1: Segment,
    patient_ref: str,
    status: str,
    start: str | None,
    bed_refs: list[tuple[str, str]],
) -> dict[str, Any]:
    """A01/A04 (and A08 with a PV1): the Encounter as the PAS now describes it."""
    encounter: dict[str, Any] = (
        copy.deepcopy(existing) if existing else {"resourceType": "Encounter"}
    )
    encounter["status"] = status
    klass = _CLASS.get(pv1.get(2).upper(), "IMP")
    encounter["class"] = {"system": ACT_CODE, "code": klass, "display": _CLASS_NAME[klass]}
    encounter["subject"] = {"reference": patient_ref}
    if visit := pv1.get(19).strip():
        encounter["identifier"] = [{"system": VISIT_NUMBER, "value": visit}]
    if start:
        encounter.setdefault("period", {})["start"] = start
    attending = " ".join(x for x in (pv1.get(7, 6), pv1.get(7, 3), pv1.get(7, 2)) if x)
    if attending:
        encounter["participant"] = [
            {
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "ATND",
                            }
                        ]
                    }
                ],
                "individual": {"display": attending},
            }
        ]
    current = [
        e["location"]["reference"] for e in encounter.get("location", ()) if e["status"] == "active"
    ]
    if bed_refs and current != [ref for ref, _ in bed_refs]:
        _complete_active(encounter, start)
        encounter["location"] = encounter.get("location", []) + _active_entries(bed_refs, start)
    return encounter


def moved(
    encounter: dict[str, Any], *, when: str | None, bed_refs: list[tuple[str, str]]
) -> dict[str, Any]:
    """A02 (and A12, back to where PV1-3 says), in the order the moves happened: a move older
    than the latest one is history only; a move to where the patient already is changes
    nothing (an engine's resend under a new MSH-10)."""
    if encounter.get("status") not in ("finished", "cancelled"):
        if not bed_refs or active_places(encounter) == [ref for ref, _ in bed_refs]:
            return copy.deepcopy(encounter)
        if is_older(when, encounter):
            return as_history(encounter, when=when, bed_refs=bed_refs)
    return transferred(encounter, when=when, bed_refs=bed_refs)


def transferred(
    encounter: dict[str, Any], *, when: str | None, bed_refs: list[tuple[str, str]]
) -> dict[str, Any]:
    """A02 (and A12, back to where PV1-3 says): the old places completed, the new ones active."""
    moved = copy.deepcopy(encounter)
    if moved.get("status") in ("finished", "cancelled"):
        # A transfer that arrives after the discharge (out of order): the history records
        # where the patient was, but a finished stay occupies no bed.
        moved["location"] = moved.get("location", []) + [
            {**e, "status": "completed", "period": {"start": when, "end": when}}
            if when
            else {**e, "status": "completed"}
            for e in _active_entries(bed_refs, when)
        ]
        return moved
    _complete_active(moved, when)
    moved["location"] = moved.get("location", []) + _active_entries(bed_refs, when)
    return moved


def discharged(encounter: dict[str, Any], *, when: str | None) -> dict[str, Any]:
    """A03: the stay is finished and its bed released."""
    done = copy.deepcopy(encounter)
    done["status"] = "finished"
    if when:
        done.setdefault("period", {})["end"] = when
    _complete_active(done, when)
    return done


def admission_cancelled(encounter: dict[str, Any], *, when: str | None) -> dict[str, Any]:
    """A11: the admission did not happen; the Encounter stays, marked cancelled."""
    cancelled = copy.deepcopy(encounter)
    cancelled["status"] = "cancelled"
    _complete_active(cancelled, when)
    return cancelled


def discharge_cancelled(
    encounter: dict[str, Any], *, when: str | None, bed_refs: list[tuple[str, str]]
) -> dict[str, Any]:
    """A13: back in progress, in the place PV1-3 names."""
    resumed = copy.deepcopy(encounter)
    resumed["status"] = "in-progress"
    resumed.get("period", {}).pop("end", None)
    resumed["location"] = resumed.get("location", []) + _active_entries(bed_refs, when)
    return resumed


def _coded(segment: Segment, field: int) -> dict[str, Any]:
    code, display, system = (segment.get(field, c).strip() for c in (1, 2, 3))
    concept: dict[str, Any] = {}
    if code and system.upper() in _CODE_SYSTEMS:
        coding = {"system": _CODE_SYSTEMS[system.upper()], "code": code}
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    concept["text"] = display or code
    return concept


def allergy(al1: Segment, *, patient_ref: str, patient_id: str) -> dict[str, Any]:
    """AL1 -> AllergyIntolerance; the same allergen for the same patient is one resource."""
    allergen = al1.get(3, 1) or al1.get(3, 2)
    if not allergen:
        raise MappingProblem("101", "AL1-3 (allergen) is empty", f"AL1^{al1.get(1) or 1}^3")
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": stable_id("allergy", patient_id, allergen.upper()),
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "code": "confirmed",
                }
            ]
        },
        "code": _coded(al1, 3),
        "patient": {"reference": patient_ref},
    }
    if category := _ALLERGY_CATEGORY.get(al1.get(2).upper()):
        resource["category"] = [category]
    if criticality := _CRITICALITY.get(al1.get(4).upper()):
        resource["criticality"] = criticality
    reactions = [{"text": r} for r in (al1.get(5, 1, repetition=i) for i in range(3)) if r]
    if reactions:
        resource["reaction"] = [{"manifestation": reactions}]
    try:
        if identified := fhir_date(al1.get(6)):
            resource["recordedDate"] = identified
    except BadValue as exc:
        raise MappingProblem("102", str(exc), f"AL1^{al1.get(1) or 1}^6") from exc
    return resource


def condition(
    dg1: Segment, *, patient_ref: str, patient_id: str, encounter_ref: str | None
) -> dict[str, Any]:
    """DG1 -> Condition (an encounter diagnosis)."""
    code = dg1.get(3, 1)
    if not code and not dg1.get(3, 2):
        raise MappingProblem("101", "DG1-3 (diagnosis code) is empty", f"DG1^{dg1.get(1)}^3")
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": stable_id("condition", patient_id, encounter_ref or "", code or dg1.get(3, 2)),
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed" if dg1.get(6).upper() == "F" else "provisional",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": _coded(dg1, 3),
        "subject": {"reference": patient_ref},
    }
    if encounter_ref:
        resource["encounter"] = {"reference": encounter_ref}
    try:
        if recorded := fhir_date(dg1.get(5)):
            resource["recordedDate"] = recorded
    except BadValue as exc:
        raise MappingProblem("102", str(exc), f"DG1^{dg1.get(1)}^5") from exc
    return resource
