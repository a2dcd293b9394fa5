"""Chained search (FHIR R4 3.1.1.4.12), one link deep: `Observation?patient.identifier=` an NHS
number finds that patient's observations in one request, as a UK integration asks. Deeper chains
and reverse chaining (`_has`) are a 400 OperationOutcome naming the parameter and saying what
to do instead, never a 500 and never silently ignored or read as something else."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.conftest import auth_headers
from wardcare.services.context import AppContext

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def _nhs_number(patient: dict[str, Any]) -> str:
    return str(next(i["value"] for i in patient["identifier"] if i["system"] == NHS))


@pytest.fixture
def two_patients(client: TestClient) -> list[dict[str, Any]]:
    """Two patients with a heart rate each; the first also has a temperature."""
    stored = []
    for value in (72, 118):
        patient = client.post("/fhir/Patient", json=factories.patient()).json()
        reading = factories.heart_rate(patient["id"], value=value)
        assert client.post("/fhir/Observation", json=reading).status_code == 201
        stored.append(patient)
    return stored


def _values(bundle: dict[str, Any]) -> list[float]:
    return sorted(e["resource"]["valueQuantity"]["value"] for e in bundle.get("entry", ()))


@pytest.mark.parametrize(
    "name", ["patient.identifier", "subject.identifier", "subject:Patient.identifier"]
)
def test_a_chain_by_nhs_number_finds_that_patients_observations(
    client: TestClient, two_patients: list[dict[str, Any]], name: str
) -> None:
    _first, second = two_patients
    found = client.get("/fhir/Observation", params={name: f"{NHS}|{_nhs_number(second)}"}).json()
    assert found["total"] == 1
    assert _values(found) == [118]
    assert found["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{second['id']}"


def test_a_chain_by_name_with_a_modifier_and_ored_values(
    client: TestClient, two_patients: list[dict[str, Any]]
) -> None:
    families = [p["name"][0]["family"] for p in two_patients]
    one = client.get("/fhir/Observation", params={"patient.family:exact": families[0]}).json()
    assert _values(one) == ([72] if families[0] != families[1] else [72, 118])
    both = client.get("/fhir/Observation", params={"patient.family": ",".join(families)}).json()
    assert _values(both) == [72, 118]


def test_a_chain_combines_with_other_criteria_and_a_deleted_target_matches_nothing(
    client: TestClient, two_patients: list[dict[str, Any]]
) -> None:
    first, _second = two_patients
    number = f"{NHS}|{_nhs_number(first)}"
    with_code = client.get(
        "/fhir/Observation", params={"patient.identifier": number, "code": "8867-4"}
    ).json()
    assert with_code["total"] == 1
    other_code = client.get(
        "/fhir/Observation", params={"patient.identifier": number, "code": "8310-5"}
    ).json()
    assert other_code["total"] == 0
    assert client.delete(f"/fhir/Patient/{first['id']}").status_code in (200, 204)
    gone = client.get("/fhir/Observation", params={"patient.identifier": number}).json()
    assert gone["total"] == 0


def test_a_chain_in_a_post_search_body_works_too(
    client: TestClient, two_patients: list[dict[str, Any]]
) -> None:
    response = client.post(
        "/fhir/Observation/_search",
        content=f"patient.identifier={NHS}|{_nhs_number(two_patients[0])}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert _values(response.json()) == [72]


def test_a_chain_needs_leave_to_search_the_type_it_passes_through(
    client: TestClient, context: AppContext, two_patients: list[dict[str, Any]]
) -> None:
    headers = auth_headers(context, scope="user/Observation.read")
    number = f"{NHS}|{_nhs_number(two_patients[0])}"
    plain = client.get("/fhir/Observation", headers=headers)
    assert plain.status_code == 200
    chained = client.get(
        "/fhir/Observation", params={"patient.identifier": number}, headers=headers
    )
    assert chained.status_code == 403, chained.text


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("encounter.location.name", "one link deep"),
        ("patient.", "one link deep"),
        ("status.code", "not a reference parameter"),
        ("nonsense.identifier", "not a reference parameter"),
        ("patient.no-such-parameter", "has a search parameter"),
        ("subject:Patien.identifier", "not a resource type"),
    ],
)
def test_a_chain_that_cannot_be_answered_is_a_400_naming_it(
    client: TestClient, name: str, says: str
) -> None:
    response = client.get("/fhir/Observation", params={name: "x"})
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == [name]
    assert says in issue["diagnostics"]


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


def test_a_chained_search_names_the_patients_it_found_in_the_audit(
    client: TestClient, context: AppContext, two_patients: list[dict[str, Any]]
) -> None:
    # The chain names the patient by NHS number, not by id: the privacy officer must still
    # find this access by `AuditEvent?patient=` (IHE BALP, patient entity).
    _first, second = two_patients
    number = f"{NHS}|{_nhs_number(second)}"
    assert client.get("/fhir/Observation", params={"patient.identifier": number}).json()["total"]
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    officer = auth_headers(context, scope="user/AuditEvent.rs", user="privacy-officer")
    events = client.get(
        "/fhir/AuditEvent", params={"patient": second["id"], "_count": "200"}, headers=officer
    ).json()
    queries = [
        x.get("description", "")
        for e in events.get("entry", ())
        for x in e["resource"].get("entity", ())
        if "query" in x
    ]
    assert any("patient.identifier" in q for q in queries), queries


def test_a_patient_token_chains_only_within_its_own_record(
    client: TestClient, context: AppContext, two_patients: list[dict[str, Any]]
) -> None:
    first, second = two_patients
    own = auth_headers(context, scope="patient/*.rs", patient=first["id"])
    theirs = client.get(
        "/fhir/Observation",
        params={"patient.identifier": f"{NHS}|{_nhs_number(second)}"},
        headers=own,
    )
    assert theirs.status_code == 200
    assert theirs.json().get("total", 0) == 0
    mine = client.get(
        "/fhir/Observation",
        params={"patient.identifier": f"{NHS}|{_nhs_number(first)}"},
        headers=own,
    ).json()
    assert _values(mine) == [72]
