"""What the ward's due list reads back of documented care: late entries answer the occurrence
they name, entries marked entered-in-error count as never documented, and a nurse's change of
frequency takes effect at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_care_plan_journey import TIMING, admit, due_entries, put, task_named
from wardcare.domain.clock import FixedClock

SKIN = "skin-inspection"


def _active_plan(client: TestClient, patient_id: str) -> dict[str, Any]:
    applied = client.post(
        "/fhir/PlanDefinition/pressure-ulcer-prevention/$apply",
        params={"subject": f"Patient/{patient_id}"},
    )
    assert applied.status_code == 201, applied.text
    activated = put(client, applied.json(), status="active")
    assert activated.status_code == 200, activated.text
    return dict(activated.json())


def _entry(client: TestClient, task: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in due_entries(client) if d.get("intervention") == f"Task/{task['id']}")


def test_a_late_entry_answers_the_shift_it_names(nurse: TestClient, clock: FixedClock) -> None:
    patient_id, _encounter = admit(nurse)
    plan = _active_plan(nurse, patient_id)  # 10:00 on a day shift
    skin = task_named(nurse, plan, SKIN)
    clock.set(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))  # the night shift has begun
    entry = _entry(nurse, skin)
    assert (entry["state"], entry["overdueCount"]) == ("overdue", 1)  # the day shift's check
    late = nurse.post(
        f"/fhir/Task/{skin['id']}/$record-occurrence",
        params={
            "outcome": "done",
            "performed": "2026-11-24T19:00:00Z",
            "occurrence": "2026-11-24T07:30:00Z",  # the day shift it belongs to
            "note": "Documented late: sacrum and heels intact at 19:00",
        },
    )
    assert late.status_code == 201, late.text
    entry = _entry(nurse, skin)
    assert (entry["state"], entry["overdueCount"]) == ("due", 0)  # tonight's check is next
    assert entry["dueAt"]["utc"] == "2026-11-25T07:30:00+00:00"


def test_an_entry_marked_entered_in_error_counts_as_never_documented(
    nurse: TestClient, clock: FixedClock
) -> None:
    patient_id, _encounter = admit(nurse)
    plan = _active_plan(nurse, patient_id)
    reposition = task_named(nurse, plan, "reposition")
    done = nurse.post(
        f"/fhir/Task/{reposition['id']}/$record-occurrence", params={"outcome": "done"}
    )
    assert _entry(nurse, reposition)["state"] == "not-due"
    mistaken = done.json()
    marked = put(nurse, mistaken, status="entered-in-error")
    assert marked.status_code == 200, marked.text
    entry = _entry(nurse, reposition)
    assert entry["state"] == "due"
    assert entry["last"] is None
    history = nurse.get(f"/fhir/Task/{mistaken['id']}/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["entered-in-error", "completed"]


def test_a_new_frequency_applies_from_the_last_turn(nurse: TestClient, clock: FixedClock) -> None:
    patient_id, _encounter = admit(nurse)
    plan = _active_plan(nurse, patient_id)
    reposition = task_named(nurse, plan, "reposition")
    nurse.post(f"/fhir/Task/{reposition['id']}/$record-occurrence", params={"outcome": "done"})
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert _entry(nurse, reposition)["dueAt"]["utc"] == (start + timedelta(hours=4)).isoformat()
    reposition = nurse.get(f"/fhir/Task/{reposition['id']}").json()
    hourly = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "h"}}
    assert (
        put(nurse, reposition, extension=[{"url": TIMING, "valueTiming": hourly}]).status_code
        == 200
    )
    entry = _entry(nurse, reposition)
    assert entry["timing"] == "every hour"
    assert entry["dueAt"]["utc"] == (start + timedelta(hours=1)).isoformat()


def test_one_patients_due_view_lists_assessments_and_care(nurse: TestClient) -> None:
    patient_id, encounter_id = admit(nurse)
    plan = _active_plan(nurse, patient_id)
    body = nurse.get(f"/patients/{patient_id}/due").json()
    assert body["encounter"] == f"Encounter/{encounter_id}"
    kinds = {(d["kind"], d.get("plan")) for d in body["due"]}
    assert ("assessment", None) in kinds
    assert ("intervention", "pressure-ulcer-prevention") in kinds
    interventions = [d for d in body["due"] if d["kind"] == "intervention"]
    assert all(d["carePlan"] == f"CarePlan/{plan['id']}" for d in interventions)


def test_an_unknown_patient_has_no_summary(nurse: TestClient) -> None:
    for path in ("/patients/nobody/care-summary", "/patients/nobody/due"):
        response = nurse.get(path)
        assert response.status_code == 404
        assert response.json()["resourceType"] == "OperationOutcome"
