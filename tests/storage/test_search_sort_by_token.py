"""Sorting a search by a token parameter (found by the generated-search test: `_sort=status`
was a 500 because the sort column was looked up on every index table, not just its own)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests import factories


def test_sort_by_a_token_parameter_orders_by_code(client: TestClient) -> None:
    patient = client.post("/fhir/Patient", json=factories.patient()).json()
    for status in ("final", "amended"):
        reading = factories.heart_rate(patient["id"], status=status)
        assert client.post("/fhir/Observation", json=reading).status_code == 201
    for sort, expected in (("status", ["amended", "final"]), ("-status", ["final", "amended"])):
        bundle = client.get("/fhir/Observation", params={"_sort": sort})
        assert bundle.status_code == 200, bundle.text
        assert [e["resource"]["status"] for e in bundle.json()["entry"]] == expected
