"""The handover sheet and patient handover over HTTP: real PDFs read back with poppler."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.handover.pdf_pages import page_count, page_texts, render_pngs, squash
from wardcare.api.app import create_app
from wardcare.domain.clock import FixedClock
from wardcare.services.context import AppContext

CODES = "http://wardcare.org/fhir/Id/location-code"
NOW = datetime(2026, 12, 1, 18, 50, tzinfo=UTC)
SBAR = {
    "situation": "Day 2 pneumonia, NEWS2 rose to 8 this afternoon",
    "background": "COPD on home oxygen 2 L; lives alone",
    "assessment": "Tachypnoeic, more confused than this morning",
    "recommendation": "Hourly obs; chase blood gas; outreach reviewing at 20:00",
}


@pytest.fixture(name="clock")
def clock_fixture() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(name="ward_client")
def ward_client_fixture(context: AppContext, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(dataclasses.replace(context, clock=clock))) as client:
        yield client


def _location(client: TestClient, code: str, name: str, kind: str, part_of: str | None) -> str:
    body: dict[str, Any] = {
        "resourceType": "Location",
        "status": "active",
        "name": name,
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
    response = client.post("/fhir/Location", json=body)
    assert response.status_code == 201, response.text
    return f"Location/{response.json()['id']}"


def _admit(client: TestClient, ward: str, bed: str, **patient: Any) -> dict[str, Any]:
    created = client.post("/fhir/Patient", json=factories.patient(**patient)).json()
    encounter = client.post(
        "/fhir/Encounter",
        json={
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{created['id']}"},
            "period": {"start": (NOW - timedelta(days=2, hours=3)).isoformat()},
            "reasonCode": [{"text": "Community-acquired pneumonia"}],
            "location": [
                {"location": {"reference": ward}, "status": "active"},
                {"location": {"reference": bed}, "status": "active"},
            ],
        },
    )
    assert encounter.status_code == 201, encounter.text
    return dict(created)


@pytest.fixture(name="ward")
def ward_fixture(ward_client: TestClient) -> dict[str, Any]:
    """WARD5: Bay 1 beds 1, 2 and 10 (bed 10 after bed 2, not before), one bed empty."""
    client = ward_client
    ward = _location(client, "WARD5", "Ward 5 (Respiratory)", "wa", None)
    bay = _location(client, "WARD5/BAY1", "Bay 1", "ro", ward)
    bed10 = _location(client, "WARD5/BAY1/BED10", "Bay 1 Bed 10", "bd", bay)
    bed1 = _location(client, "WARD5/BAY1/BED1", "Bay 1 Bed 1", "bd", bay)
    _location(client, "WARD5/BAY1/BED2", "Bay 1 Bed 2", "bd", bay)
    unwell = _admit(client, ward, bed10)
    quiet = _admit(client, ward, bed1)
    # A full set scoring RR 26 (3) SpO2 91 (3) O2 (2) BP 105 (1) pulse 112 (2) A (0) 38.5 (1) = 12.
    for resource in factories.vital_signs(
        unwell["id"],
        when=NOW - timedelta(minutes=20),
        rr=26,
        spo2=91,
        o2_flow=2,
        sbp=105,
        dbp=60,
        pulse=112,
        acvpu="A",
        temp=38.5,
    ):
        assert client.post("/fhir/Observation", json=resource).status_code == 201
    allergy = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "criticality": "high",
        "code": {"text": "Penicillin"},
        "reaction": [{"manifestation": [{"text": "Anaphylaxis"}]}],
        "patient": {"reference": f"Patient/{unwell['id']}"},
    }
    assert client.post("/fhir/AllergyIntolerance", json=allergy).status_code == 201
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": "Deteriorating patient",
        "subject": {"reference": f"Patient/{unwell['id']}"},
        "activity": [
            {
                "detail": {
                    "status": "scheduled",
                    "description": "Repeat blood gas",
                    "scheduledPeriod": {"end": (NOW - timedelta(hours=1)).isoformat()},
                }
            }
        ],
    }
    assert client.post("/fhir/CarePlan", json=plan).status_code == 201
    return {"unwell": unwell, "quiet": quiet}


def _name(patient: dict[str, Any]) -> str:
    name = patient["name"][0]
    return f"{name['family'].upper()}, {' '.join(name['given'])}"


def _nhs(patient: dict[str, Any]) -> str:
    digits = next(i["value"] for i in patient["identifier"] if "nhs-number" in i["system"])
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def test_ward_sheet_prints_every_bed_in_bed_order_with_the_record(
    ward_client: TestClient, ward: dict[str, Any], tmp_path: Path
) -> None:
    unwell, quiet = ward["unwell"], ward["quiet"]
    note = ward_client.post(f"/patients/{unwell['id']}/handover-notes", json=SBAR)
    assert note.status_code == 201, note.text

    response = ward_client.get("/wards/WARD5/handover.pdf", params={"shift": "Night 01 Dec"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    pages = page_texts(pdf, tmp_path)
    assert len(pages) == page_count(pdf, tmp_path) >= 1
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "CONFIDENTIAL" in page
        assert "Ward 5 (Respiratory) (WARD5), 01 Dec 2026" in page
    text = squash(" ".join(pages))
    assert "Printed by: Unauthenticated developer" in text
    assert "Data as read: Tue 01 Dec 2026 18:50 GMT" in text
    assert "Night 01 Dec" in text
    # Bed order: bed 1, bed 2 (empty), bed 10.
    bed1, empty, bed10 = text.index("Bed 1 "), text.index("Empty bed"), text.index("Bed 10")
    assert bed1 < empty < bed10
    assert text.index(_name(quiet)) < text.index(_name(unwell))
    # The unwell patient: NHS number 3-3-4, score and band in words, allergy, flags, note.
    assert _nhs(unwell) in text
    assert "12 HIGH" in text
    assert "Penicillin (Anaphylaxis) HIGH CRITICALITY" in text
    assert "STAT escalation" in text
    assert "Deteriorating patient" in text
    assert "Repeat blood gas: overdue by 1 h 00 min" in text
    assert "Falls: none recorded" in text
    assert SBAR["recommendation"] in text
    assert "not yet acknowledged" in text
    assert "Community-acquired pneumonia" in text
    assert "2 days since admission" in text
    # The quiet patient has no obs: none recorded, never a zero score. (Text comes out in the
    # order it was drawn, so row checks count what only one row can print.)
    assert text.count("NEWS2: none recorded") == 1
    assert text.count("No score in 24 h") == 1
    assert "0 LOW" not in text
    assert text.count("12 HIGH") == 1
    assert text.count("NEWS2 OVERDUE") == 1
    assert text.count("NEWS2: CONTINUOUS monitoring") == 1
    pngs = render_pngs(pdf, tmp_path)
    assert len(pngs) == len(pages)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_every_print_is_kept_with_the_versions_it_showed(
    ward_client: TestClient, ward: dict[str, Any]
) -> None:
    unwell = ward["unwell"]
    response = ward_client.get("/wards/WARD5/handover.pdf")
    location = response.headers["content-location"]
    document = ward_client.get("/fhir" + location.split("/fhir", 1)[1]).json()
    assert document["resourceType"] == "DocumentReference"
    assert document["type"]["coding"][0]["code"] == "ward-handover-sheet"
    assert document["author"][0]["display"].startswith("Unauthenticated developer")
    assert document["context"]["period"]["start"] == "2026-12-01T18:50:00.000000Z"
    related = [r["reference"] for r in document["context"]["related"]]
    assert f"Patient/{unwell['id']}/_history/1" in related
    assert any(r.startswith("Observation/") and "/_history/" in r for r in related)
    assert any(r.startswith("AllergyIntolerance/") for r in related)
    assert related[0].startswith("Location/")
    # The PDF kept is the PDF printed.
    attachment = document["content"][0]["attachment"]
    binary = ward_client.get(f"/fhir/{attachment['url']}").json()
    assert base64.b64decode(binary["data"]) == response.content
    assert attachment["size"] == len(response.content)
    # Found again by the patients it showed.
    found = ward_client.get(
        "/fhir/DocumentReference", params={"related": f"Patient/{unwell['id']}"}
    )
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [document["id"]]


def test_patient_handover_is_sbar_with_a_72_hour_chart_and_is_kept(
    ward_client: TestClient, ward: dict[str, Any], tmp_path: Path
) -> None:
    unwell = ward["unwell"]
    response = ward_client.get(f"/fhir/Patient/{unwell['id']}/$handover")
    assert response.status_code == 200, response.text
    pages = page_texts(response.content, tmp_path)
    text = squash(" ".join(pages))
    for heading in ("S: Situation", "B: Background", "A: Assessment", "R: Recommendation"):
        assert heading in text
    assert _nhs(unwell) in text
    assert "12 HIGH" in text
    assert "NEWS2 chart: last 72 hours (SpO2 scale 1; 1 observation sets)" in text
    assert "Respirations /min" in text
    assert "NEWS2 total" in text
    assert "Royal College of Physicians" in text
    assert "Allergies: Penicillin" in text
    assert f"Page 1 of {len(pages)}" in pages[0]
    documents = ward_client.get("/fhir/DocumentReference", params={"patient": unwell["id"]})
    entries = documents.json()["entry"]
    assert len(entries) == 1
    assert entries[0]["resource"]["type"]["coding"][0]["code"] == "patient-handover"


def test_capability_statement_declares_the_operation_and_notes(ward_client: TestClient) -> None:
    resources = {
        r["type"]: r for r in ward_client.get("/fhir/metadata").json()["rest"][0]["resource"]
    }
    assert [o["name"] for o in resources["Patient"]["operation"]] == ["handover"]
    communication = {p["name"] for p in resources["Communication"]["searchParam"]}
    assert {"patient", "category", "status", "sent", "received", "recipient"} <= communication
    assert "related" in {p["name"] for p in resources["DocumentReference"]["searchParam"]}


def test_patient_handover_without_obs_says_none_recorded(
    ward_client: TestClient, ward: dict[str, Any], tmp_path: Path
) -> None:
    quiet = ward["quiet"]
    response = ward_client.get(f"/fhir/Patient/{quiet['id']}/$handover")
    assert response.status_code == 200
    text = squash(" ".join(page_texts(response.content, tmp_path)))
    assert "Observations: none recorded in the last 72 hours" in text
    assert "NEWS2: none recorded" in text
    assert "0 LOW" not in text
    assert "No handover note recorded" in text
    assert "Allergies: none recorded" in text


def test_unknown_ward_is_404_and_unknown_patient_is_404(ward_client: TestClient) -> None:
    response = ward_client.get("/wards/NOWARD/handover.pdf")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "NOWARD" in response.json()["issue"][0]["diagnostics"]
    missing = ward_client.get("/fhir/Patient/not-a-patient/$handover")
    assert missing.status_code == 404
    assert ward_client.get("/fhir/DocumentReference").json().get("entry", []) == []


def test_empty_ward_prints_a_valid_sheet_saying_so(ward_client: TestClient, tmp_path: Path) -> None:
    ward = _location(ward_client, "WARD6", "Ward 6", "wa", None)
    bay = _location(ward_client, "WARD6/BAY1", "Bay 1", "ro", ward)
    _location(ward_client, "WARD6/BAY1/BED1", "Bay 1 Bed 1", "bd", bay)
    response = ward_client.get("/wards/WARD6/handover.pdf")
    assert response.status_code == 200
    pages = page_texts(response.content, tmp_path)
    text = squash(" ".join(pages))
    assert "No patients on this ward" in text
    assert "Occupied: 0 of 1 beds" in text
    assert "Empty bed" in text
    assert "Page 1 of 1" in text


def test_a_bad_shift_name_is_refused(ward_client: TestClient, ward: dict[str, Any]) -> None:
    response = ward_client.get("/wards/WARD5/handover.pdf", params={"shift": "<script>"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
