"""An assessment completed later or amended: its readings and score follow its answers (EIE3).

However a response to a WardCare template arrives (POST, PUT, in a transaction or batch
Bundle), it is checked against its template and scored; a new version of it brings its
extracted readings and score into line, as new versions of the same records, never as a
second score beside the first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.api.test_care_plan_journey import (
    FALLS_FACTORS,
    REASON,
    admit,
    assessment,
    proposals,
)
from tests.conftest import auth_headers
from tests.services.test_assessments import ACVPU, NEWS2_TOTAL, news2_response
from wardcare.domain.actor import Actor, ActorKind
from wardcare.errors import WardCareError
from wardcare.services import record_assessment
from wardcare.services.context import AppContext

PULSE = "http://loinc.org|8867-4"


@pytest.fixture
def patient_id(client: TestClient) -> str:
    response = client.post("/fhir/Patient", json=factories.patient())
    assert response.status_code == 201
    return str(response.json()["id"])


def _well(patient_id: str, status: str = "completed", **answers: Any) -> dict[str, Any]:
    """NEWS2 0 (RCP NEWS2 chart 1: every parameter in its 0 band), changed by ``answers``."""
    well: dict[str, Any] = {
        "respiration_rate": {"valueInteger": 16},
        "spo2": {"valueInteger": 97},
        "systolic_bp": {"valueInteger": 128},
        "pulse": {"valueInteger": 72},
        "temperature": {"valueDecimal": 36.8},
    }
    return news2_response(patient_id, status=status, **{**well, **answers})


def _record(client: TestClient, response: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/fhir/QuestionnaireResponse", json=response)
    assert answer.status_code == 201, answer.text
    stored: dict[str, Any] = answer.json()
    return stored


def _amend(
    client: TestClient, stored: dict[str, Any], new: dict[str, Any], status: int = 200
) -> dict[str, Any]:
    body = {**new, "id": stored["id"]}
    answer = client.put(f"/fhir/QuestionnaireResponse/{stored['id']}", json=body)
    assert answer.status_code == status, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _search(client: TestClient, patient_id: str, code: str) -> list[dict[str, Any]]:
    bundle = client.get("/fhir/Observation", params={"patient": patient_id, "code": code}).json()
    return [e["resource"] for e in bundle.get("entry", ())]


def _current(observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in observations if o["status"] != "entered-in-error"]


def _open_escalations(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    tasks = client.get("/fhir/Task", params={"patient": patient_id, "status": "requested"}).json()
    return [e["resource"] for e in tasks.get("entry", ())]


def test_completing_a_draft_scores_it(client: TestClient, patient_id: str) -> None:
    draft = _record(client, _well(patient_id, status="in-progress", pulse=None, temperature=None))
    assert _search(client, patient_id, NEWS2_TOTAL) == []
    _amend(client, draft, _well(patient_id, pulse={"valueInteger": 112}))
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["valueInteger"] == 2  # pulse 111-130 scores 2 (RCP NEWS2 chart 1)
    assert score["status"] == "final"
    assert {"reference": f"QuestionnaireResponse/{draft['id']}"} in score["derivedFrom"]
    (pulse,) = _search(client, patient_id, PULSE)
    assert pulse["valueQuantity"]["value"] == 112
    assert {"reference": f"Observation/{pulse['id']}"} in score["derivedFrom"]


def test_an_amended_answer_amends_its_reading_and_score_in_place(
    client: TestClient, patient_id: str
) -> None:
    recorded = _record(client, _well(patient_id))
    (before,) = _search(client, patient_id, NEWS2_TOTAL)
    assert before["valueInteger"] == 0
    (pulse_before,) = _search(client, patient_id, PULSE)
    amended = _amend(client, recorded, _well(patient_id, "amended", pulse={"valueInteger": 135}))
    assert amended["meta"]["versionId"] == "2"
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["id"] == before["id"]  # the same score, a new version: one score stands
    assert score["meta"]["versionId"] == "2"
    assert score["status"] == "amended"
    assert score["valueInteger"] == 3  # pulse >= 131 scores 3
    assert any("was amended" in n["text"] for n in score["note"])
    (pulse,) = _search(client, patient_id, PULSE)
    assert pulse["id"] == pulse_before["id"]
    assert (pulse["status"], pulse["valueQuantity"]["value"]) == ("amended", 135)
    # The unchanged readings are left as they were.
    (rr,) = _search(client, patient_id, "http://loinc.org|9279-1")
    assert (rr["meta"]["versionId"], rr["status"]) == ("1", "final")
    history = client.get(f"/fhir/Observation/{score['id']}/_history").json()
    assert sorted(e["resource"]["valueInteger"] for e in history["entry"]) == [0, 3]


def test_an_amendment_that_raises_the_band_escalates(client: TestClient, patient_id: str) -> None:
    recorded = _record(client, _well(patient_id))
    assert _open_escalations(client, patient_id) == []
    confused = {"valueCoding": {"system": ACVPU, "code": "C"}}
    _amend(client, recorded, _well(patient_id, "amended", consciousness=confused))
    (task,) = _open_escalations(client, patient_id)
    assert task["priority"] == "urgent"  # a single parameter scoring 3 (RCP NEWS2 chart 4)
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert task["focus"]["reference"] == f"Observation/{score['id']}"


def test_an_amendment_that_lowers_the_score_flags_and_never_closes_the_escalation(
    client: TestClient, patient_id: str
) -> None:
    high = _well(
        patient_id,
        respiration_rate={"valueInteger": 26},
        pulse={"valueInteger": 135},
        temperature={"valueDecimal": 39.5},
    )
    recorded = _record(client, high)
    (task,) = _open_escalations(client, patient_id)
    assert task["priority"] == "stat"
    _amend(client, recorded, _well(patient_id, "amended"))
    (still_open,) = _open_escalations(client, patient_id)
    assert still_open["id"] == task["id"]
    assert still_open["businessStatus"]["coding"][0]["code"] == "source-amended"
    assert "amended to 0" in still_open["businessStatus"]["text"]


def test_an_unchanged_resubmission_leaves_the_results_as_they_are(
    client: TestClient, patient_id: str
) -> None:
    recorded = _record(client, _well(patient_id))
    _amend(client, recorded, _well(patient_id))
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert (score["meta"]["versionId"], score["status"]) == ("1", "final")


def test_a_bad_amended_answer_is_refused_naming_it_and_changes_nothing(
    client: TestClient, patient_id: str
) -> None:
    recorded = _record(client, _well(patient_id))
    refused = _amend(
        client, recorded, _well(patient_id, "amended", spo2={"valueInteger": 140}), status=422
    )
    assert refused["resourceType"] == "OperationOutcome"
    assert "spo2" in refused["issue"][0]["diagnostics"]
    assert refused["issue"][0]["expression"][0].startswith("QuestionnaireResponse.item[")
    current = client.get(f"/fhir/QuestionnaireResponse/{recorded['id']}").json()
    assert current["meta"]["versionId"] == "1"
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["meta"]["versionId"] == "1"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"subject": {"reference": "Patient/other"}}, "QuestionnaireResponse.subject"),
        ({"status": "in-progress"}, "QuestionnaireResponse.status"),
        (
            {"questionnaire": "http://wardcare.org/fhir/Questionnaire/pain-score|1.0.0"},
            "QuestionnaireResponse.questionnaire",
        ),
    ],
)
def test_what_would_rewrite_the_record_is_refused(
    client: TestClient, patient_id: str, change: dict[str, Any], path: str
) -> None:
    recorded = _record(client, _well(patient_id))
    other = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    if "subject" in change:
        change = {"subject": {"reference": f"Patient/{other}"}}
    refused = _amend(client, recorded, {**_well(patient_id), **change}, status=422)
    assert refused["issue"][0]["expression"] == [path]
    assert "entered-in-error" in refused["issue"][0]["diagnostics"]
    current = client.get(f"/fhir/QuestionnaireResponse/{recorded['id']}").json()
    assert current["meta"]["versionId"] == "1"


def test_marking_the_response_entered_in_error_still_withdraws_its_results(
    client: TestClient, patient_id: str
) -> None:
    recorded = _record(client, _well(patient_id))
    _amend(client, recorded, {**_well(patient_id), "status": "entered-in-error"})
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["status"] == "entered-in-error"


def test_a_transaction_bundle_records_an_assessment_as_a_post_does(
    client: TestClient,
) -> None:
    patient = factories.patient()
    response = _well("placeholder")
    response["subject"] = {"reference": "urn:uuid:7f3a3c1e-4a0b-4c55-9d7e-1b2a3c4d5e6f"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:7f3a3c1e-4a0b-4c55-9d7e-1b2a3c4d5e6f",
                "resource": patient,
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": response, "request": {"method": "POST", "url": "QuestionnaireResponse"}},
        ],
    }
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 200, answer.text
    patient_id = answer.json()["entry"][0]["response"]["location"].split("/")[1]
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["valueInteger"] == 0
    assert len(_search(client, patient_id, PULSE)) == 1


def test_a_bad_answer_in_a_transaction_refuses_the_whole_bundle(
    client: TestClient, patient_id: str
) -> None:
    response = _well(patient_id, pulse={"valueInteger": -5})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": response, "request": {"method": "POST", "url": "QuestionnaireResponse"}}
        ],
    }
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 422, answer.text
    assert "pulse" in answer.json()["issue"][0]["diagnostics"]
    assert client.get("/fhir/QuestionnaireResponse").json()["total"] == 0


def test_a_put_in_a_batch_amends_as_a_put_does(client: TestClient, patient_id: str) -> None:
    recorded = _record(client, _well(patient_id))
    amended = {**_well(patient_id, "amended", pulse={"valueInteger": 135}), "id": recorded["id"]}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": amended,
                "request": {"method": "PUT", "url": f"QuestionnaireResponse/{recorded['id']}"},
            }
        ],
    }
    answer = client.post("/fhir", json=bundle)
    assert answer.status_code == 200
    assert answer.json()["entry"][0]["response"]["status"].startswith("200")
    (score,) = _current(_search(client, patient_id, NEWS2_TOTAL))
    assert (score["status"], score["valueInteger"]) == ("amended", 3)


def test_a_put_with_a_new_id_records_the_assessment(client: TestClient, patient_id: str) -> None:
    body = {**_well(patient_id), "id": "chosen-by-the-client"}
    answer = client.put("/fhir/QuestionnaireResponse/chosen-by-the-client", json=body)
    assert answer.status_code == 201, answer.text
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert {"reference": "QuestionnaireResponse/chosen-by-the-client"} in score["derivedFrom"]


def test_an_amended_answer_that_triggers_a_plan_proposes_it_with_provenance(
    client: TestClient,
) -> None:
    patient_id, encounter_id = admit(client)
    none_found = {**FALLS_FACTORS, "falls_history": False, "footwear": False}
    recorded = _record(
        client, assessment("falls-multifactorial", patient_id, encounter_id, **none_found)
    )
    assert proposals(client, patient_id) == []
    amended = assessment("falls-multifactorial", patient_id, encounter_id, **FALLS_FACTORS)
    _amend(client, recorded, {**amended, "status": "amended"})
    (proposal,) = proposals(client, patient_id)
    assert {"reference": f"QuestionnaireResponse/{recorded['id']}"} in proposal["supportingInfo"]
    provenance = client.get("/fhir/Provenance", params={"target": f"CarePlan/{proposal['id']}"})
    assert provenance.json()["total"] == 1


# -- what an amendment may not do (review of EIE3) ------------------------------------------


def test_a_form_cannot_leave_its_template_for_another_questionnaire(
    client: TestClient, patient_id: str
) -> None:
    recorded = _record(client, _well(patient_id))
    other = {**_well(patient_id, "amended"), "questionnaire": "http://example.org/Questionnaire/x"}
    refused = _amend(client, recorded, other, status=422)
    assert refused["issue"][0]["expression"] == ["QuestionnaireResponse.questionnaire"]
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["meta"]["versionId"] == "1"


def test_a_withdrawn_form_stays_withdrawn(client: TestClient, patient_id: str) -> None:
    recorded = _record(client, _well(patient_id))
    _amend(client, recorded, {**_well(patient_id), "status": "entered-in-error"})
    refused = _amend(client, recorded, _well(patient_id, "completed"), status=422)
    assert refused["issue"][0]["expression"] == ["QuestionnaireResponse.status"]
    assert _current(_search(client, patient_id, NEWS2_TOTAL)) == []
    assert _open_escalations(client, patient_id) == []


def test_withdrawing_and_moving_a_form_in_one_put_is_refused(
    client: TestClient, patient_id: str
) -> None:
    recorded = _record(client, _well(patient_id))
    other = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    moved = {**_well(other), "status": "entered-in-error"}
    refused = _amend(client, recorded, moved, status=422)
    assert refused["issue"][0]["expression"] == ["QuestionnaireResponse.subject"]
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["status"] == "final"


def test_a_deleted_form_is_not_brought_back_by_a_put(client: TestClient, patient_id: str) -> None:
    recorded = _record(client, _well(patient_id))
    assert client.delete(f"/fhir/QuestionnaireResponse/{recorded['id']}").status_code in (200, 204)
    gone = _amend(client, recorded, _well(patient_id, "amended"), status=410)
    assert gone["resourceType"] == "OperationOutcome"
    assert _current(_search(client, patient_id, NEWS2_TOTAL)) == []


def test_a_draft_without_authored_keeps_the_time_it_was_recorded(
    client: TestClient, patient_id: str
) -> None:
    draft = _well(patient_id, status="in-progress", pulse=None, temperature=None)
    del draft["authored"]
    recorded = _record(client, draft)
    assert recorded["authored"]  # stored with the time it was recorded
    completed = _well(patient_id, respiration_rate={"valueInteger": 26})
    del completed["authored"]
    _amend(client, recorded, completed)
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["effectiveDateTime"] == recorded["authored"]
    (task,) = _open_escalations(client, patient_id)  # RR 26 scores 3: a single-parameter 3
    assert task["authoredOn"] == recorded["authored"]


def test_a_news2_from_separate_readings_that_used_a_forms_reading_follows_its_amendment(
    client: TestClient, patient_id: str
) -> None:
    # Hazard EIE2: a later SpO2 completes a new set with the form's other readings, scored
    # from vital signs. Amending the form's pulse must re-score that set too.
    recorded = _record(client, _well(patient_id))
    spo2 = factories.vital_signs(
        patient_id,
        when=datetime(2026, 11, 22, 10, 20, tzinfo=UTC),
        rr=16,
        spo2=95,
        o2_flow=0,
        sbp=128,
        dbp=70,
        pulse=72,
        acvpu="A",
        temp=36.8,
    )
    later = next(o for o in spo2 if o["code"]["coding"][0]["code"] == "59408-5")
    assert client.post("/fhir/Observation", json=later).status_code == 201
    scores = {s["id"]: s for s in _current(_search(client, patient_id, NEWS2_TOTAL))}
    assert sorted(s["valueInteger"] for s in scores.values()) == [0, 1]  # SpO2 95: 1
    _amend(client, recorded, _well(patient_id, "amended", pulse={"valueInteger": 135}))
    after = {s["id"]: s for s in _current(_search(client, patient_id, NEWS2_TOTAL))}
    assert after.keys() == scores.keys()  # amended in place, no third score
    assert sorted(s["valueInteger"] for s in after.values()) == [3, 4]  # pulse 135 scores 3


def test_an_unchanged_completed_form_does_not_bring_back_a_revoked_proposal(
    client: TestClient,
) -> None:
    patient_id, encounter_id = admit(client)
    form = assessment("falls-multifactorial", patient_id, encounter_id, **FALLS_FACTORS)
    recorded = _record(client, form)
    (proposal,) = proposals(client, patient_id)
    reason = {"url": REASON, "valueCodeableConcept": {"text": "Not needed: walks with a frame"}}
    revoked = {k: v for k, v in proposal.items() if k != "meta"} | {
        "status": "revoked",
        "extension": [reason],
    }
    assert client.put(f"/fhir/CarePlan/{proposal['id']}", json=revoked).status_code == 200
    _amend(client, recorded, {**form, "authored": recorded["authored"]})
    assert proposals(client, patient_id) == []


def test_an_amendment_that_no_longer_calls_for_a_plan_notes_its_proposal(
    client: TestClient,
) -> None:
    patient_id, encounter_id = admit(client)
    form = assessment("falls-multifactorial", patient_id, encounter_id, **FALLS_FACTORS)
    recorded = _record(client, form)
    (proposal,) = proposals(client, patient_id)
    none_found = {**FALLS_FACTORS, "falls_history": False, "footwear": False}
    amended = assessment("falls-multifactorial", patient_id, encounter_id, **none_found)
    _amend(client, recorded, {**amended, "status": "amended"})
    (noted,) = proposals(client, patient_id)
    assert noted["id"] == proposal["id"]
    assert (noted["status"], noted["intent"]) == ("draft", "proposal")
    assert "no longer calls for this plan" in noted["note"][-1]["text"]
    provenance = client.get("/fhir/Provenance", params={"target": f"CarePlan/{proposal['id']}"})
    assert provenance.json()["total"] == 2


def test_a_batch_post_of_an_assessment_is_authorised_like_any_create(
    client: TestClient, context: AppContext, patient_id: str
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": _well(patient_id),
                "request": {"method": "POST", "url": "QuestionnaireResponse"},
            }
        ],
    }
    reader = auth_headers(context, scope="user/*.rs")
    answer = client.post("/fhir", json=bundle, headers=reader)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"][0]["response"]["status"].startswith("403")
    assert _search(client, patient_id, NEWS2_TOTAL) == []
    other = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    own = auth_headers(context, scope="patient/*.cruds", patient=other)
    answer = client.post("/fhir", json=bundle, headers=own)
    assert answer.json()["entry"][0]["response"]["status"].startswith("403")
    assert _search(client, patient_id, NEWS2_TOTAL) == []
    answer = client.post("/fhir", json=bundle)
    assert answer.json()["entry"][0]["response"]["status"].startswith("201")
    (score,) = _search(client, patient_id, NEWS2_TOTAL)
    assert score["valueInteger"] == 0


def test_a_conditional_post_of_a_form_records_it_once(client: TestClient, patient_id: str) -> None:
    form = {
        **_well(patient_id),
        "identifier": {"system": "http://example.org/forms", "value": "F-7"},
    }
    criteria = {"If-None-Exist": "identifier=http://example.org/forms|F-7"}
    first = client.post("/fhir/QuestionnaireResponse", json=form, headers=criteria)
    again = client.post("/fhir/QuestionnaireResponse", json=form, headers=criteria)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(_search(client, patient_id, NEWS2_TOTAL)) == 1


def test_the_assessment_create_takes_only_questionnaire_responses(
    context: AppContext, patient_id: str
) -> None:
    nurse = Actor(ActorKind.USER, "Nurse", "Practitioner/n1", scopes=frozenset({"user/*.cruds"}))
    with pytest.raises(WardCareError) as refused:
        record_assessment.create(
            context, actor=nurse, resource=factories.patient(), resource_type="Patient"
        )
    assert refused.value.issues[0].expression == ("resourceType",)
