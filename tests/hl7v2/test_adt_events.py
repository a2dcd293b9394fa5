"""ADT events beyond the samples: cancels (A11, A12, A13), out-of-order transfer after the
discharge, merge (A40), person registration (A28) and matching by MRN."""

from __future__ import annotations

from typing import Any

from tests.hl7v2.inbound_support import ack_fields, current, sample
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext


def _event(name: str, event: str, control_id: str) -> bytes:
    raw = original_mode(sample(name))
    old = raw.split(b"\r", 1)[0].split(b"|")[8].split(b"^")[1]
    return (
        raw.replace(b"ADT^" + old, b"ADT^" + event.encode(), 1)
        .replace(b"EVN|" + old, b"EVN|" + event.encode(), 1)
        .replace(raw.split(b"\r", 1)[0].split(b"|")[9], control_id.encode(), 1)
    )


def _send(handler: InboundHandler, raw: bytes) -> str:
    [ack] = handler.handle(raw)
    return ack_fields(ack)["MSA"][1]


def _beds(context: AppContext) -> list[tuple[str, str]]:
    codes = {loc["id"]: loc["identifier"][0]["value"] for loc in current(context, "Location")}
    [encounter] = current(context, "Encounter")
    return [(codes[e["location"]["reference"][9:]], e["status"]) for e in encounter["location"]]


def _encounter(context: AppContext) -> dict[str, Any]:
    [encounter] = current(context, "Encounter")
    return encounter


def test_cancel_admit_cancels_the_encounter_and_frees_the_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    assert _send(handler, original_mode(sample("adt_a01_admit.hl7"))) == "AA"
    assert _send(handler, _event("adt_a01_admit.hl7", "A11", "C11")) == "AA"
    assert _encounter(context)["status"] == "cancelled"
    assert {status for _, status in _beds(context)} == {"completed"}


def test_cancel_transfer_returns_the_patient_to_the_first_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    _send(handler, original_mode(sample("adt_a01_admit.hl7")))
    _send(handler, original_mode(sample("adt_a02_transfer.hl7")))
    # A12's PV1-3 is where the patient goes back to (HL7 v2.5.1 3.3.12); it is recorded after
    # the transfer it cancels (an older one would be a late event: tests/hl7v2/
    # test_adt_out_of_order.py).
    cancel = _event("adt_a01_admit.hl7", "A12", "C12").replace(
        b"EVN|A12|20261122082900", b"EVN|A12|20261122153000"
    )
    assert _send(handler, cancel) == "AA"
    active = [code for code, status in _beds(context) if status == "active"]
    assert active == ["WARD7", "WARD7/BAY2/BED5"]
    assert len(_beds(context)) == 6  # the cancelled transfer stays in the history


def test_cancel_discharge_puts_the_stay_back_in_progress(context: AppContext) -> None:
    handler = InboundHandler(context)
    _send(handler, original_mode(sample("adt_a01_admit.hl7")))
    _send(handler, original_mode(sample("adt_a03_discharge.hl7")))
    assert _encounter(context)["status"] == "finished"
    assert _send(handler, _event("adt_a03_discharge.hl7", "A13", "C13")) == "AA"
    encounter = _encounter(context)
    assert encounter["status"] == "in-progress"
    assert "end" not in encounter["period"]


def test_a_cancel_for_an_unknown_visit_is_ae(context: AppContext) -> None:
    [ack] = InboundHandler(context).handle(_event("adt_a01_admit.hl7", "A11", "C11"))
    fields = ack_fields(ack)
    assert fields["MSA"][1] == "AE"
    assert fields["ERR"][3].startswith("204^")


def test_a_transfer_after_the_discharge_is_history_not_a_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    _send(handler, original_mode(sample("adt_a01_admit.hl7")))
    _send(handler, original_mode(sample("adt_a03_discharge.hl7")))
    assert _send(handler, original_mode(sample("adt_a02_transfer.hl7"))) == "AA"
    assert _encounter(context)["status"] == "finished"
    assert all(status == "completed" for _, status in _beds(context))


def test_a_transfer_before_its_admission_admits_to_the_new_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    assert _send(handler, original_mode(sample("adt_a02_transfer.hl7"))) == "AA"
    assert [c for c, s in _beds(context) if s == "active"] == ["WARD9", "WARD9/BAY1/BED2"]
    assert _send(handler, original_mode(sample("adt_a01_admit.hl7"))) == "AA"
    assert len(current(context, "Encounter")) == 1


