"""The hot FHIR interactions skip FastAPI's router: the right requests, and only those."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests import factories
from wardcare.api import fhir_routes
from wardcare.api.direct_routes import direct_handler


@pytest.mark.parametrize(
    ("method", "path", "parts"),
    [
        ("POST", "/fhir/Observation", ["Observation"]),
        ("POST", "/fhir/QuestionnaireResponse", ["QuestionnaireResponse"]),
        ("GET", "/fhir/Observation", ["Observation"]),
        ("GET", "/fhir/Patient/abc-1.2", ["Patient", "abc-1.2"]),
        ("PUT", "/fhir/Patient/abc", ["Patient", "abc"]),
    ],
)
def test_the_hot_interactions_are_dispatched_directly(
    method: str, path: str, parts: list[str]
) -> None:
    found = direct_handler(method, path)
    assert found is not None
    assert found[1] == parts


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fhir/metadata"),
        ("GET", "/fhir/_history"),
        ("POST", "/fhir"),
        ("POST", "/fhir/"),
        ("GET", "/fhir/Observation/"),  # FastAPI's trailing-slash handling decides
        ("GET", "/fhir/Observation/_history"),
        ("POST", "/fhir/Observation/_search"),
        ("GET", "/fhir/.well-known/smart-configuration"),
        ("GET", "/fhir/Patient/$handover"),
        ("GET", "/fhir/Patient/abc/_history"),
        ("DELETE", "/fhir/Patient/abc"),
        ("HEAD", "/fhir/Patient/abc"),
        ("POST", "/fhir/QuestionnaireResponse/$extract"),
        ("GET", "/wards/WARD7/due"),
        ("GET", "/ui/wards/WARD7"),
        ("GET", "/fhir/Patient/" + "x" * 65),  # not a FHIR id: FastAPI's route answers it
    ],
)
def test_everything_else_goes_to_fastapi(method: str, path: str) -> None:
    assert direct_handler(method, path) is None


def test_the_handlers_are_the_fastapi_routes_own() -> None:
    # The direct dispatch must call what FastAPI would: the route functions themselves.
    declared = {
        (method, route.path): route.endpoint
        for route in fhir_routes.router.routes
        for method in getattr(route, "methods", ())
    }
    assert declared[("POST", "/fhir/{resource_type}")] is fhir_routes.create
    assert declared[("POST", "/fhir/QuestionnaireResponse")] is fhir_routes.record_assessment
    assert declared[("GET", "/fhir/{resource_type}")] is fhir_routes.search_get
    assert declared[("GET", "/fhir/{resource_type}/{resource_id}")] is fhir_routes.read
    assert declared[("PUT", "/fhir/{resource_type}/{resource_id}")] is fhir_routes.update


def test_a_direct_route_answers_errors_as_operation_outcomes(client: TestClient) -> None:
    unknown = client.post("/fhir/Spaceship", json={"resourceType": "Spaceship"})
    assert unknown.status_code == 404
    assert unknown.json()["resourceType"] == "OperationOutcome"
    bad_id = client.get("/fhir/Patient/does-not-exist")
    assert bad_id.status_code == 404
    assert bad_id.json()["issue"][0]["code"] == "not-found"


def test_a_direct_route_still_needs_a_token(client: TestClient) -> None:
    refused = client.post("/fhir/Patient", json=factories.patient(), headers={"Authorization": ""})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
