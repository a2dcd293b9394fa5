"""ADT events that arrive late (issue 5, defect 1 of the review): the PAS's interface engine can
deliver an older event after a newer one. HL7 v2.5.1 3.4.1 (EVN): EVN-6 is when the event
occurred, EVN-2 when it was recorded; WardCare orders a patient's moves by EVN-6, else EVN-2,
else MSH-7. An older move never takes the patient out of a newer bed: it is kept as location
history on the Encounter."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from tests.hl7v2.adt_messages import JONES, adt, send
from tests.hl7v2.inbound_support import current
from wardcare.domain.clock import FixedClock
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

WARD9 = "WARD9^BAY1^BED2^LGI"
WARD10 = "WARD10^BAY1^BED1^LGI"


def _codes(context: AppContext) -> dict[str, str]:
    return {
        f"Location/{x['id']}": x["identifier"][0]["value"] for x in current(context, "Location")
    }


def _history(
    context: AppContext, encounter: dict[str, Any]
) -> list[tuple[str, str, dict[str, str]]]:
    codes = _codes(context)
    return [
        (codes[e["location"]["reference"]], e["status"], e.get("period", {}))
        for e in encounter["location"]
    ]


def _active(context: AppContext, encounter: dict[str, Any]) -> list[str]:
    return [code for code, status, _ in _history(context, encounter) if status == "active"]


def _only_encounter(context: AppContext) -> dict[str, Any]:
    [encounter] = current(context, "Encounter")
    return encounter


def test_a_late_transfer_is_history_and_does_not_move_the_patient_back(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    assert send(handler, adt("A01", "M1", recorded="20261122083000")) == "AA"
    assert send(handler, adt("A02", "M3", recorded="20261122160000", bed=WARD10)) == "AA"
    # The transfer to WARD9 at 14:55 arrives after the 16:00 transfer to WARD10.
    late = adt("A02", "M2", recorded="20261122150500", occurred="20261122145500", bed=WARD9)
    assert send(handler, late) == "AA"
    encounter = _only_encounter(context)
    assert _active(context, encounter) == ["WARD10", "WARD10/BAY1/BED1"]
    history = _history(context, encounter)
    assert ("WARD9/BAY1/BED2", "completed") in [(c, s) for c, s, _ in history]
    [ward9_bed] = [p for c, _, p in history if c == "WARD9/BAY1/BED2"]
    assert ward9_bed["start"].startswith("2026-11-22T14:55")
    assert ward9_bed["end"].startswith("2026-11-22T16:00")
    # The stay in WARD7 ended when the patient left for WARD9, not at 16:00.
    [ward7_bed] = [p for c, _, p in history if c == "WARD7/BAY2/BED5"]
    assert ward7_bed["end"].startswith("2026-11-22T14:55")


def test_the_event_occurred_time_orders_moves_before_the_recorded_time(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M3", recorded="20261122160000", bed=WARD10))
    # Recorded at 16:30 (after the WARD10 transfer) but EVN-6 says it happened at 14:55.
    late = adt("A02", "M2", recorded="20261122163000", occurred="20261122145500", bed=WARD9)
    assert send(handler, late) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD10", "WARD10/BAY1/BED1"]


def test_an_update_with_a_stale_pv1_3_does_not_move_the_patient(context: AppContext) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9))
    # An A08 recorded before the transfer, still naming WARD7, arrives after it.
    assert send(handler, adt("A08", "M3", recorded="20261122120000")) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD9", "WARD9/BAY1/BED2"]
    # ...and neither does a newer one (moves are A02, HL7 v2.5.1 3.3.8).
    assert send(handler, adt("A08", "M4", recorded="20261122170000")) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD9", "WARD9/BAY1/BED2"]


def test_a_late_admission_does_not_move_the_patient_back(context: AppContext) -> None:
    handler = InboundHandler(context)
    assert send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9)) == "AA"
    assert send(handler, adt("A01", "M1", recorded="20261122083000")) == "AA"
    encounter = _only_encounter(context)
    assert _active(context, encounter) == ["WARD9", "WARD9/BAY1/BED2"]
    assert ("WARD7/BAY2/BED5", "completed") in [(c, s) for c, s, _ in _history(context, encounter)]


def test_a_resent_transfer_to_the_same_bed_adds_no_history(context: AppContext) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9))
    before = _history(context, _only_encounter(context))
    # The same transfer under a new MSH-10 (an engine's resend): nothing changes.
    assert send(handler, adt("A02", "M2-again", recorded="20261122145500", bed=WARD9)) == "AA"
    assert _history(context, _only_encounter(context)) == before


def test_cancelling_a_transfer_that_is_not_the_latest_does_not_move_the_patient(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9))
    send(handler, adt("A02", "M3", recorded="20261122160000", bed=WARD10))
    # HL7 v2.5.1 3.3.12: A12's PV1-3 is where the patient was before the cancelled transfer
    # and PV1-6 where that transfer took them. WARD9 is not where the patient is now.
    cancel = adt(
        "A12",
        "M4",
        recorded="20261122163000",
        prior_bed=WARD9,
        bed="WARD7^BAY2^BED5^LGI",
    )
    assert send(handler, cancel) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD10", "WARD10/BAY1/BED1"]


def test_a_late_cancel_of_a_transfer_does_not_move_the_patient(context: AppContext) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9))
    send(handler, adt("A02", "M3", recorded="20261122160000", bed=WARD10))
    # No PV1-6; its event time (15:00) is older than the transfer to WARD10.
    cancel = adt("A12", "M4", recorded="20261122150000")
    assert send(handler, cancel) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD10", "WARD10/BAY1/BED1"]


def test_the_latest_transfer_cancelled_returns_the_patient(context: AppContext) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9))
    cancel = adt("A12", "M3", recorded="20261122150000", prior_bed=WARD9)
    assert send(handler, cancel) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD7", "WARD7/BAY2/BED5"]


def test_a_discharge_cancel_after_a_newer_admission_does_not_take_a_second_bed(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    discharge = adt("A03", "M2", recorded="20261125110000", discharged="20261125105000")
    assert send(handler, discharge) == "AA"
    readmit = adt(
        "A01",
        "M3",
        recorded="20261126090000",
        visit="V0002000",
        admitted="20261126085500",
        bed=WARD9,
    )
    assert send(handler, readmit) == "AA"
    # The cancel of the first discharge (11:30 on the 25th) arrives after the readmission.
    assert send(handler, adt("A13", "M4", recorded="20261125113000")) == "AA"
    encounters = {e["identifier"][0]["value"]: e for e in current(context, "Encounter")}
    assert encounters["V0001234"]["status"] == "finished"
    assert _active(context, encounters["V0001234"]) == []
    assert _active(context, encounters["V0002000"]) == ["WARD9", "WARD9/BAY1/BED2"]


def test_a_resent_discharge_cancel_does_not_duplicate_the_bed(context: AppContext) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A03", "M2", recorded="20261125110000", discharged="20261125105000"))
    assert send(handler, adt("A13", "M3", recorded="20261125113000")) == "AA"
    assert send(handler, adt("A13", "M3-again", recorded="20261125113000")) == "AA"
    encounter = _only_encounter(context)
    assert encounter["status"] == "in-progress"
    assert _active(context, encounter) == ["WARD7", "WARD7/BAY2/BED5"]


def test_a_cancel_naming_only_the_ward_of_the_current_bed_returns_the_patient(
    context: AppContext,
) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A02", "M2", recorded="20261122145500", bed=WARD9))
    cancel = adt("A12", "M3", recorded="20261122150000", prior_bed="WARD9")
    assert send(handler, cancel) == "AA"
    assert _active(context, _only_encounter(context)) == ["WARD7", "WARD7/BAY2/BED5"]


def _family(context: AppContext) -> str:
    [patient] = current(context, "Patient")
    return str(patient["name"][0]["family"])


def test_a_late_update_does_not_overwrite_newer_demographics(context: AppContext) -> None:
    # The PAS sends a name change at 16:00; an update it recorded at 15:00 arrives after it.
    handler = InboundHandler(context)
    assert send(handler, adt("A01", "M1", recorded="20261122083000")) == "AA"
    assert send(handler, adt("A08", "M3", recorded="20261122160000", name="Smith^Margaret")) == (
        "AA"
    )
    assert _family(context) == "Smith"
    late = adt("A08", "M2", recorded="20261122150000", name="Jones^Margaret")
    assert send(handler, late) == "AA"  # accepted and logged, but older than what is on record
    assert _family(context) == "Smith"
    later = adt("A31", "M4", recorded="20261122170000", name="Brown^Margaret")
    assert send(handler, later) == "AA"
    assert _family(context) == "Brown"
    stale = adt("A31", "M5", recorded="20261122163000", name="Jones^Margaret")
    assert send(handler, stale) == "AA"
    assert _family(context) == "Brown"


def test_a_late_update_still_adds_an_identifier_it_brings(context: AppContext) -> None:
    handler = InboundHandler(context)
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A08", "M3", recorded="20261122160000", name="Smith^Margaret"))
    late = adt(
        "A08",
        "M2",
        recorded="20261122150000",
        name="Jones^Margaret",
        pid3=f"{JONES}~X777777^^^LTH^MR",
    )
    assert send(handler, late) == "AA"
    [patient] = current(context, "Patient")
    assert "X777777" in [i["value"] for i in patient["identifier"]]
    assert patient["name"][0]["family"] == "Smith"


def test_one_message_from_a_clock_far_ahead_does_not_freeze_the_demographics(
    context: AppContext,
) -> None:
    noon = dataclasses.replace(context, clock=FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)))
    handler = InboundHandler(noon)
    ahead = adt("A08", "F1", recorded="20991122120000", name="Wrong^Margaret")
    assert send(handler, adt("A01", "F0", recorded="20261122083000")) == "AA"
    assert send(handler, ahead) == "AA"
    assert _family(noon) == "Wrong"
    # The next real update (12:05, within the 15 minutes allowed for clocks) applies.
    assert send(handler, adt("A08", "F2", recorded="20261122120500", name="Right^Margaret")) == "AA"
    assert _family(noon) == "Right"
