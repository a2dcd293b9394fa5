"""No client input may cause a 5xx: generated queries and bodies get a 2xx or a 4xx."""

from typing import Any

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
