"""The FHIR R4 RESTful interactions through HTTP: capabilities, create/read/vread/update/delete,
history, optimistic locking, conditional create, Provenance for every write, and errors as
OperationOutcomes (FHIR R4 3.1.0 "RESTful API"; 3.1.0.4.1 for the error statuses)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests import factories

FHIR_JSON = "application/fhir+json"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
SERVED_TYPES = (
    "Patient",
    "Encounter",
    "Location",
    "Practitioner",
    "Observation",
    "Questionnaire",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "Task",
    "Condition",
    "AllergyIntolerance",
    "Provenance",
    "AuditEvent",
)


# -- helpers -------------------------------------------------------------------------------


def post(
    client: TestClient, resource: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return client.post(
        f"/fhir/{resource['resourceType']}",
        content=json.dumps(resource),
        headers={"Content-Type": FHIR_JSON, **(headers or {})},
    )


def put(
    client: TestClient, resource: dict[str, Any], url: str, headers: dict[str, str] | None = None
) -> httpx2.Response:
    return client.put(
        url, content=json.dumps(resource), headers={"Content-Type": FHIR_JSON, **(headers or {})}
    )


def unraised(client: TestClient) -> TestClient:
    """A client on the same app that sees a server error as the 500 response a client would get,
    instead of the exception the test client re-raises by default."""
    return TestClient(client.app, base_url="http://testserver", raise_server_exceptions=False)


def create(client: TestClient, resource: dict[str, Any]) -> dict[str, Any]:
    response = post(client, resource)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_patient(client: TestClient, **overrides: Any) -> dict[str, Any]:
    return create(client, factories.patient(**overrides))


def nhs_number_of(patient: dict[str, Any]) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"] == NHS_NUMBER)


def expressions(outcome: dict[str, Any]) -> list[str]:
    return [e for issue in outcome.get("issue", []) for e in issue.get("expression", [])]


def assert_outcome(response: httpx2.Response, status: int, *named: str) -> dict[str, Any]:
    """The response is `status` with an OperationOutcome whose issues name each of `named`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome: dict[str, Any] = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"], outcome
    assert all(issue["severity"] in ("error", "fatal") for issue in outcome["issue"])
    for expression in named:
        assert expression in expressions(outcome), outcome
    return outcome


def search_total(client: TestClient, url: str, **params: str) -> int:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def capability_resource(statement: dict[str, Any], resource_type: str) -> dict[str, Any]:
    resources = statement["rest"][0]["resource"]
    found: dict[str, Any] = next(r for r in resources if r["type"] == resource_type)
    return found


def vital_sign(patient_id: str, **overrides: Any) -> dict[str, Any]:
    resource = factories.heart_rate(patient_id)
    for key, value in overrides.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def example_of(resource_type: str, patient_id: str) -> dict[str, Any]:
    """A small valid instance of each served type, about the given patient where it can be."""
    subject = {"reference": f"Patient/{patient_id}"}
    examples: dict[str, dict[str, Any]] = {
        "Patient": factories.patient(),
        "Encounter": {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
            },
            "subject": subject,
            "period": {"start": "2026-11-20T09:00:00Z"},
        },
        "Location": {
            "resourceType": "Location",
            "status": "active",
            "name": "Ward 7 (Elderly care)",
            "mode": "instance",
        },
        "Practitioner": {
            "resourceType": "Practitioner",
            "active": True,
            "name": [{"family": "Okafor", "given": ["Grace"], "prefix": ["Sister"]}],
        },
        "Observation": factories.heart_rate(patient_id),
        "Questionnaire": {
            "resourceType": "Questionnaire",
            "url": "http://example.org/fhir/Questionnaire/falls-risk",
            "status": "active",
            "item": [{"linkId": "1", "text": "Fall in the last year?", "type": "boolean"}],
        },
        "QuestionnaireResponse": {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "http://example.org/fhir/Questionnaire/falls-risk",
            "status": "completed",
            "subject": subject,
            "authored": "2026-11-22T09:30:00Z",
            "item": [{"linkId": "1", "answer": [{"valueBoolean": True}]}],
        },
        "CarePlan": {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "subject": subject,
            "title": "Pressure ulcer prevention",
        },
        "Goal": {
            "resourceType": "Goal",
            "lifecycleStatus": "active",
            "description": {"text": "Skin intact at discharge"},
            "subject": subject,
        },
        "Task": {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "for": subject,
            "description": "Reposition every 2 hours",
        },
        "Condition": {
            "resourceType": "Condition",
            "subject": subject,
            "code": {"text": "Community-acquired pneumonia"},
        },
        "AllergyIntolerance": {
            "resourceType": "AllergyIntolerance",
            "patient": subject,
            "code": {"text": "Penicillin"},
        },
        "Provenance": {
            "resourceType": "Provenance",
            "target": [subject],
            "recorded": "2026-11-22T09:30:00Z",
            "agent": [{"who": {"display": "Charge nurse"}}],
        },
        "AuditEvent": {
            "resourceType": "AuditEvent",
            "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
            "action": "R",
            "recorded": "2026-11-22T09:30:00Z",
            "outcome": "0",
            "agent": [{"who": {"display": "Charge nurse"}, "requestor": True}],
            "source": {"observer": {"display": "WardCare"}},
        },
    }
    return examples[resource_type]


