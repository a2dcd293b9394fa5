"""Concurrent clients over real sockets: conditional create and If-Match never lose or double."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests import factories
from tests.conftest import LiveServer
from tests.services.test_assessments import news2_response

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def test_20_parallel_conditional_creates_of_one_identifier_make_exactly_one_patient(
    live_server: LiveServer,
) -> None:
    patient = factories.patient()
    nhs_number = next(i["value"] for i in patient["identifier"] if i["system"] == NHS)
    criteria = f"identifier={NHS}|{nhs_number}"

    def create(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=live_server.base_url, headers=live_server.headers) as client:
            response = client.post(
                "/fhir/Patient", json=patient, headers={"If-None-Exist": criteria}
            )
            return response.status_code, response.json().get("id", response.text)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(create, range(20)))

    assert sorted(status for status, _ in results).count(201) == 1
    assert {status for status, _ in results} <= {200, 201}
    assert len({resource_id for _, resource_id in results}) == 1
    found = httpx.get(
        f"{live_server.base_url}/fhir/Patient",
        params={"identifier": criteria[11:]},
        headers=live_server.headers,
    )
    assert found.json()["total"] == 1


def test_20_parallel_if_match_updates_let_one_writer_win_per_version(
    live_server: LiveServer,
) -> None:
    base = live_server.base_url
    created = httpx.post(
        f"{base}/fhir/Patient", json=factories.patient(), headers=live_server.headers
    ).json()
    patient_id = created["id"]

    def update(n: int) -> int:
        body = {**created, "gender": "female", "birthDate": f"19{40 + n}-01-01"}
        with httpx.Client(base_url=base, headers=live_server.headers) as client:
            return client.put(
                f"/fhir/Patient/{patient_id}", json=body, headers={"If-Match": 'W/"1"'}
            ).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(update, range(20)))

    assert statuses.count(200) == 1
    assert statuses.count(412) == 19
    history = httpx.get(
        f"{base}/fhir/Patient/{patient_id}/_history", headers=live_server.headers
    ).json()
    assert history["total"] == 2  # version 1 and exactly one update: no lost or doubled write


def test_parallel_updates_without_if_match_each_make_a_version(live_server: LiveServer) -> None:
    base = live_server.base_url
    created = httpx.post(
        f"{base}/fhir/Patient", json=factories.patient(), headers=live_server.headers
    ).json()

    def update(n: int) -> int:
        body = {**created, "birthDate": f"19{40 + n}-01-01"}
        response = httpx.put(
            f"{base}/fhir/Patient/{created['id']}", json=body, headers=live_server.headers
        )
        assert response.status_code == 200, response.text
        return response.status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(update, range(10)))

    assert statuses == [200] * 10
    history = httpx.get(
        f"{base}/fhir/Patient/{created['id']}/_history", headers=live_server.headers
    ).json()
    assert history["total"] == 11
    versions = sorted(
        int(e["resource"]["meta"]["versionId"]) for e in history["entry"][:11] if "resource" in e
    )
    assert versions == list(range(1, 12))


def test_10_parallel_conditional_batch_posts_of_one_form_record_it_once(
    live_server: LiveServer,
) -> None:
    # A form (with its readings, score and escalation) is recorded through the assessment
    # service, not the generic create: its If-None-Exist must hold under concurrency too.
    with httpx.Client(base_url=live_server.base_url, headers=live_server.headers) as client:
        patient_id = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    form = news2_response(patient_id)
    form["identifier"] = {"system": "http://example.org/forms", "value": "F-123"}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": form,
                "request": {
                    "method": "POST",
                    "url": "QuestionnaireResponse",
                    "ifNoneExist": "identifier=http://example.org/forms|F-123",
                },
            }
        ],
    }

    def post(_: int) -> str:
        with httpx.Client(base_url=live_server.base_url, headers=live_server.headers) as client:
            answer = client.post("/fhir", json=bundle)
            return str(answer.json()["entry"][0]["response"]["status"])

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(post, range(10)))
    assert sorted(s[:3] for s in statuses) == ["200"] * 9 + ["201"], statuses
    scores = httpx.get(
        f"{live_server.base_url}/fhir/Observation",
        params={"patient": patient_id, "code": "http://snomed.info/sct|1104051000000101"},
        headers=live_server.headers,
    )
    assert scores.json()["total"] == 1