def test_merge_links_the_retired_record_to_the_survivor(context: AppContext) -> None:
    handler = InboundHandler(context)
    prior = (
        original_mode(sample("adt_a01_admit.hl7"))
        .replace(b"9434765919^^^NHS^NH~RR100001", b"RR100077")
        .replace(b"PAS000101", b"PRIOR1")
        .replace(b"V0001234", b"V0009999")
    )
    assert _send(handler, prior) == "AA"
    assert _send(handler, original_mode(sample("adt_a01_admit.hl7"))) == "AA"
    assert _send(handler, original_mode(sample("adt_a40_merge.hl7"))) == "AA"
    patients = {p["identifier"][-1]["value"]: p for p in current(context, "Patient")}
    retired, survivor = patients["RR100077"], patients["RR100001"]
    assert retired["active"] is False
    assert retired["link"] == [
        {"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}
    ]
    assert survivor["link"] == [
        {"other": {"reference": f"Patient/{retired['id']}"}, "type": "replaces"}
    ]
    # The retired record's data are still there, reachable through the link.
    assert any(
        e["subject"]["reference"] == f"Patient/{retired['id']}"
        for e in current(context, "Encounter")
    )


def test_a_person_without_nhs_number_is_matched_by_mrn(context: AppContext) -> None:
    handler = InboundHandler(context)
    _send(handler, original_mode(sample("adt_a01_admit.hl7")))
    update = (
        _event("adt_a08_update.hl7", "A31", "P31")
        .replace(b"9434765919^^^NHS^NH~", b"")
        .replace(b"Anne", b"Annie")
    )
    assert _send(handler, update) == "AA"
    [patient] = current(context, "Patient")
    assert patient["name"][0]["given"] == ["Margaret", "Annie"]
    # The NHS number already on record is kept.
    assert "9434765919" in [i["value"] for i in patient["identifier"]]


def _pid_message(control_id: str, recorded: str, pid_fields: dict[int, str]) -> bytes:
    pid = ["PID", "1", "", "9434765919^^^NHS^NH~RR100001^^^LTH^MR", "", "Jones^Margaret"]
    pid += [""] * 30
    for field, value in pid_fields.items():
        pid[field] = value
    segments = [
        f"MSH|^~\\&|PAS|LTH|WARDCARE|LTH|{recorded}||ADT^A08^ADT_A01|{control_id}|P|2.4",
        f"EVN|A08|{recorded}",
        "|".join(pid).rstrip("|"),
    ]
    return ("\r".join(segments) + "\r").encode()


def test_a_pid_field_not_sent_keeps_what_the_record_holds_and_the_null_deletes_it(
    context: AppContext,
) -> None:
    # HL7 v2.5.1 2.5.3: an empty field means "no change"; the value "" means "delete".
    handler = InboundHandler(context)
    full = {
        7: "19410312",
        8: "F",
        11: "12 Park Lane^^Leeds^^LS1 4AP^GBR",
        13: "01132460622",
        14: "01132461111",
    }
    assert _send(handler, _pid_message("P1", "20261122083000", full)) == "AA"
    # A transfer-style PID: identifiers and name only.
    assert _send(handler, _pid_message("P2", "20261122090000", {})) == "AA"
    [patient] = current(context, "Patient")
    assert patient["birthDate"] == "1941-03-12"
    assert patient["gender"] == "female"
    assert patient["address"][0]["line"] == ["12 Park Lane"]
    assert [(t["use"], t["value"]) for t in patient["telecom"]] == [
        ("home", "01132460622"),
        ("work", "01132461111"),
    ]
    # The work number nulled, a new home number given.
    assert _send(handler, _pid_message("P3", "20261122100000", {13: "01132460999", 14: '""'})) == (
        "AA"
    )
    [patient] = current(context, "Patient")
    assert [(t["use"], t["value"]) for t in patient["telecom"]] == [("home", "01132460999")]
    assert _send(handler, _pid_message("P4", "20261122110000", {11: '""'})) == "AA"
    [patient] = current(context, "Patient")
    assert "address" not in patient
    assert patient["birthDate"] == "1941-03-12"


def test_a_pid_field_sent_with_nothing_readable_keeps_what_the_record_holds(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    full = {11: "12 Park Lane^^Leeds^^LS1 4AP^GBR", 13: "01132460622", 8: "F"}
    assert _send(handler, _pid_message("Q1", "20261122083000", full)) == "AA"
    # Separators only; the number in XTN-12 (unformatted) rather than XTN-1; a sex code
    # outside HL7 table 0001: none of them says "delete".
    odd = {11: "^^^^^", 13: "^PRN^PH^^^^^^^^^01132460622", 8: "Q"}
    assert _send(handler, _pid_message("Q2", "20261122090000", odd)) == "AA"
    [patient] = current(context, "Patient")
    assert patient["address"][0]["line"] == ["12 Park Lane"]
    assert [t["value"] for t in patient["telecom"]] == ["01132460622"]
    assert patient["gender"] == "female"
