"""The fixed statement for "a patient's newest resources with one code" (storage/
recent_by_code.NEWEST_WITH_CODE, behind the NEWS2 SpO2 scale) must answer what the generic
`newest_with_token` answers for `patient`, `code` and `date`: same resources in the same order,
after ties, a period, an undated one, a deletion, a code changed away, another patient's and
another code's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests import factories
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER
from wardcare.fhir import codes
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext

ACTOR = UNAUTHENTICATED_DEVELOPER
SCALE = {"coding": [{"system": codes.NEWS2_SYSTEM, "code": codes.SPO2_SCALE}]}
OTHER = {"coding": [{"system": codes.NEWS2_SYSTEM, "code": "something-else"}]}


def _setting(patient: str, scale: int, **effective: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": SCALE,
        "subject": {"reference": f"Patient/{patient}"},
        "performer": [{"display": "Dr R Patel"}],
        "valueInteger": scale,
        **effective,
    }


@pytest.fixture
def patients(context: AppContext) -> tuple[str, str]:
    me = fhir.create(context, actor=ACTOR, resource=factories.patient()).stored.id
    other = fhir.create(context, actor=ACTOR, resource=factories.patient()).stored.id
    stored: list[dict[str, Any]] = []
    for hour in (8, 9, 9, 11, 7):  # a tie at 09:00, an older one stored last
        stored.append(_setting(me, 1 + hour % 2, effectiveDateTime=f"2026-11-22T{hour:02d}:00Z"))
    stored.append(
        _setting(me, 2, effectivePeriod={"start": "2026-11-22T10:00Z", "end": "2026-11-22T12:30Z"})
    )
    stored.append(_setting(me, 1))  # no date: the generic statement never finds it
    stored.append(_setting(other, 2, effectiveDateTime="2026-11-22T13:00Z"))
    stored.append({**_setting(me, 2, effectiveDateTime="2026-11-22T14:00Z"), "code": OTHER})
    gone = _setting(me, 2, effectiveDateTime="2026-11-22T15:00Z")
    moved = _setting(me, 1, effectiveDateTime="2026-11-22T16:00Z")
    with context.uow.write() as tx:
        for resource in [*stored, gone, moved]:
            resource["id"] = str(uuid.uuid4())
            fhir.create_in(
                tx,
                context,
                actor=ACTOR,
                resource=resource,
                resource_id=resource["id"],
                run_hooks=False,
            )
        fhir.delete_in(
            tx, context, actor=ACTOR, resource_type="Observation", resource_id=gone["id"]
        )
        fhir.update_in(tx, context, actor=ACTOR, resource={**moved, "code": OTHER})
    return me, other


@pytest.mark.parametrize("limit", [1, 2, 3, 10])
@pytest.mark.parametrize("code", [codes.SPO2_SCALE, "something-else", "never-used"])
def test_the_fixed_statement_answers_what_the_generic_one_answers(
    context: AppContext, patients: tuple[str, str], limit: int, code: str
) -> None:
    for patient in patients:
        with context.uow.read() as tx:
            fixed = tx.resources.newest_for_patient_code(
                "Observation",
                patient_id=patient,
                system=codes.NEWS2_SYSTEM,
                code=code,
                limit=limit,
            )
            generic = tx.resources.newest_with_token(
                "Observation",
                subject_param="patient",
                subject=("Patient", patient),
                token_param="code",
                system=codes.NEWS2_SYSTEM,
                code=code,
                date_param="date",
                limit=limit,
            )
        assert [(v.id, v.version_id, v.content) for v in fixed] == [
            (v.id, v.version_id, v.content) for v in generic
        ]


def test_the_newest_setting_is_first(context: AppContext, patients: tuple[str, str]) -> None:
    with context.uow.read() as tx:
        (newest,) = tx.resources.newest_for_patient_code(
            "Observation", patient_id=patients[0], system=codes.NEWS2_SYSTEM, code=codes.SPO2_SCALE
        )
    assert newest.content is not None
    assert b"2026-11-22T11:00" in newest.content  # the 11:00 one (the period starts at 10:00)
