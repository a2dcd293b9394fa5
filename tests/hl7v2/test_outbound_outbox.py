"""The outbox end to end: recording a NEWS2 (an assessment, or vital signs completing a set) or
storing a PDF document queues its HL7 message in the same transaction; a rolled-back change
queues nothing; a destination gets only the message types it is configured for; the queue is
visible and a dead letter can be retried over HTTP."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from weasyprint import HTML

from tests import factories
from tests.hl7v2.outbound_support import destination, news2_score, outbox_rows, with_destinations
from tests.services.test_assessments import news2_response
from wardcare.api.app import create_app
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.hl7_outbox_store import DEAD_LETTER, Hl7OutboxStore

PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
LOCATION_CODE = "http://wardcare.org/fhir/Id/location-code"


@pytest.fixture
def ctx(context: AppContext) -> AppContext:
    # Port 9 (discard) is never contacted: no sender runs in these tests.
    return with_destinations(
        context,
        destination(9, "ORU^R01", "MDM^T02", name="EPR"),
        destination(9, "MDM^T02", name="DOCSTORE"),
    )


@pytest.fixture
def api(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://testserver") as test_client:
        yield test_client


def created(api: TestClient, resource: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/fhir/{resource['resourceType']}", json=resource)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def admitted(api: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient in bed WARD7/BAY2/BED5."""
    patient = created(api, factories.patient())
    bed = created(
        api,
        {
            "resourceType": "Location",
            "identifier": [{"system": LOCATION_CODE, "value": "WARD7/BAY2/BED5"}],
            "name": "Bed 5",
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "bd"}]},
        },
    )
    encounter = created(
        api,
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
            },
            "identifier": [{"value": "V0001234"}],
            "subject": {"reference": f"Patient/{patient['id']}"},
            "location": [{"location": {"reference": f"Location/{bed['id']}"}, "status": "active"}],
        },
    )
    return patient, encounter


def segments(message: str, name: str) -> list[list[str]]:
    return [s.split("|") for s in message.split("\r") if s.startswith(name + "|")]


def test_a_recorded_news2_queues_an_oru_for_the_configured_destination(
    api: TestClient, ctx: AppContext, admitted: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    patient, encounter = admitted
    response = news2_response(patient["id"])
    response["encounter"] = {"reference": f"Encounter/{encounter['id']}"}
    assert api.post("/fhir/QuestionnaireResponse", json=response).status_code == 201
    (row,) = outbox_rows(ctx)  # EPR takes results; DOCSTORE takes documents only
    assert (row.destination, row.message_type, row.status) == ("EPR", "ORU^R01", "pending")
    assert row.patient == f"Patient/{patient['id']}"
    score_id = row.resource.split("/")[1]
    score = api.get(f"/fhir/Observation/{score_id}").json()
    assert score["valueInteger"] == 7
    nhs = patient["identifier"][0]["value"]
    (pid,) = segments(row.message, "PID")
    assert pid[3].startswith(f"{nhs}^^^NHS^NH~")
    (pv1,) = segments(row.message, "PV1")
    assert pv1[3] == "WARD7^BAY2^BED5^LTH"
    assert pv1[19] == "V0001234"
    (msh,) = segments(row.message, "MSH")
    assert msh[9] == row.control_id
    assert msh[3] == "LTH"
    assert msh[4] == "EPR"
    assert segments(row.message, "OBX")[0][5] == "7"
    parsed = parse_message(row.message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    parsed.validate()


def test_vital_signs_that_complete_a_set_queue_the_news2_they_produce(
    api: TestClient, ctx: AppContext, admitted: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    patient, encounter = admitted
    readings = factories.vital_signs(
        patient["id"], rr=22, spo2=94, o2_flow=0, sbp=104, dbp=66, pulse=112, acvpu="A", temp=38.4
    )
    *first, last = readings
    for reading in readings:
        reading["encounter"] = {"reference": f"Encounter/{encounter['id']}"}
    for reading in first:
        created(api, reading)
    assert outbox_rows(ctx) == []  # readings alone are not results to send
    created(api, last)
    (row,) = outbox_rows(ctx)
    assert row.message_type == "ORU^R01"
    assert next(s[5] for s in segments(row.message, "OBX")) == "7"
    assert segments(row.message, "PV1")[0][3] == "WARD7^BAY2^BED5^LTH"


def test_a_rolled_back_change_leaves_no_outbox_row(ctx: AppContext) -> None:
    score = news2_score(ctx)
    score.pop("id")
    score.pop("meta")

    class ClinicalWriteFailed(Exception):
        pass

    def record_then_fail() -> None:
        with ctx.uow.write() as tx:
            fhir.create_in(tx, ctx, actor=UNAUTHENTICATED_DEVELOPER, resource=score)
            assert len(Hl7OutboxStore(tx.connection).queue_head("EPR", limit=5)) == 1
            raise ClinicalWriteFailed  # e.g. a later step of the same use case fails

    with pytest.raises(ClinicalWriteFailed):
        record_then_fail()
    assert outbox_rows(ctx) == []
    with ctx.uow.write() as tx:
        fhir.create_in(tx, ctx, actor=UNAUTHENTICATED_DEVELOPER, resource=score)
    assert len(outbox_rows(ctx)) == 1  # the same write, committed, is queued


def test_a_corrected_score_queues_a_correction(ctx: AppContext) -> None:
    score = news2_score(ctx)
    score.pop("meta")
    score["id"] = str(uuid.uuid4())
    actor = UNAUTHENTICATED_DEVELOPER
    with ctx.uow.write() as tx:
        fhir.create_in(tx, ctx, actor=actor, resource=score, resource_id=score["id"])
    fhir.update(
        ctx,
        actor=actor,
        resource_type="Observation",
        resource_id=score["id"],
        resource={**score, "status": "amended", "valueInteger": 6},
    )
    first, correction = outbox_rows(ctx)
    assert segments(first.message, "OBX")[0][11] == "F"
    assert segments(correction.message, "OBX")[0][11] == "C"
    assert correction.resource.endswith("/_history/2")


def test_no_destination_means_nothing_is_queued(client: TestClient, context: AppContext) -> None:
    patient = client.post("/fhir/Patient", json=factories.patient()).json()
    assert context.stored_hooks == ()
    assert (
        client.post("/fhir/QuestionnaireResponse", json=news2_response(patient["id"])).status_code
        == 201
    )
    assert outbox_rows(context) == []


def test_a_pdf_document_queues_an_mdm_for_each_destination_that_takes_documents(
    api: TestClient, ctx: AppContext, admitted: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    patient, encounter = admitted
    pdf = HTML(string="<h1>Ward 7 handover</h1><p>Bed 5</p>").write_pdf()
    assert pdf is not None
    binary = created(
        api,
        {
            "resourceType": "Binary",
            "contentType": "application/pdf",
            "data": base64.b64encode(pdf).decode(),
        },
    )
    document = created(
        api,
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "docStatus": "final",
            "type": {"coding": [{"system": "http://loinc.org", "code": "34109-9"}]},
            "subject": {"reference": f"Patient/{patient['id']}"},
            "date": "2026-11-22T19:30:00Z",
            "context": {"encounter": [{"reference": f"Encounter/{encounter['id']}"}]},
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "url": f"Binary/{binary['id']}",
                        "title": "handover.pdf",
                    }
                }
            ],
        },
    )
    rows = outbox_rows(ctx)
    assert sorted(r.destination for r in rows) == ["DOCSTORE", "EPR"]
    assert {r.message_type for r in rows} == {"MDM^T02"}
    assert len({r.control_id for r in rows}) == 2  # each message its own MSH-10
    for row in rows:
        assert row.resource == f"DocumentReference/{document['id']}/_history/1"
        (obx,) = segments(row.message, "OBX")
        assert base64.b64decode(obx[5].split("^")[4]) == pdf
        assert segments(row.message, "PV1")[0][3] == "WARD7^BAY2^BED5^LTH"


