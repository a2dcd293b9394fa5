"""Two patients, each with a record, and cross-patient links that a leak would follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests import factories


@dataclass(frozen=True)
class Ward:
    own: str  # Patient id the patient token is for
    other: str
    own_obs: str
    other_obs: str
    own_linking_obs: str  # A's Observation with hasMember -> B's Observation
    other_task: str  # B's Task whose focus is A's Observation


def _create(client: TestClient, resource: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{resource['resourceType']}", json=resource)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


def two_patients(client: TestClient) -> Ward:
    own = _create(client, factories.patient())
    other = _create(client, factories.patient())
    own_obs = _create(client, factories.heart_rate(own, value=71))
    other_obs = _create(client, factories.heart_rate(other, value=99))
    linking = _create(
        client,
        factories.heart_rate(own, value=72, hasMember=[{"reference": f"Observation/{other_obs}"}]),
    )
    task = _create(
        client,
        {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "for": {"reference": f"Patient/{other}"},
            "focus": {"reference": f"Observation/{own_obs}"},
        },
    )
    return Ward(own, other, own_obs, other_obs, linking, task)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ids(bundle: dict[str, Any]) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if "resource" in e
    }
