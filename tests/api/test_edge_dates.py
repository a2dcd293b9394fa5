"""Dates at the ends of FHIR's range (0001-01-01, 9999-12-31, with offsets up to +-14:00) are
stored, searched and shown like any other: no page that computes from a date fails on them.

FHIR R4 2.24.0.8 (date, dateTime) allows years 0001-9999 and offsets to +14:00/-12:00 (and the
regex allows any hh:mm), so "9999-12-31T23:59:59-12:00" is a valid dateTime whose instant is in
the year 10000 UTC, beyond what Python's datetime holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.api.test_ward_due_list import NOW, _location, _news2_due
from tests.catalog.test_template_examples import EXAMPLES
from tests.conftest import auth_headers
from tests.services.test_assessment_resources_are_valid import _response
from tests.services.test_assessments import news2_response
from wardcare.api.app import create_app
from wardcare.domain.clock import FixedClock
from wardcare.services.context import AppContext


@pytest.fixture
def context(context: AppContext) -> AppContext:
    """A store that already holds far-future records (stored before readings dated in the
    future were refused, or where a trust set `future_tolerance_minutes` wide): every page
    must still answer. tests/api/test_future_dates.py holds the refusal itself (hazard API1)."""
    wide = context.settings.model_copy(update={"future_tolerance_minutes": 10**10})
    return dataclasses.replace(context, settings=wide)


@pytest.fixture
def ward_client(context: AppContext) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(context, clock=FixedClock(NOW)))
    with TestClient(app, headers=auth_headers(context)) as client:
        yield client


@pytest.fixture
def patient(client: TestClient) -> str:
    response = client.post("/fhir/Patient", json=factories.patient())
    assert response.status_code == 201
    return str(response.json()["id"])


EDGE_DATES = [
    "9999-12-31",
    "9999",
    "9999-12",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01",
    "0001",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-12:00",
]


def _well_news2(patient_id: str, authored: str) -> dict[str, Any]:
    """A NEWS2 of 0: the next set is due 12 hours after it (a schedule is computed)."""
    well = news2_response(
        patient_id,
        respiration_rate={"valueInteger": 16},
        spo2={"valueInteger": 97},
        systolic_bp={"valueInteger": 128},
        pulse={"valueInteger": 72},
        temperature={"valueDecimal": 36.8},
    )
    well["authored"] = authored
    return well


def _admit(client: TestClient, bed: str, ward: str, start: str, birth_date: str) -> str:
    patient = client.post("/fhir/Patient", json=factories.patient(birthDate=birth_date))
    assert patient.status_code == 201, patient.text
    patient_id = str(patient.json()["id"])
    encounter = client.post(
        "/fhir/Encounter",
        json={
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": start},
            "location": [
                {"location": {"reference": ward}, "status": "active"},
                {"location": {"reference": bed}, "status": "active"},
            ],
        },
    )
    assert encounter.status_code == 201, encounter.text
    return patient_id


def _ward(client: TestClient) -> tuple[str, str]:
    ward = _location(client, "WARD5", "wa", None)
    bay = _location(client, "WARD5/BAY1", "ro", ward)
    bed = _location(client, "WARD5/BAY1/BED1", "bd", bay)
    _location(client, "WARD5/BAY1/BED2", "bd", bay)
    return ward, bed


def _every_page_answers(client: TestClient, patient_id: str) -> None:
    for path in (
        f"/patients/{patient_id}/due",
        f"/patients/{patient_id}/care-summary",
        f"/ui/patients/{patient_id}",
        f"/fhir/Patient/{patient_id}/$handover",
        "/wards/WARD5/due",
        "/wards/WARD5",
        "/ui/wards/WARD5",
        "/ui/wards/WARD5/board",
        "/wards/WARD5/handover.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])


@pytest.mark.parametrize("when", EDGE_DATES)
def test_edge_dates_are_stored_and_every_page_that_computes_from_them_answers(
    ward_client: TestClient, when: str
) -> None:
    ward, bed = _ward(ward_client)
    patient_id = _admit(ward_client, bed, ward, start=when, birth_date=when[:10])
    reading = ward_client.post(
        "/fhir/Observation", json=factories.heart_rate(patient_id, when=when)
    )
    assert reading.status_code == 201, reading.text
    recorded = ward_client.post("/fhir/QuestionnaireResponse", json=_well_news2(patient_id, when))
    assert recorded.status_code == 201, recorded.text
    _every_page_answers(ward_client, patient_id)


def test_a_weekly_assessment_dated_9999_12_31_is_not_due_rather_than_failing(
    ward_client: TestClient,
) -> None:
    # A week after the last day of the calendar is no date at all (domain/schedule.add_interval
    # overflowed): the nurse sees the assessment as not due, with no next time. Such a date is
    # now refused when recorded (hazard API1); one already on record must not break the page.
    ward, bed = _ward(ward_client)
    patient_id = _admit(ward_client, bed, ward, start=NOW.isoformat(), birth_date="1950-01-01")
    loaded, example = next(
        (t, e)
        for t, e in EXAMPLES
        if t.template.id == "pressure-ulcer-risk" and not e.expect.missing
    )
    weekly = _response(loaded, example, f"Patient/{patient_id}", 0)
    weekly["authored"] = "9999-12-31T23:59:59-12:00"
    recorded = ward_client.post("/fhir/QuestionnaireResponse", json=weekly)
    assert recorded.status_code == 201, recorded.text
    for path in (f"/patients/{patient_id}/due", "/wards/WARD5/due"):
        response = ward_client.get(path)
        assert response.status_code == 200, response.text
    due = ward_client.get(f"/patients/{patient_id}/due").json()["due"]
    weekly_due = next(d for d in due if d.get("assessment") == "pressure-ulcer-risk")
    assert weekly_due["state"] == "not-due"
    assert weekly_due["dueAt"] is None
    _every_page_answers(ward_client, patient_id)


def test_a_news2_dated_0001_01_01_is_overdue(ward_client: TestClient) -> None:
    ward, bed = _ward(ward_client)
    patient_id = _admit(ward_client, bed, ward, start=NOW.isoformat(), birth_date="1950-01-01")
    well = _well_news2(patient_id, "0001-01-01T00:00:00+14:00")
    assert ward_client.post("/fhir/QuestionnaireResponse", json=well).status_code == 201
    due = _news2_due(ward_client)
    assert due["state"] == "overdue"
    assert due["overdueMinutes"] > 2000 * 365 * 24 * 60


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("9999-12-31", True),
        ("ge9999-12-31", True),
        ("gt9999-12-30", True),
        ("sa9999-12-30", True),
        ("9999", True),
        ("eb9999-12-31", False),
        ("0001-01-01", False),
        ("le0001-01-01", False),
        ("ge9999-12-31T23:59:59+14:00", True),
        ("ap9999-12-31T12:00:00Z", True),
        ("gt9999-12-31T23:59:59-12:00", False),
        ("lt0001-01-01T00:00:00+14:00", False),
    ],
)
def test_date_searches_at_the_ends_of_the_calendar(
    client: TestClient, patient: str, value: str, found: bool
) -> None:
    patient_id = patient
    created = client.post(
        "/fhir/Observation", json=factories.heart_rate(patient_id, when="9999-12-31T12:00:00Z")
    )
    assert created.status_code == 201, created.text
    bundle = client.get("/fhir/Observation", params={"patient": patient_id, "date": value})
    assert bundle.status_code == 200, bundle.text
    assert bundle.json()["total"] == (1 if found else 0)


@pytest.mark.parametrize(
    "value",
    ["9999-12-31", "ge9999-12-31", "9999-12-31T23:59:59+14:00", "le0001-01-01", "0001", "9999"],
)
def test_last_updated_and_birthdate_at_the_ends_of_the_calendar(
    client: TestClient, value: str
) -> None:
    born = client.post("/fhir/Patient", json=factories.patient(birthDate="9999-12-31"))
    assert born.status_code == 201, born.text
    for params in ({"_lastUpdated": value}, {"birthdate": value}):
        response = client.get("/fhir/Patient", params=params)
        assert response.status_code == 200, (params, response.text)
    assert client.get("/fhir/Patient", params={"birthdate": "9999-12-31"}).json()["total"] == 1
    assert client.get("/fhir/Patient", params={"_lastUpdated": "ge9999"}).json()["total"] == 0


@pytest.mark.parametrize("since", ["9999-12-31", "9999-12-31T23:59:59+14:00", "0001-01-01", "9999"])
def test_history_since_the_ends_of_the_calendar(client: TestClient, since: str) -> None:
    assert client.post("/fhir/Patient", json=factories.patient()).status_code == 201
    for path in ("/fhir/_history", "/fhir/Patient/_history"):
        response = client.get(path, params={"_since": since})
        assert response.status_code == 200, response.text
        total = response.json()["total"]
        assert total == 0 if since.startswith("9999") else total >= 1


def test_a_history_since_with_a_search_prefix_is_a_400_naming_since(client: TestClient) -> None:
    response = client.get("/fhir/_history", params={"_since": "ge9999-12-31"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["_since"]
