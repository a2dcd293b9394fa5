"""JSON nested deeper than any FHIR resource is a 400 OperationOutcome, never a RecursionError.

FHIR R4 JSON (2.6.2) has no depth limit, but no resource WardCare serves comes near 100 levels
(a Questionnaire nests two levels per group); the validator, the required-binding walk and the
models recurse, and Python's recursion limit (1000) made 1000 levels a 500.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

FHIR_JSON = {"content-type": "application/fhir+json"}


def _nested_objects(levels: int) -> str:
    return '{"url":"http://example.org/x","extension":[' * levels + "{}" + "]}" * levels


def _patient_with(levels: int) -> str:
    # The patient object is level 1, its extension list level 2, and so on.
    return '{"resourceType":"Patient","extension":[' + _nested_objects(levels) + "]}"


@pytest.mark.parametrize("levels", [60, 500, 1000, 3000])
def test_a_body_nested_too_deep_is_a_400_naming_the_element(
    client: TestClient, levels: int
) -> None:
    response = client.post("/fhir/Patient", content=_patient_with(levels), headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Patient.extension"]
    assert "100 levels" in outcome["issue"][0]["diagnostics"]


def test_depth_is_checked_on_every_route_that_reads_json(client: TestClient) -> None:
    deep = _patient_with(600)
    bundle = (
        '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":'
        + deep
        + ',"request":{"method":"POST","url":"Patient"}}]}'
    )
    for method, path, body in (
        ("PUT", "/fhir/Patient/p1", deep.replace('"Patient",', '"Patient","id":"p1",', 1)),
        ("POST", "/fhir", bundle),
        ("POST", "/fhir/QuestionnaireResponse", deep),
        ("POST", "/fhir/QuestionnaireResponse/$extract", deep),
        ("POST", "/patients/p1/handover-notes", deep),
        ("POST", "/fhir/PlanDefinition/x/$apply", deep),
    ):
        response = client.request(method, path, content=body, headers=FHIR_JSON)
        assert response.status_code == 400, (path, response.text)
        assert "100 levels" in response.json()["issue"][0]["diagnostics"], path


def test_a_resource_within_the_depth_limit_is_judged_by_the_validator(client: TestClient) -> None:
    # 30 nested extensions: 62 levels of JSON, a valid (if odd) FHIR structure.
    response = client.post("/fhir/Patient", content=_patient_with(30), headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert "100 levels" not in response.text