def test_the_outbox_is_listed_and_a_dead_letter_can_be_retried(
    api: TestClient, ctx: AppContext
) -> None:
    score = news2_score(ctx)
    score.pop("id")
    score.pop("meta")
    with ctx.uow.write() as tx:
        fhir.create_in(tx, ctx, actor=UNAUTHENTICATED_DEVELOPER, resource=score)
    (row,) = outbox_rows(ctx)
    listing = api.get("/hl7/outbox").json()
    assert listing["counts"] == {"EPR": {"pending": 1}}
    (entry,) = listing["messages"]
    assert entry["controlId"] == row.control_id
    assert entry["status"] == "pending"
    assert api.post(f"/hl7/outbox/{row.id}/$retry").status_code == 409  # not a dead letter
    with ctx.uow.write() as tx:
        Hl7OutboxStore(tx.connection).record_failure(
            row.id, error="AE: patient not known", ack=None, now=1, next_attempt=1, dead_letter=True
        )
    dead = api.get("/hl7/outbox", params={"status": DEAD_LETTER}).json()["messages"]
    assert [m["lastError"] for m in dead] == ["AE: patient not known"]
    retried = api.post(f"/hl7/outbox/{row.id}/$retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    assert retried.json()["attempts"] == 0
    assert "requeued by" in retried.json()["lastError"]
    one = api.get(f"/hl7/outbox/{row.id}").json()
    assert one["message"] == row.message
    assert api.get("/hl7/outbox/999999").status_code == 404


def test_another_assessment_queues_one_oru_for_its_total(api: TestClient, ctx: AppContext) -> None:
    patient = created(api, factories.patient())
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://wardcare.org/fhir/Questionnaire/pain-score|1.0.0",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient['id']}"},
        "authored": "2026-11-22T10:10:00Z",
        "item": [{"linkId": "pain-score", "answer": [{"valueInteger": 6}]}],
    }
    assert api.post("/fhir/QuestionnaireResponse", json=response).status_code == 201
    (row,) = outbox_rows(ctx)  # the total only, not the answer it was scored from
    total = segments(row.message, "OBX")[0]
    assert total[3].startswith("72514-3^")
    assert total[3].endswith("^LN")
    assert total[5] == "6"
