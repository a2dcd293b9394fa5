"""SMART App Launch 2.0 clinical scopes: v2 syntax, v1 mapping, wildcards, refused forms."""

from __future__ import annotations

import pytest

from wardcare.domain.smart_scopes import Interaction, Reach, parse_scope, reach


@pytest.mark.parametrize(
    ("scope", "context", "resource_type", "permissions"),
    [
        ("patient/Observation.rs", "patient", "Observation", "rs"),
        ("user/*.cruds", "user", "*", "cruds"),
        ("system/Patient.c", "system", "Patient", "c"),
        ("patient/*.read", "patient", "*", "rs"),
        ("user/Observation.write", "user", "Observation", "cud"),
        ("user/*.*", "user", "*", "cruds"),
    ],
)
def test_parse(scope: str, context: str, resource_type: str, permissions: str) -> None:
    parsed = parse_scope(scope)
    assert parsed is not None
    assert (parsed.context, parsed.resource_type) == (context, resource_type)
    assert parsed.permissions == frozenset(permissions)


@pytest.mark.parametrize(
    "scope",
    [
        "openid",
        "launch",
        "launch/patient",
        "fhirUser",
        "patient/Observation.rs?category=vital-signs",  # finer-grained: refused, not widened
        "patient/Observation.sr",  # v2 permissions must be in cruds order
        "patient/Observation.",
        "clinician/Observation.rs",
        "patient/Observation.rsx",
    ],
)
def test_not_a_granting_scope(scope: str) -> None:
    assert parse_scope(scope) is None


def test_user_scope_reaches_all_and_wins_over_patient_scope() -> None:
    scopes = frozenset({"patient/*.rs", "user/Observation.rs"})
    assert reach(scopes, Interaction.READ, "Observation", has_patient=True) == Reach.ALL
    assert reach(scopes, Interaction.READ, "Patient", has_patient=True) == Reach.COMPARTMENT
    assert reach(scopes, Interaction.CREATE, "Observation", has_patient=True) is None


def test_patient_scope_needs_a_patient_in_context() -> None:
    scopes = frozenset({"patient/*.cruds"})
    assert reach(scopes, Interaction.READ, "Observation", has_patient=False) is None
