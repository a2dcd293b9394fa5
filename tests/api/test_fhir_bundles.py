"""Batch and transaction Bundles posted to the FHIR base (FHIR R4 3.1.0.13 "Batch/Transaction").

A batch applies each entry on its own and reports each outcome; a transaction is all-or-nothing,
resolves urn:uuid references between its entries to the ids the server assigns, and honours
conditional creates and If-Match inside it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests import factories

FHIR_JSON = "application/fhir+json"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"


# -- helpers -------------------------------------------------------------------------------


def post_bundle(client: TestClient, bundle: dict[str, Any]) -> httpx2.Response:
    return client.post("/fhir", content=json.dumps(bundle), headers={"Content-Type": FHIR_JSON})


def bundle_of(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def post_entry(
    resource: dict[str, Any], full_url: str | None = None, if_none_exist: str | None = None
) -> dict[str, Any]:
    request = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    entry: dict[str, Any] = {"resource": resource, "request": request}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def put_entry(resource: dict[str, Any], if_match: str | None = None) -> dict[str, Any]:
    request = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    if if_match:
        request["ifMatch"] = if_match
    return {"resource": resource, "request": request}


def delete_entry(reference: str, if_match: str | None = None) -> dict[str, Any]:
    request = {"method": "DELETE", "url": reference}
    if if_match:
        request["ifMatch"] = if_match
    return {"request": request}


def get_entry(url: str) -> dict[str, Any]:
    return {"request": {"method": "GET", "url": url}}


def create(client: TestClient, resource: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        f"/fhir/{resource['resourceType']}",
        content=json.dumps(resource),
        headers={"Content-Type": FHIR_JSON},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def total(client: TestClient, resource_type: str, **params: str) -> int:
    response = client.get(f"/fhir/{resource_type}", params={**params, "_summary": "count"})
    assert response.status_code == 200, response.text
    count: int = response.json()["total"]
    return count


def read(client: TestClient, reference: str) -> dict[str, Any]:
    response = client.get(f"/fhir/{reference}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def nhs_number_of(patient: dict[str, Any]) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"] == NHS_NUMBER)


def encounter_for(patient_reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": patient_reference},
        "period": {"start": "2026-11-22T08:00:00Z"},
    }


def observation_for(patient_reference: str, encounter_reference: str) -> dict[str, Any]:
    resource = factories.heart_rate("placeholder")
    resource["subject"] = {"reference": patient_reference}
    resource["encounter"] = {"reference": encounter_reference}
    return resource


def condition_for(patient_reference: str, encounter_reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": patient_reference},
        "encounter": {"reference": encounter_reference},
        "code": {"text": "Community-acquired pneumonia"},
    }


def admission(patient: dict[str, Any] | None = None) -> dict[str, Any]:
    """A transaction admitting a patient: Patient, Encounter and Condition linked by urn:uuid."""
    patient_urn, encounter_urn = urn(), urn()
    return bundle_of(
        "transaction",
        post_entry(patient or factories.patient(), patient_urn),
        post_entry(encounter_for(patient_urn), encounter_urn),
        post_entry(condition_for(patient_urn, encounter_urn), urn()),
    )


def location_reference(entry: dict[str, Any]) -> str:
    """'Type/id' from an entry's response.location (relative or absolute, with _history)."""
    location: str = entry["response"]["location"]
    parts = location.split("/_history/", maxsplit=1)[0].split("/")
    return f"{parts[-2]}/{parts[-1]}"


def assert_outcome(response: httpx2.Response) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome: dict[str, Any] = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"]
    return outcome


def mentions(outcome: dict[str, Any], path: str) -> bool:
    """Whether an issue's expression names `path` (or an element inside it)."""
    return any(
        e == path or e.startswith((f"{path}.", f"{path}["))
        for issue in outcome["issue"]
        for e in issue.get("expression", [])
    )


