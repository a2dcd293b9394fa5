"""Care planning, handover and HL7 interface endpoints under SMART security: each is authorised
in services/authorisation.py (scopes and the patient compartment) and audited like a REST
interaction, a print as an export."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.api.test_care_plan_journey import admit
from tests.security.records import bearer

TokenFor = Callable[..., str]
APPLY = "/fhir/PlanDefinition/pressure-ulcer-prevention/$apply"


def _trail(client: TestClient, token_for: TokenFor, **params: str) -> list[dict[str, Any]]:
    """The audit trail (a denial names no patient it did not reach, so not only by patient)."""
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    officer = bearer(token_for("user/AuditEvent.rs", user="privacy-officer"))
    bundle = client.get("/fhir/AuditEvent", params={"_count": "500", **params}, headers=officer)
    assert bundle.status_code == 200, bundle.text
    return [e["resource"] for e in bundle.json().get("entry", [])]


def _query(event: dict[str, Any]) -> str:
    for entity in event.get("entity", []):
        if "query" in entity:
            return base64.b64decode(entity["query"]).decode()
    return ""


def _event(events: list[dict[str, Any]], path: str, outcome: str) -> dict[str, Any]:
    found = [e for e in events if _query(e).startswith(path) and e["outcome"] == outcome]
    assert found, f"no AuditEvent with outcome {outcome} for {path}"
    return found[0]


@pytest.fixture
def admitted(client: TestClient) -> dict[str, str]:
    patient_id, encounter_id = admit(client)
    other = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    plan = client.post(APPLY, params={"subject": f"Patient/{patient_id}"})
    assert plan.status_code == 201, plan.text
    body = plan.json()
    return {
        "patient": patient_id,
        "encounter": encounter_id,
        "other": other,
        "task": body["activity"][0]["reference"]["reference"].split("/")[1],
        "goal": body["goal"][0]["reference"].split("/")[1],
    }


def test_apply_needs_create_scopes_and_the_patients_own_compartment(
    client: TestClient, token_for: TokenFor, admitted: dict[str, str]
) -> None:
    subject = {"subject": f"Patient/{admitted['patient']}"}
    reader = bearer(token_for("user/*.rs"))
    assert client.post(APPLY, params=subject, headers=reader).status_code == 403
    someone_else = bearer(token_for("patient/*.cruds", patient=admitted["other"]))
    assert client.post(APPLY, params=subject, headers=someone_else).status_code == 404
    # A patient-context app may plan for its own patient (SMART: its compartment, all of cruds).
    own = bearer(token_for("patient/*.cruds", patient=admitted["patient"]))
    falls = APPLY.replace("pressure-ulcer-prevention", "falls-prevention")
    assert client.post(falls, params=subject, headers=own).status_code == 201

    events = _trail(client, token_for)
    denials = sorted(
        e["outcomeDesc"] for e in events if _query(e).startswith(APPLY) and e["outcome"] != "0"
    )
    assert denials[0].startswith("HTTP 403")
    assert denials[1] == "HTTP 404; denied by patient compartment (answered 404)"
    written = _event(_trail(client, token_for, patient=admitted["patient"]), falls, "0")
    assert any(
        e.get("what", {}).get("reference", "").startswith("CarePlan/") for e in written["entity"]
    )


def test_documenting_and_evaluating_need_update_rights_on_that_patient(
    client: TestClient, token_for: TokenFor, admitted: dict[str, str]
) -> None:
    record = f"/fhir/Task/{admitted['task']}/$record-occurrence"
    evaluate = f"/fhir/Goal/{admitted['goal']}/$evaluate"
    reader = bearer(token_for("user/*.rs"))
    someone_else = bearer(token_for("patient/*.cruds", patient=admitted["other"]))
    for path, params in ((record, {"outcome": "done"}), (evaluate, {"result": "met", "note": "x"})):
        assert client.post(path, params=params, headers=reader).status_code == 403
        hidden = client.post(path, params=params, headers=someone_else)
        assert hidden.status_code == 404
        assert admitted["patient"] not in hidden.text  # answered as a missing Task or Goal
        # With rights, the request reaches the care-planning rules (a draft plan's work is not
        # documented yet): authorisation did not stand in the way.
        assert client.post(path, params=params).status_code == 422
    events = _trail(client, token_for)
    answers = sorted(
        e["outcomeDesc"][:8] for e in events if _query(e).startswith((record, evaluate))
    )
    assert answers == ["HTTP 403"] * 2 + ["HTTP 404"] * 2 + ["HTTP 422"] * 2


def test_care_summary_and_due_are_a_read_of_that_patients_compartment(
    client: TestClient, token_for: TokenFor, admitted: dict[str, str]
) -> None:
    own = bearer(token_for("patient/*.rs", patient=admitted["patient"]))
    someone_else = bearer(token_for("patient/*.rs", patient=admitted["other"]))
    only_vitals = bearer(token_for("user/Observation.rs"))
    for view in ("care-summary", "due"):
        path = f"/patients/{admitted['patient']}/{view}"
        assert client.get(path, headers=own).status_code == 200
        assert client.get(path, headers=someone_else).status_code == 404
        assert client.get(path, headers=only_vitals).status_code == 403
    events = _trail(client, token_for, patient=admitted["patient"])
    read = _event(events, f"/patients/{admitted['patient']}/care-summary", "0")
    assert read["action"] == "E"
    assert {"reference": f"Patient/{admitted['patient']}"} in [
        e.get("what") for e in read["entity"]
    ]
    denied = [e for e in _trail(client, token_for) if e["outcome"] == "4"]
    assert len(denied) == 4  # two compartment 404s and two scope 403s


def test_handover_prints_need_print_rights_and_are_audited_as_exports(
    client: TestClient, token_for: TokenFor, admitted: dict[str, str]
) -> None:
    ward = "/wards/WARD9/handover.pdf"
    patient = f"/fhir/Patient/{admitted['patient']}/$handover"
    own_reader = bearer(token_for("patient/*.rs", patient=admitted["patient"]))
    assert client.get(ward, headers=own_reader).status_code == 403  # a patient token: no ward
    assert client.get(ward, headers=bearer(token_for("user/*.rs"))).status_code == 403
    # The patient handover reads that patient and writes a DocumentReference: read-only is not
    # enough, another patient's token is told nothing.
    assert client.get(patient, headers=own_reader).status_code == 403
    someone_else = bearer(token_for("patient/*.cruds", patient=admitted["other"]))
    assert client.get(patient, headers=someone_else).status_code == 404
    printed = client.get(patient)
    assert printed.status_code == 200
    document = printed.headers["content-location"].split("/fhir/", 1)[1]
    assert client.get(ward).status_code == 200

    events = _trail(client, token_for)
    export = _event(events, patient, "0")
    assert export["type"]["code"] == "110106"  # DICOM "Export": a print leaves the system
    assert {"reference": document} in [e.get("what") for e in export["entity"]]
    assert _event(events, patient, "4")["type"]["code"] == "rest"


def test_handover_notes_are_that_patients_writes(
    client: TestClient, token_for: TokenFor, admitted: dict[str, str]
) -> None:
    path = f"/patients/{admitted['patient']}/handover-notes"
    note = {
        "situation": "Settled",
        "background": "Admitted with a fall",
        "assessment": "NEWS2 1",
        "recommendation": "Hourly rounding",
    }
    someone_else = bearer(token_for("patient/*.cruds", patient=admitted["other"]))
    assert client.post(path, json=note, headers=someone_else).status_code == 404
    assert client.post(path, json=note, headers=bearer(token_for("user/*.rs"))).status_code == 403
    created = client.post(path, json=note)
    assert created.status_code == 201, created.text
    acknowledge = f"{path}/{created.json()['id']}/acknowledge"
    assert client.post(acknowledge, headers=someone_else).status_code == 404
    # A patient-context token sees its own patient's notes (Communication.subject).
    own = bearer(token_for("patient/Communication.rs", patient=admitted["patient"]))
    found = client.get("/fhir/Communication", params={"patient": admitted["patient"]}, headers=own)
    assert found.status_code == 200
    assert found.json()["total"] == 1
    events = _trail(client, token_for)
    assert _event(events, path, "0")["action"] == "E"  # an operation (BALP: Execute)
    assert _event(events, path, "4")


@pytest.mark.parametrize(
    ("scope", "read", "act"),
    [
        ("user/*.cruds", 200, 404),
        ("system/*.cruds", 200, 404),
        ("user/*.rs", 200, 403),
        ("user/Observation.rs", 403, 403),
        ("patient/*.cruds", 403, 403),
    ],
)
def test_hl7_logs_are_for_integration_scopes_only(
    client: TestClient, token_for: TokenFor, scope: str, read: int, act: int
) -> None:
    patient = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    headers = bearer(token_for(scope, patient=patient) if "patient/" in scope else token_for(scope))
    for path in ("/hl7/messages", "/hl7/outbox"):
        assert client.get(path, headers=headers).status_code == read
    # No message 999 exists: with acting rights the answer is 404, without them 403 first.
    assert client.post("/hl7/messages/999/$reprocess", headers=headers).status_code == act
    assert client.post("/hl7/outbox/999/$retry", headers=headers).status_code == act


def test_hl7_log_denials_and_reads_are_audited(client: TestClient, token_for: TokenFor) -> None:
    client.get("/hl7/messages", headers=bearer(token_for("user/Observation.rs")))
    client.get("/hl7/outbox")
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    officer = bearer(token_for("user/AuditEvent.rs", user="privacy-officer"))
    events = [
        e["resource"]
        for e in client.get("/fhir/AuditEvent", params={"_count": "500"}, headers=officer)
        .json()
        .get("entry", [])
    ]
    assert _event(events, "/hl7/messages", "4")["outcomeDesc"].startswith("HTTP 403")
    assert _event(events, "/hl7/outbox", "0")


def test_ui_pages_need_a_session_and_a_ward_scope(
    client: TestClient, token_for: TokenFor, admitted: dict[str, str]
) -> None:
    anonymous = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    answer = anonymous.get("/ui/wards/WARD9")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/launch/standalone"
    patient_token = bearer(token_for("patient/*.rs", patient=admitted["other"]))
    assert client.get("/ui/wards/WARD9", headers=patient_token).status_code == 403
    chart = f"/ui/patients/{admitted['patient']}"
    assert client.get(chart, headers=patient_token).status_code == 404
