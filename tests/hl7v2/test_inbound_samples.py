"""Every shared sample through the inbound path: what it stores is valid FHIR that meets
WardCare's profiles; every bad sample gets the right AE/AR with ERR and changes nothing."""

from __future__ import annotations

import pytest

from tests.hl7v2.inbound_support import ack_fields, current, sample
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

ORIGINAL = b"|AL|NE"  # the samples ask for enhanced mode; strip it to get application ACKs


def original_mode(raw: bytes) -> bytes:
    first, rest = raw.split(b"\r", 1)
    return (
        first.replace(b"|||AL|NE||8859/1", b"||||||8859/1").replace(b"|||AL|NE", b"") + b"\r" + rest
    )


def _all_valid(context: AppContext) -> None:
    for resource_type in (
        "Patient",
        "Encounter",
        "Location",
        "Observation",
        "Provenance",
        "AllergyIntolerance",
        "Condition",
        "Task",
    ):
        for resource in current(context, resource_type):
            context.validator.validate(resource, expected_type=resource_type)


def test_admission_stores_patient_encounter_bed_allergy_and_diagnosis(context: AppContext) -> None:
    handler = InboundHandler(context)
    [ack] = handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    fields = ack_fields(ack)
    assert fields["MSA"][1:3] == ["AA", "PAS000101"]
    [patient] = current(context, "Patient")
    assert {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"} in patient[
        "identifier"
    ]
    assert patient["name"][0]["family"] == "Jones"
    assert patient["birthDate"] == "1941-03-12"
    [encounter] = current(context, "Encounter")
    assert encounter["status"] == "in-progress"
    assert encounter["subject"]["reference"] == f"Patient/{patient['id']}"
    codes = {loc["identifier"][0]["value"]: loc["id"] for loc in current(context, "Location")}
    assert set(codes) == {"WARD7", "WARD7/BAY2", "WARD7/BAY2/BED5"}
    active = [e["location"]["reference"] for e in encounter["location"] if e["status"] == "active"]
    assert active == [f"Location/{codes['WARD7']}", f"Location/{codes['WARD7/BAY2/BED5']}"]
    [allergy] = current(context, "AllergyIntolerance")
    assert allergy["code"]["text"] == "Penicillin"
    assert allergy["criticality"] == "high"
    [condition] = current(context, "Condition")
    assert condition["code"]["coding"][0]["code"] == "J18.9"
    _all_valid(context)


def test_transfer_keeps_location_history_and_discharge_frees_the_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    for name in ("adt_a01_admit.hl7", "adt_a02_transfer.hl7"):
        assert ack_fields(handler.handle(original_mode(sample(name)))[0])["MSA"][1] == "AA"
    [encounter] = current(context, "Encounter")
    codes = {loc["id"]: loc["identifier"][0]["value"] for loc in current(context, "Location")}
    history = [(codes[e["location"]["reference"][9:]], e["status"]) for e in encounter["location"]]
    assert history == [
        ("WARD7", "completed"),
        ("WARD7/BAY2/BED5", "completed"),
        ("WARD9", "active"),
        ("WARD9/BAY1/BED2", "active"),
    ]
    assert (
        ack_fields(handler.handle(original_mode(sample("adt_a03_discharge.hl7")))[0])["MSA"][1]
        == "AA"
    )
    [encounter] = current(context, "Encounter")
    assert encounter["status"] == "finished"
    assert all(e["status"] == "completed" for e in encounter["location"])
    _all_valid(context)


def test_vital_signs_are_stored_and_news2_scored(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    [ack] = handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    assert ack_fields(ack)["MSA"][1:3] == ["AA", "EOBS0000001"]
    observations = current(context, "Observation")
    news2 = [o for o in observations if o["code"]["coding"][0]["code"] == "1104051000000101"]
    assert len(news2) == 1
    # RR 22 (2), SpO2 94 (1), air (0), SBP 104 (1), pulse 112 (2), alert (0), 38.4 C (1) = 7
    assert news2[0]["valueInteger"] == 7
    panel = [o for o in observations if o["code"]["coding"][0]["code"] == "85354-9"]
    assert [c["valueQuantity"]["value"] for c in panel[0]["component"]] == [104, 66]
    _all_valid(context)


def test_a_corrected_result_is_a_new_version(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    corrected = (
        original_mode(sample("oru_r01_vitals.hl7"))
        .replace(b"EOBS0000001", b"EOBS0000002")
        .replace(
            b"|8867-4^Heart rate^LN||112|/min^beats per minute^UCUM|||||F",
            b"|8867-4^Heart rate^LN||92|/min^beats per minute^UCUM|||||C",
        )
    )
    [ack] = handler.handle(corrected)
    assert ack_fields(ack)["MSA"][1] == "AA"
    pulses = [
        o for o in current(context, "Observation") if o["code"]["coding"][0]["code"] == "8867-4"
    ]
    assert len(pulses) == 1
    assert pulses[0]["status"] == "corrected"
    assert pulses[0]["valueQuantity"]["value"] == 92
    assert pulses[0]["meta"]["versionId"] == "2"
    # One current NEWS2 for the set, not one per reading nor one per version: the score made
    # from the original (7) is amended to the corrected set's 6 (hazard EIE2), 7 in its history.
    news2 = [
        o
        for o in current(context, "Observation")
        if o["code"]["coding"][0]["code"] == "1104051000000101"
    ]
    assert [(o["valueInteger"], o["status"], o["meta"]["versionId"]) for o in news2] == [
        (6, "amended", "2")
    ]


def test_a_resent_message_is_not_applied_again_and_gets_the_original_ack(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    first = handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    count = len(current(context, "Observation"))
    again = handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    assert again == first
    assert len(current(context, "Observation")) == count


@pytest.mark.parametrize(
    ("name", "code", "errors"),
    [
        ("bad/adt_a01_missing_pid.hl7", "AE", [("100", "PID")]),
        ("bad/garbage_header.hl7", "AR", [("100", "MSH")]),
        ("bad/oru_r01_non_numeric_invalid_nhs.hl7", "AE", [("102", "PID^1^3"), ("102", "OBX^1^5")]),
        ("bad/unsupported_qry_a19.hl7", "AR", [("200", "MSH^1^9")]),
    ],
)
def test_bad_samples_get_the_right_ack_and_change_nothing(
    context: AppContext, name: str, code: str, errors: list[tuple[str, str]]
) -> None:
    [ack] = InboundHandler(context).handle(sample(name))
    segments = [s.split("|") for s in ack.decode().split("\r") if s]
    assert segments[1][1] == code
    found = [(s[3].split("^")[0], s[2]) for s in segments if s[0] == "ERR"]
    assert found == errors
    for resource_type in ("Patient", "Observation", "Encounter"):
        assert current(context, resource_type) == []


def test_enhanced_mode_sends_a_commit_ack(context: AppContext) -> None:
    acks = InboundHandler(context).handle(sample("adt_a01_admit.hl7"))  # MSH-15 AL, MSH-16 NE
    assert [ack_fields(a)["MSA"][1] for a in acks] == ["CA"]


def test_unknown_patient_on_an_oru_is_ae_204(context: AppContext) -> None:
    [ack] = InboundHandler(context).handle(original_mode(sample("oru_r01_vitals.hl7")))
    fields = ack_fields(ack)
    assert fields["MSA"][1] == "AE"
    assert fields["ERR"][3].startswith("204^")
    assert fields["ERR"][2] == "PID^1^3"
