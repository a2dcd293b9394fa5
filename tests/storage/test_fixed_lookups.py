"""The fixed look-ups (storage/fixed_lookups.py) answer exactly what the FHIR searches they
replace on hot paths answer: a patient by identifier, a patient's care plans by status; after
an update that changes the value, a delete, two resources sharing a value, another patient's."""

from __future__ import annotations

from typing import Any

from tests import factories
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER
from wardcare.services import fhir_interactions as fhir
from wardcare.services import fhir_reads
from wardcare.services.context import AppContext

ACTOR = UNAUTHENTICATED_DEVELOPER
MRN = "http://example.org/mrn"


def _store(context: AppContext, resource: dict[str, Any]) -> str:
    return fhir.create(context, actor=ACTOR, resource=resource).stored.id


def _searched(context: AppContext, resource_type: str, params: list[tuple[str, str]]) -> list[Any]:
    result = fhir_reads.search(context, actor=ACTOR, resource_type=resource_type, params=params)
    return [(m.id, m.version_id, m.content) for m in result.page.matches]


def _plan(patient: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": status,
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient}"},
    }


def test_a_patient_by_identifier_is_what_the_search_finds(context: AppContext) -> None:
    ids = [
        _store(context, factories.patient(identifier=[{"system": MRN, "value": value}]))
        for value in ("A1", "A1", "B2", "C3")  # two patients share A1
    ]
    fhir.delete(context, actor=ACTOR, resource_type="Patient", resource_id=ids[3])
    moved = {**factories.patient(identifier=[{"system": MRN, "value": "D4"}]), "id": ids[2]}
    fhir.update(context, actor=ACTOR, resource_type="Patient", resource_id=ids[2], resource=moved)
    for value in ("A1", "B2", "C3", "D4", "E5"):
        for limit in (1, 5):
            with context.uow.read() as tx:
                fixed = tx.resources.with_token(
                    "Patient", param="identifier", system=MRN, code=value, limit=limit
                )
            expected = _searched(
                context, "Patient", [("identifier", f"{MRN}|{value}"), ("_count", str(limit))]
            )
            assert [(m.id, m.version_id, m.content) for m in fixed] == expected
    with context.uow.read() as tx:
        assert (
            len(
                tx.resources.with_token(
                    "Patient", param="identifier", system=MRN, code="A1", limit=5
                )
            )
            == 2
        )


def test_care_plans_by_patient_and_status_are_what_the_search_finds(context: AppContext) -> None:
    me, other = _store(context, factories.patient()), _store(context, factories.patient())
    for status in ("draft", "active", "on-hold", "completed", "revoked", "active"):
        _store(context, _plan(me, status))
        _store(context, _plan(other, status))
    gone = _store(context, _plan(me, "draft"))
    fhir.delete(context, actor=ACTOR, resource_type="CarePlan", resource_id=gone)
    done = _store(context, _plan(me, "active"))
    fhir.update(
        context,
        actor=ACTOR,
        resource_type="CarePlan",
        resource_id=done,
        resource={**_plan(me, "completed"), "id": done},
    )
    for codes in (["active", "draft", "on-hold"], ["completed"], ["unknown"]):
        with context.uow.read() as tx:
            fixed = tx.resources.for_subject_with_codes(
                "CarePlan",
                subject_param="patient",
                subject=("Patient", me),
                token_param="status",
                codes=codes,
                limit=200,
            )
        expected = _searched(
            context, "CarePlan", [("patient", f"Patient/{me}"), ("status", ",".join(codes))]
        )
        assert [(m.id, m.version_id, m.content) for m in fixed] == expected
    with context.uow.read() as tx:
        open_now = tx.resources.for_subject_with_codes(
            "CarePlan",
            subject_param="patient",
            subject=("Patient", me),
            token_param="status",
            codes=["active", "draft", "on-hold"],
            limit=200,
        )
    assert len(open_now) == 4  # draft, active, on-hold, active; not the deleted nor completed
