"""A Patient reference is indexed once, as the `patient` parameter's row, and the broader
parameter (`subject`, Provenance `target`) still finds it: in a search by type and id, by id
alone, by a type modifier, in `_include` and `_revinclude`. References to anything else stay the
broader parameter's own (fhir/search_parameters.py `patient_twin`, migration 0009)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from wardcare.services.context import AppContext


def _ids(bundle: dict[str, Any], resource_type: str | None = None) -> set[str]:
    return {
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if resource_type is None or e["resource"]["resourceType"] == resource_type
    }


@pytest.fixture
def record(client: TestClient, context: AppContext) -> dict[str, str]:
    patient = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    other = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    mine = client.post("/fhir/Observation", json=factories.heart_rate(patient, 80))
    theirs = client.post("/fhir/Observation", json=factories.heart_rate(other, 90))
    assert mine.status_code == theirs.status_code == 201
    # An Observation about a bed, stored beneath the API (WardCare's profile wants a Patient):
    # its subject is not a Patient, so it is the `subject` parameter's own row.
    bed = str(uuid.uuid4())
    with context.uow.write() as tx:
        tx.resources.create(
            factories.heart_rate("x", 70, subject={"reference": "Location/bed-7"}),
            resource_id=bed,
            now=1,
        )
    return {
        "patient": patient,
        "other": other,
        "mine": mine.json()["id"],
        "theirs": theirs.json()["id"],
        "bed": bed,
    }


@pytest.mark.parametrize(
    "query",
    [
        "subject=Patient/{patient}",
        "subject={patient}",
        "subject:Patient={patient}",
        "patient={patient}",
    ],
)
def test_subject_and_patient_find_the_patients_observation(
    client: TestClient, record: dict[str, str], query: str
) -> None:
    found = client.get(f"/fhir/Observation?{query.format(**record)}")
    assert found.status_code == 200
    assert _ids(found.json()) == {record["mine"]}


def test_subject_finds_what_is_not_a_patient_and_patient_does_not(
    client: TestClient, record: dict[str, str]
) -> None:
    assert _ids(client.get("/fhir/Observation?subject=Location/bed-7").json()) == {record["bed"]}
    assert _ids(client.get("/fhir/Observation?patient=bed-7").json()) == set()
    several = client.get(
        "/fhir/Observation?subject=Location/bed-7,Patient/{patient}".format(**record)
    )
    assert _ids(several.json()) == {record["bed"], record["mine"]}
    missing = client.get("/fhir/Observation?subject:missing=false&_count=50").json()
    assert {record["mine"], record["theirs"], record["bed"]} <= _ids(missing)
    assert _ids(client.get("/fhir/Observation?subject:missing=true").json()) == set()


def test_include_subject_brings_the_patient(client: TestClient, record: dict[str, str]) -> None:
    found = client.get(
        "/fhir/Observation?_id={mine},{bed}&_include=Observation:subject".format(**record)
    ).json()
    assert _ids(found, "Observation") == {record["mine"], record["bed"]}
    assert _ids(found, "Patient") == {record["patient"]}


def test_provenance_target_and_revinclude_find_the_patients_provenance(
    client: TestClient, record: dict[str, str]
) -> None:
    by_target = client.get("/fhir/Provenance?target=Patient/{patient}".format(**record)).json()
    by_patient = client.get("/fhir/Provenance?patient=Patient/{patient}".format(**record)).json()
    assert _ids(by_target)
    assert _ids(by_target) == _ids(by_patient)
    revincluded = client.get(
        "/fhir/Patient?_id={patient}&_revinclude=Provenance:target".format(**record)
    ).json()
    assert _ids(revincluded, "Provenance") == _ids(by_target)
    # The other patient's Provenance is theirs alone.
    theirs = client.get("/fhir/Provenance?target=Patient/{other}".format(**record)).json()
    assert _ids(theirs)
    assert not _ids(theirs) & _ids(by_target)
