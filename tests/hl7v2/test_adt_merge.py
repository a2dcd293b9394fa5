"""ADT^A40 merge (issue 5, defect 2 of the review). HL7 v2.5.1 3.3.40: PID names the surviving
patient, MRG-1 the non-surviving one. The retired record stays, `replaced-by` the survivor
(FHIR R4 Patient.link); what a nurse must see about the person (allergies, diagnoses, the bed
they are in) is on the survivor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.hl7v2.adt_messages import adt, send
from tests.hl7v2.inbound_support import current, sample
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

TEMPORARY = "RR100077^^^LTH^MR"  # a record made in A&E before the patient was identified
SECOND = "RR100088^^^LTH^MR"
SURVIVOR = "9434765919^^^NHS^NH~RR100001^^^LTH^MR"
PENICILLIN = "AL1|1|DA|PENICILLIN^Penicillin|SV|Rash"
PNEUMONIA = "DG1|1||J18.9^Pneumonia, unspecified^I10||20261122|A"


def _patients(context: AppContext) -> dict[str, dict[str, Any]]:
    """Patients by their hospital number (the first MRN on record)."""
    found = {}
    for patient in current(context, "Patient"):
        mrns = [i["value"] for i in patient["identifier"] if "mrn" in i["system"]]
        found[mrns[0]] = patient
    return found


def _admit(handler: InboundHandler, pid3: str, control_id: str, visit: str, bed: str) -> None:
    message = adt(
        "A01",
        control_id,
        recorded="20261122083000",
        pid3=pid3,
        visit=visit,
        bed=bed,
        extra=(PENICILLIN, PNEUMONIA) if pid3 == TEMPORARY else (),
    )
    assert send(handler, message) == "AA"


def _merge(handler: InboundHandler, control_id: str, pid3: str, mrg: str) -> None:
    message = adt("A40", control_id, recorded="20261123115900", pid3=pid3, mrg=mrg)
    assert send(handler, message) == "AA"


def _in_beds(context: AppContext) -> list[str]:
    """The subject of every Encounter that holds a bed now."""
    return [
        e["subject"]["reference"]
        for e in current(context, "Encounter")
        if any(x["status"] == "active" for x in e.get("location", ()))
    ]


def test_the_survivor_shows_the_retired_records_allergies_and_diagnoses(
    context: AppContext, client: TestClient
) -> None:
    handler = InboundHandler(context)
    _admit(handler, TEMPORARY, "T1", "V0009999", "WARD9^BAY1^BED2^LGI")
    _merge(handler, "M1", SURVIVOR, TEMPORARY)
    survivor = _patients(context)["RR100001"]
    allergies = client.get(
        "/fhir/AllergyIntolerance", params={"patient": f"Patient/{survivor['id']}"}
    ).json()
    assert [e["resource"]["code"]["text"] for e in allergies.get("entry", [])] == ["Penicillin"]
    conditions = client.get("/fhir/Condition", params={"subject": f"Patient/{survivor['id']}"})
    assert [e["resource"]["code"]["coding"][0]["code"] for e in conditions.json()["entry"]] == [
        "J18.9"
    ]


def test_the_retired_records_stay_moves_to_a_survivor_not_in_a_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    _admit(handler, TEMPORARY, "T1", "V0009999", "WARD9^BAY1^BED2^LGI")
    _merge(handler, "M1", SURVIVOR, TEMPORARY)
    patients = _patients(context)
    # The patient is still in WARD9's bed, now as the survivor.
    assert _in_beds(context) == [f"Patient/{patients['RR100001']['id']}"]


def test_a_merge_never_leaves_one_person_in_two_beds(context: AppContext) -> None:
    handler = InboundHandler(context)
    _admit(handler, TEMPORARY, "T1", "V0009999", "WARD9^BAY1^BED2^LGI")
    _admit(handler, SURVIVOR, "S1", "V0001234", "WARD7^BAY2^BED5^LGI")
    _merge(handler, "M1", SURVIVOR, TEMPORARY)
    patients = _patients(context)
    assert _in_beds(context) == [f"Patient/{patients['RR100001']['id']}"]
    retired_stays = [
        e
        for e in current(context, "Encounter")
        if e["subject"]["reference"] == f"Patient/{patients['RR100077']['id']}"
    ]
    assert [e["status"] for e in retired_stays] == ["finished"]


def test_a_merge_into_a_merged_patient_follows_the_replaced_by_chain(context: AppContext) -> None:
    handler = InboundHandler(context)
    _admit(handler, TEMPORARY, "T1", "V0009999", "WARD9^BAY1^BED2^LGI")
    assert send(handler, adt("A28", "R2", recorded="20261122090000", pid3=SECOND)) == "AA"
    # RR100088 is merged into the survivor; later the PAS merges the A&E record into
    # RR100088 (which no longer survives): its data belong to the end of the chain.
    _merge(handler, "M1", SURVIVOR, SECOND)
    _merge(handler, "M2", SECOND, TEMPORARY)
    patients = _patients(context)
    survivor = f"Patient/{patients['RR100001']['id']}"
    assert patients["RR100077"]["link"] == [
        {"other": {"reference": survivor}, "type": "replaced-by"}
    ]
    assert patients["RR100088"]["active"] is False
    assert patients["RR100001"].get("active") is True
    assert [a["patient"]["reference"] for a in current(context, "AllergyIntolerance")] == [survivor]
    assert _in_beds(context) == [survivor]
    # A later message naming a retired hospital number is applied to the survivor.
    late = adt("A08", "U1", recorded="20261123130000", pid3=TEMPORARY, visit="V0009999")
    assert send(handler, late) == "AA"
    assert _in_beds(context) == [survivor]
    assert len(current(context, "Patient")) == 3


def test_vital_signs_for_a_retired_record_are_filed_on_the_survivor(context: AppContext) -> None:
    handler = InboundHandler(context)
    _admit(handler, TEMPORARY, "T1", "V0009999", "WARD9^BAY1^BED2^LGI")
    _merge(handler, "M1", SURVIVOR, TEMPORARY)
    readings = original_mode(sample("oru_r01_vitals.hl7")).replace(
        b"9434765919^^^NHS^NH~RR100001^^^LTH^MR", TEMPORARY.encode()
    )
    assert send(handler, readings) == "AA"
    survivor = f"Patient/{_patients(context)['RR100001']['id']}"
    assert {o["subject"]["reference"] for o in current(context, "Observation")} == {survivor}
