"""The care-plan page over HTTP: a pressure screen proposes a plan; the nurse adopts it, rewords
a goal, activates it, documents an intervention, evaluates a goal, writes a handover note and
discontinues the plan with a reason; every step through the care-planning use cases."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from wardcare.demo.synthetic_hospital import SyntheticHospital

HIGH_PRESSURE_RISK = {
    "pressure-ulcer-history": "current",
    "skin-inspection": "non-blanching-redness",
    "mobility": "limited",
    "sensory-impairment": "false",
    "cognitive-impairment": "false",
    "moisture": "none",
    "nutrition": "low",
    "medical-device": "false",
}


def _post(client: TestClient, path: str, data: dict[str, str]) -> str:
    answer = client.post(path, data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text[-2000:]
    return client.get(answer.headers["location"]).text


def test_a_proposed_plan_is_adopted_personalised_activated_documented_and_discontinued(
    client: TestClient, ward: SyntheticHospital
) -> None:
    patient_id = next(a for a in ward.admitted if not a.deteriorating).patient["id"]
    base = f"/ui/patients/{patient_id}"
    _post(client, f"{base}/assessments/pressure-ulcer-risk", HIGH_PRESSURE_RISK)

    page = client.get(f"{base}/care-plans").text
    proposed = re.findall(r'name="template" value="([a-z-]+)"', page)
    assert "pressure-ulcer-prevention" in proposed

    page = _post(client, f"{base}/care-plans/adopt", {"template": "pressure-ulcer-prevention"})
    assert "Draft plan made" in page
    goal = re.search(r'/goals/([0-9a-f-]+)/reword".*?name="version" value="(\d+)"', page, re.S)
    assert goal is not None
    page = _post(
        client,
        f"{base}/goals/{goal.group(1)}/reword",
        {"version": goal.group(2), "description": "Heels and sacrum stay intact"},
    )
    assert 'value="Heels and sacrum stay intact"' in page

    plan = re.search(r'/care-plans/([0-9a-f-]+)/activate".*?value="(\d+)"', page, re.S)
    assert plan is not None
    page = _post(client, f"{base}/care-plans/{plan.group(1)}/activate", {"version": plan.group(2)})
    assert "Plan activated" in page
    assert "Heels and sacrum stay intact" in page
    task = re.search(r"/interventions/([0-9a-f-]+)/document", page)
    assert task is not None

    refused = client.post(
        f"{base}/interventions/{task.group(1)}/document", data={"outcome": "not-done"}
    )
    assert refused.status_code == 422
    assert "needs the reason" in refused.text
    page = _post(client, f"{base}/interventions/{task.group(1)}/document", {"outcome": "done"})
    assert "Intervention documented" in page
    documented = client.get("/fhir/Task", params={"part-of": f"Task/{task.group(1)}"}).json()
    assert documented["entry"][0]["resource"]["status"] == "completed"

    evaluate = re.search(r"/goals/([0-9a-f-]+)/evaluate", page)
    assert evaluate is not None
    page = _post(
        client, f"{base}/goals/{evaluate.group(1)}/evaluate", {"result": "met", "note": "Intact"}
    )
    assert "last: met" in page

    page = _post(
        client,
        f"{base}/handover-note",
        {
            "situation": "Pressure area care",
            "background": "Current ulcer, limited mobility",
            "assessment": "Skin intact today",
            "recommendation": "Keep turning every 4 hours",
        },
    )
    assert "Handover note saved" in page

    close = re.search(r'/care-plans/([0-9a-f-]+)/close".*?name="version" value="(\d+)"', page, re.S)
    assert close is not None
    no_reason = client.post(
        f"{base}/care-plans/{close.group(1)}/close", data={"version": close.group(2), "reason": ""}
    )
    assert no_reason.status_code == 422
    assert "say why" in no_reason.text
    page = _post(
        client,
        f"{base}/care-plans/{close.group(1)}/close",
        {"version": close.group(2), "reason": "Moved to a pressure-relieving bed at home"},
    )
    assert "Plan closed" in page
    stored = client.get(f"/fhir/CarePlan/{close.group(1)}").json()
    assert stored["status"] == "revoked"
    history = client.get(f"/fhir/CarePlan/{close.group(1)}/_history").json()
    assert history["total"] >= 3  # draft, active, revoked: every version kept


def test_a_draft_plans_every_n_hours_intervention_is_given_its_own_frequency(
    client: TestClient, ward: SyntheticHospital
) -> None:
    patient_id = next(a for a in ward.admitted if not a.deteriorating).patient["id"]
    base = f"/ui/patients/{patient_id}"
    _post(client, f"{base}/assessments/pressure-ulcer-risk", HIGH_PRESSURE_RISK)
    page = _post(client, f"{base}/care-plans/adopt", {"template": "pressure-ulcer-prevention"})
    form = re.search(
        r'/interventions/([0-9a-f-]+)/frequency".*?name="version" value="(\d+)"'
        r'.*?name="every_hours" value="(\d+)"',
        page,
        re.S,
    )
    assert form is not None
    task_id, version, hours = form.group(1), form.group(2), int(form.group(3))
    path = f"{base}/interventions/{task_id}/frequency"

    # Nonsense and out-of-range frequencies are refused in words and change nothing.
    for bad in ("0", "abc", "200"):
        refused = client.post(path, data={"version": version, "every_hours": bad})
        assert refused.status_code == 422
        assert "Not changed" in refused.text
    assert client.get(f"/fhir/Task/{task_id}").json()["meta"]["versionId"] == version

    page = _post(client, path, {"version": version, "every_hours": str(hours + 1)})
    assert "Frequency changed" in page
    task = client.get(f"/fhir/Task/{task_id}").json()
    (timing,) = [e["valueTiming"] for e in task["extension"] if "intervention-timing" in e["url"]]
    assert timing["repeat"] == {"frequency": 1, "period": hours + 1, "periodUnit": "h"}
    assert f"every {hours + 1} hours" in page

    # A stale page (the version it read) is refused, never a lost update.
    stale = client.post(path, data={"version": version, "every_hours": "4"})
    assert stale.status_code == 422
    assert "Not changed" in stale.text
    after = client.get(f"/fhir/Task/{task_id}").json()
    assert after["meta"]["versionId"] == task["meta"]["versionId"]
