"""A reading or form dated in the future is refused, however it arrives (hazard API1).

Stored, a reading dated 9999-12-31 (a typing slip, a device with a wrong clock) stood as the
patient's latest and left its assessment "not due" with no next time. The server allows
`future_tolerance_minutes` (15 by default) for clocks that differ a little.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.conftest import auth_headers
from tests.hl7v2.inbound_support import ack_fields, current, sample
from tests.hl7v2.test_inbound_samples import original_mode
from tests.services.test_assessments import news2_response
from wardcare.api.app import create_app
from wardcare.domain.clock import FixedClock
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def at_noon(context: AppContext) -> AppContext:
    return dataclasses.replace(context, clock=FixedClock(NOW))


@pytest.fixture
def noon_client(at_noon: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(at_noon), headers=auth_headers(at_noon)) as client:
        yield client


@pytest.fixture
def patient_id(noon_client: TestClient) -> str:
    return str(noon_client.post("/fhir/Patient", json=factories.patient()).json()["id"])


def _at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("when", "status"),
    [(_at(-60), 201), (_at(15), 201), (_at(16), 422), ("9999-12-31", 422), ("2027", 422)],
)
def test_a_reading_dated_after_now_is_refused_naming_the_element(
    noon_client: TestClient, patient_id: str, when: str, status: int
) -> None:
    answer = noon_client.post("/fhir/Observation", json=factories.heart_rate(patient_id, when=when))
    assert answer.status_code == status, answer.text
    if status == 422:
        issue = answer.json()["issue"][0]
        assert issue["expression"] == ["Observation.effectiveDateTime"]
        assert "future" in issue["diagnostics"]
        found = noon_client.get("/fhir/Observation", params={"patient": patient_id}).json()
        assert found["total"] == 0


def test_an_issued_time_or_a_period_start_in_the_future_is_refused(
    noon_client: TestClient, patient_id: str
) -> None:
    issued = factories.heart_rate(patient_id, when=_at(-10), issued="9999-12-31T00:00:00Z")
    answer = noon_client.post("/fhir/Observation", json=issued)
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["Observation.issued"]
    period = factories.heart_rate(patient_id, when=_at(-10))
    del period["effectiveDateTime"]
    period["effectivePeriod"] = {"start": _at(120)}
    answer = noon_client.post("/fhir/Observation", json=period)
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["Observation.effectivePeriod.start"]


def test_an_assessment_authored_in_the_future_is_refused(
    noon_client: TestClient, patient_id: str
) -> None:
    response: dict[str, Any] = news2_response(patient_id)
    response["authored"] = "9999-12-31T23:59:59Z"
    answer = noon_client.post("/fhir/QuestionnaireResponse", json=response)
    assert answer.status_code == 422, answer.text
    assert answer.json()["issue"][0]["expression"] == ["QuestionnaireResponse.authored"]
    assert noon_client.get("/fhir/QuestionnaireResponse").json()["total"] == 0


def test_a_future_reading_in_a_transaction_refuses_the_bundle(
    noon_client: TestClient, patient_id: str
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": factories.heart_rate(patient_id, when=_at(-5)),
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "resource": factories.heart_rate(patient_id, when="9999-12-31"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    answer = noon_client.post("/fhir", json=bundle)
    assert answer.status_code == 422, answer.text
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.effectiveDateTime"]
    assert noon_client.get("/fhir/Observation").json()["total"] == 0


def test_an_oru_result_dated_in_the_future_is_ae_naming_obx_14(at_noon: AppContext) -> None:
    handler = InboundHandler(at_noon)
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    # The sample's results were taken at 2026-11-22 10:10; here a device clock a day ahead.
    ahead = original_mode(sample("oru_r01_vitals.hl7")).replace(
        b"|||20261122101000||N0042", b"|||20261123101000||N0042"
    )
    [ack] = handler.handle(ahead)
    fields = ack_fields(ack)
    assert fields["MSA"][1] == "AE"
    assert fields["ERR"][2] == "OBX^^14"
    assert "future" in fields["ERR"][8]
    assert current(at_noon, "Observation") == []
    [ok] = handler.handle(
        original_mode(sample("oru_r01_vitals.hl7")).replace(b"EOBS0000001", b"EOBS0000002")
    )
    assert ack_fields(ok)["MSA"][1] == "AA"


def test_a_far_future_reading_already_on_record_can_still_be_withdrawn(
    at_noon: AppContext, noon_client: TestClient, patient_id: str
) -> None:
    # Stored before the check (or where a trust set the tolerance wide): marking it
    # entered-in-error must not be refused for the very date that makes it wrong.
    wide = at_noon.settings.model_copy(update={"future_tolerance_minutes": 10**10})
    with TestClient(
        create_app(dataclasses.replace(at_noon, settings=wide)), headers=auth_headers(at_noon)
    ) as lenient:
        stored = lenient.post(
            "/fhir/Observation", json=factories.heart_rate(patient_id, when="9999-12-31")
        ).json()
    body = {k: v for k, v in stored.items() if k != "meta"} | {"status": "entered-in-error"}
    answer = noon_client.put(f"/fhir/Observation/{stored['id']}", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "entered-in-error"
