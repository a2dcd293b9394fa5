"""SMART v2 scopes per interaction, and the patient compartment through every way in: read,
search, _include, _revinclude, _history (instance, type, system), Bundles, writes, ward and
patient views. Outside the compartment answers 404, exactly like a missing resource."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.security.records import Ward, bearer, ids, two_patients

TokenFor = Callable[..., str]


@pytest.fixture
def ward(client: TestClient) -> Ward:
    return two_patients(client)


def _as(token_for: TokenFor, ward: Ward, scope: str, *, patient: bool = True) -> dict[str, str]:
    return bearer(token_for(scope, patient=ward.own) if patient else token_for(scope))


READS = [
    # scope, patient in context, what, whose, status
    ("patient/*.cruds", True, "Patient", "own", 200),
    ("patient/*.cruds", True, "Patient", "other", 404),
    ("patient/*.cruds", True, "Observation", "own", 200),
    ("patient/*.cruds", True, "Observation", "other", 404),
    ("patient/*.rs", True, "Observation", "other", 404),
    ("patient/Observation.rs", True, "Observation", "own", 200),
    ("patient/Observation.rs", True, "Observation", "other", 404),
    ("patient/Observation.rs", True, "Patient", "own", 403),
    ("patient/Observation.s", True, "Observation", "own", 403),
    ("patient/*.read", True, "Observation", "own", 200),  # SMART v1 mapped to rs
    ("patient/*.read", True, "Observation", "other", 404),
    ("patient/Observation.rs?category=vital-signs", True, "Observation", "own", 403),
    ("patient/*.cruds", False, "Observation", "own", 403),  # patient/ needs a patient
    ("user/Observation.rs", False, "Observation", "own", 200),
    ("user/Observation.rs", False, "Observation", "other", 200),
    ("user/Observation.rs", False, "Patient", "other", 403),
    ("user/*.cruds", True, "Observation", "other", 200),  # user/ reaches beyond the patient
    ("system/*.rs", False, "Patient", "other", 200),
    ("system/Patient.c", False, "Patient", "own", 403),
]


@pytest.mark.parametrize(("scope", "with_patient", "what", "whose", "status"), READS)
def test_read(
    client: TestClient,
    token_for: TokenFor,
    ward: Ward,
    scope: str,
    with_patient: bool,
    what: str,
    whose: str,
    status: int,
) -> None:
    target = {
        ("Patient", "own"): ward.own,
        ("Patient", "other"): ward.other,
        ("Observation", "own"): ward.own_obs,
        ("Observation", "other"): ward.other_obs,
    }[(what, whose)]
    headers = _as(token_for, ward, scope, patient=with_patient)
    response = client.get(f"/fhir/{what}/{target}", headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        assert response.json()["issue"][0]["code"] == "forbidden"
    if status == 404:
        missing = client.get(f"/fhir/{what}/no-such-id", headers=headers)
        assert missing.status_code == 404
        # The same answer as for a resource that does not exist, so nothing leaks.
        assert response.json()["issue"][0]["code"] == missing.json()["issue"][0]["code"]


def test_vread_of_another_patients_version_is_404(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    headers = _as(token_for, ward, "patient/*.rs")
    assert client.get(f"/fhir/Observation/{ward.own_obs}/_history/1", headers=headers).is_success
    other = client.get(f"/fhir/Observation/{ward.other_obs}/_history/1", headers=headers)
    assert other.status_code == 404


def test_search_reaches_only_the_patients_compartment(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    headers = _as(token_for, ward, "patient/*.rs")
    found = client.get("/fhir/Observation", headers=headers).json()
    assert ids(found) == {f"Observation/{ward.own_obs}", f"Observation/{ward.own_linking_obs}"}
    assert found["total"] == 2
    asked = client.get("/fhir/Observation", params={"patient": ward.other}, headers=headers).json()
    assert asked["total"] == 0
    assert ids(client.get("/fhir/Patient", headers=headers).json()) == {f"Patient/{ward.own}"}
    assert client.get("/fhir/Task", headers=headers).json()["total"] == 0


def test_user_scope_searches_everyone(client: TestClient, token_for: TokenFor, ward: Ward) -> None:
    found = client.get("/fhir/Observation", headers=bearer(token_for("user/Observation.rs")))
    assert found.json()["total"] == 3


def test_include_does_not_follow_a_link_out_of_the_compartment(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    params = {"_id": ward.own_linking_obs, "_include": "Observation:has-member"}
    everyone = client.get("/fhir/Observation", params=params).json()
    assert f"Observation/{ward.other_obs}" in ids(everyone)  # the link is real
    found = client.get(
        "/fhir/Observation", params=params, headers=_as(token_for, ward, "patient/*.rs")
    ).json()
    assert ids(found) == {f"Observation/{ward.own_linking_obs}"}


def test_include_of_a_type_the_scopes_do_not_grant_is_left_out(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    params = {"_id": ward.own_obs, "_include": "Observation:subject"}
    with_patient = client.get(
        "/fhir/Observation", params=params, headers=_as(token_for, ward, "patient/*.rs")
    ).json()
    assert f"Patient/{ward.own}" in ids(with_patient)
    observations_only = client.get(
        "/fhir/Observation",
        params=params,
        headers=_as(token_for, ward, "patient/Observation.rs"),
    ).json()
    assert ids(observations_only) == {f"Observation/{ward.own_obs}"}


def test_revinclude_does_not_bring_in_another_patients_resource(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    params = {"_id": ward.own_obs, "_revinclude": "Task:focus"}
    everyone = client.get("/fhir/Observation", params=params).json()
    assert f"Task/{ward.other_task}" in ids(everyone)
    found = client.get(
        "/fhir/Observation", params=params, headers=_as(token_for, ward, "patient/*.rs")
    ).json()
    assert ids(found) == {f"Observation/{ward.own_obs}"}
    provenance = client.get(
        "/fhir/Patient",
        params={"_id": ward.own, "_revinclude": "Provenance:target"},
        headers=_as(token_for, ward, "patient/*.rs"),
    ).json()
    assert any(i.startswith("Provenance/") for i in ids(provenance))


@pytest.mark.parametrize(
    "path", ["/fhir/_history", "/fhir/Observation/_history", "/fhir/Task/_history"]
)
def test_type_and_system_history_show_only_the_compartment(
    client: TestClient, token_for: TokenFor, ward: Ward, path: str
) -> None:
    everyone = client.get(path, params={"_count": "200"}).json()
    found = client.get(
        path, params={"_count": "200"}, headers=_as(token_for, ward, "patient/*.rs")
    ).json()
    seen = ids(found)
    assert ids(everyone) - seen  # the other patient's versions exist and are not shown
    for leaked in (
        f"Patient/{ward.other}",
        f"Observation/{ward.other_obs}",
        f"Task/{ward.other_task}",
    ):
        assert leaked not in seen
    if path != "/fhir/Task/_history":
        assert f"Observation/{ward.own_obs}" in seen


def test_instance_history_of_another_patients_resource_is_404(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    headers = _as(token_for, ward, "patient/*.rs")
    assert client.get(f"/fhir/Observation/{ward.own_obs}/_history", headers=headers).is_success
    response = client.get(f"/fhir/Observation/{ward.other_obs}/_history", headers=headers)
    assert response.status_code == 404


def test_writes_stay_inside_the_compartment(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    headers = _as(token_for, ward, "patient/*.cruds")
    own = client.post("/fhir/Observation", json=factories.heart_rate(ward.own), headers=headers)
    assert own.status_code == 201
    other = client.post("/fhir/Observation", json=factories.heart_rate(ward.other), headers=headers)
    assert other.status_code == 403
    current = client.get(f"/fhir/Observation/{ward.other_obs}").json()
    # Writing the other patient's data is refused outright, whether or not the id exists ...
    assert (
        client.put(f"/fhir/Observation/{ward.other_obs}", json=current, headers=headers).status_code
        == 403
    )
    # ... and taking over their resource by re-pointing it finds nothing to take over.
    current["subject"] = {"reference": f"Patient/{ward.own}"}
    assert (
        client.put(f"/fhir/Observation/{ward.other_obs}", json=current, headers=headers).status_code
        == 404
    )
    assert client.delete(f"/fhir/Observation/{ward.other_obs}", headers=headers).status_code == 404
    assert client.get(f"/fhir/Observation/{ward.other_obs}").json()["meta"]["versionId"] == "1"
    assert client.delete(f"/fhir/Observation/{ward.own_obs}", headers=headers).status_code == 204
    read_only = _as(token_for, ward, "patient/*.rs")
    refused = client.post(
        "/fhir/Observation", json=factories.heart_rate(ward.own), headers=read_only
    )
    assert refused.status_code == 403


def test_batch_entries_are_each_authorised(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Observation/{ward.own_obs}"}},
            {"request": {"method": "GET", "url": f"Observation/{ward.other_obs}"}},
            {"request": {"method": "GET", "url": "Observation?_count=50"}},
            {"request": {"method": "DELETE", "url": f"Observation/{ward.own_obs}"}},
        ],
    }
    response = client.post("/fhir", json=bundle, headers=_as(token_for, ward, "patient/*.rs"))
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"][:3] for e in entries] == ["200", "404", "200", "403"]
    assert ids(entries[2]["resource"]) == {
        f"Observation/{ward.own_obs}",
        f"Observation/{ward.own_linking_obs}",
    }


def test_a_transaction_writing_another_patients_record_changes_nothing(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    headers = _as(token_for, ward, "patient/*.cruds")
    before = client.get("/fhir/Observation").json()["total"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "POST", "url": "Observation"}, "resource": resource}
            for resource in (factories.heart_rate(ward.own), factories.heart_rate(ward.other))
        ],
    }
    response = client.post("/fhir", json=bundle, headers=headers)
    assert response.status_code == 403
    assert "Bundle.entry[1]" in response.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/Observation").json()["total"] == before
    bundle["entry"] = bundle["entry"][:1]
    assert client.post("/fhir", json=bundle, headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/wards/WARD7", "/wards/WARD7/due"])
def test_a_patient_token_cannot_list_a_ward(
    client: TestClient, token_for: TokenFor, ward: Ward, path: str
) -> None:
    response = client.get(path, headers=_as(token_for, ward, "patient/*.cruds"))
    assert response.status_code == 403


def test_patient_views_stay_inside_the_compartment(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    headers = _as(token_for, ward, "patient/*.rs")
    assert client.get(f"/patients/{ward.own}/fluid-balance", headers=headers).status_code == 200
    other = client.get(f"/patients/{ward.other}/fluid-balance", headers=headers)
    assert other.status_code == 404


def test_the_audit_trail_needs_a_user_scope_for_it(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    patient = client.get("/fhir/AuditEvent", headers=_as(token_for, ward, "patient/*.rs"))
    assert patient.status_code == 403
    nurse = client.get("/fhir/AuditEvent", headers=bearer(token_for("user/Observation.rs")))
    assert nurse.status_code == 403
    officer = client.get(
        "/fhir/AuditEvent",
        headers=bearer(token_for("user/AuditEvent.rs", user="privacy-officer")),
    )
    assert officer.status_code == 200


def test_no_wildcard_reaches_the_audit_trail(
    client: TestClient, token_for: TokenFor, ward: Ward
) -> None:
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    everything = bearer(token_for("user/*.cruds"))
    assert client.get("/fhir/AuditEvent", headers=everything).status_code == 403
    history = client.get("/fhir/_history", params={"_count": "500"}, headers=everything).json()
    assert not [i for i in ids(history) if i.startswith("AuditEvent/")]
    officer = bearer(token_for("user/*.rs user/AuditEvent.rs", user="privacy-officer"))
    history = client.get("/fhir/_history", params={"_count": "500"}, headers=officer).json()
    assert [i for i in ids(history) if i.startswith("AuditEvent/")]
