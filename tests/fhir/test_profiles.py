"""The vital-signs profile in fhir_profiles/ is enforced (FHIR R4 vital signs, 8.2.1.4)."""

import copy
from typing import Any

import pytest

from tests import factories
from wardcare import paths
from wardcare.fhir.profiles import load_profiles

PROFILES = load_profiles(paths.FHIR_PROFILES)
VITAL_SIGNS_URL = "http://wardcare.org/fhir/StructureDefinition/wardcare-vital-signs"


def problems(resource: dict[str, Any]) -> list[str]:
    return [
        m for p in PROFILES.applicable(resource) for m in (i.message for i in p.check(resource))
    ]


def test_a_valid_heart_rate_meets_the_profile() -> None:
    assert problems(factories.heart_rate("p1")) == []


def test_the_profile_applies_to_every_observation_with_the_vital_signs_category() -> None:
    urls = [p.url for p in PROFILES.applicable(factories.heart_rate("p1"))]
    assert urls == [VITAL_SIGNS_URL]


def test_an_observation_without_the_category_is_not_held_to_it() -> None:
    observation = factories.heart_rate("p1")
    del observation["category"]
    assert PROFILES.applicable(observation) == []


def test_a_resource_claiming_the_profile_is_held_to_it() -> None:
    observation = factories.heart_rate("p1", meta={"profile": [VITAL_SIGNS_URL]})
    del observation["category"]
    assert any("category" in m for m in problems(observation))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda o: o.pop("subject"), "Observation.subject is required"),
        (lambda o: o.pop("effectiveDateTime"), "Observation.effective is required"),
        (
            lambda o: o["valueQuantity"].pop("system"),
            "Observation.valueQuantity.system is required",
        ),
        (lambda o: o["valueQuantity"].update(system="http://example.org"), "must be"),
        (
            lambda o: o.update(
                code={"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}
            ),
            "a coding from http://loinc.org",
        ),
        (lambda o: o.update(subject={"reference": "Location/bed1"}), "must refer to Patient"),
        (
            lambda o: (o.pop("valueQuantity"), o.update(valueString="88")),
            "Observation.valueString must be one of Quantity",
        ),
    ],
)
def test_vital_signs_that_break_the_profile_are_named(change: Any, expected: str) -> None:
    observation = copy.deepcopy(factories.heart_rate("p1"))
    change(observation)
    found = problems(observation)
    assert any(expected in m for m in found), found
