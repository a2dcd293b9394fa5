"""SBAR handover notes: recorded, revised as new versions, acknowledged by the receiving nurse."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests import factories
from tests.api.test_handover import (  # noqa: F401 - the fixtures are used by name
    SBAR,
    clock_fixture,
    ward_client_fixture,
    ward_fixture,
)
from tests.handover.pdf_pages import page_texts, squash
from wardcare.domain.actor import Actor, ActorKind
from wardcare.domain.clock import FixedClock
from wardcare.services import handover_notes
from wardcare.services.context import AppContext

NURSE = Actor(
    ActorKind.USER,
    "Staff Nurse Amy Patel",
    "Practitioner/amy",
    scopes=frozenset({"user/*.cruds"}),
)


def test_record_revise_and_acknowledge_a_note(
    ward_client: TestClient,
    ward: dict[str, Any],
    context: AppContext,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    patient = ward["unwell"]["id"]
    created = ward_client.post(f"/patients/{patient}/handover-notes", json=SBAR)
    assert created.status_code == 201
    note = created.json()
    assert note["resourceType"] == "Communication"
    assert note["status"] == "in-progress"
    assert note["subject"]["reference"] == f"Patient/{patient}"
    assert note["encounter"]["reference"].startswith("Encounter/")
    assert handover_notes.sections_of(note) == SBAR
    assert created.headers["location"].endswith(f"Communication/{note['id']}/_history/1")

    changed = {**SBAR, "recommendation": "Hourly obs; outreach at 20:00; family aware"}
    stale = ward_client.put(
        f"/patients/{patient}/handover-notes/{note['id']}",
        json=changed,
        headers={"If-Match": 'W/"9"'},
    )
    assert stale.status_code == 412
    revised = ward_client.put(
        f"/patients/{patient}/handover-notes/{note['id']}",
        json=changed,
        headers={"If-Match": 'W/"1"'},
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["meta"]["versionId"] == "2"

    # The receiving nurse (another actor) acknowledges: who and when.
    acknowledged = handover_notes.acknowledge_note(
        dataclasses.replace(context, clock=clock),
        actor=NURSE,
        patient_id=patient,
        note_id=note["id"],
    )
    assert acknowledged.version_id == 3
    again = ward_client.post(f"/patients/{patient}/handover-notes/{note['id']}/acknowledge")
    assert again.status_code == 409
    assert "Staff Nurse Amy Patel" in again.json()["issue"][0]["diagnostics"]
    # An acknowledged note is not rewritten: the nurse acknowledged that text.
    refused = ward_client.put(f"/patients/{patient}/handover-notes/{note['id']}", json=SBAR)
    assert refused.status_code == 409

    current = ward_client.get(f"/fhir/Communication/{note['id']}").json()
    assert current["status"] == "completed"
    assert current["recipient"] == [
        {"display": "Staff Nurse Amy Patel", "reference": "Practitioner/amy"}
    ]
    assert current["received"].startswith("2026-12-01T18:50")
    history = ward_client.get(f"/fhir/Communication/{note['id']}/_history").json()
    assert history["total"] == 3
    provenance = ward_client.get("/fhir/Provenance", params={"patient": patient}).json()
    agents = {e["resource"]["agent"][0]["who"]["display"] for e in provenance["entry"]}
    assert "Staff Nurse Amy Patel" in agents

    sheet = ward_client.get("/wards/WARD5/handover.pdf")
    text = squash(" ".join(page_texts(sheet.content, tmp_path)))
    assert "family aware" in text
    assert "acknowledged by Staff Nurse Amy Patel at 01 Dec 18:50" in text


def test_latest_note_prints_and_a_note_entered_in_error_does_not(
    ward_client: TestClient, ward: dict[str, Any], tmp_path: Path
) -> None:
    patient = ward["quiet"]["id"]
    first = ward_client.post(f"/patients/{patient}/handover-notes", json=SBAR).json()
    first["status"] = "entered-in-error"
    assert ward_client.put(f"/fhir/Communication/{first['id']}", json=first).status_code == 200
    sheet = ward_client.get("/wards/WARD5/handover.pdf")
    text = squash(" ".join(page_texts(sheet.content, tmp_path)))
    assert SBAR["situation"] not in text
    assert text.count("No handover note recorded") == 2


def test_bad_notes_are_refused_naming_the_section(
    ward_client: TestClient, ward: dict[str, Any]
) -> None:
    patient = ward["quiet"]["id"]
    missing = ward_client.post(
        f"/patients/{patient}/handover-notes", json={**SBAR, "assessment": " "}
    )
    assert missing.status_code == 422
    assert missing.json()["issue"][0]["expression"] == ["assessment"]
    extra = ward_client.post(f"/patients/{patient}/handover-notes", json={**SBAR, "plan": "x"})
    assert extra.status_code == 400
    too_long = ward_client.post(
        f"/patients/{patient}/handover-notes", json={**SBAR, "situation": "x" * 2001}
    )
    assert too_long.status_code == 422
    nobody = ward_client.post("/patients/no-such-patient/handover-notes", json=SBAR)
    assert nobody.status_code == 404
    other = ward_client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    note = ward_client.post(f"/patients/{patient}/handover-notes", json=SBAR).json()
    wrong_patient = ward_client.post(f"/patients/{other}/handover-notes/{note['id']}/acknowledge")
    assert wrong_patient.status_code == 404
    assert ward_client.get("/fhir/Communication", params={"patient": patient}).json()["total"] == 1
