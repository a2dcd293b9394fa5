"""A reading or assessment marked entered-in-error, corrected or deleted: what WardCare derived
from it follows in the same transaction (services/entered_in_error.py; hazards EIE1, EIE2)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.hl7v2.inbound_support import ack_fields, current, sample
from tests.hl7v2.test_inbound_samples import original_mode
from tests.services.test_assessments import news2_response
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

NEWS2_TOTAL = "http://snomed.info/sct|1104051000000101"
PULSE_LOINC = "8867-4"
BUSINESS_STATUS = "http://wardcare.org/fhir/CodeSystem/task-business-status"
# RR 22 (2), SpO2 94 (1), air (0), SBP 104 (1), pulse 112 (2), alert (0), 38.4 C (1) = 7, HIGH.
SICK = {"rr": 22, "spo2": 94, "o2_flow": 0, "sbp": 104, "dbp": 66, "acvpu": "A", "temp": 38.4}


@pytest.fixture
def patient_id(client: TestClient) -> str:
    response = client.post("/fhir/Patient", json=factories.patient())
    assert response.status_code == 201
    return str(response.json()["id"])


def _code(observation: dict[str, Any]) -> str:
    return str(observation["code"]["coding"][0]["code"])


def _record_set(client: TestClient, patient_id: str, *, pulse: int = 112) -> dict[str, Any]:
    """A complete set at 10:00 whose pulse is posted first (so only the last reading completes
    the set and one NEWS2 is scored); returns the stored pulse."""
    readings = factories.vital_signs(patient_id, pulse=pulse, **SICK)
    readings.sort(key=lambda o: _code(o) != PULSE_LOINC)
    stored = [client.post("/fhir/Observation", json=o) for o in readings]
    assert all(r.status_code == 201 for r in stored)
    return dict(stored[0].json())


def _scores(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    bundle = client.get(
        "/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL}
    ).json()
    return [e["resource"] for e in bundle.get("entry", ())]


def _standing(scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in scores if s["status"] != "entered-in-error"]


def _escalations(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    bundle = client.get("/fhir/Task", params={"patient": patient_id}).json()
    return [e["resource"] for e in bundle.get("entry", ())]


def _provenance_for(client: TestClient, target: str) -> dict[str, Any]:
    bundle = client.get(
        "/fhir/Provenance", params={"target": target.split("/_history", maxsplit=1)[0]}
    )
    records = [e["resource"] for e in bundle.json().get("entry", ())]
    (record,) = [r for r in records if any(t["reference"] == target for t in r["target"])]
    return record


def _marked_in_error(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"} | {"status": "entered-in-error"}


def test_a_reading_entered_in_error_withdraws_its_news2_and_scores_the_remaining_set(
    client: TestClient, patient_id: str
) -> None:
    earlier = factories.heart_rate(patient_id, 80, when="2026-11-22T09:50:00Z")
    earlier_id = client.post("/fhir/Observation", json=earlier).json()["id"]
    pulse = _record_set(client, patient_id)
    (score,) = _scores(client, patient_id)
    assert score["valueInteger"] == 7
    (task,) = _escalations(client, patient_id)
    assert task["priority"] == "stat"
    assert task["focus"]["reference"] == f"Observation/{score['id']}"

    put = client.put(f"/fhir/Observation/{pulse['id']}", json=_marked_in_error(pulse))
    assert put.status_code == 200

    by_id = {s["id"]: s for s in _scores(client, patient_id)}
    withdrawn = by_id.pop(score["id"])
    assert withdrawn["status"] == "entered-in-error"
    assert withdrawn["meta"]["versionId"] == "2"  # a new version: version 1 stays in history
    assert "entered-in-error" in withdrawn["note"][-1]["text"]
    assert client.get(f"/fhir/Observation/{score['id']}/_history/1").json()["status"] == "final"
    # NEWS2 again from what remains in the window: the 09:50 pulse of 80 scores 0, total 5.
    (rescored,) = by_id.values()
    assert rescored["status"] == "final"
    assert rescored["valueInteger"] == 5
    sources = {r["reference"] for r in rescored["derivedFrom"]}
    assert f"Observation/{earlier_id}" in sources
    assert f"Observation/{pulse['id']}" not in sources
    # Who withdrew the score: the nurse who marked the reading, as on the reading's Provenance.
    marked_by = _provenance_for(client, f"Observation/{pulse['id']}/_history/2")["agent"]
    withdrawn_by = _provenance_for(client, f"Observation/{score['id']}/_history/2")["agent"]
    assert withdrawn_by[0]["who"] == marked_by[0]["who"]
    # The open escalation is not closed: a person decides; it says its source was in error.
    # The remaining set's 5 gets its own urgent escalation: the flagged one does not stand for
    # it (closing that one as raised in error must not leave the 5 unescalated).
    tasks = {t["priority"]: t for t in _escalations(client, patient_id)}
    assert sorted(tasks) == ["stat", "urgent"]
    assert tasks["urgent"]["focus"]["reference"] == f"Observation/{rescored['id']}"
    assert "businessStatus" not in tasks["urgent"]
    task = tasks["stat"]
    assert task["status"] == "requested"
    assert task["businessStatus"]["coding"][0] == {
        "system": BUSINESS_STATUS,
        "code": "source-entered-in-error",
        "display": "Source entered in error",
    }
    assert score["id"] in task["businessStatus"]["text"]


def test_when_the_rest_is_no_longer_a_set_no_score_stands(
    client: TestClient, patient_id: str
) -> None:
    pulse = _record_set(client, patient_id)
    assert (
        client.put(f"/fhir/Observation/{pulse['id']}", json=_marked_in_error(pulse)).status_code
        == 200
    )
    (score,) = _scores(client, patient_id)
    assert score["status"] == "entered-in-error"  # and no score from six parameters (H01)


def test_a_deleted_reading_withdraws_its_news2(client: TestClient, patient_id: str) -> None:
    pulse = _record_set(client, patient_id)
    assert client.delete(f"/fhir/Observation/{pulse['id']}").status_code in (200, 204)
    (score,) = _scores(client, patient_id)
    assert score["status"] == "entered-in-error"
    assert "deleted" in score["note"][-1]["text"]
    (task,) = _escalations(client, patient_id)
    assert task["status"] == "requested"
    assert task["businessStatus"]["coding"][0]["code"] == "source-entered-in-error"


def test_a_score_marked_entered_in_error_itself_flags_its_escalation(
    client: TestClient, patient_id: str
) -> None:
    _record_set(client, patient_id)
    (score,) = _scores(client, patient_id)
    put = client.put(f"/fhir/Observation/{score['id']}", json=_marked_in_error(score))
    assert put.status_code == 200
    (task,) = _escalations(client, patient_id)
    assert task["status"] == "requested"
    assert task["businessStatus"]["coding"][0]["code"] == "source-entered-in-error"
    assert _standing(_scores(client, patient_id)) == []  # not scored again from the same set


def test_a_reading_withdrawn_in_a_transaction_bundle_withdraws_its_news2(
    client: TestClient, patient_id: str
) -> None:
    pulse = _record_set(client, patient_id)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": _marked_in_error(pulse),
                "request": {"method": "PUT", "url": f"Observation/{pulse['id']}"},
            }
        ],
    }
    assert client.post("/fhir", json=bundle).status_code == 200
    (score,) = _scores(client, patient_id)
    assert score["status"] == "entered-in-error"


def test_a_corrected_reading_amends_its_news2_so_one_score_stands(
    client: TestClient, patient_id: str
) -> None:
    pulse = _record_set(client, patient_id)
    (score,) = _scores(client, patient_id)
    corrected = {k: v for k, v in pulse.items() if k != "meta"}
    corrected["status"] = "amended"
    corrected["valueQuantity"] = {**pulse["valueQuantity"], "value": 82}
    assert client.put(f"/fhir/Observation/{pulse['id']}", json=corrected).status_code == 200

    (amended,) = _scores(client, patient_id)  # the same score, a new version: never two
    assert amended["id"] == score["id"]
    assert amended["meta"]["versionId"] == "2"
    assert amended["status"] == "amended"
    assert amended["valueInteger"] == 5  # pulse 82 scores 0
    assert amended["interpretation"][0]["coding"][0]["code"] == "medium"
    assert client.get(f"/fhir/Observation/{score['id']}/_history/1").json()["valueInteger"] == 7
    # The stat escalation is left open for a person, flagged: its score is now lower.
    (task,) = _escalations(client, patient_id)
    assert task["status"] == "requested"
    assert task["businessStatus"]["coding"][0]["code"] == "source-amended"
    assert "amended to 5" in task["businessStatus"]["text"]


def test_a_reading_stored_again_unchanged_leaves_its_score_as_it_is(
    client: TestClient, patient_id: str
) -> None:
    pulse = _record_set(client, patient_id)
    again = {k: v for k, v in pulse.items() if k != "meta"}
    assert client.put(f"/fhir/Observation/{pulse['id']}", json=again).status_code == 200
    (score,) = _scores(client, patient_id)
    assert score["meta"]["versionId"] == "1"
    assert len(_escalations(client, patient_id)) == 1


def test_a_correction_that_raises_the_score_escalates(client: TestClient, patient_id: str) -> None:
    pulse = _record_set(client, patient_id, pulse=82)  # total 5: urgent
    (task,) = _escalations(client, patient_id)
    assert task["priority"] == "urgent"
    corrected = {k: v for k, v in pulse.items() if k != "meta"}
    corrected["status"] = "corrected"
    corrected["valueQuantity"] = {**pulse["valueQuantity"], "value": 135}  # scores 3: total 8
    assert client.put(f"/fhir/Observation/{pulse['id']}", json=corrected).status_code == 200
    (score,) = _scores(client, patient_id)
    assert score["valueInteger"] == 8
    priorities = sorted(t["priority"] for t in _escalations(client, patient_id))
    assert priorities == ["stat", "urgent"]
    urgent = next(t for t in _escalations(client, patient_id) if t["priority"] == "urgent")
    assert "businessStatus" not in urgent  # the amended score still calls for it


def test_an_assessment_entered_in_error_withdraws_its_observations_and_score(
    client: TestClient, patient_id: str
) -> None:
    response = client.post("/fhir/QuestionnaireResponse", json=news2_response(patient_id))
    assert response.status_code == 201
    stored = response.json()
    (score,) = _scores(client, patient_id)
    assert score["valueInteger"] == 7
    put = client.put(f"/fhir/QuestionnaireResponse/{stored['id']}", json=_marked_in_error(stored))
    assert put.status_code == 200
    derived = client.get(
        "/fhir/Observation",
        params={"derived-from": f"QuestionnaireResponse/{stored['id']}", "_count": "50"},
    ).json()
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in derived["entry"]}
    assert score["id"] in statuses
    assert len(statuses) > 1
    assert set(statuses.values()) == {"entered-in-error"}
    assert _standing(_scores(client, patient_id)) == []  # not re-scored from its own readings
    (task,) = _escalations(client, patient_id)
    assert task["status"] == "requested"
    assert task["businessStatus"]["coding"][0]["code"] == "source-entered-in-error"


# -- HL7 v2: OBX-11 C corrects a result, W withdraws it ------------------------------------

PULSE = b"|8867-4^Heart rate^LN||112|/min^beats per minute^UCUM|||||F"


@pytest.fixture
def handler(context: AppContext) -> InboundHandler:
    handler = InboundHandler(context)
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    [ack] = handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    assert ack_fields(ack)["MSA"][1] == "AA"
    return handler


def _news2(context: AppContext) -> list[dict[str, Any]]:
    return [o for o in current(context, "Observation") if _code(o) == NEWS2_TOTAL.split("|")[1]]


def test_an_oru_correction_amends_the_news2_instead_of_adding_one(
    context: AppContext, handler: InboundHandler
) -> None:
    (score,) = _news2(context)
    assert score["valueInteger"] == 7
    correction = (
        original_mode(sample("oru_r01_vitals.hl7"))
        .replace(b"EOBS0000001", b"EOBS0000005")
        .replace(PULSE, PULSE.replace(b"||112|", b"||82|")[:-1] + b"C")
    )
    [ack] = handler.handle(correction)
    assert ack_fields(ack)["MSA"][1] == "AA"
    (amended,) = _news2(context)
    assert amended["id"] == score["id"]
    assert (amended["status"], amended["valueInteger"]) == ("amended", 5)
    assert amended["meta"]["versionId"] == "2"


def test_an_oru_withdrawal_withdraws_the_news2(
    context: AppContext, handler: InboundHandler
) -> None:
    wrong = (
        original_mode(sample("oru_r01_vitals.hl7"))
        .replace(b"EOBS0000001", b"EOBS0000006")
        .replace(PULSE, PULSE[:-1] + b"W")
    )
    [ack] = handler.handle(wrong)
    assert ack_fields(ack)["MSA"][1] == "AA"
    (score,) = _news2(context)
    assert score["status"] == "entered-in-error"
    (task,) = [t for t in current(context, "Task") if t.get("priority") == "stat"]
    assert task["status"] == "requested"
    assert task["businessStatus"]["coding"][0]["code"] == "source-entered-in-error"


def test_a_patient_launch_token_withdrawing_its_reading_withdraws_the_score(
    client: TestClient, patient_id: str, token_for: Any
) -> None:
    pulse = _record_set(client, patient_id)
    token = token_for("patient/*.cruds", patient=patient_id)
    headers = {"Authorization": f"Bearer {token}"}
    put = client.put(
        f"/fhir/Observation/{pulse['id']}", json=_marked_in_error(pulse), headers=headers
    )
    assert put.status_code == 200
    (score,) = _scores(client, patient_id)
    assert score["status"] == "entered-in-error"
    (task,) = _escalations(client, patient_id)
    assert task["businessStatus"]["coding"][0]["code"] == "source-entered-in-error"
