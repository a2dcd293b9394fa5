"""GET /wards/{ward}/due: what is due or overdue per bed, with a clock the test controls."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.conftest import auth_headers
from tests.services.test_assessments import news2_response
from wardcare.api.app import create_app
from wardcare.domain.clock import FixedClock
from wardcare.services.context import AppContext

CODES = "http://wardcare.org/fhir/Id/location-code"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ward_client(context: AppContext, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(context, clock=clock))
    with TestClient(app, headers=auth_headers(context)) as client:
        yield client


def _location(client: TestClient, code: str, kind: str, part_of: str | None) -> str:
    body: dict[str, Any] = {
        "resourceType": "Location",
        "status": "active",
        "name": code,
        "mode": "instance",
        "identifier": [{"system": CODES, "value": code}],
        "physicalType": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                    "code": kind,
                }
            ]
        },
    }
    if part_of:
        body["partOf"] = {"reference": part_of}
    return f"Location/{client.post('/fhir/Location', json=body).json()['id']}"


@pytest.fixture
def admitted(ward_client: TestClient) -> str:
    ward = _location(ward_client, "WARD5", "wa", None)
    bay = _location(ward_client, "WARD5/BAY1", "ro", ward)
    bed = _location(ward_client, "WARD5/BAY1/BED1", "bd", bay)
    _location(ward_client, "WARD5/BAY1/BED2", "bd", bay)
    patient_id = ward_client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    admitted_at = (NOW - timedelta(hours=2)).isoformat()
    ward_client.post(
        "/fhir/Encounter",
        json={
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": admitted_at},
            "location": [
                {"location": {"reference": ward}, "status": "active"},
                {"location": {"reference": bed}, "status": "active"},
            ],
        },
    )
    return str(patient_id)


def _news2_due(client: TestClient) -> dict[str, Any]:
    body = client.get("/wards/WARD5/due").json()
    first = body["beds"][0]
    assert body["beds"][1]["patient"] is None  # the empty bed is listed, with nothing due
    return next(d for d in first["due"] if d["assessment"] == "news2")


def test_news2_never_recorded_is_overdue_an_hour_after_admission(
    ward_client: TestClient, admitted: str
) -> None:
    due = _news2_due(ward_client)
    assert due["state"] == "overdue"
    assert due["overdueMinutes"] == 60
    assert due["last"] is None


def test_a_score_of_0_makes_obs_due_in_12_hours(
    ward_client: TestClient, admitted: str, clock: FixedClock
) -> None:
    well = news2_response(
        admitted,
        respiration_rate={"valueInteger": 16},
        spo2={"valueInteger": 97},
        systolic_bp={"valueInteger": 128},
        pulse={"valueInteger": 72},
        temperature={"valueDecimal": 36.8},
    )
    well["authored"] = NOW.isoformat()
    assert ward_client.post("/fhir/QuestionnaireResponse", json=well).status_code == 201
    due = _news2_due(ward_client)
    assert due["state"] == "not-due"
    assert due["dueAt"]["utc"] == (NOW + timedelta(hours=12)).isoformat()
    assert due["last"]["total"] == 0
    clock.advance(timedelta(hours=12, minutes=10))
    assert _news2_due(ward_client)["overdueMinutes"] == 10


def test_a_single_3_makes_obs_hourly(ward_client: TestClient, admitted: str) -> None:
    confused = news2_response(
        admitted,
        respiration_rate={"valueInteger": 16},
        spo2={"valueInteger": 97},
        systolic_bp={"valueInteger": 128},
        pulse={"valueInteger": 72},
        temperature={"valueDecimal": 36.8},
        consciousness={
            "valueCoding": {"system": "http://wardcare.org/fhir/CodeSystem/acvpu", "code": "C"}
        },
    )
    confused["authored"] = NOW.isoformat()
    ward_client.post("/fhir/QuestionnaireResponse", json=confused)
    due = _news2_due(ward_client)
    assert due["last"]["band"] == "low-medium"
    assert due["dueAt"]["utc"] == (NOW + timedelta(hours=1)).isoformat()


def test_a_high_score_means_continuous_monitoring(ward_client: TestClient, admitted: str) -> None:
    sick = news2_response(admitted)
    sick["authored"] = NOW.isoformat()
    ward_client.post("/fhir/QuestionnaireResponse", json=sick)
    assert _news2_due(ward_client)["state"] == "continuous"


def test_an_incomplete_newer_set_is_flagged_not_scored(
    ward_client: TestClient, admitted: str
) -> None:
    readings = factories.vital_signs(
        admitted,
        when=NOW - timedelta(minutes=5),
        rr=18,
        spo2=96,
        o2_flow=0,
        sbp=120,
        dbp=70,
        pulse=80,
        acvpu="A",
    )
    for observation in readings:  # no temperature
        assert ward_client.post("/fhir/Observation", json=observation).status_code == 201
    due = _news2_due(ward_client)
    assert due["last"] is None
    assert "Incomplete set" in due["note"]
    assert "temperature" in due["note"]


def _record(client: TestClient, patient: str, at: datetime, **answers: Any) -> dict[str, Any]:
    response = news2_response(patient, **answers)
    response["authored"] = at.isoformat()
    stored = client.post("/fhir/QuestionnaireResponse", json=response)
    assert stored.status_code == 201
    return dict(stored.json())


def test_a_score_of_1_to_4_makes_obs_due_in_4_hours(ward_client: TestClient, admitted: str) -> None:
    _record(  # pulse 95 and 38.4 C score 1 each: total 2, no single 3
        ward_client,
        admitted,
        NOW,
        respiration_rate={"valueInteger": 16},
        spo2={"valueInteger": 97},
        systolic_bp={"valueInteger": 128},
        pulse={"valueInteger": 95},
    )
    due = _news2_due(ward_client)
    assert (due["last"]["total"], due["last"]["band"]) == (2, "low")
    assert due["dueAt"]["utc"] == (NOW + timedelta(hours=4)).isoformat()


def test_a_score_of_5_or_6_makes_obs_hourly(ward_client: TestClient, admitted: str) -> None:
    _record(ward_client, admitted, NOW, pulse={"valueInteger": 72})  # 2+1+1+0+1 = 5
    due = _news2_due(ward_client)
    assert (due["last"]["total"], due["last"]["band"]) == (5, "medium")
    assert due["dueAt"]["utc"] == (NOW + timedelta(hours=1)).isoformat()


def test_a_high_score_is_overdue_when_no_new_set_follows_within_30_minutes(
    ward_client: TestClient, admitted: str, clock: FixedClock
) -> None:
    _record(ward_client, admitted, NOW)  # 7: continuous monitoring (RCP chart 2)
    clock.advance(timedelta(minutes=30))
    due = _news2_due(ward_client)
    assert due["state"] == "continuous"
    assert due["dueAt"]["utc"] == (NOW + timedelta(minutes=30)).isoformat()
    clock.advance(timedelta(minutes=5))
    due = _news2_due(ward_client)
    assert due["state"] == "overdue"
    assert due["overdueMinutes"] == 5


def test_the_high_score_minutes_come_from_the_setting(
    context: AppContext, admitted: str, ward_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDCARE_NEWS2_HIGH_SCORE_MINUTES", "15")
    minutes = type(context.settings)().news2_high_score_minutes
    assert minutes == 15
    settings = context.settings.model_copy(update={"news2_high_score_minutes": minutes})
    _record(ward_client, admitted, NOW)
    later = FixedClock(NOW + timedelta(minutes=20))
    app = create_app(dataclasses.replace(context, clock=later, settings=settings))
    with TestClient(app, headers=auth_headers(context)) as client:
        due = _news2_due(client)
    assert (due["state"], due["overdueMinutes"]) == ("overdue", 5)


def test_an_assessment_entered_in_error_never_counts_as_the_last_score(
    ward_client: TestClient, admitted: str
) -> None:
    _record(  # an hour ago: 0
        ward_client,
        admitted,
        NOW - timedelta(hours=1),
        respiration_rate={"valueInteger": 16},
        spo2={"valueInteger": 97},
        systolic_bp={"valueInteger": 128},
        pulse={"valueInteger": 72},
        temperature={"valueDecimal": 36.8},
    )
    mistaken = _record(ward_client, admitted, NOW)  # 7, recorded against the wrong patient
    withdrawn = {k: v for k, v in mistaken.items() if k != "meta"} | {"status": "entered-in-error"}
    put = ward_client.put(f"/fhir/QuestionnaireResponse/{mistaken['id']}", json=withdrawn)
    assert put.status_code == 200
    due = _news2_due(ward_client)
    assert due["last"]["total"] == 0  # not the withdrawn 7, and not "continuous"
    assert due["dueAt"]["utc"] == (NOW + timedelta(hours=11)).isoformat()


def test_a_score_marked_entered_in_error_itself_never_counts_as_the_last(
    ward_client: TestClient, admitted: str
) -> None:
    _record(ward_client, admitted, NOW - timedelta(minutes=90), pulse={"valueInteger": 72})
    _record(ward_client, admitted, NOW)
    scores = ward_client.get(
        "/fhir/Observation",
        params={"patient": admitted, "code": "http://snomed.info/sct|1104051000000101"},
    ).json()["entry"]
    (high,) = [e["resource"] for e in scores if e["resource"]["valueInteger"] == 7]
    withdrawn = {k: v for k, v in high.items() if k != "meta"} | {"status": "entered-in-error"}
    assert ward_client.put(f"/fhir/Observation/{high['id']}", json=withdrawn).status_code == 200
    due = _news2_due(ward_client)
    assert due["last"]["total"] == 5
    assert due["state"] == "overdue"  # hourly after a 5, 90 minutes ago
    assert due["overdueMinutes"] == 30
