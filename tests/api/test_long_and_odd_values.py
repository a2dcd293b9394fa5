"""Values longer than the index columns (255 characters; ids 64) and other odd values a client
may send: stored and found, or refused with a 4xx naming the element, never a database error.

The index tables hold 255 characters a value (storage/tables.py); PostgreSQL refuses a longer
varchar (StringDataRightTruncation, a 500) where SQLite silently stores it, so these tests mean
most on PostgreSQL (WARDCARE_TEST_DATABASE_URL).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories

LONG = "é" * 299 + "z"  # 300 characters, 600 bytes in UTF-8


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_a_300_character_identifier_is_stored_and_found_by_its_whole_value(
    client: TestClient,
) -> None:
    system = "http://example.org/" + LONG
    created = client.post(
        "/fhir/Patient",
        json=factories.patient(identifier=[{"system": system, "value": LONG}]),
    )
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    for value in (f"{system}|{LONG}", LONG):
        found = client.get("/fhir/Patient", params={"identifier": value})
        assert found.status_code == 200, found.text
        assert _ids(found.json()) == [patient_id], value


def test_if_none_exist_by_a_300_character_identifier_finds_the_patient(
    client: TestClient,
) -> None:
    long_ascii = "x" * 300  # If-None-Exist is limited to 400 characters as sent
    patient = factories.patient(
        identifier=[{"system": "http://example.org/id", "value": long_ascii}]
    )
    first = client.post("/fhir/Patient", json=patient)
    assert first.status_code == 201, first.text
    again = client.post(
        "/fhir/Patient", json=patient, headers={"If-None-Exist": f"identifier={long_ascii}"}
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]


def test_a_300_character_name_is_stored_and_found_exactly_and_by_prefix(
    client: TestClient,
) -> None:
    created = client.post("/fhir/Patient", json=factories.patient(name=[{"family": LONG}]))
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    for params in (
        {"name:exact": LONG},
        {"name": LONG},
        {"family": LONG[:10]},
        {"name": LONG.upper()},
    ):
        found = client.get("/fhir/Patient", params=params)
        assert found.status_code == 200, found.text
        assert _ids(found.json()) == [patient_id], params


def test_a_long_reference_url_is_stored_and_searchable(client: TestClient) -> None:
    patient_id = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    url = "http://example.org/fhir/" + "q" * 300
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "questionnaire": url,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    created = client.post("/fhir/QuestionnaireResponse", json=response)
    assert created.status_code < 500, created.text
    found = client.get("/fhir/QuestionnaireResponse", params={"questionnaire": url})
    assert found.status_code == 200, found.text


@pytest.mark.parametrize("length", [65, 300])
def test_an_id_longer_than_fhir_allows_is_a_400_on_every_write(
    client: TestClient, length: int
) -> None:
    # FHIR R4 2.24.0.1: an id is 1-64 characters of [A-Za-z0-9-.]. A transaction's PUT reached
    # the database with it: varchar(64) on PostgreSQL, a 500.
    long_id = "p" * length
    patient = {**factories.patient(), "id": long_id}
    put = client.put(f"/fhir/Patient/{long_id}", json=patient)
    assert put.status_code == 400, put.text
    for kind in ("transaction", "batch"):
        bundle = {
            "resourceType": "Bundle",
            "type": kind,
            "entry": [
                {"resource": patient, "request": {"method": "PUT", "url": f"Patient/{long_id}"}}
            ],
        }
        response = client.post("/fhir", json=bundle)
        assert response.status_code < 500, response.text
        if kind == "transaction":
            assert response.status_code == 400, response.text
            assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.id"]
        else:
            assert response.json()["entry"][0]["response"]["status"] == "400"
    assert client.get("/fhir/Patient", params={"_id": long_id}).json()["total"] == 0


@pytest.mark.parametrize("missing", ["true", "false"])
def test_last_updated_missing_is_answered(client: TestClient, missing: str) -> None:
    # Every resource has a lastUpdated: :missing=true finds none, false finds them all.
    client.post("/fhir/Patient", json=factories.patient())
    response = client.get("/fhir/Patient", params={"_lastUpdated:missing": missing})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == (0 if missing == "true" else 1)


@pytest.mark.parametrize("value", ["\u00b2", "\u0661", "\u0663\u0664", "\u2075"])
def test_counts_and_versions_in_other_scripts_digits_are_refused(
    client: TestClient, value: str
) -> None:
    # str.isdigit() is True for superscript two and Arabic-Indic digits; int() refuses some of
    # them (a 500). Paging parameters and version ids are ASCII digits.
    patient_id = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    for path, params in (
        ("/fhir/Patient", {"_count": value}),
        ("/fhir/Patient", {"_offset": value}),
        ("/fhir/_history", {"_count": value}),
        (f"/fhir/Patient/{patient_id}/_history", {"_offset": value}),
    ):
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["issue"][0]["expression"] == [next(iter(params))]
    vread = client.get(f"/fhir/Patient/{patient_id}/_history/{value}")
    assert vread.status_code == 404, vread.text
