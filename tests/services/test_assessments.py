"""Recording assessments: answers checked, scored, stored with their Observations and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories

NEWS2 = "http://wardcare.org/fhir/Questionnaire/news2"
NEWS2_TOTAL = "http://snomed.info/sct|1104051000000101"
ACVPU = "http://wardcare.org/fhir/CodeSystem/acvpu"


@pytest.fixture
def patient_id(client: TestClient) -> str:
    response = client.post("/fhir/Patient", json=factories.patient())
    assert response.status_code == 201
    return str(response.json()["id"])


def news2_response(patient_id: str, status: str = "completed", **answers: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "respiration-rate": {"valueInteger": 22},
        "spo2": {"valueInteger": 94},
        "on-oxygen": {"valueBoolean": False},
        "systolic-bp": {"valueInteger": 104},
        "pulse": {"valueInteger": 112},
        "consciousness": {"valueCoding": {"system": ACVPU, "code": "A"}},
        "temperature": {"valueDecimal": 38.4},
    }
    for link_id, value in answers.items():
        key = link_id.replace("_", "-")
        if value is None:
            values.pop(key)
        else:
            values[key] = value
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{NEWS2}|1.0.0",
        "status": status,
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": "2026-11-22T10:10:00Z",
        "item": [{"linkId": k, "answer": [v]} for k, v in values.items()],
    }


def test_the_questionnaires_are_published_on_start(client: TestClient) -> None:
    bundle = client.get("/fhir/Questionnaire", params={"url": NEWS2}).json()
    assert bundle["total"] == 1
    items = {i["linkId"]: i for i in bundle["entry"][0]["resource"]["item"]}
    assert items["respiration-rate"]["code"][0]["code"] == "9279-1"


def test_a_completed_news2_is_scored_and_stored_with_its_observations(
    client: TestClient, patient_id: str
) -> None:
    created = client.post("/fhir/QuestionnaireResponse", json=news2_response(patient_id))
    assert created.status_code == 201, created.text
    response_id = created.json()["id"]

    scores = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    (entry,) = scores.json()["entry"]
    score = entry["resource"]
    assert score["valueInteger"] == 7
    assert score["interpretation"][0]["coding"][0]["code"] == "high"
    assert score["interpretation"][0]["text"].startswith("HIGH")
    sub_scores = {c["code"]["coding"][0]["code"]: c["valueInteger"] for c in score["component"]}
    assert sub_scores == {
        "1104301000000104": 2,  # respiration rate 22
        "1104311000000102": 1,  # SpO2 scale 1, 94 %
        "1104331000000105": 0,  # air
        "1104341000000101": 1,  # systolic 104
        "1104351000000103": 2,  # pulse 112
        "1104361000000100": 0,  # alert
        "1104371000000107": 1,  # 38.4 C
    }
    derived = [d["reference"] for d in score["derivedFrom"]]
    assert derived[0] == f"QuestionnaireResponse/{response_id}"
    vitals = client.get(
        "/fhir/Observation", params={"patient": patient_id, "category": "vital-signs"}
    ).json()
    assert vitals["total"] == 5  # RR, SpO2, systolic BP, pulse, temperature (ACVPU is exam)
    assert {f"Observation/{e['resource']['id']}" for e in vitals["entry"]} <= set(derived)


def test_a_high_score_raises_a_stat_escalation_task_for_the_nurse_in_charge(
    client: TestClient, patient_id: str
) -> None:
    client.post("/fhir/QuestionnaireResponse", json=news2_response(patient_id))
    tasks = client.get("/fhir/Task", params={"patient": patient_id, "status": "requested"}).json()
    (entry,) = tasks["entry"]
    assert entry["resource"]["priority"] == "stat"
    assert "Emergency response" in entry["resource"]["description"]


def test_a_later_lower_score_does_not_close_or_duplicate_the_escalation(
    client: TestClient, patient_id: str
) -> None:
    client.post("/fhir/QuestionnaireResponse", json=news2_response(patient_id))
    calmer = news2_response(
        patient_id,
        respiration_rate={"valueInteger": 16},
        pulse={"valueInteger": 80},
        temperature={"valueDecimal": 37.0},
    )
    calmer["authored"] = "2026-11-22T11:10:00Z"
    assert client.post("/fhir/QuestionnaireResponse", json=calmer).status_code == 201
    tasks = client.get("/fhir/Task", params={"patient": patient_id}).json()
    assert [e["resource"]["status"] for e in tasks["entry"]] == ["requested"]


def test_an_implausible_answer_is_refused_naming_its_item(
    client: TestClient, patient_id: str
) -> None:
    response = client.post(
        "/fhir/QuestionnaireResponse", json=news2_response(patient_id, spo2={"valueInteger": 140})
    )
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert "SpO2 140" in issue["diagnostics"]
    assert issue["expression"] == ["QuestionnaireResponse.item[1].answer[0]"]
    assert client.get("/fhir/QuestionnaireResponse").json()["total"] == 0


def test_a_missing_required_answer_in_a_completed_response_is_refused(
    client: TestClient, patient_id: str
) -> None:
    response = client.post(
        "/fhir/QuestionnaireResponse", json=news2_response(patient_id, temperature=None)
    )
    assert response.status_code == 422
    assert "(temperature)" in response.json()["issue"][0]["diagnostics"]


def test_an_answer_code_outside_the_options_is_refused(client: TestClient, patient_id: str) -> None:
    wrong = news2_response(
        patient_id, consciousness={"valueCoding": {"system": ACVPU, "code": "Z"}}
    )
    response = client.post("/fhir/QuestionnaireResponse", json=wrong)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == [
        "QuestionnaireResponse.item[5].answer[0].valueCoding"
    ]


def test_an_unknown_template_version_is_unprocessable(client: TestClient, patient_id: str) -> None:
    response = news2_response(patient_id)
    response["questionnaire"] = f"{NEWS2}|9.9.9"
    answer = client.post("/fhir/QuestionnaireResponse", json=response)
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["QuestionnaireResponse.questionnaire"]


def test_a_response_for_a_patient_who_does_not_exist_is_unprocessable(client: TestClient) -> None:
    answer = client.post("/fhir/QuestionnaireResponse", json=news2_response("no-such-patient"))
    assert answer.status_code == 422
    assert "does not exist" in answer.json()["issue"][0]["diagnostics"]


def test_a_response_for_a_patient_who_does_not_exist_stores_nothing(
    client: TestClient,
) -> None:
    # The patient is checked inside the write transaction: its failure rolls everything back.
    kinds = ("QuestionnaireResponse", "Observation", "Provenance", "Task", "CarePlan")

    def counts() -> list[int]:
        return [client.get(f"/fhir/{kind}").json()["total"] for kind in kinds]

    before = counts()
    answer = client.post("/fhir/QuestionnaireResponse", json=news2_response("no-such-patient"))
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["QuestionnaireResponse.subject"]
    assert counts() == before
    assert before[0] == 0


def test_an_in_progress_response_is_stored_without_a_score(
    client: TestClient, patient_id: str
) -> None:
    draft = news2_response(patient_id, status="in-progress", temperature=None, pulse=None)
    assert client.post("/fhir/QuestionnaireResponse", json=draft).status_code == 201
    scores = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    assert scores.json()["total"] == 0


def test_extract_returns_the_observations_without_storing_them(
    client: TestClient, patient_id: str
) -> None:
    bundle = client.post(
        "/fhir/QuestionnaireResponse/$extract", json=news2_response(patient_id)
    ).json()
    assert bundle["type"] == "transaction"
    codes = [e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]]
    assert "1104051000000101" in codes
    assert "9279-1" in codes
    assert client.get("/fhir/Observation").json()["total"] == 0


def test_news2_is_computed_when_separate_vital_signs_complete_a_set(
    client: TestClient, patient_id: str
) -> None:
    readings = factories.vital_signs(
        patient_id, rr=22, spo2=94, o2_flow=0, sbp=104, dbp=66, pulse=112, acvpu="A", temp=38.4
    )
    *first, last = readings
    for observation in first:
        assert client.post("/fhir/Observation", json=observation).status_code == 201
    partial = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    assert partial.json()["total"] == 0  # an incomplete set is never scored
    assert client.post("/fhir/Observation", json=last).status_code == 201
    scores = client.get(
        "/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL}
    ).json()
    (entry,) = scores["entry"]
    assert entry["resource"]["valueInteger"] == 7
    assert len(entry["resource"]["derivedFrom"]) == len(readings)


def test_the_patients_spo2_scale_2_setting_is_used(client: TestClient, patient_id: str) -> None:
    setting = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://wardcare.org/fhir/CodeSystem/news2", "code": "spo2-scale"}
            ]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2026-11-22T08:00:00Z",
        "performer": [{"display": "Dr R Patel, respiratory consultant"}],
        "valueInteger": 2,
    }
    assert client.post("/fhir/Observation", json=setting).status_code == 201
    copd = news2_response(
        patient_id,
        spo2={"valueInteger": 90},
        on_oxygen={"valueBoolean": True},
        oxygen_flow={"valueDecimal": 2},
        respiration_rate={"valueInteger": 20},
        pulse={"valueInteger": 88},
        systolic_bp={"valueInteger": 130},
        temperature={"valueDecimal": 37.0},
    )
    assert client.post("/fhir/QuestionnaireResponse", json=copd).status_code == 201
    score = client.get(
        "/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL}
    ).json()["entry"][0]
    components = {
        c["code"]["coding"][0]["code"]: c["valueInteger"] for c in score["resource"]["component"]
    }
    assert components["1104321000000108"] == 0  # SpO2 scale 2: 90 % scores 0
    assert score["resource"]["valueInteger"] == 2  # oxygen scores 2


def test_an_spo2_scale_without_who_decided_is_refused(client: TestClient, patient_id: str) -> None:
    setting = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://wardcare.org/fhir/CodeSystem/news2", "code": "spo2-scale"}
            ]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueInteger": 2,
    }
    answer = client.post("/fhir/Observation", json=setting)
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["Observation.performer"]


@pytest.mark.parametrize(
    ("change", "fragment", "path"),
    [
        (
            {"valueQuantity": {"value": 140, "unit": "%", "system": factories.UCUM, "code": "%"}},
            "SpO2 140",
            "Observation.valueQuantity.value",
        ),
        (
            {
                "valueQuantity": {
                    "value": -3,
                    "unit": "/min",
                    "system": factories.UCUM,
                    "code": "/min",
                }
            },
            "check the reading",
            "Observation.valueQuantity.value",
        ),
    ],
)
def test_implausible_vital_signs_are_refused_not_stored(
    client: TestClient, patient_id: str, change: dict[str, Any], fragment: str, path: str
) -> None:
    code = "59408-5" if "%" in str(change) else "9279-1"
    observation = factories.heart_rate(patient_id, **change)
    observation["code"] = {"coding": [{"system": factories.LOINC, "code": code}]}
    answer = client.post("/fhir/Observation", json=observation)
    assert answer.status_code == 422
    issue = answer.json()["issue"][0]
    assert fragment in issue["diagnostics"]
    assert issue["expression"] == [path]


def test_a_temperature_in_fahrenheit_is_refused(client: TestClient, patient_id: str) -> None:
    observation = factories.heart_rate(patient_id)
    observation["code"] = {"coding": [{"system": factories.LOINC, "code": "8310-5"}]}
    observation["valueQuantity"] = {
        "value": 101.2,
        "unit": "F",
        "system": factories.UCUM,
        "code": "[degF]",
    }
    answer = client.post("/fhir/Observation", json=observation)
    assert answer.status_code == 422
    assert "Cel" in answer.json()["issue"][0]["diagnostics"]


def test_readings_further_apart_than_the_30_minute_window_do_not_make_a_set(
    client: TestClient, patient_id: str
) -> None:
    early = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    late = datetime(2026, 11, 22, 9, 40, tzinfo=UTC)
    first = factories.vital_signs(
        patient_id, when=early, rr=18, spo2=96, o2_flow=0, sbp=120, dbp=70, pulse=80
    )
    second = factories.vital_signs(patient_id, when=late, acvpu="A", temp=37.0)
    for observation in [*first, *second]:
        assert client.post("/fhir/Observation", json=observation).status_code == 201
    scores = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    assert scores.json()["total"] == 0


def test_fluid_chart_entries_give_a_running_24_hour_balance(
    client: TestClient, patient_id: str
) -> None:
    now = datetime.now(UTC)

    def entry(minutes_ago: int, **volumes: int) -> dict[str, Any]:
        return {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "http://wardcare.org/fhir/Questionnaire/fluid-balance|1.0.0",
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "authored": (now - timedelta(minutes=minutes_ago)).isoformat(),
            "item": [
                {"linkId": k.replace("_", "-"), "answer": [{"valueInteger": v}]}
                for k, v in volumes.items()
            ],
        }

    for body in (
        entry(180, oral_intake=250),
        entry(120, iv_intake=1000),
        entry(60, urine_output=300),
        entry(60 * 30, oral_intake=999),
    ):
        assert client.post("/fhir/QuestionnaireResponse", json=body).status_code == 201
    chart = client.get(f"/patients/{patient_id}/fluid-balance").json()
    assert (chart["intakeMl"], chart["outputMl"], chart["balanceMl"]) == (1250, 300, 950)
    assert [e["runningBalanceMl"] for e in chart["entries"]] == [250, 1250, 950]


def test_one_provenance_names_everything_an_assessment_stored(
    client: TestClient, patient_id: str
) -> None:
    created = client.post("/fhir/QuestionnaireResponse", json=news2_response(patient_id)).json()
    found = client.get(
        "/fhir/Provenance", params={"target": f"QuestionnaireResponse/{created['id']}"}
    ).json()
    (entry,) = found["entry"]
    targets = [t["reference"] for t in entry["resource"]["target"]]
    # The response, 6 extracted readings, the score, the escalation Task, the deteriorating-
    # patient care-plan proposal NEWS2 7 triggers, and the patient.
    assert len(targets) == 11
    assert any(t.startswith("CarePlan/") for t in targets)
    assert f"Patient/{patient_id}" in targets
    assert entry["resource"]["activity"]["coding"][0]["code"] == "CREATE"


def _news2_at(patient_id: str, when: str, **answers: Any) -> dict[str, Any]:
    """A well patient (NEWS2 0) changed by ``answers``, recorded at ``when``."""
    well: dict[str, Any] = {
        "respiration_rate": {"valueInteger": 16},
        "spo2": {"valueInteger": 97},
        "systolic_bp": {"valueInteger": 128},
        "pulse": {"valueInteger": 72},
        "temperature": {"valueDecimal": 36.8},
    }
    response = news2_response(patient_id, **{**well, **answers})
    response["authored"] = when
    return response


_CONFUSED = {"consciousness": {"valueCoding": {"system": ACVPU, "code": "C"}}}


def _open_escalations(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    tasks = client.get(
        "/fhir/Task", params={"patient": patient_id, "status": "requested", "_sort": "authored-on"}
    ).json()
    return [e["resource"] for e in tasks.get("entry", ())]


def _band(task: dict[str, Any]) -> str:
    (coding,) = task["reasonCode"]["coding"]
    assert coding["system"] == "http://wardcare.org/fhir/CodeSystem/news2"
    return str(coding["code"])


def test_a_rise_to_a_higher_band_of_the_same_priority_raises_a_new_escalation(
    client: TestClient, patient_id: str
) -> None:
    # RCP NEWS2 chart 4: a single 3 (low-medium) asks for an urgent ward-based response; a
    # total of 5 (medium) for urgent assessment by a team with acute-care competencies: a
    # different response, so it must reach the nurse in charge even while the first is open.
    single_3 = _news2_at(patient_id, "2026-11-22T10:00:00Z", **_CONFUSED)
    assert client.post("/fhir/QuestionnaireResponse", json=single_3).status_code == 201
    total_5 = _news2_at(
        patient_id, "2026-11-22T11:00:00Z", pulse={"valueInteger": 112}, **_CONFUSED
    )
    assert client.post("/fhir/QuestionnaireResponse", json=total_5).status_code == 201
    tasks = _open_escalations(client, patient_id)
    assert [(t["priority"], _band(t)) for t in tasks] == [
        ("urgent", "low-medium"),
        ("urgent", "medium"),
    ]
    # Then 7 (high): a stat Task beside them; the open ones stay open (H06).
    total_7 = _news2_at(
        patient_id,
        "2026-11-22T12:00:00Z",
        pulse={"valueInteger": 112},
        respiration_rate={"valueInteger": 22},
        **_CONFUSED,
    )
    assert client.post("/fhir/QuestionnaireResponse", json=total_7).status_code == 201
    tasks = _open_escalations(client, patient_id)
    assert [(t["priority"], _band(t)) for t in tasks] == [
        ("urgent", "low-medium"),
        ("urgent", "medium"),
        ("stat", "high"),
    ]


def test_a_lower_or_equal_band_while_a_higher_escalation_is_open_raises_nothing(
    client: TestClient, patient_id: str
) -> None:
    total_5 = _news2_at(
        patient_id, "2026-11-22T10:00:00Z", pulse={"valueInteger": 112}, **_CONFUSED
    )
    assert client.post("/fhir/QuestionnaireResponse", json=total_5).status_code == 201
    again_5 = _news2_at(
        patient_id, "2026-11-22T10:30:00Z", pulse={"valueInteger": 112}, **_CONFUSED
    )
    single_3 = _news2_at(patient_id, "2026-11-22T11:00:00Z", **_CONFUSED)
    for body in (again_5, single_3):
        assert client.post("/fhir/QuestionnaireResponse", json=body).status_code == 201
    tasks = _open_escalations(client, patient_id)
    assert [(t["priority"], _band(t)) for t in tasks] == [("urgent", "medium")]


def test_a_completed_escalation_does_not_stop_a_new_one(
    client: TestClient, patient_id: str
) -> None:
    single_3 = _news2_at(patient_id, "2026-11-22T10:00:00Z", **_CONFUSED)
    assert client.post("/fhir/QuestionnaireResponse", json=single_3).status_code == 201
    (task,) = _open_escalations(client, patient_id)
    done = {**task, "status": "completed"}
    assert client.put(f"/fhir/Task/{task['id']}", json=done).status_code == 200
    again = _news2_at(patient_id, "2026-11-22T11:00:00Z", **_CONFUSED)
    assert client.post("/fhir/QuestionnaireResponse", json=again).status_code == 201
    assert [_band(t) for t in _open_escalations(client, patient_id)] == ["low-medium"]


@pytest.mark.parametrize(
    ("on_oxygen", "flow", "fragment"),
    [
        (True, 75, "above 60"),  # minValue/maxValue of the published Questionnaire: 0-60 L/min
        (True, -1, "below 0"),
        (False, 2, "not asked"),  # enableWhen on-oxygen = true: air with a flow is refused
    ],
)
def test_a_news2_oxygen_flow_answer_is_checked_against_the_template(
    client: TestClient, patient_id: str, on_oxygen: bool, flow: float, fragment: str
) -> None:
    body = news2_response(
        patient_id, on_oxygen={"valueBoolean": on_oxygen}, oxygen_flow={"valueDecimal": flow}
    )
    answer = client.post("/fhir/QuestionnaireResponse", json=body)
    assert answer.status_code == 422, answer.text
    issue = answer.json()["issue"][0]
    assert fragment in issue["diagnostics"]
    assert "(oxygen-flow)" in issue["diagnostics"]
    assert issue["expression"] == ["QuestionnaireResponse.item[7].answer[0]"]
    assert client.get("/fhir/QuestionnaireResponse").json()["total"] == 0


def test_an_answer_to_a_disabled_item_is_refused_on_extract_too(
    client: TestClient, patient_id: str
) -> None:
    body = news2_response(patient_id, oxygen_flow={"valueDecimal": 2})
    answer = client.post("/fhir/QuestionnaireResponse/$extract", json=body)
    assert answer.status_code == 422
    assert "(oxygen-flow)" in answer.json()["issue"][0]["diagnostics"]
