"""NHS numbers through the API: ten digits passing Modulus 11 (NHS Data Dictionary, "NHS
Number"), or a 422 naming `Patient.identifier[i].value`, on every path that writes a Patient.

Spaces and hyphens between the digits are accepted (`domain/nhs_number.normalise`: people type
"943 476 5919"), and such a number is the same number to search and If-None-Exist.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories

NHS = "https://fhir.nhs.uk/Id/nhs-number"
MRN = "http://wardcare.org/fhir/Id/mrn"


def _patient(value: Any, *, at: int = 1) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [{"system": MRN, "value": "RX1234"}]
    identifiers.insert(at, {"system": NHS, "value": value})
    return factories.patient(identifier=identifiers)


@pytest.mark.parametrize(
    "value",
    [
        "94347659190",  # 11 digits
        "943476591",  # 9 digits
        "9434765918",  # fails Modulus 11
        "94347659x9",  # a letter
        "".join(chr(0x0660 + int(d)) for d in "9434765919"),  # Arabic-Indic: isdigit() is True
        "".join(chr(0xFF10 + int(d)) for d in "9434765919"),  # full-width digits
        "943\t476\t5919",  # tabs are not the spaces people type
        "1000000010",  # nine digits whose check digit would be 10: never issued
        "+943476591",
    ],
)
def test_an_invalid_nhs_number_is_a_422_naming_its_identifier(
    client: TestClient, value: str
) -> None:
    response = client.post("/fhir/Patient", json=_patient(value))
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier[1].value"]
    assert "NHS number" in issue["diagnostics"]


def test_an_nhs_number_that_is_not_a_string_is_a_400_naming_it(client: TestClient) -> None:
    response = client.post("/fhir/Patient", json=_patient(9434765919, at=0))
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == ["Patient.identifier[0].value"]


def test_update_and_transaction_check_the_nhs_number_too(client: TestClient) -> None:
    bad = {**_patient("94347659190"), "id": "p-bad"}
    updated = client.put("/fhir/Patient/p-bad", json=bad)
    assert updated.status_code == 422, updated.text
    assert updated.json()["issue"][0]["expression"] == ["Patient.identifier[1].value"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": _patient("94347659190"), "request": {"method": "POST", "url": "Patient"}}
        ],
    }
    transaction = client.post("/fhir", json=bundle)
    assert transaction.status_code == 422, transaction.text
    expressions = [e for i in transaction.json()["issue"] for e in i.get("expression", [])]
    assert any(e.endswith("identifier[1].value") for e in expressions), expressions


@pytest.mark.parametrize("written", ["943 476 5919", "943-476-5919", "9434765919"])
@pytest.mark.parametrize("searched", ["943 476 5919", "9434765919"])
def test_an_nhs_number_typed_with_spaces_is_found_by_its_digits(
    client: TestClient, written: str, searched: str
) -> None:
    created = client.post("/fhir/Patient", json=_patient(written))
    assert created.status_code == 201, created.text
    found = client.get("/fhir/Patient", params={"identifier": f"{NHS}|{searched}"}).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [created.json()["id"]]


def test_if_none_exist_by_nhs_number_finds_the_patient_typed_with_spaces(
    client: TestClient,
) -> None:
    # Otherwise a second registration by the digits alone makes a second record (hazard H11).
    first = client.post("/fhir/Patient", json=_patient("943 476 5919"))
    assert first.status_code == 201
    again = client.post(
        "/fhir/Patient",
        json=_patient("9434765919"),
        headers={"If-None-Exist": f"identifier={NHS}|9434765919"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