def nothing_stored(client: TestClient) -> None:
    for resource_type in ("Patient", "Encounter", "Observation", "Condition"):
        assert total(client, resource_type) == 0, resource_type
    # The server publishes its Questionnaires (with their Provenance) on start; clinical
    # Provenance is the kind that names a patient.
    assert total(client, "Provenance", **{"patient:missing": "false"}) == 0


# -- batch ----------------------------------------------------------------------------------


def test_batch_returns_a_batch_response_with_one_entry_per_request(client: TestClient) -> None:
    response = post_bundle(
        client,
        bundle_of("batch", post_entry(factories.patient()), post_entry(factories.patient())),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "batch-response"
    assert len(body["entry"]) == 2
    assert all(e["response"]["status"].startswith("201") for e in body["entry"])
    assert total(client, "Patient") == 2


def test_batch_failing_entry_gets_its_own_4xx_outcome_and_the_others_succeed(
    client: TestClient,
) -> None:
    bad = factories.patient(gender="Male")
    response = post_bundle(
        client,
        bundle_of(
            "batch",
            post_entry(factories.patient()),
            post_entry(bad),
            post_entry(factories.patient()),
        ),
    )
    assert response.status_code == 200, response.text
    first, failed, third = response.json()["entry"]
    assert first["response"]["status"].startswith("201")
    assert third["response"]["status"].startswith("201")
    assert failed["response"]["status"].startswith("4")
    outcome = failed["response"]["outcome"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert total(client, "Patient") == 2


def test_batch_entries_report_location_and_etag_of_what_they_created(client: TestClient) -> None:
    response = post_bundle(client, bundle_of("batch", post_entry(factories.patient())))
    entry = response.json()["entry"][0]
    assert entry["response"]["location"].split("/_history/")[1] == "1"
    assert entry["response"]["etag"] == 'W/"1"'
    reference = location_reference(entry)
    assert read(client, reference)["meta"]["versionId"] == "1"


def test_batch_unknown_resource_type_entry_fails_alone(client: TestClient) -> None:
    medication = {"resourceType": "Medication", "status": "active"}
    response = post_bundle(
        client, bundle_of("batch", post_entry(medication), post_entry(factories.patient()))
    )
    assert response.status_code == 200, response.text
    failed, created = response.json()["entry"]
    assert failed["response"]["status"].startswith("4")
    assert failed["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert created["response"]["status"].startswith("201")


def test_batch_read_of_a_missing_resource_is_404_and_other_reads_succeed(
    client: TestClient,
) -> None:
    patient = create(client, factories.patient())
    response = post_bundle(
        client,
        bundle_of("batch", get_entry("Patient/nobody"), get_entry(f"Patient/{patient['id']}")),
    )
    assert response.status_code == 200, response.text
    missing, found = response.json()["entry"]
    assert missing["response"]["status"].startswith("404")
    assert missing["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert found["response"]["status"].startswith("200")
    assert found["resource"]["id"] == patient["id"]


def test_batch_can_search(client: TestClient) -> None:
    patient = create(client, factories.patient())
    response = post_bundle(client, bundle_of("batch", get_entry(f"Patient?_id={patient['id']}")))
    entry = response.json()["entry"][0]
    assert entry["response"]["status"].startswith("200")
    assert entry["resource"]["type"] == "searchset"
    assert entry["resource"]["total"] == 1


def test_batch_update_with_stale_if_match_fails_alone(client: TestClient) -> None:
    patient = create(client, factories.patient())
    changed = {**patient, "active": False}
    create(client, factories.patient())
    response = post_bundle(
        client,
        bundle_of("batch", put_entry(changed, if_match='W/"7"'), post_entry(factories.patient())),
    )
    stale, created = response.json()["entry"]
    assert stale["response"]["status"].startswith("412")
    assert created["response"]["status"].startswith("201")
    assert read(client, f"Patient/{patient['id']}")["active"] is True


def test_batch_entries_without_a_request_fail_alone(client: TestClient) -> None:
    response = post_bundle(
        client,
        bundle_of("batch", {"resource": factories.patient()}, post_entry(factories.patient())),
    )
    assert response.status_code == 200, response.text
    failed, created = response.json()["entry"]
    assert failed["response"]["status"].startswith("400")
    assert created["response"]["status"].startswith("201")


# -- transaction ----------------------------------------------------------------------------


def test_transaction_returns_transaction_response_with_201_and_locations(
    client: TestClient,
) -> None:
    response = post_bundle(client, admission())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "transaction-response"
    assert len(body["entry"]) == 3
    for entry, resource_type in zip(
        body["entry"], ("Patient", "Encounter", "Condition"), strict=True
    ):
        assert entry["response"]["status"].startswith("201")
        assert location_reference(entry).startswith(f"{resource_type}/")
        assert entry["response"]["location"].endswith("/_history/1")


def test_transaction_resolves_urn_uuid_references_to_the_assigned_ids(
    client: TestClient,
) -> None:
    entries = post_bundle(client, admission()).json()["entry"]
    patient_ref, encounter_ref, condition_ref = (location_reference(e) for e in entries)
    encounter = read(client, encounter_ref)
    condition = read(client, condition_ref)
    assert encounter["subject"]["reference"] == patient_ref
    assert condition["subject"]["reference"] == patient_ref
    assert condition["encounter"]["reference"] == encounter_ref
    assert read(client, patient_ref)["id"] == patient_ref.split("/")[1]


def test_transaction_resolves_urn_uuid_references_of_a_vital_signs_observation(
    client: TestClient,
) -> None:
    # The admission of the issue: Patient + Encounter + Observation (a vital sign, so the vital
    # signs profile applies, whose subject must refer to a Patient) all linked by urn:uuid.
    patient_urn, encounter_urn = urn(), urn()
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient(), patient_urn),
        post_entry(encounter_for(patient_urn), encounter_urn),
        post_entry(observation_for(patient_urn, encounter_urn), urn()),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert [e["response"]["status"][:3] for e in entries] == ["201", "201", "201"]
    patient_ref, encounter_ref, observation_ref = (location_reference(e) for e in entries)
    observation = read(client, observation_ref)
    assert observation["subject"]["reference"] == patient_ref
    assert observation["encounter"]["reference"] == encounter_ref
    assert total(client, "Observation", patient=patient_ref) == 1


def test_transaction_resolves_a_reference_to_an_entry_listed_later(client: TestClient) -> None:
    patient_urn = urn()
    bundle = bundle_of(
        "transaction",
        post_entry(encounter_for(patient_urn)),
        post_entry(factories.patient(), patient_urn),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 200, response.text
    encounter_entry, patient_entry = response.json()["entry"]
    encounter = read(client, location_reference(encounter_entry))
    assert encounter["subject"]["reference"] == location_reference(patient_entry)


def test_transaction_writes_a_provenance_for_each_created_resource(client: TestClient) -> None:
    entries = post_bundle(client, admission()).json()["entry"]
    assert len(entries) == 3
    for entry in entries:
        reference = location_reference(entry)
        provenance = client.get("/fhir/Provenance", params={"target": reference}).json()
        targets = {t["reference"] for e in provenance["entry"] for t in e["resource"]["target"]}
        assert f"{reference}/_history/1" in targets


def test_transaction_with_an_invalid_entry_stores_nothing(client: TestClient) -> None:
    patient_urn = urn()
    invalid_observation = observation_for(patient_urn, urn())
    invalid_observation["status"] = "nope"
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient(), patient_urn),
        post_entry(encounter_for(patient_urn)),
        post_entry(invalid_observation),
    )
    outcome = assert_outcome(post_bundle(client, bundle))
    assert mentions(outcome, "Bundle.entry[2]"), outcome
    nothing_stored(client)


def test_transaction_with_a_structurally_invalid_entry_names_it_and_stores_nothing(
    client: TestClient,
) -> None:
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient()),
        post_entry(factories.patient(birthDate="1941-13-45")),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 400, response.text
    outcome = assert_outcome(response)
    assert mentions(outcome, "Bundle.entry[1]"), outcome
    nothing_stored(client)


def test_transaction_with_a_stale_if_match_stores_nothing(client: TestClient) -> None:
    existing = create(client, factories.patient())
    update = {**existing, "active": False}
    client.put(
        f"/fhir/Patient/{existing['id']}",
        content=json.dumps({**existing, "gender": "unknown"}),
        headers={"Content-Type": FHIR_JSON},
    )
    patient_urn = urn()
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient(), patient_urn),
        post_entry(encounter_for(patient_urn)),
        put_entry(update, if_match='W/"1"'),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 412, response.text
    outcome = assert_outcome(response)
    assert mentions(outcome, "Bundle.entry[2]"), outcome
    assert total(client, "Patient") == 1
    assert total(client, "Encounter") == 0
    current = read(client, f"Patient/{existing['id']}")
    assert current["meta"]["versionId"] == "2"
    assert current["active"] is True


