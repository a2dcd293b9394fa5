"""The UI pages over HTTP (no browser): headers for framing, errors as pages, forms for every
active template, the running score from the server's rules, and recording through the service."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tests.conftest import auth_headers
from wardcare.api.app import create_app
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.services.context import AppContext

NEWS2_FORM = {
    "respiration-rate": "22",
    "spo2": "94",
    "on-oxygen": "false",
    "systolic-bp": "104",
    "pulse": "112",
    "consciousness": "A",
    "temperature": "38.4",
}


def _form_values(answers: dict[str, object]) -> dict[str, str]:
    return {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in answers.items()
    }


class _Inputs(HTMLParser):
    """Every form control, and the ids that labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append({**found, "wrapped": "yes" if self.in_label else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


def test_unknown_ward_is_a_readable_404_page(client: TestClient) -> None:
    answer = client.get("/ui/wards/NOWARD")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no ward with code" in answer.text


def test_pages_may_be_framed_only_by_the_configured_ehr(
    session_context: AppContext, context: AppContext
) -> None:
    settings = context.settings.model_copy(
        update={"ui_frame_ancestors": "'self' https://ehr.example.nhs.uk"}
    )
    app = create_app(dataclasses.replace(context, settings=settings))
    with TestClient(app, headers=auth_headers(context)) as client:
        answer = client.get("/ui/wards")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://ehr.example.nhs.uk" in policy
    assert "script-src 'self'" in policy
    assert "x-frame-options" not in answer.headers


def test_every_active_template_has_a_form_with_a_label_for_every_input(
    client: TestClient, ward: SyntheticHospital, context: AppContext
) -> None:
    patient_id = ward.admitted[0].patient["id"]
    active = [t for t in context.catalog.latest() if t.template.status == "active"]
    assert {t.template.id for t in active} >= {"news2", "pressure-ulcer-risk", "pain-score"}
    for loaded in active:
        answer = client.get(f"/ui/patients/{patient_id}/assessments/{loaded.template.id}")
        assert answer.status_code == 200, loaded.template.id
        parser = _Inputs()
        parser.feed(answer.text)
        names = [c["name"] for c in parser.controls]
        # Every item of the template is on the form, in the template's (chart) order.
        in_order = list(dict.fromkeys(names))
        assert in_order == [i.link_id for i in loaded.template.items], loaded.template.id
        for control in parser.controls:
            assert control["wrapped"] or control["id"] in parser.label_for, control


def test_the_running_score_is_the_servers_score_for_every_worked_example(
    client: TestClient, ward: SyntheticHospital, context: AppContext
) -> None:
    patient_id = ward.admitted[0].patient["id"]
    checked = 0
    for loaded in context.catalog.latest():
        if loaded.template.engine == "none":
            continue
        for example in loaded.template.examples:
            if example.spo2_scale != 1:
                continue  # the patient's scale is a stored setting; scale 1 here
            answer = client.post(
                f"/ui/patients/{patient_id}/assessments/{loaded.template.id}/preview",
                data=_form_values(example.answers),
            )
            assert answer.status_code == 200
            body = answer.json()
            expected = loaded.score(example.answers)
            assert body["total"] == (expected.total if not expected.missing else None)
            assert body["band"] == (expected.band_code if not expected.missing else None)
            checked += 1
    assert checked >= 10


def test_an_implausible_reading_is_questioned_in_plain_words(
    client: TestClient, ward: SyntheticHospital
) -> None:
    patient_id = ward.admitted[0].patient["id"]
    answer = client.post(
        f"/ui/patients/{patient_id}/assessments/news2/preview",
        data={**NEWS2_FORM, "spo2": "140", "temperature": "101.3", "pulse": "abc"},
    )
    body = answer.json()
    assert body["problems"]["spo2"].startswith("SpO2 140 %? Check the reading")
    assert "Fahrenheit" in body["problems"]["temperature"]
    assert body["problems"]["pulse"] == "Pulse: 'abc' is not a number"
    assert body["total"] is None  # never a score from a set with a questioned reading


def test_recording_through_the_form_stores_the_score_and_escalates(
    client: TestClient, ward: SyntheticHospital
) -> None:
    # A patient who is not deteriorating has no escalation open yet.
    patient_id = next(a for a in ward.admitted if not a.deteriorating).patient["id"]
    answer = client.post(
        f"/ui/patients/{patient_id}/assessments/news2", data=NEWS2_FORM, follow_redirects=False
    )
    assert answer.status_code == 303
    recorded = client.get(answer.headers["location"])
    assert recorded.status_code == 200
    assert re.search(r'id="stored-score">7<span class="band">HIGH</span>', recorded.text)
    assert "Escalation raised: STAT" in recorded.text
    score_id = re.search(r"score=([0-9a-f-]+)", answer.headers["location"])
    assert score_id is not None
    stored = client.get(f"/fhir/Observation/{score_id.group(1)}").json()
    assert stored["valueInteger"] == 7
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"
    response = client.get(
        "/fhir/QuestionnaireResponse", params={"patient": f"Patient/{patient_id}"}
    ).json()
    assert response["entry"][0]["resource"]["author"]["display"].startswith("Alex Morgan")


def test_a_refused_answer_shows_the_form_again_with_the_message_and_stores_nothing(
    client: TestClient, ward: SyntheticHospital
) -> None:
    patient_id = ward.admitted[0].patient["id"]
    before = client.get("/fhir/QuestionnaireResponse", params={"_summary": "count"}).json()
    answer = client.post(
        f"/ui/patients/{patient_id}/assessments/news2", data={**NEWS2_FORM, "spo2": "140"}
    )
    assert answer.status_code == 422
    assert "SpO2 140 %? check the reading" in answer.text.replace("Check", "check")
    assert 'value="140"' in answer.text  # what the nurse typed is kept
    after = client.get("/fhir/QuestionnaireResponse", params={"_summary": "count"}).json()
    assert after["total"] == before["total"]


def test_a_missing_required_answer_is_named(client: TestClient, ward: SyntheticHospital) -> None:
    patient_id = ward.admitted[0].patient["id"]
    partial = {k: v for k, v in NEWS2_FORM.items() if k != "temperature"}
    answer = client.post(f"/ui/patients/{patient_id}/assessments/news2", data=partial)
    assert answer.status_code == 422
    assert "Temperature (temperature) must be answered" in answer.text


def test_the_board_lists_beds_in_bed_order_with_the_print_button(
    client: TestClient, ward: SyntheticHospital
) -> None:
    board_client = client
    page = board_client.get("/ui/wards/WARD7").text
    codes = re.findall(r'id="bed-(WARD7-[A-Z0-9-]+)"', page)
    expected = [b["identifier"][0]["value"].replace("/", "-") for b in ward.beds]
    assert sorted(codes) == sorted(expected)
    assert len(codes) == 5
    assert 'href="/wards/WARD7/handover.pdf"' in page
    rows = board_client.get("/ui/wards/WARD7/board").text
    assert rows.strip().startswith("<tr")
    assert codes == re.findall(r'id="bed-(WARD7-[A-Z0-9-]+)"', rows)
