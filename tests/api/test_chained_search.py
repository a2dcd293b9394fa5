"""Chained search parameters (FHIR R4 3.1.1.4.12, `patient.identifier=...`) are not supported:
each is a 400 OperationOutcome naming the parameter and saying what to do instead, never a 500
and never silently ignored or read as something else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests import factories


@pytest.mark.parametrize(
    "name",
    [
        "patient.identifier",
        "patient.name",
        "subject.identifier",
        "subject:Patient.name",
        "subject:Patient.identifier",
        "encounter.location.name",
        "patient.identifier:exact",
        "patient:missing.name",
    ],
)
def test_a_chained_parameter_is_a_400_naming_it(client: TestClient, name: str) -> None:
    response = client.get("/fhir/Observation", params={name: "x"})
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-supported"
    assert issue["expression"] == [name]
    assert "Chained search" in issue["diagnostics"]


def test_a_chain_in_a_post_search_body_is_a_400_too(client: TestClient) -> None:
    response = client.post(
        "/fhir/Observation/_search",
        content="patient.identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text


def test_reverse_chaining_is_a_400_saying_so(client: TestClient) -> None:
    response = client.get("/fhir/Patient", params={"_has:Observation:patient:code": "8867-4"})
    assert response.status_code == 400, response.text
    assert "_has" in response.json()["issue"][0]["diagnostics"]


def test_a_type_modifier_that_is_not_a_resource_type_is_a_400(client: TestClient) -> None:
    patient_id = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    assert (
        client.post("/fhir/Observation", json=factories.heart_rate(patient_id)).status_code == 201
    )
    # Before, "Patien" was taken as a type and the search quietly found nothing.
    response = client.get("/fhir/Observation", params={"subject:Patien": patient_id})
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == ["subject:Patien"]
    found = client.get("/fhir/Observation", params={"subject:Patient": patient_id}).json()
    assert found["total"] == 1
