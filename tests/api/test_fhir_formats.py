"""JSON only: a request for XML (or any other format) is a 406 OperationOutcome (FHIR R4
3.1.0.1.10, "Content Type and Encodings": `_format` overrides Accept)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests import factories

PATHS = [
    "/fhir/metadata",
    "/fhir/Patient",
    "/fhir/Patient/{id}",
    "/fhir/Patient/{id}/_history",
    "/fhir/Patient/{id}/_history/1",
    "/fhir/_history",
]


@pytest.fixture
def patient(client: TestClient) -> str:
    return str(client.post("/fhir/Patient", json=factories.patient()).json()["id"])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "accept", ["application/fhir+xml", "application/xml", "text/xml", "text/turtle"]
)
def test_an_accept_without_json_is_a_406(
    client: TestClient, patient: str, path: str, accept: str
) -> None:
    response = client.get(path.format(id=patient), headers={"Accept": accept})
    assert response.status_code == 406, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Accept"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("value", ["xml", "application/fhir+xml", "text/xml", "ttl", "html"])
def test_a_format_other_than_json_is_a_406(
    client: TestClient, patient: str, path: str, value: str
) -> None:
    response = client.get(path.format(id=patient), params={"_format": value})
    assert response.status_code == 406, response.text
    assert response.json()["issue"][0]["expression"] == ["_format"]


def test_writes_asking_for_xml_are_refused_before_anything_is_stored(client: TestClient) -> None:
    xml = {"Accept": "application/fhir+xml"}
    assert client.post("/fhir/Patient", json=factories.patient(), headers=xml).status_code == 406
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    assert client.post("/fhir", json=bundle, headers=xml).status_code == 406
    assert client.get("/fhir/Patient").json()["total"] == 0


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json",
        "application/json",
        "application/fhir+xml, application/fhir+json;q=0.9",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser
        "application/*",
        "",
    ],
)
def test_an_accept_that_allows_json_is_served_json(
    client: TestClient, patient: str, accept: str
) -> None:
    response = client.get(f"/fhir/Patient/{patient}", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == patient


def test_format_json_overrides_an_xml_accept(client: TestClient, patient: str) -> None:
    response = client.get(
        f"/fhir/Patient/{patient}",
        params={"_format": "json"},
        headers={"Accept": "application/fhir+xml"},
    )
    assert response.status_code == 200, response.text


def test_json_with_a_weight_of_zero_is_not_acceptable(client: TestClient) -> None:
    response = client.get("/fhir/metadata", headers={"Accept": "application/fhir+json;q=0"})
    assert response.status_code == 406


def test_a_format_in_a_post_search_body_is_a_406_too(client: TestClient) -> None:
    response = client.post(
        "/fhir/Patient/_search",
        content="_format=xml",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 406, response.text
    assert response.json()["issue"][0]["expression"] == ["_format"]


def test_the_patient_handover_pdf_may_be_asked_for_as_a_pdf(
    client: TestClient, patient: str
) -> None:
    # $handover answers application/pdf, not FHIR JSON: asking for that is not refused.
    response = client.get(
        f"/fhir/Patient/{patient}/$handover", headers={"Accept": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
