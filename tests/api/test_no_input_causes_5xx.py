"""No client input may cause a 5xx: generated queries and bodies get a 2xx or a 4xx."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARAM_NAMES = [
    "patient",
    "code",
    "date",
    "_count",
    "_offset",
    "_sort",
    "value-quantity",
    "_include",
    "_revinclude",
    "identifier",
    "name",
    "_id",
    "_lastUpdated",
    "status",
    "subject",
    "category",
    "code:not",
    "name:contains",
    "date:missing",
    "_lastUpdated:missing",
    "patient.identifier",
    "subject:Patient.name",
    "_has:Observation:patient:code",
    "_format",
    "_elements",
    "_total",
    "_summary",
    "nonsense",
]
VALUE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from(
    [
        "ge2026-11-22",
        "lt2026",
        "-date",
        "Observation:patient",
        "x|y|z",
        "|",
        "99999999999999999999",
        "0",
        "gt1e400",
        "nan",
        "Patient/",
        "/",
        ",",
        "2026-11-22T10:00:00+25:00",
        "eq",
        "sa2026-02-30",
        "9999-12-31",
        "ge9999-12-31",
        "9999-12-31T23:59:59-12:00",
        "le0001-01-01T00:00:00+14:00",
        "0000",
        "\u00b2",
        "x" * 300,
    ]
)

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
PATIENTISH = st.fixed_dictionaries(
    {"resourceType": st.just("Patient")},
    optional={
        "name": JSON,
        "birthDate": JSON,
        "identifier": JSON,
        "gender": JSON,
        "id": JSON,
        "meta": JSON,
        "active": JSON,
        "telecom": JSON,
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.lists(st.tuples(st.sampled_from(PARAM_NAMES), VALUE_TEXT), max_size=4))
def test_generated_searches_never_cause_a_server_error(
    client: TestClient, params: list[tuple[str, str]]
) -> None:
    response = client.get("/fhir/Observation", params=params)
    assert response.status_code < 500, (params, response.text)
    assert response.headers["content-type"].startswith("application/fhir+json")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=PATIENTISH | JSON)
def test_generated_bodies_never_cause_a_server_error(client: TestClient, body: Any) -> None:
    response = client.post("/fhir/Patient", json=body)
    assert response.status_code < 500, (body, response.text)
    transaction = client.post(
        "/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": [body]}
    )
    assert transaction.status_code < 500, (body, transaction.text)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.lists(
        st.tuples(st.sampled_from(["_since", "_count", "_offset", "_at", "x"]), VALUE_TEXT),
        max_size=3,
    )
)
def test_generated_history_queries_never_cause_a_server_error(
    client: TestClient, params: list[tuple[str, str]]
) -> None:
    for path in ("/fhir/_history", "/fhir/Patient/_history"):
        response = client.get(path, params=params)
        assert response.status_code < 500, (path, params, response.text)


HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60
) | st.sampled_from(
    [
        "application/fhir+xml",
        "application/fhir+json;q=0",
        "*/*;q=x",
        'W/"1.5"',
        'W/"99999999999"',
        "identifier=" + "x" * 500,
        "patient.identifier=x",
        "_lastUpdated:missing=true",
        "return=OperationOutcome",
    ]
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    headers=st.dictionaries(
        st.sampled_from(["Accept", "If-Match", "If-None-Exist", "Prefer", "Content-Type"]),
        HEADER_TEXT,
        max_size=3,
    )
)
def test_generated_headers_never_cause_a_server_error(
    client: TestClient, headers: dict[str, str]
) -> None:
    patient = client.post("/fhir/Patient", json={"resourceType": "Patient"}).json()
    for method, path, body in (
        ("POST", "/fhir/Patient", {"resourceType": "Patient"}),
        ("PUT", f"/fhir/Patient/{patient['id']}", {"resourceType": "Patient", "id": patient["id"]}),
        ("GET", f"/fhir/Patient/{patient['id']}", None),
        ("DELETE", f"/fhir/Patient/{patient['id']}", None),
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code < 500, (method, headers, response.text)
        assert response.headers.get("content-type", "application/fhir+json").startswith(
            "application/fhir+json"
        )


ODD_SEGMENTS = ["%00", "%FF", "x" * 300, "..", "%2F", "a b", "$", "\u00e9", "\U0001f489"]
JSON_ROUTES = [
    "/fhir/Patient/{}",
    "/fhir/Patient/{}/_history",
    "/fhir/Patient/{}/_history/1",
    "/fhir/Patient/{}/$handover",
    "/fhir/{}",
    "/wards/{}",
    "/wards/{}/due",
    "/patients/{}/due",
    "/patients/{}/care-summary",
    "/patients/{}/fluid-balance",
]


@pytest.mark.parametrize("segment", ODD_SEGMENTS)
@pytest.mark.parametrize("route", JSON_ROUTES)
def test_odd_path_segments_never_cause_a_server_error(
    client: TestClient, route: str, segment: str
) -> None:
    # "%2F" and ".." change which route answers (a search, the type); any refusal is an
    # OperationOutcome.
    response = client.get(route.format(segment))
    assert response.status_code < 500, (route, segment, response.text)
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"