def test_transaction_with_a_stale_if_match_on_delete_stores_nothing(client: TestClient) -> None:
    existing = create(client, factories.patient())
    client.put(
        f"/fhir/Patient/{existing['id']}",
        content=json.dumps({**existing, "active": False}),
        headers={"Content-Type": FHIR_JSON},
    )
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient()),
        delete_entry(f"Patient/{existing['id']}", if_match='W/"1"'),
    )
    outcome = assert_outcome(post_bundle(client, bundle))
    assert mentions(outcome, "Bundle.entry[1]"), outcome
    assert total(client, "Patient") == 1
    assert read(client, f"Patient/{existing['id']}")["meta"]["versionId"] == "2"


def test_transaction_that_fails_after_earlier_entries_were_written_stores_nothing(
    client: TestClient,
) -> None:
    # Every entry is valid on its own; the guarded update of a Patient that does not exist can
    # only fail once the creates before it (POST is applied before PUT) have been written.
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient()),
        post_entry(factories.patient()),
        put_entry(factories.patient(id="not-there-yet"), if_match='W/"1"'),
    )
    outcome = assert_outcome(post_bundle(client, bundle))
    assert mentions(outcome, "Bundle.entry[2]"), outcome
    nothing_stored(client)
    assert client.get("/fhir/Patient/not-there-yet").status_code == 404


