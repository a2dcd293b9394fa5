"""Faker-based builders of realistic FHIR resources for tests (valid NHS numbers throughout)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

from faker import Faker

from wardcare.demo.synthetic_hospital import make_patient, vital_signs_set

_fake = Faker("en_GB")
_rng = random.Random(2026)
Faker.seed(2026)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}


def patient(**overrides: Any) -> dict[str, Any]:
    resource = make_patient(_fake, _rng, today=date(2026, 11, 23))
    resource.pop("id", None)
    resource.update(overrides)
    return resource


def heart_rate(
    patient_id: str, value: float = 80, when: str = "2026-11-22T10:00:00Z", **overrides: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "beats/minute", "system": UCUM, "code": "/min"},
    }
    resource.update(overrides)
    return resource


def vital_signs(
    patient_id: str, when: datetime | None = None, **values: Any
) -> list[dict[str, Any]]:
    """A set of separate vital-sign Observations, as e-obs devices send them."""
    moment = when or datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    resources = vital_signs_set(
        patient_ref=f"Patient/{patient_id}",
        encounter_ref="Encounter/e1",
        performer_ref="Practitioner/n1",
        when=moment,
        rng=_rng,
        **values,
    )
    for resource in resources:
        resource.pop("id", None)
    return resources
