"""Every access, allowed or denied, leaves an AuditEvent in the IHE BALP shape, and the privacy
officer finds them by patient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests import factories
from tests.security.records import bearer, ids

TokenFor = Callable[..., str]


def _trail(client: TestClient, token_for: TokenFor, **params: str) -> list[dict[str, Any]]:
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    officer = bearer(token_for("user/AuditEvent.rs", user="privacy-officer"))
    bundle = client.get("/fhir/AuditEvent", params={"_count": "500", **params}, headers=officer)
    assert bundle.status_code == 200, bundle.text
    return [e["resource"] for e in bundle.json().get("entry", [])]


def _subtype(event: dict[str, Any]) -> str:
    code: str = event["subtype"][0]["code"]
    return code


def test_every_request_is_audited_including_denials(
    client: TestClient, token_for: TokenFor
) -> None:
    patient = client.post("/fhir/Patient", json=factories.patient()).json()
    other = client.post("/fhir/Patient", json=factories.patient()).json()
    observation = client.post("/fhir/Observation", json=factories.heart_rate(patient["id"])).json()
    client.get(f"/fhir/Observation/{observation['id']}")
    client.get("/fhir/Observation", params={"patient": patient["id"]})
    client.get(f"/fhir/Observation/{observation['id']}/_history/1")
    patient_token = bearer(token_for("patient/*.rs", patient=other["id"]))
    client.get(f"/fhir/Observation/{observation['id']}", headers=patient_token)  # 404
    client.get("/wards/WARD7", headers=patient_token)  # 403
    client.get("/fhir/Patient", headers={"Authorization": "Bearer forged"})  # 401
    made = 9

    events = _trail(client, token_for)
    assert len(events) == made
    by_subtype = [_subtype(e) for e in events]
    assert sorted(by_subtype) == sorted(
        [
            "create",
            "create",
            "create",
            "read",
            "search-type",
            "vread",
            "read",
            "operation",
            "search-type",
        ]
    )
    for event in events:
        assert event["type"]["code"] == "rest"
        assert event["source"]["observer"]["display"] == "WardCare"
        assert event["agent"][0]["requestor"] is True
        assert event["recorded"]
    outcomes = {(_subtype(e), e["outcome"]) for e in events}
    assert ("read", "4") in outcomes
    assert ("operation", "4") in outcomes
    unauthenticated = next(e for e in events if e["agent"][0]["who"]["display"].startswith("un"))
    assert unauthenticated["outcome"] == "4"
    assert "HTTP 401" in unauthenticated["outcomeDesc"]
    compartment = next(e for e in events if _subtype(e) == "read" and e["outcome"] == "4")
    assert "compartment" in compartment["outcomeDesc"]
    assert compartment["agent"][0]["who"]["reference"] == "Practitioner/dev-nurse"


def test_the_privacy_officer_finds_a_patients_accesses(
    client: TestClient, token_for: TokenFor
) -> None:
    patient = client.post("/fhir/Patient", json=factories.patient()).json()
    observation = client.post("/fhir/Observation", json=factories.heart_rate(patient["id"])).json()
    client.get(f"/fhir/Observation/{observation['id']}")
    client.get("/fhir/Observation", params={"patient": f"Patient/{patient['id']}"})
    client.post("/fhir/Patient", json=factories.patient())  # someone else

    events = _trail(client, token_for, patient=patient["id"])
    assert sorted(_subtype(e) for e in events) == ["create", "create", "read", "search-type"]
    read = next(e for e in events if _subtype(e) == "read")
    assert read["action"] == "R"
    assert read["outcome"] == "0"
    whats = [x["what"]["reference"] for x in read["entity"] if "what" in x]
    assert whats == [f"Patient/{patient['id']}", f"Observation/{observation['id']}"]
    search = next(e for e in events if _subtype(e) == "search-type")
    query = next(x for x in search["entity"] if "query" in x)
    assert query["description"] == f"/fhir/Observation?patient=Patient/{patient['id']}"
    created = next(e for e in events if "Observation/" in str(e.get("entity")))
    assert created["action"] in ("C", "R")


def test_the_client_app_is_an_agent(client: TestClient, context: Any) -> None:
    client.get("/fhir/Patient")
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    with context.uow.read() as tx:
        versions, _ = tx.resources.history(
            resource_type="AuditEvent", resource_id=None, since=None, count=10, offset=0
        )
    event = orjson.loads(versions[0].content)
    apps = [a for a in event["agent"] if a["requestor"] is False]
    assert apps[0]["who"]["identifier"]["value"] == "wardcare-cli"


def test_audit_events_are_append_only(client: TestClient, token_for: TokenFor) -> None:
    client.get("/fhir/Patient")
    event = _trail(client, token_for)[0]
    officer = bearer(token_for("user/AuditEvent.cruds", user="privacy-officer"))
    assert (
        client.put(f"/fhir/AuditEvent/{event['id']}", json=event, headers=officer).status_code
        == 405
    )
    assert client.delete(f"/fhir/AuditEvent/{event['id']}", headers=officer).status_code == 405
    assert f"AuditEvent/{event['id']}" in ids(
        client.get("/fhir/AuditEvent", params={"_id": event["id"]}, headers=officer).json()
    )


def test_stored_audit_events_are_valid_fhir(
    client: TestClient, token_for: TokenFor, context: Any
) -> None:
    """Stored without validation for speed, so this test checks the shape instead."""
    patient = client.post("/fhir/Patient", json=factories.patient()).json()
    client.get(f"/fhir/Patient/{patient['id']}")
    client.get("/fhir/Observation", params={"patient": patient["id"]})
    client.get("/fhir/Patient", headers={"Authorization": "Bearer nope"})
    client.get("/wards/WARD7", headers=bearer(token_for("patient/*.rs", patient=patient["id"])))
    events = _trail(client, token_for)
    assert len(events) == 5
    for event in events:
        context.validator.validate(event, expected_type="AuditEvent")


def test_a_request_with_nul_characters_is_still_audited(
    client: TestClient, token_for: TokenFor
) -> None:
    """PostgreSQL cannot store NUL in text: the trail records it as U+FFFD instead."""
    assert client.get("/fhir/Patient", params={"name": "\x00%_"}).status_code < 500
    assert client.get("/fhir/Patient/%00").status_code == 404
    events = _trail(client, token_for)
    queries = [x.get("description", "") for e in events for x in e.get("entity", [])]
    assert "/fhir/Patient?name=\ufffd%_" in queries
    whats = [x["what"]["reference"] for e in events for x in e.get("entity", []) if "what" in x]
    assert "Patient/\ufffd" in whats