def test_transaction_conditional_create_matches_an_existing_patient(client: TestClient) -> None:
    existing = create(client, factories.patient())
    criteria = f"identifier={NHS_NUMBER}|{nhs_number_of(existing)}"
    patient_urn, encounter_urn = urn(), urn()
    duplicate = {k: v for k, v in existing.items() if k not in ("id", "meta")}
    bundle = bundle_of(
        "transaction",
        post_entry(duplicate, patient_urn, if_none_exist=criteria),
        post_entry(encounter_for(patient_urn), encounter_urn),
        post_entry(condition_for(patient_urn, encounter_urn)),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 200, response.text
    patient_entry, encounter_entry, condition_entry = response.json()["entry"]
    assert patient_entry["response"]["status"].startswith("200")
    assert location_reference_or_full_url(patient_entry) == f"Patient/{existing['id']}"
    assert total(client, "Patient") == 1
    encounter = read(client, location_reference(encounter_entry))
    condition = read(client, location_reference(condition_entry))
    assert encounter["subject"]["reference"] == f"Patient/{existing['id']}"
    assert condition["subject"]["reference"] == f"Patient/{existing['id']}"
    assert condition["encounter"]["reference"] == location_reference(encounter_entry)


def test_transaction_conditional_create_without_a_match_creates(client: TestClient) -> None:
    new_patient = factories.patient()
    criteria = f"identifier={NHS_NUMBER}|{nhs_number_of(new_patient)}"
    patient_urn = urn()
    bundle = bundle_of(
        "transaction",
        post_entry(new_patient, patient_urn, if_none_exist=criteria),
        post_entry(encounter_for(patient_urn)),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 200, response.text
    patient_entry, encounter_entry = response.json()["entry"]
    assert patient_entry["response"]["status"].startswith("201")
    patient_ref = location_reference(patient_entry)
    assert read(client, location_reference(encounter_entry))["subject"]["reference"] == patient_ref
    assert total(client, "Patient") == 1


def test_transaction_conditional_create_twice_in_a_row_creates_one_patient(
    client: TestClient,
) -> None:
    new_patient = factories.patient()
    criteria = f"identifier={NHS_NUMBER}|{nhs_number_of(new_patient)}"
    for _ in range(2):
        bundle = bundle_of("transaction", post_entry(new_patient, urn(), if_none_exist=criteria))
        assert post_bundle(client, bundle).status_code == 200
    assert total(client, "Patient") == 1


def location_reference_or_full_url(entry: dict[str, Any]) -> str:
    """The 'Type/id' a transaction-response entry is about (location, fullUrl or resource)."""
    if "location" in entry["response"]:
        return location_reference(entry)
    if "resource" in entry:
        return f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
    parts = entry["fullUrl"].split("/")
    return f"{parts[-2]}/{parts[-1]}"


def test_transaction_can_update_and_delete_existing_resources(client: TestClient) -> None:
    to_update = create(client, factories.patient())
    to_delete = create(client, factories.patient())
    bundle = bundle_of(
        "transaction",
        put_entry({**to_update, "active": False}, if_match='W/"1"'),
        delete_entry(f"Patient/{to_delete['id']}"),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 200, response.text
    updated, deleted = response.json()["entry"]
    assert updated["response"]["status"].startswith("200")
    assert deleted["response"]["status"].startswith(("200", "204"))
    assert read(client, f"Patient/{to_update['id']}")["meta"]["versionId"] == "2"
    assert client.get(f"/fhir/Patient/{to_delete['id']}").status_code == 410


def test_transaction_put_to_append_only_provenance_fails_and_stores_nothing(
    client: TestClient,
) -> None:
    patient = create(client, factories.patient())
    provenance = client.get(
        "/fhir/Provenance", params={"target": f"Patient/{patient['id']}"}
    ).json()["entry"][0]["resource"]
    bundle = bundle_of(
        "transaction",
        post_entry(factories.patient()),
        put_entry({**provenance, "recorded": "2020-01-01T00:00:00Z"}),
    )
    response = post_bundle(client, bundle)
    assert response.status_code == 405, response.text
    assert_outcome(response)
    assert total(client, "Patient") == 1


# -- malformed bundles ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        {"resourceType": "Bundle", "type": "searchset"},
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "transaction", "entry": {"request": {}}},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "POST"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "PATCH", "url": "Patient/x"}, "resource": {}}],
        },
        {"resourceType": "Bundle", "type": "transaction", "entry": [None]},
        {"resourceType": "Bundle", "type": "batch", "entry": [None, 1, "x"]},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "POST", "url": "Patient"}, "resource": []}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "GET", "url": "Patient/x/_history/abc"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": "Patient?shoe-size=9"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": "Patient/a/b/c/d/e"}}],
        },
    ],
)
def test_malformed_bundle_never_causes_a_server_error(
    client: TestClient, body: dict[str, Any]
) -> None:
    # A server error must reach the test as the 500 a client would get, not as a raised exception.
    unraised = TestClient(client.app, base_url="http://testserver", raise_server_exceptions=False)
    response = unraised.post("/fhir", content=json.dumps(body), headers={"Content-Type": FHIR_JSON})
    assert response.status_code < 500, response.text
    assert response.json()["resourceType"] in ("OperationOutcome", "Bundle")


def test_bundle_of_a_type_other_than_batch_or_transaction_returns_400(client: TestClient) -> None:
    response = post_bundle(client, {"resourceType": "Bundle", "type": "collection", "entry": []})
    assert response.status_code == 400, response.text
    assert_outcome(response)


def test_malformed_json_bundle_returns_400(client: TestClient) -> None:
    response = client.post(
        "/fhir",
        content=b'{"resourceType": "Bundle", "type": "transaction", "entry": [',
        headers={"Content-Type": FHIR_JSON},
    )
    assert response.status_code == 400
    assert_outcome(response)