def provenance_targets(client: TestClient, reference: str) -> list[str]:
    """Every versioned target reference of the Provenances that point at `reference`."""
    response = client.get("/fhir/Provenance", params={"target": reference, "_count": "100"})
    assert response.status_code == 200, response.text
    return [
        target["reference"]
        for entry in response.json().get("entry", [])
        for target in entry["resource"]["target"]
    ]


# -- capabilities --------------------------------------------------------------------------


def test_metadata_is_a_fhir_4_0_1_capability_statement_in_fhir_json(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["rest"][0]["mode"] == "server"


def test_metadata_lists_every_served_resource_type(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    listed = {r["type"] for r in statement["rest"][0]["resource"]}
    assert set(SERVED_TYPES) <= listed


def test_metadata_declares_crud_history_and_search_interactions_for_patient(
    client: TestClient,
) -> None:
    patient = capability_resource(client.get("/fhir/metadata").json(), "Patient")
    codes = {i["code"] for i in patient["interaction"]}
    assert {
        "read",
        "vread",
        "create",
        "update",
        "delete",
        "search-type",
        "history-instance",
        "history-type",
    } <= codes


def test_metadata_declares_observation_code_as_token_and_date_as_date_search_params(
    client: TestClient,
) -> None:
    observation = capability_resource(client.get("/fhir/metadata").json(), "Observation")
    params = {p["name"]: p["type"] for p in observation["searchParam"]}
    assert params["code"] == "token"
    assert params["date"] == "date"
    assert params["patient"] == "reference"
    assert params["value-quantity"] == "quantity"


def test_metadata_declares_patient_search_params(client: TestClient) -> None:
    patient = capability_resource(client.get("/fhir/metadata").json(), "Patient")
    params = {p["name"]: p["type"] for p in patient["searchParam"]}
    assert params["identifier"] == "token"
    assert params["name"] == "string"
    assert params["birthdate"] == "date"


def test_metadata_lists_the_vital_signs_profile_for_observation(client: TestClient) -> None:
    observation = capability_resource(client.get("/fhir/metadata").json(), "Observation")
    profiles = observation.get("supportedProfile", [])
    assert any(
        p.rstrip("/").rsplit("/", 1)[-1] in ("vitalsigns", "wardcare-vital-signs") for p in profiles
    ), profiles


def test_metadata_declares_transaction_and_batch_system_interactions(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    codes = {i["code"] for i in statement["rest"][0]["interaction"]}
    assert {"transaction", "batch"} <= codes


def test_metadata_does_not_offer_update_or_delete_of_append_only_types(
    client: TestClient,
) -> None:
    statement = client.get("/fhir/metadata").json()
    for resource_type in ("Provenance", "AuditEvent"):
        codes = {i["code"] for i in capability_resource(statement, resource_type)["interaction"]}
        assert "create" in codes
        assert not {"update", "delete"} & codes


# -- create ---------------------------------------------------------------------------------


def test_create_returns_201_with_location_of_version_1(client: TestClient) -> None:
    response = post(client, factories.patient())
    assert response.status_code == 201, response.text
    resource_id = response.json()["id"]
    assert response.headers["location"].endswith(f"/fhir/Patient/{resource_id}/_history/1")


def test_create_returns_weak_etag_of_version_1_and_last_modified(client: TestClient) -> None:
    response = post(client, factories.patient())
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["last-modified"].endswith("GMT")


def test_create_returns_fhir_json_with_server_id_version_and_last_updated(
    client: TestClient,
) -> None:
    response = post(client, factories.patient())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "Patient"
    assert body["id"]
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].startswith("20")


def test_create_ignores_a_client_supplied_id(client: TestClient) -> None:
    response = post(client, factories.patient(id="chosen-by-client"))
    assert response.status_code == 201, response.text
    assert response.json()["id"] != "chosen-by-client"
    assert client.get("/fhir/Patient/chosen-by-client").status_code == 404


def test_create_assigns_a_different_id_to_each_resource(client: TestClient) -> None:
    first = create_patient(client)
    second = create_patient(client)
    assert first["id"] != second["id"]


@pytest.mark.parametrize("resource_type", SERVED_TYPES)
def test_every_served_type_can_be_created_and_read_back(
    client: TestClient, resource_type: str
) -> None:
    patient = create_patient(client)
    created = create(client, example_of(resource_type, patient["id"]))
    read = client.get(f"/fhir/{resource_type}/{created['id']}")
    assert read.status_code == 200, read.text
    assert read.json() == created


# -- read and vread -------------------------------------------------------------------------


def test_read_returns_200_with_the_resource_etag_and_last_modified(client: TestClient) -> None:
    patient = create_patient(client)
    response = client.get(f"/fhir/Patient/{patient['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["last-modified"].endswith("GMT")
    assert response.json() == patient


def test_read_of_unknown_id_returns_404_operation_outcome(client: TestClient) -> None:
    assert_outcome(client.get("/fhir/Patient/no-such-patient"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fhir/Medication/abc"),
        ("GET", "/fhir/Medication"),
        ("POST", "/fhir/Medication"),
        ("GET", "/fhir/NotAType/abc/_history"),
    ],
)
def test_unsupported_resource_type_returns_404_operation_outcome(
    client: TestClient, method: str, path: str
) -> None:
    body = {"resourceType": "Medication", "status": "active"}
    response = client.request(
        method,
        path,
        content=json.dumps(body) if method == "POST" else None,
        headers={"Content-Type": FHIR_JSON},
    )
    assert_outcome(response, 404)


def test_vread_returns_the_requested_version(client: TestClient) -> None:
    patient = create_patient(client)
    put(client, {**patient, "gender": "other"}, f"/fhir/Patient/{patient['id']}")
    response = client.get(f"/fhir/Patient/{patient['id']}/_history/1")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == 'W/"1"'
    assert response.json()["meta"]["versionId"] == "1"
    assert response.json()["gender"] == patient["gender"]


def test_vread_of_a_version_that_does_not_exist_returns_404(client: TestClient) -> None:
    patient = create_patient(client)
    assert_outcome(client.get(f"/fhir/Patient/{patient['id']}/_history/7"), 404)


def test_vread_with_non_numeric_version_is_a_client_error(client: TestClient) -> None:
    patient = create_patient(client)
    response = client.get(f"/fhir/Patient/{patient['id']}/_history/latest")
    assert 400 <= response.status_code < 500
    assert response.json()["resourceType"] == "OperationOutcome"


# -- update ---------------------------------------------------------------------------------


def test_update_with_body_id_matching_url_returns_200_and_version_2(client: TestClient) -> None:
    patient = create_patient(client)
    response = put(client, {**patient, "active": False}, f"/fhir/Patient/{patient['id']}")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == 'W/"2"'
    assert response.headers["location"].endswith(f"/Patient/{patient['id']}/_history/2")
    body = response.json()
    assert body["meta"]["versionId"] == "2"
    assert body["active"] is False


def test_read_after_update_returns_the_new_version(client: TestClient) -> None:
    patient = create_patient(client)
    put(client, {**patient, "active": False}, f"/fhir/Patient/{patient['id']}")
    read = client.get(f"/fhir/Patient/{patient['id']}")
    assert read.headers["etag"] == 'W/"2"'
    assert read.json()["active"] is False
    assert read.json()["meta"]["lastUpdated"] >= patient["meta"]["lastUpdated"]


def test_put_to_a_new_id_creates_the_resource_with_201(client: TestClient) -> None:
    resource = factories.patient(id="ward7-bed3")
    response = put(client, resource, "/fhir/Patient/ward7-bed3")
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == 'W/"1"'
    assert response.json()["id"] == "ward7-bed3"
    assert client.get("/fhir/Patient/ward7-bed3").status_code == 200


def test_put_with_body_id_different_from_url_returns_400(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    response = put(client, {**patient, "id": other["id"]}, f"/fhir/Patient/{patient['id']}")
    assert_outcome(response, 400)
    assert client.get(f"/fhir/Patient/{other['id']}").headers["etag"] == 'W/"1"'
    assert client.get(f"/fhir/Patient/{patient['id']}").headers["etag"] == 'W/"1"'


def test_put_without_id_in_body_returns_400(client: TestClient) -> None:
    patient = create_patient(client)
    body = {k: v for k, v in patient.items() if k != "id"}
    assert_outcome(put(client, body, f"/fhir/Patient/{patient['id']}"), 400)
    assert client.get(f"/fhir/Patient/{patient['id']}").headers["etag"] == 'W/"1"'


def test_update_with_current_if_match_succeeds(client: TestClient) -> None:
    patient = create_patient(client)
    response = put(
        client,
        {**patient, "active": False},
        f"/fhir/Patient/{patient['id']}",
        {"If-Match": 'W/"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == 'W/"2"'


def test_update_with_stale_if_match_returns_412(client: TestClient) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    put(client, {**patient, "active": False}, url)
    response = put(client, {**patient, "gender": "unknown"}, url, {"If-Match": 'W/"1"'})
    assert_outcome(response, 412)
    current = client.get(url)
    assert current.headers["etag"] == 'W/"2"'
    assert current.json()["gender"] == patient["gender"]


def test_delete_with_stale_if_match_returns_412_and_keeps_the_resource(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    put(client, {**patient, "active": False}, url)
    assert_outcome(client.delete(url, headers={"If-Match": 'W/"1"'}), 412)
    assert client.get(url).status_code == 200


def test_delete_with_current_if_match_returns_204(client: TestClient) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    assert client.delete(url, headers={"If-Match": 'W/"1"'}).status_code == 204
    assert client.get(url).status_code == 410


# -- delete ---------------------------------------------------------------------------------


def test_delete_returns_204(client: TestClient) -> None:
    patient = create_patient(client)
    response = client.delete(f"/fhir/Patient/{patient['id']}")
    assert response.status_code == 204
    assert response.content == b""


def test_read_after_delete_returns_410_gone_operation_outcome(client: TestClient) -> None:
    patient = create_patient(client)
    client.delete(f"/fhir/Patient/{patient['id']}")
    assert_outcome(client.get(f"/fhir/Patient/{patient['id']}"), 410)


def test_history_after_delete_lists_every_version_with_the_delete_entry_first(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    put(client, {**patient, "active": False}, url)
    client.delete(url)
    response = client.get(f"{url}/_history")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    deletion, update, creation = bundle["entry"]
    assert deletion["request"]["method"] == "DELETE"
    assert "resource" not in deletion
    assert update["request"]["method"] == "PUT"
    assert update["resource"]["meta"]["versionId"] == "2"
    assert creation["request"]["method"] == "POST"
    assert creation["resource"]["meta"]["versionId"] == "1"


def test_vread_of_an_earlier_version_still_works_after_delete(client: TestClient) -> None:
    patient = create_patient(client)
    client.delete(f"/fhir/Patient/{patient['id']}")
    response = client.get(f"/fhir/Patient/{patient['id']}/_history/1")
    assert response.status_code == 200, response.text
    assert response.json() == patient


def test_update_after_delete_brings_the_resource_back_as_a_new_version(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    client.delete(url)
    response = put(client, patient, url)
    assert response.status_code in (200, 201), response.text
    assert response.headers["etag"] == 'W/"3"'
    assert client.get(url).status_code == 200


# -- history --------------------------------------------------------------------------------


def test_instance_history_is_newest_first_with_total(client: TestClient) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    put(client, {**patient, "active": False}, url)
    put(client, {**patient, "active": True}, url)
    bundle = client.get(f"{url}/_history").json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    versions = [e["resource"]["meta"]["versionId"] for e in bundle["entry"]]
    assert versions == ["3", "2", "1"]
    assert all(e["resource"]["id"] == patient["id"] for e in bundle["entry"])


def test_instance_history_pages_with_count(client: TestClient) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    for active in (False, True, False):
        put(client, {**patient, "active": active}, url)
    first = client.get(f"{url}/_history", params={"_count": "2"}).json()
    assert first["total"] == 4
    assert [e["resource"]["meta"]["versionId"] for e in first["entry"]] == ["4", "3"]
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = client.get(next_url).json()
    assert [e["resource"]["meta"]["versionId"] for e in second["entry"]] == ["2", "1"]


def test_type_history_lists_versions_of_that_type_only(client: TestClient) -> None:
    first = create_patient(client)
    second = create_patient(client)
    put(client, {**first, "active": False}, f"/fhir/Patient/{first['id']}")
    create(client, factories.heart_rate(second["id"]))
    response = client.get("/fhir/Patient/_history")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Patient"}
    assert bundle["entry"][0]["resource"]["id"] == first["id"]
    assert bundle["entry"][0]["resource"]["meta"]["versionId"] == "2"


def test_system_history_lists_versions_of_every_type(client: TestClient) -> None:
    patient = create_patient(client)
    observation = create(client, factories.heart_rate(patient["id"]))
    response = client.get("/fhir/_history", params={"_count": "100"})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "history"
    listed = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    assert ("Patient", patient["id"]) in listed
    assert ("Observation", observation["id"]) in listed
    assert bundle["total"] >= 2


def test_history_of_unknown_resource_returns_404(client: TestClient) -> None:
    assert_outcome(client.get("/fhir/Patient/nobody/_history"), 404)


# -- conditional create ---------------------------------------------------------------------


def test_if_none_exist_without_a_match_creates_with_201(client: TestClient) -> None:
    resource = factories.patient()
    criteria = f"identifier={NHS_NUMBER}|{nhs_number_of(resource)}"
    response = post(client, resource, {"If-None-Exist": criteria})
    assert response.status_code == 201, response.text
    assert response.json()["id"]


def test_if_none_exist_with_a_match_returns_200_and_the_existing_resource(
    client: TestClient,
) -> None:
    resource = factories.patient()
    nhs = nhs_number_of(resource)
    criteria = f"identifier={NHS_NUMBER}|{nhs}"
    first = post(client, resource, {"If-None-Exist": criteria})
    assert first.status_code == 201, first.text
    again = post(client, resource, {"If-None-Exist": criteria})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert search_total(client, "/fhir/Patient", identifier=f"{NHS_NUMBER}|{nhs}") == 1
    assert client.get("/fhir/Patient/_history").json()["total"] == 1


# -- provenance -----------------------------------------------------------------------------


def test_create_writes_a_provenance_targeting_version_1(client: TestClient) -> None:
    patient = create_patient(client)
    targets = provenance_targets(client, f"Patient/{patient['id']}")
    assert f"Patient/{patient['id']}/_history/1" in targets


def test_update_writes_a_provenance_targeting_the_new_version(client: TestClient) -> None:
    patient = create_patient(client)
    put(client, {**patient, "active": False}, f"/fhir/Patient/{patient['id']}")
    targets = provenance_targets(client, f"Patient/{patient['id']}")
    assert f"Patient/{patient['id']}/_history/1" in targets
    assert f"Patient/{patient['id']}/_history/2" in targets


def test_delete_writes_a_provenance_targeting_the_deletion_version(client: TestClient) -> None:
    patient = create_patient(client)
    client.delete(f"/fhir/Patient/{patient['id']}")
    targets = provenance_targets(client, f"Patient/{patient['id']}")
    assert f"Patient/{patient['id']}/_history/2" in targets


def test_observation_create_writes_a_provenance_targeting_the_observation_version(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    observation = create(client, factories.heart_rate(patient["id"]))
    targets = provenance_targets(client, f"Observation/{observation['id']}")
    assert f"Observation/{observation['id']}/_history/1" in targets


def test_provenance_records_the_activity_and_an_agent(client: TestClient) -> None:
    patient = create_patient(client)
    bundle = client.get("/fhir/Provenance", params={"target": f"Patient/{patient['id']}"}).json()
    assert bundle["total"] == 1
    provenance = bundle["entry"][0]["resource"]
    assert provenance["recorded"]
    assert provenance["agent"]
    codes = {c["code"] for c in provenance["activity"]["coding"]}
    assert "CREATE" in codes


@pytest.mark.parametrize("resource_type", ["Provenance", "AuditEvent"])
def test_put_on_append_only_type_returns_405(client: TestClient, resource_type: str) -> None:
    patient = create_patient(client)
    created = create(client, example_of(resource_type, patient["id"]))
    url = f"/fhir/{resource_type}/{created['id']}"
    assert_outcome(put(client, created, url), 405)
    assert client.get(url).headers["etag"] == 'W/"1"'


@pytest.mark.parametrize("resource_type", ["Provenance", "AuditEvent"])
def test_delete_on_append_only_type_returns_405(client: TestClient, resource_type: str) -> None:
    patient = create_patient(client)
    created = create(client, example_of(resource_type, patient["id"]))
    url = f"/fhir/{resource_type}/{created['id']}"
    assert_outcome(client.delete(url), 405)
    assert client.get(url).status_code == 200


def test_server_written_provenance_cannot_be_deleted(client: TestClient) -> None:
    patient = create_patient(client)
    bundle = client.get("/fhir/Provenance", params={"target": f"Patient/{patient['id']}"}).json()
    provenance_id = bundle["entry"][0]["resource"]["id"]
    assert_outcome(client.delete(f"/fhir/Provenance/{provenance_id}"), 405)


# -- errors ---------------------------------------------------------------------------------


def test_malformed_json_returns_400_operation_outcome(client: TestClient) -> None:
    response = client.post(
        "/fhir/Patient", content=b'{"resourceType": "Patient",', headers={"Content-Type": FHIR_JSON}
    )
    assert_outcome(response, 400)


def test_resource_type_different_from_url_returns_400(client: TestClient) -> None:
    response = client.post(
        "/fhir/Observation",
        content=json.dumps(factories.patient()),
        headers={"Content-Type": FHIR_JSON},
    )
    assert_outcome(response, 400)
    assert search_total(client, "/fhir/Patient") == 0


def test_unknown_element_returns_400_naming_it(client: TestClient) -> None:
    assert_outcome(post(client, factories.patient(foo=1)), 400, "Patient.foo")


def test_impossible_birth_date_returns_400_naming_patient_birthdate(client: TestClient) -> None:
    response = post(client, factories.patient(birthDate="1941-13-45"))
    assert_outcome(response, 400, "Patient.birthDate")


def test_observation_status_outside_required_value_set_returns_422_naming_it(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    response = post(client, factories.heart_rate(patient["id"], status="nope"))
    assert_outcome(response, 422, "Observation.status")


def test_patient_gender_outside_required_value_set_returns_422_naming_it(
    client: TestClient,
) -> None:
    assert_outcome(post(client, factories.patient(gender="Male")), 422, "Patient.gender")


def test_nhs_number_failing_modulus_11_returns_422_naming_the_identifier_value(
    client: TestClient,
) -> None:
    resource = factories.patient()
    resource["identifier"][0] = {"system": NHS_NUMBER, "value": "9434765910"}
    assert_outcome(post(client, resource), 422, "Patient.identifier[0].value")
    assert search_total(client, "/fhir/Patient") == 0


def test_valid_nhs_number_is_accepted(client: TestClient) -> None:
    resource = factories.patient()
    resource["identifier"][0] = {"system": NHS_NUMBER, "value": "9434765919"}
    assert post(client, resource).status_code == 201


def test_invalid_resource_on_update_is_rejected_and_nothing_changes(client: TestClient) -> None:
    patient = create_patient(client)
    url = f"/fhir/Patient/{patient['id']}"
    assert_outcome(put(client, {**patient, "gender": "Male"}, url), 422, "Patient.gender")
    assert client.get(url).headers["etag"] == 'W/"1"'


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/fhir+xml",
            b'<Patient xmlns="http://hl7.org/fhir"><gender value="female"/></Patient>',
        ),
        ("application/xml", b'<Patient xmlns="http://hl7.org/fhir"/>'),
        ("text/plain", b"Patient: Mrs Jones"),
    ],
)
def test_non_json_content_type_is_refused_with_a_4xx_operation_outcome(
    client: TestClient, content_type: str, body: bytes
) -> None:
    response = client.post("/fhir/Patient", content=body, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert search_total(client, "/fhir/Patient") == 0


def test_vital_sign_with_value_string_returns_422_naming_the_value(client: TestClient) -> None:
    patient = create_patient(client)
    resource = vital_sign(patient["id"], valueQuantity=None, valueString="80 bpm")
    outcome = assert_outcome(post(client, resource), 422)
    assert any(e.startswith("Observation.value") for e in expressions(outcome)), outcome


def test_vital_sign_quantity_without_ucum_system_returns_422_naming_the_system(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    resource = vital_sign(
        patient["id"], valueQuantity={"value": 80, "unit": "beats/minute", "code": "/min"}
    )
    assert_outcome(post(client, resource), 422, "Observation.valueQuantity.system")


def test_vital_sign_quantity_with_non_ucum_system_returns_422_naming_the_system(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    resource = vital_sign(
        patient["id"],
        valueQuantity={
            "value": 80,
            "unit": "beats/minute",
            "system": "http://example.org/units",
            "code": "bpm",
        },
    )
    assert_outcome(post(client, resource), 422, "Observation.valueQuantity.system")


def test_vital_sign_without_subject_returns_422_naming_the_subject(client: TestClient) -> None:
    resource = vital_sign("unused", subject=None)
    assert_outcome(post(client, resource), 422, "Observation.subject")


def test_vital_sign_without_effective_time_returns_422_naming_effective(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    resource = vital_sign(patient["id"], effectiveDateTime=None)
    outcome = assert_outcome(post(client, resource), 422)
    assert any(e.startswith("Observation.effective") for e in expressions(outcome)), outcome
    assert search_total(client, "/fhir/Observation") == 0


def test_observation_that_is_not_a_vital_sign_may_carry_a_string_value(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    resource = vital_sign(
        patient["id"],
        category=None,
        code={"text": "Nursing note on skin integrity"},
        valueQuantity=None,
        valueString="Sacrum intact, heels blanching",
    )
    assert post(client, resource).status_code == 201


_HUGE = "x" * 2_000_000


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/fhir/Patient", b"[]"),
        ("POST", "/fhir/Patient", b'[{"resourceType": "Patient"}]'),
        ("POST", "/fhir/Patient", b""),
        ("POST", "/fhir/Patient", b"null"),
        ("POST", "/fhir/Patient", b'"Patient"'),
        ("POST", "/fhir/Patient", b"42"),
        ("POST", "/fhir/Patient", b'{"resourceType": null}'),
        ("POST", "/fhir/Patient", b'{"resourceType": ["Patient"]}'),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "name": null}'),
        (
            "POST",
            "/fhir/Patient",
            b'{"resourceType": "Patient", "name": [null, {"given": [null]}]}',
        ),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "identifier": [{"value": null}]}'),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "identifier": "9434765919"}'),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "birthDate": 19410506}'),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "meta": "v1"}'),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "active": NaN}'),
        ("POST", "/fhir/Patient", b"\xff\xfe\x00garbage"),
        (
            "POST",
            "/fhir/Patient",
            b'{"resourceType": "Patient", "name": [{"family": "Smith\\u0000"}]}',
        ),
        ("POST", "/fhir/Patient", b'{"resourceType": "Patient", "gender": "\\u0000"}'),
        ("POST", "/fhir/Patient", b"[" * 100_000 + b"]" * 100_000),
        ("POST", "/fhir/Patient", f'{{"resourceType": "Patient", "id": "{_HUGE}"}}'.encode()),
        (
            "POST",
            "/fhir/Patient",
            f'{{"resourceType": "Patient", "name": [{{"family": "{_HUGE}"}}]}}'.encode(),
        ),
        ("POST", "/fhir/Observation", b'{"resourceType": "Observation", "status": "final"}'),
        (
            "POST",
            "/fhir/Observation",
            b'{"resourceType": "Observation", "status": "final", "code": {"text": "x"},'
            b' "category": [{"coding": [null]}], "valueQuantity": {"value": "high"}}',
        ),
        (
            "POST",
            "/fhir/Observation",
            b'{"resourceType": "Observation", "status": "final", "code": {"text": "HR"},'
            b' "category": [{"coding": [{"system":'
            b' "http://terminology.hl7.org/CodeSystem/observation-category",'
            b' "code": "vital-signs"}]}], "subject": "Patient/1",'
            b' "effectiveDateTime": ["2026"], "valueQuantity": [80]}',
        ),
        ("GET", "/fhir/Patient/a%2Fb", None),
        ("GET", "/fhir/Patient/..%2F..%2Fetc%2Fpasswd", None),
        ("GET", "/fhir/Patient/" + "a" * 5000, None),
        ("GET", "/fhir/Patient/abc/_history/abc", None),
        ("GET", "/fhir/Patient/abc/_history/-1", None),
        ("GET", "/fhir/Patient/abc/_history/99999999999999999999999", None),
        ("GET", "/fhir/Patient/abc/_history/%00", None),
        ("PUT", "/fhir/Patient/a%2Fb", b'{"resourceType": "Patient", "id": "a/b"}'),
        ("PUT", "/fhir/Patient/x", b'{"resourceType": "Patient", "id": 7}'),
        ("PUT", "/fhir/Patient/x", b"[]"),
        ("PUT", "/fhir/Patient/x", b""),
        ("DELETE", "/fhir/Patient/a%2Fb", None),
        ("GET", "/fhir/Patient?_count=-1", None),
        ("GET", "/fhir/Patient?_count=99999999999999999999", None),
        ("GET", "/fhir/Patient?birthdate=ge", None),
        ("GET", "/fhir/Patient?name=%00%25_", None),
        ("GET", "/fhir/Patient?identifier=%00|%00", None),
        ("GET", "/fhir/Patient?_id=%00", None),
        ("GET", "/fhir/Patient/%00", None),
        ("GET", "/fhir/Observation?value-quantity=gtabc", None),
        ("GET", "/fhir/Observation?value-quantity=1e400", None),
        ("GET", "/fhir/Patient/_history?_since=yesterday", None),
    ],
)
def test_no_client_input_causes_a_server_error(
    client: TestClient, method: str, path: str, body: bytes | None
) -> None:
    headers = {"Content-Type": FHIR_JSON, "If-Match": 'W/"1"'} if method == "PUT" else {}
    if method == "POST":
        headers = {"Content-Type": FHIR_JSON}
    response = unraised(client).request(method, path, content=body, headers=headers)
    assert response.status_code < 500, response.text[:2000]
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "if_match",
    ['"1"', "W/1", "1", 'W/"one"', "*", ""],
)
def test_if_match_that_is_not_a_version_etag_never_causes_a_server_error(
    client: TestClient, if_match: str
) -> None:
    patient = create_patient(client)
    response = unraised(client).put(
        f"/fhir/Patient/{patient['id']}",
        content=json.dumps(patient),
        headers={"Content-Type": FHIR_JSON, "If-Match": if_match},
    )
    assert response.status_code < 500, response.text
