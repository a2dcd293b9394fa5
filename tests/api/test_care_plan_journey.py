"""A nurse's journey through care planning, every step through the HTTP API with a clock the test
controls: admission assessments -> proposals -> $apply -> personalise -> activate ->
interventions due -> documented -> evaluation -> discontinue, and the plan's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests import factories
from wardcare.domain.clock import FixedClock

CODES = "http://wardcare.org/fhir/Id/location-code"
Q = "http://wardcare.org/fhir/Questionnaire"
TIMING = "http://wardcare.org/fhir/StructureDefinition/intervention-timing"
REASON = "http://hl7.org/fhir/StructureDefinition/request-statusReason"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 GMT: a day shift


def _location(client: TestClient, code: str, kind: str, part_of: str | None) -> str:
    body: dict[str, Any] = {
        "resourceType": "Location",
        "status": "active",
        "name": code,
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


def admit(client: TestClient, ward_code: str = "WARD9") -> tuple[str, str]:
    """A patient admitted two hours ago to bed 1 of a ward: (patient id, encounter id)."""
    ward = _location(client, ward_code, "wa", None)
    bay = _location(client, f"{ward_code}/BAY1", "ro", ward)
    bed = _location(client, f"{ward_code}/BAY1/BED1", "bd", bay)
    patient_id = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    encounter = client.post(
        "/fhir/Encounter",
        json={
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": (NOW - timedelta(hours=2)).isoformat()},
            "location": [
                {"location": {"reference": ward}, "status": "active"},
                {"location": {"reference": bed}, "status": "active"},
            ],
        },
    ).json()
    return str(patient_id), str(encounter["id"])


def assessment(template: str, patient_id: str, encounter_id: str, **answers: Any) -> dict[str, Any]:
    items = []
    for link_id, value in answers.items():
        key = link_id.replace("_", "-")
        if isinstance(value, bool):
            answer = {"valueBoolean": value}
        else:
            answer = {
                "valueCoding": {
                    "system": f"http://wardcare.org/fhir/CodeSystem/{template}",
                    "code": value,
                }
            }
        items.append({"linkId": key, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{Q}/{template}|1.0.0",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "authored": NOW.isoformat(),
        "item": items,
    }


FALLS_FACTORS = {
    "falls_history": True,
    "cognition": "no-concern",
    "continence": False,
    "medication": False,
    "lying_standing_bp": "no-drop",
    "dizziness_or_blackouts": False,
    "vision": False,
    "footwear": True,
    "mobility": "independent",
}
PRESSURE_HIGH = {
    "pressure_ulcer_history": "current",
    "skin_inspection": "intact",
    "mobility": "limited",
    "sensory_impairment": False,
    "cognitive_impairment": False,
    "moisture": "none",
    "nutrition": "low",
    "medical_device": False,
}


def proposals(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    bundle = client.get(
        "/fhir/CarePlan", params={"patient": patient_id, "intent": "proposal", "status": "draft"}
    ).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def put(client: TestClient, resource: dict[str, Any], **changes: Any) -> Any:
    version = resource["meta"]["versionId"]
    body = {k: v for k, v in resource.items() if k != "meta"} | changes
    return client.put(
        f"/fhir/{resource['resourceType']}/{resource['id']}",
        json=body,
        headers={"If-Match": f'W/"{version}"'},
    )


def task_named(client: TestClient, plan: dict[str, Any], code_suffix: str) -> dict[str, Any]:
    for activity in plan["activity"]:
        task = client.get(f"/fhir/{activity['reference']['reference']}").json()
        if task["code"]["coding"][0]["code"].endswith(f".{code_suffix}"):
            return dict(task)
    raise AssertionError(f"no intervention {code_suffix}")


def due_entries(client: TestClient, ward: str = "WARD9") -> list[dict[str, Any]]:
    body = client.get(f"/wards/{ward}/due").json()
    return list(body["beds"][0]["due"])


def test_admission_to_discontinuation(nurse: TestClient, clock: FixedClock) -> None:
    patient_id, encounter_id = admit(nurse)

    # Admission assessments: falls risk factors and a high pressure ulcer risk.
    falls = assessment("falls-multifactorial", patient_id, encounter_id, **FALLS_FACTORS)
    assert nurse.post("/fhir/QuestionnaireResponse", json=falls).status_code == 201
    pressure = assessment("pressure-ulcer-risk", patient_id, encounter_id, **PRESSURE_HIGH)
    assert nurse.post("/fhir/QuestionnaireResponse", json=pressure).status_code == 201

    # Each proposes its plan; a repeat assessment does not duplicate the proposal.
    assert nurse.post("/fhir/QuestionnaireResponse", json=falls).status_code == 201
    found = {p["title"]: p for p in proposals(nurse, patient_id)}
    assert set(found) == {
        "Falls prevention (multifactorial)",
        "Pressure ulcer prevention (aSSKINg)",
    }
    falls_proposal = found["Falls prevention (multifactorial)"]
    proposed = {
        a["detail"]["instantiatesCanonical"][0].split("|")[0].rsplit(".", 1)[1]
        for a in falls_proposal["activity"]
    }
    # The NG249 factors found bring exactly their interventions, plus the safe environment.
    assert proposed == {
        "safe-environment",
        "falls-information",
        "hourly-rounding",
        "lying-standing-bp",
        "medication-review",
        "footwear",
    }
    assert falls_proposal["supportingInfo"][0]["reference"].startswith("QuestionnaireResponse/")

    # Apply the pressure ulcer plan: a stored draft with its problem, goals and interventions.
    applied = nurse.post(
        "/fhir/PlanDefinition/pressure-ulcer-prevention/$apply",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "subject", "valueReference": {"reference": f"Patient/{patient_id}"}},
                {"name": "encounter", "valueReference": {"reference": f"Encounter/{encounter_id}"}},
            ],
        },
    )
    assert applied.status_code == 201, applied.text
    plan = applied.json()
    assert (plan["status"], plan["intent"]) == ("draft", "plan")
    assert (
        plan["basedOn"][0]["reference"]
        == f"CarePlan/{found['Pressure ulcer prevention (aSSKINg)']['id']}"
    )
    assert len(plan["goal"]) == 2
    assert len(plan["activity"]) == 6
    assert [p["title"] for p in proposals(nurse, patient_id)] == [
        "Falls prevention (multifactorial)"
    ]
    again = nurse.post(
        "/fhir/PlanDefinition/pressure-ulcer-prevention/$apply",
        params={"subject": f"Patient/{patient_id}"},
    )
    assert again.status_code == 409  # one open plan per template

    # Personalise: reposition every 2 hours instead of 4 (If-Match protects the change).
    reposition = task_named(nurse, plan, "reposition")
    timing = {"repeat": {"frequency": 1, "period": 2, "periodUnit": "h"}}
    changed = put(nurse, reposition, extension=[{"url": TIMING, "valueTiming": timing}])
    assert changed.status_code == 200, changed.text
    stale = put(nurse, reposition, description="stale")
    assert stale.status_code == 412
    goal = nurse.get(f"/fhir/{plan['goal'][0]['reference']}").json()
    assert put(nurse, goal, description={"text": "Heels and sacrum stay intact"}).status_code == 200

    # Nothing is due while the plan is a draft.
    assert not [d for d in due_entries(nurse) if d["kind"] == "intervention"]

    # Activate.
    plan = nurse.get(f"/fhir/CarePlan/{plan['id']}").json()
    activated = put(nurse, plan, status="active")
    assert activated.status_code == 200, activated.text
    reposition = task_named(nurse, activated.json(), "reposition")
    assert reposition["status"] == "in-progress"

    # The due list shows the interventions beside the assessments.
    entries = due_entries(nurse)
    kinds = {d["kind"] for d in entries}
    assert {"assessment", "intervention"} <= kinds
    turn = next(d for d in entries if d.get("intervention") == f"Task/{reposition['id']}")
    assert turn["timing"] == "every 2 hours"
    assert turn["state"] == "due"
    assert turn["last"] is None

    # Two and a half hours later the turn is overdue; the nurse documents it.
    clock.advance(timedelta(hours=2, minutes=30))
    turn = next(
        d for d in due_entries(nurse) if d.get("intervention") == f"Task/{reposition['id']}"
    )
    assert turn["state"] == "overdue"
    assert turn["overdueMinutes"] == 150
    missing_reason = nurse.post(
        f"/fhir/Task/{reposition['id']}/$record-occurrence", params={"outcome": "not-done"}
    )
    assert missing_reason.status_code == 422
    assert missing_reason.json()["issue"][0]["expression"] == ["reason"]
    done = nurse.post(
        f"/fhir/Task/{reposition['id']}/$record-occurrence",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "outcome", "valueCode": "done"},
                {"name": "note", "valueString": "Turned to left side; sacrum intact"},
            ],
        },
    )
    assert done.status_code == 201, done.text
    occurrence = done.json()
    assert occurrence["businessStatus"]["coding"][0]["code"] == "done"
    assert occurrence["owner"]["display"]
    turn = next(
        d for d in due_entries(nurse) if d.get("intervention") == f"Task/{reposition['id']}"
    )
    assert turn["state"] == "not-due"
    assert turn["dueAt"]["utc"] == (NOW + timedelta(hours=4, minutes=30)).isoformat()
    assert turn["last"]["outcome"] == "done"
    provenance = nurse.get("/fhir/Provenance", params={"target": f"Task/{occurrence['id']}"})
    assert provenance.json()["total"] == 1

    # Evaluation against a goal.
    evaluated = nurse.post(
        f"/fhir/{plan['goal'][0]['reference']}/$evaluate",
        params={
            "result": "partly-met",
            "note": "Blanching redness on sacrum, resolved after offloading",
        },
    )
    assert evaluated.status_code == 201, evaluated.text
    goal = nurse.get(f"/fhir/{plan['goal'][0]['reference']}").json()
    assert goal["achievementStatus"]["coding"][0]["code"] == "improving"

    summary = nurse.get(f"/patients/{patient_id}/care-summary").json()
    (summary_plan,) = summary["carePlans"]
    assert summary["problems"][0]["text"].startswith("At risk of pressure damage")
    goals = {g["reference"]: g for g in summary_plan["goals"]}
    assert goals[plan["goal"][0]["reference"]]["lastEvaluation"]["result"] == "partly-met"
    assert any(i["title"] == "Reposition" for i in summary_plan["interventions"])
    assert {a["assessment"] for a in summary["assessments"]} >= {"news2", "pressure-ulcer-risk"}
    band = next(a for a in summary["assessments"] if a["assessment"] == "pressure-ulcer-risk")
    assert band["band"] == "high"
    assert [p["template"] for p in summary["proposals"]] == ["falls-prevention"]

    # Two days on, the plan's review is overdue on the ward's list.
    clock.advance(timedelta(days=2))
    review = next(d for d in due_entries(nurse) if d["kind"] == "care-plan-review")
    assert review["state"] == "overdue"

    # Discontinue: a reason is required; the plan's interventions stop being due.
    plan = nurse.get(f"/fhir/CarePlan/{plan['id']}").json()
    refused = put(nurse, plan, status="revoked")
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["CarePlan.extension"]
    reason = {
        "url": REASON,
        "valueCodeableConcept": {"text": "Transferred to a pressure-relieving bed on another plan"},
    }
    stopped = put(nurse, plan, status="revoked", extension=[reason])
    assert stopped.status_code == 200, stopped.text
    assert not [d for d in due_entries(nurse) if d["kind"] != "assessment"]
    assert nurse.get(f"/fhir/Task/{reposition['id']}").json()["status"] == "cancelled"
    reopened = put(nurse, stopped.json(), status="active")
    assert reopened.status_code == 422

    # The history tells the story, newest first, and nothing was deleted.
    history = nurse.get(f"/fhir/CarePlan/{plan['id']}/_history").json()
    statuses = [e["resource"]["status"] for e in history["entry"]]
    assert statuses == ["revoked", "active", "draft"]
