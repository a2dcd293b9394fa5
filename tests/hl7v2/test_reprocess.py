"""`POST /hl7/messages/{id}/$reprocess` (issue 5, defect 3 of the review): a message already
applied (AA) is a 409 and nothing changes; an AE'd one is applied after the fix, under the
patient's ordering (its lock, and the event-time rules of tests/hl7v2/test_adt_out_of_order.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.hl7v2.adt_messages import adt, send
from tests.hl7v2.inbound_support import ack_fields, current
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext


def _logged(client: TestClient, control_id: str) -> dict[str, object]:
    [found] = client.get("/hl7/messages", params={"control-id": control_id}).json()["messages"]
    return dict(found)


def test_reprocessing_an_accepted_message_is_409_and_changes_nothing(
    context: AppContext, client: TestClient
) -> None:
    handler = InboundHandler(context)
    assert send(handler, adt("A01", "M1", recorded="20261122083000")) == "AA"
    assert send(handler, adt("A02", "M2", recorded="20261122145500", bed="WARD9^BAY1^BED2")) == "AA"
    before = _logged(client, "M1")
    encounters = current(context, "Encounter")
    answer = client.post(f"/hl7/messages/{before['id']}/$reprocess")
    assert answer.status_code == 409
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "conflict"
    assert _logged(client, "M1") == before  # same status, ACK, attempts, processed time
    assert current(context, "Encounter") == encounters


def test_an_ae_message_reprocessed_after_the_fix_is_applied_in_the_patients_order(
    context: AppContext, client: TestClient
) -> None:
    handler = InboundHandler(context)
    # A cancel of the discharge of a visit WardCare has not seen yet: AE 204.
    [ack] = handler.handle(adt("A13", "M0", recorded="20261125113000"))
    assert ack_fields(ack)["MSA"][1] == "AE"
    # The admission and discharge arrive, then a readmission on the 26th.
    send(handler, adt("A01", "M1", recorded="20261122083000"))
    send(handler, adt("A03", "M2", recorded="20261125110000", discharged="20261125105000"))
    readmit = adt(
        "A01",
        "M3",
        recorded="20261126090000",
        visit="V0002000",
        admitted="20261126085500",
        bed="WARD9^BAY1^BED2^LGI",
    )
    send(handler, readmit)
    failed = _logged(client, "M0")
    done = client.post(f"/hl7/messages/{failed['id']}/$reprocess")
    assert done.status_code == 200
    assert done.json()["status"] == "accepted"
    # Applied as what it is, a cancel older than the readmission: the first stay is not
    # reopened, so the patient holds one bed.
    stays = {e["identifier"][0]["value"]: e["status"] for e in current(context, "Encounter")}
    assert stays == {"V0001234": "finished", "V0002000": "in-progress"}
    # ...and a second reprocess is now a 409.
    assert client.post(f"/hl7/messages/{failed['id']}/$reprocess").status_code == 409
