"""Bad input to care planning: a clear OperationOutcome naming the offending element, and nothing
changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_care_plan_journey import TIMING, admit, put, task_named
from wardcare.domain.actor import WARDCARE_SYSTEM
from wardcare.errors import Category, WardCareError
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext

APPLY = "/fhir/PlanDefinition/pain-management/$apply"


@pytest.fixture
def draft(client: TestClient) -> dict[str, Any]:
    patient_id, _encounter = admit(client)
    response = client.post(APPLY, params={"subject": f"Patient/{patient_id}"})
    assert response.status_code == 201, response.text
    return dict(response.json())


def expression(response: Any) -> list[str]:
    return list(response.json()["issue"][0].get("expression", []))


def test_apply_an_unknown_template_is_404(client: TestClient) -> None:
    response = client.post("/fhir/PlanDefinition/nope/$apply", params={"subject": "Patient/x"})
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("params", "status", "path"),
    [
        ({}, 400, ["subject"]),
        ({"subject": "Encounter/1"}, 422, ["subject"]),
        ({"subject": "Patient/not-there"}, 422, ["subject"]),
        ({"subject": "PATIENT", "intervention": "juggling"}, 422, ["intervention[0]"]),
    ],
)
def test_apply_with_bad_parameters_names_the_parameter(
    client: TestClient, params: dict[str, str], status: int, path: list[str]
) -> None:
    patient_id, _encounter = admit(client)
    if params.get("subject") == "PATIENT":
        params = {**params, "subject": f"Patient/{patient_id}"}
    response = client.post(APPLY, params=params)
    assert response.status_code == status, response.text
    assert expression(response) == path
    assert client.get("/fhir/CarePlan", params={"patient": patient_id}).json()["total"] == 0


def test_apply_with_a_body_that_is_not_parameters_is_refused(client: TestClient) -> None:
    response = client.post(APPLY, json={"resourceType": "Patient"})
    assert response.status_code == 400
    assert expression(response) == ["resourceType"]


def test_a_timing_wardcare_cannot_schedule_is_refused_and_nothing_changes(
    client: TestClient, draft: dict[str, Any]
) -> None:
    task = task_named(client, draft, "reassess-pain")
    fortnightly = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "fortnight"}}
    response = put(client, task, extension=[{"url": TIMING, "valueTiming": fortnightly}])
    assert response.status_code == 422
    assert expression(response) == ["Task.extension[0].valueTiming.repeat.period"]
    assert client.get(f"/fhir/Task/{task['id']}").json()["meta"]["versionId"] == "1"
    too_often = {"repeat": {"frequency": 1, "period": 5, "periodUnit": "min"}}
    response = put(client, task, extension=[{"url": TIMING, "valueTiming": too_often}])
    assert response.status_code == 422
    assert "15 minutes" in response.json()["issue"][0]["diagnostics"]


def test_a_goal_review_in_hours_is_refused(client: TestClient, draft: dict[str, Any]) -> None:
    goal = client.get(f"/fhir/{draft['goal'][0]['reference']}").json()
    review = {
        "url": "http://wardcare.org/fhir/StructureDefinition/goal-review-interval",
        "valueDuration": {
            "value": 6,
            "unit": "h",
            "system": "http://unitsofmeasure.org",
            "code": "h",
        },
    }
    response = put(client, goal, extension=[review])
    assert response.status_code == 422
    assert expression(response) == ["Goal.extension[0].valueDuration"]


def test_a_proposal_cannot_be_activated_as_it_is(client: TestClient) -> None:
    patient_id, _encounter_id = admit(client)
    pain = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://wardcare.org/fhir/Questionnaire/pain-score|1.0.0",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "item": [{"linkId": "pain-score", "answer": [{"valueInteger": 8}]}],
    }
    assert client.post("/fhir/QuestionnaireResponse", json=pain).status_code == 201
    bundle = client.get("/fhir/CarePlan", params={"patient": patient_id, "intent": "proposal"})
    (entry,) = bundle.json()["entry"]
    response = put(client, entry["resource"], status="active")
    assert response.status_code == 422
    assert expression(response) == ["CarePlan.status"]


def test_only_a_person_activates_a_plan(context: AppContext, draft: dict[str, Any]) -> None:
    body = {k: v for k, v in draft.items() if k != "meta"} | {"status": "active"}
    with pytest.raises(WardCareError) as raised:
        fhir.update(
            context,
            actor=WARDCARE_SYSTEM,
            resource_type="CarePlan",
            resource_id=draft["id"],
            resource=body,
        )
    assert raised.value.category == Category.FORBIDDEN


def test_documenting_an_intervention_of_a_draft_plan_is_refused(
    client: TestClient, draft: dict[str, Any]
) -> None:
    task = task_named(client, draft, "reassess-pain")
    response = client.post(
        f"/fhir/Task/{task['id']}/$record-occurrence", params={"outcome": "done"}
    )
    assert response.status_code == 422
    assert expression(response) == ["Task.status"]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"outcome": "finished"}, ["outcome"]),
        ({"outcome": "not-done", "reason": " "}, ["reason"]),
        ({"outcome": "done", "performed": "2999-01-01T10:00:00Z"}, ["performed"]),
    ],
)
def test_bad_documentation_names_the_parameter(
    client: TestClient, draft: dict[str, Any], params: dict[str, str], path: list[str]
) -> None:
    assert put(client, draft, status="active").status_code == 200
    task = task_named(client, draft, "reassess-pain")
    response = client.post(f"/fhir/Task/{task['id']}/$record-occurrence", params=params)
    assert response.status_code == 422, response.text
    assert expression(response) == path
    found = client.get("/fhir/Task", params={"part-of": f"Task/{task['id']}"}).json()
    assert found["total"] == 0


def test_a_bad_evaluation_names_the_parameter(client: TestClient, draft: dict[str, Any]) -> None:
    goal = draft["goal"][0]["reference"]
    response = client.post(f"/fhir/{goal}/$evaluate", params={"result": "met", "note": "ok"})
    assert response.status_code == 422  # the plan is still a draft
    assert expression(response) == ["Goal.lifecycleStatus"]
    assert put(client, draft, status="active").status_code == 200
    response = client.post(f"/fhir/{goal}/$evaluate", params={"result": "great", "note": "ok"})
    assert response.status_code == 422
    assert expression(response) == ["result"]
    response = client.post(f"/fhir/{goal}/$evaluate", params={"result": "met"})
    assert expression(response) == ["note"]


def test_marking_a_plan_entered_in_error_needs_a_reason_and_keeps_it(
    client: TestClient, draft: dict[str, Any]
) -> None:
    response = put(client, draft, status="entered-in-error")
    assert response.status_code == 422
    reason = {
        "url": "http://hl7.org/fhir/StructureDefinition/request-statusReason",
        "valueCodeableConcept": {"text": "Applied to the wrong patient"},
    }
    response = put(client, draft, status="entered-in-error", extension=[reason])
    assert response.status_code == 200, response.text
    assert client.get(f"/fhir/CarePlan/{draft['id']}").json()["status"] == "entered-in-error"
    condition = client.get(f"/fhir/{draft['addresses'][0]['reference']}").json()
    assert condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    history = client.get(f"/fhir/CarePlan/{draft['id']}/_history").json()
    assert history["total"] == 2
