"""Assessment results propose care plans in the transaction that stores them, from a completed
form or from NEWS2 scored from separate vital signs; never twice, never active by themselves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests import factories
from tests.api.test_care_plan_journey import FALLS_FACTORS, admit, assessment, proposals
from tests.services.test_assessments import news2_response


def test_news2_scored_from_vital_signs_proposes_the_deteriorating_patient_plan(
    client: TestClient,
) -> None:
    patient_id, _encounter = admit(client)
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    readings = factories.vital_signs(
        patient_id,
        when=when,
        rr=26,
        spo2=91,
        o2_flow=0,
        sbp=95,
        dbp=60,
        pulse=120,
        acvpu="A",
        temp=38.6,
    )
    for observation in readings:
        assert client.post("/fhir/Observation", json=observation).status_code == 201
    (proposal,) = proposals(client, patient_id)
    assert proposal["instantiatesCanonical"] == [
        "http://wardcare.org/fhir/PlanDefinition/deteriorating-patient|1.0.0"
    ]
    assert (proposal["status"], proposal["intent"]) == ("draft", "proposal")
    score = proposal["supportingInfo"][0]["reference"]
    assert client.get(f"/fhir/{score}").json()["code"]["coding"][0]["code"] == "1104051000000101"
    provenance = client.get("/fhir/Provenance", params={"target": f"CarePlan/{proposal['id']}"})
    (entry,) = provenance.json()["entry"]
    assert score + "/_history/1" in [t["reference"] for t in entry["resource"]["target"]]


def test_a_well_patient_gets_no_proposal(client: TestClient) -> None:
    patient_id, encounter_id = admit(client)
    none_found = {**FALLS_FACTORS, "falls_history": False, "footwear": False}
    response = client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **none_found),
    )
    assert response.status_code == 201
    assert proposals(client, patient_id) == []


def _activities(proposal: dict[str, Any]) -> set[str]:
    return {
        a["detail"]["instantiatesCanonical"][0].split("|")[0].rsplit(".", 1)[1]
        for a in proposal["activity"]
    }


def test_a_new_factor_extends_the_open_proposal_instead_of_duplicating_it(
    client: TestClient,
) -> None:
    patient_id, encounter_id = admit(client)
    first = {**FALLS_FACTORS, "falls_history": False}  # unsafe footwear only
    client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **first),
    )
    (proposal,) = proposals(client, patient_id)
    assert "hourly-rounding" not in _activities(proposal)
    later = {**first, "cognition": "new-confusion"}
    client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **later),
    )
    (extended,) = proposals(client, patient_id)
    assert extended["id"] == proposal["id"]
    assert extended["meta"]["versionId"] == "2"
    assert {"delirium-screen", "hourly-rounding", "bed-rails-assessment"} <= _activities(extended)
    assert len(extended["note"]) == 2


def test_no_proposal_while_a_plan_from_the_template_is_in_place(client: TestClient) -> None:
    patient_id, encounter_id = admit(client)
    applied = client.post(
        "/fhir/PlanDefinition/falls-prevention/$apply",
        params=[("subject", f"Patient/{patient_id}"), ("intervention", "safe-environment")],
    )
    assert applied.status_code == 201
    assert len(applied.json()["activity"]) == 1  # exactly the interventions named
    client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **FALLS_FACTORS),
    )
    assert proposals(client, patient_id) == []


def _withdraw(client: TestClient, reference: str) -> None:
    current = client.get(f"/fhir/{reference}").json()
    body = {k: v for k, v in current.items() if k != "meta"} | {"status": "entered-in-error"}
    assert client.put(f"/fhir/{reference}", json=body).status_code == 200


def test_a_proposal_whose_result_is_withdrawn_stays_for_a_person_to_decide_flagged(
    client: TestClient,
) -> None:
    # Hazard H25: the falls assessment that proposed the plan was recorded for the wrong
    # patient. The proposal is not adopted believing it stands, nor silently removed.
    patient_id, encounter_id = admit(client)
    recorded = client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **FALLS_FACTORS),
    )
    response_ref = f"QuestionnaireResponse/{recorded.json()['id']}"
    (proposal,) = proposals(client, patient_id)
    assert {"reference": response_ref} in proposal["supportingInfo"]
    _withdraw(client, response_ref)
    (flagged,) = proposals(client, patient_id)
    assert flagged["id"] == proposal["id"]
    assert (flagged["status"], flagged["intent"]) == ("draft", "proposal")
    assert "supportingInfo" not in flagged  # nothing it cited still stands
    assert "Entered in error" in flagged["note"][-1]["text"]
    assert "no result it cites still stands" in flagged["note"][-1]["text"]
    # The care-plan page shows the note as the proposal's reason.
    summary = client.get(f"/patients/{patient_id}/care-summary")
    assert summary.status_code == 200
    (shown,) = summary.json()["proposals"]
    assert "Entered in error" in shown["reason"]
    provenance = client.get("/fhir/Provenance", params={"target": f"CarePlan/{proposal['id']}"})
    assert provenance.json()["total"] >= 2  # who proposed it, and whose change flagged it


def test_a_proposal_still_cites_the_later_result_that_extended_it(client: TestClient) -> None:
    patient_id, encounter_id = admit(client)
    first = {**FALLS_FACTORS, "falls_history": False}  # unsafe footwear only
    one = client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **first),
    ).json()["id"]
    later = {**first, "cognition": "new-confusion"}
    two = client.post(
        "/fhir/QuestionnaireResponse",
        json=assessment("falls-multifactorial", patient_id, encounter_id, **later),
    ).json()["id"]
    (proposal,) = proposals(client, patient_id)
    cited = [r["reference"] for r in proposal["supportingInfo"]]
    assert f"QuestionnaireResponse/{one}" in cited
    assert f"QuestionnaireResponse/{two}" in cited
    _withdraw(client, f"QuestionnaireResponse/{one}")
    (flagged,) = proposals(client, patient_id)
    assert [r["reference"] for r in flagged["supportingInfo"]] == [f"QuestionnaireResponse/{two}"]
    assert "still rests on the results it cites" in flagged["note"][-1]["text"]


def test_withdrawing_a_scored_form_notes_its_proposal_once(client: TestClient) -> None:
    # A NEWS2 form of 7 proposes the deteriorating-patient plan, citing the form and its
    # score; withdrawing the form withdraws the score too: one note says both.
    patient_id, _encounter_id = admit(client)
    high = news2_response(patient_id)  # RR 22, SpO2 94, SBP 104, pulse 112, 38.4: NEWS2 7
    recorded = client.post("/fhir/QuestionnaireResponse", json=high)
    assert recorded.status_code == 201
    (proposal,) = proposals(client, patient_id)
    assert len(proposal["supportingInfo"]) == 2
    _withdraw(client, f"QuestionnaireResponse/{recorded.json()['id']}")
    (flagged,) = proposals(client, patient_id)
    notes = [n["text"] for n in flagged["note"] if n["text"].startswith("Entered in error")]
    assert len(notes) == 1
    assert "no result it cites still stands" in notes[0]
    assert flagged["meta"]["versionId"] == "2"
