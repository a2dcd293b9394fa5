"""Vital signs checked before they are stored: ACVPU codes, oxygen flow and FiO2 (README, the
NEWS2 input contract), and a bad reading already in the record never crashes NEWS2."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from wardcare.domain.actor import Actor, ActorKind
from wardcare.services import fhir_interactions
from wardcare.services.context import AppContext

ACVPU = "http://wardcare.org/fhir/CodeSystem/acvpu"
NEWS2_TOTAL = "http://snomed.info/sct|1104051000000101"


@pytest.fixture
def patient_id(client: TestClient) -> str:
    response = client.post("/fhir/Patient", json=factories.patient())
    assert response.status_code == 201
    return str(response.json()["id"])


def _full_set(patient_id: str, **values: Any) -> list[dict[str, Any]]:
    chosen = {
        "rr": 16,
        "spo2": 97,
        "o2_flow": 0,
        "sbp": 128,
        "dbp": 70,
        "pulse": 72,
        "acvpu": "A",
        "temp": 36.8,
        **values,
    }
    return factories.vital_signs(patient_id, **chosen)


def _consciousness(patient_id: str) -> dict[str, Any]:
    (observation,) = factories.vital_signs(patient_id, acvpu="A")
    return observation


def _spo2(patient_id: str) -> dict[str, Any]:
    (observation,) = factories.vital_signs(patient_id, spo2=95, o2_flow=2)
    return observation


@pytest.mark.parametrize(
    ("value", "path"),
    [
        # A code of the ACVPU system that is not one of its letters.
        (
            {"coding": [{"system": ACVPU, "code": "X"}]},
            "Observation.valueCodeableConcept.coding[0].code",
        ),
        (
            {"coding": [{"system": ACVPU, "code": "a"}]},  # codes are case-sensitive
            "Observation.valueCodeableConcept.coding[0].code",
        ),
        (
            {"coding": [{"system": "http://snomed.info/sct", "code": "248234008"}]},
            "Observation.valueCodeableConcept",
        ),
        ({"text": "Alert"}, "Observation.valueCodeableConcept"),
    ],
)
def test_a_consciousness_level_outside_acvpu_is_refused_naming_the_element(
    client: TestClient, patient_id: str, value: dict[str, Any], path: str
) -> None:
    observation = _consciousness(patient_id)
    observation["valueCodeableConcept"] = value
    answer = client.post("/fhir/Observation", json=observation)
    assert answer.status_code == 422, answer.text
    issue = answer.json()["issue"][0]
    assert issue["expression"] == [path]
    assert "A, C, V, P or U" in issue["diagnostics"]
    assert client.get("/fhir/Observation").json()["total"] == 0


def test_a_consciousness_level_without_a_coded_value_is_refused(
    client: TestClient, patient_id: str
) -> None:
    observation = _consciousness(patient_id)
    observation.pop("valueCodeableConcept")
    observation["valueString"] = "Alert"
    answer = client.post("/fhir/Observation", json=observation)
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["Observation.valueCodeableConcept"]


@pytest.mark.parametrize("letter", ["A", "C", "V", "P", "U"])
def test_each_acvpu_letter_is_accepted(client: TestClient, patient_id: str, letter: str) -> None:
    observation = _consciousness(patient_id)
    observation["valueCodeableConcept"]["coding"][0]["code"] = letter
    assert client.post("/fhir/Observation", json=observation).status_code == 201


def test_a_bad_consciousness_level_already_stored_leaves_the_set_incomplete(
    client: TestClient, context: AppContext, patient_id: str
) -> None:
    """Stored before the check existed (or by another route): NEWS2 skips it, never crashes."""
    readings = _full_set(patient_id)
    (consciousness,) = [r for r in readings if r["code"]["coding"][0]["code"] == "1104441000000107"]
    others = [r for r in readings if r is not consciousness]
    bad = copy.deepcopy(consciousness)
    bad["valueCodeableConcept"] = {"coding": [{"system": ACVPU, "code": "X"}]}
    actor = Actor(kind=ActorKind.USER, display="test", scopes=frozenset({"user/*.cruds"}))
    with context.uow.write() as tx:
        fhir_interactions.create_in(tx, context, actor=actor, resource=bad, run_hooks=False)
    for observation in others:
        assert client.post("/fhir/Observation", json=observation).status_code == 201
    scores = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    assert scores.json()["total"] == 0  # incomplete: consciousness unreadable
    # A valid reading then completes the set.
    assert client.post("/fhir/Observation", json=consciousness).status_code == 201
    scores = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    assert scores.json()["total"] == 1


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        (61, "L/min", "60"),
        (-1, "L/min", "0-60"),
        (2, "%", "L/min"),
        (2, "mL/min", "L/min"),
        (2, "l/min", "L/min"),
    ],
)
def test_an_implausible_oxygen_flow_component_is_refused(
    client: TestClient, patient_id: str, value: float, code: str | None, fragment: str
) -> None:
    observation = _spo2(patient_id)
    quantity = observation["component"][0]["valueQuantity"]
    quantity["value"] = value
    if code is None:
        quantity.pop("code")
    else:
        quantity["code"] = code
    answer = client.post("/fhir/Observation", json=observation)
    assert answer.status_code == 422, answer.text
    issue = answer.json()["issue"][0]
    assert fragment in issue["diagnostics"]
    where = "value" if fragment != "L/min" else "code"
    assert issue["expression"] == [f"Observation.component[0].valueQuantity.{where}"]


def _flow_observation(patient_id: str, value: float, code: str) -> dict[str, Any]:
    observation = factories.heart_rate(patient_id)
    observation["code"] = {"coding": [{"system": factories.LOINC, "code": "3151-8"}]}
    observation["valueQuantity"] = {
        "value": value,
        "unit": code,
        "system": factories.UCUM,
        "code": code,
    }
    return observation


@pytest.mark.parametrize(("value", "status"), [(0, 201), (0.5, 201), (60, 201), (60.5, 422)])
def test_oxygen_flow_as_its_own_observation_is_0_to_60_l_per_min(
    client: TestClient, patient_id: str, value: float, status: int
) -> None:
    answer = client.post("/fhir/Observation", json=_flow_observation(patient_id, value, "L/min"))
    assert answer.status_code == status, answer.text
    if status == 422:
        assert answer.json()["issue"][0]["expression"] == ["Observation.valueQuantity.value"]


def test_oxygen_flow_in_another_unit_is_refused(client: TestClient, patient_id: str) -> None:
    answer = client.post("/fhir/Observation", json=_flow_observation(patient_id, 2, "%"))
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"] == ["Observation.valueQuantity.code"]


@pytest.mark.parametrize(
    ("value", "code", "status"),
    [(21, "%", 201), (100, "%", 201), (20, "%", 422), (101, "%", 422), (0.4, "%", 422)],
)
def test_fio2_is_21_to_100_percent(
    client: TestClient, patient_id: str, value: float, code: str, status: int
) -> None:
    observation = _flow_observation(patient_id, value, code)
    observation["code"] = {"coding": [{"system": factories.LOINC, "code": "3150-0"}]}
    answer = client.post("/fhir/Observation", json=observation)
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize(
    ("parameter", "value", "unit"),
    [("59408-5", 140, "%"), ("8310-5", 101.2, "Cel"), ("8867-4", 80, "[degF]")],
)
def test_an_implausible_reading_already_stored_leaves_the_set_incomplete(
    client: TestClient,
    context: AppContext,
    patient_id: str,
    parameter: str,
    value: float,
    unit: str,
) -> None:
    readings = _full_set(patient_id)
    (target,) = [r for r in readings if any(c["code"] == parameter for c in r["code"]["coding"])]
    bad = copy.deepcopy(target)
    bad["valueQuantity"] = {**bad["valueQuantity"], "value": value, "code": unit}
    actor = Actor(kind=ActorKind.USER, display="test", scopes=frozenset({"user/*.cruds"}))
    with context.uow.write() as tx:
        fhir_interactions.create_in(tx, context, actor=actor, resource=bad, run_hooks=False)
    for observation in readings:
        if observation is not target:
            assert client.post("/fhir/Observation", json=observation).status_code == 201
    scores = client.get("/fhir/Observation", params={"patient": patient_id, "code": NEWS2_TOTAL})
    assert scores.json()["total"] == 0
