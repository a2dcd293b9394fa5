"""Every resource recording an assessment stores is valid FHIR R4 that WardCare itself accepts.

WardCare builds the extracted Observations, the score Observation, the escalation Task, the
care-plan proposal and the Provenance itself and stores them without running the validator on
each request (only the client's QuestionnaireResponse is validated then). This test holds them to
what the validator would demand of a client's resource (the fhir.resources R4B model, the
required bindings and WardCare's profiles, e.g. the vital-signs profile), for every worked
example of every shipped template, recorded twice so an open proposal is also extended.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.catalog.test_template_examples import EXAMPLES, _name
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.catalog.template_schema import Example, Item
from wardcare.domain.actor import Actor, ActorKind
from wardcare.fhir import codes
from wardcare.fhir.versions import StoredVersion
from wardcare.services import fhir_interactions
from wardcare.services.context import AppContext
from wardcare.services.record_assessment import record_assessment
from wardcare.storage.tables import resources

NURSE = Actor(
    kind=ActorKind.USER,
    display="Nurse A Example",
    reference="Practitioner/nurse-a",
    scopes=frozenset({"user/*.cruds"}),
)


def _answer(loaded: LoadedTemplate, item: Item, value: bool | int | float | str) -> Any:
    if item.type == "boolean":
        return {"valueBoolean": value}
    if item.type == "integer":
        return {"valueInteger": value}
    if item.type == "decimal":
        return {"valueDecimal": value}
    if item.type == "choice":
        option = next(o for o in item.answers if o.code == value)
        return {
            "valueCoding": {"system": option.system or loaded.template.code_system, "code": value}
        }
    return {"valueString": value}


def _response(loaded: LoadedTemplate, example: Example, patient: str, minute: int) -> Any:
    items = {i.link_id: i for i in loaded.template.items}
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": loaded.template.canonical,
        # An example that leaves required items unanswered is an assessment still in progress.
        "status": "in-progress" if example.expect.missing else "completed",
        "subject": {"reference": patient},
        "authored": f"2026-11-22T10:{minute:02d}:00Z",
        "author": {"reference": NURSE.reference},
        "item": [
            {"linkId": link_id, "answer": [_answer(loaded, items[link_id], value)]}
            for link_id, value in example.answers.items()
            if link_id in items
        ],
    }


def _spo2_scale(patient: str, scale: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": codes.NEWS2_SYSTEM, "code": codes.SPO2_SCALE}]},
        "subject": {"reference": patient},
        "effectiveDateTime": "2026-11-22T08:00:00Z",
        "performer": [{"display": "Dr R Patel, respiratory consultant"}],
        "valueInteger": scale,
    }


def _written(context: AppContext) -> list[StoredVersion]:
    """Every current resource in the (emptied-per-test) database."""
    with context.uow.read() as tx:
        found: list[StoredVersion] = []
        for resource_type in (
            "QuestionnaireResponse",
            "Observation",
            "Task",
            "CarePlan",
            "Provenance",
        ):
            found.extend(tx.resources.current_of_type(resource_type, _ids(tx, resource_type)))
    return found


def _ids(tx: Any, resource_type: str) -> list[str]:
    rows = tx.connection.execute(
        resources.select().where(resources.c.resource_type == resource_type)
    )
    return [row.id for row in rows]


@pytest.mark.parametrize(
    ("loaded", "example"),
    EXAMPLES,
    ids=[f"{_name(loaded)}: {example.name}" for loaded, example in EXAMPLES],
)
def test_every_resource_an_assessment_stores_passes_the_validator(
    context: AppContext, loaded: LoadedTemplate, example: Example
) -> None:
    patient = fhir_interactions.create(
        context,
        actor=NURSE,
        resource={"resourceType": "Patient", "name": [{"family": "Example"}], "gender": "female"},
    ).stored
    patient_ref = f"Patient/{patient.id}"
    if example.spo2_scale != 1:
        fhir_interactions.create(
            context, actor=NURSE, resource=_spo2_scale(patient_ref, example.spo2_scale)
        )
    for minute in (10, 40):
        record_assessment(
            context, actor=NURSE, response=_response(loaded, example, patient_ref, minute)
        )

    stored = [v for v in _written(context) if v.content is not None]
    kinds = {v.resource_type for v in stored}
    assert {"QuestionnaireResponse", "Provenance"} <= kinds
    for version in stored:
        resource = orjson.loads(version.content or b"{}")
        context.validator.validate(resource, expected_type=version.resource_type)


def test_the_examples_reach_every_kind_of_resource_an_assessment_builds(
    context: AppContext,
) -> None:
    """The examples above are worth running only if they cover every builder: extracted and
    score Observations, an escalation Task and a care-plan proposal."""
    kinds: set[str] = set()
    for loaded, example in EXAMPLES:
        if example.expect.missing or example.spo2_scale != 1:
            continue
        patient = fhir_interactions.create(
            context, actor=NURSE, resource={"resourceType": "Patient", "gender": "male"}
        ).stored
        recorded = record_assessment(
            context,
            actor=NURSE,
            response=_response(loaded, example, f"Patient/{patient.id}", 10),
        )
        if recorded.extracted:
            kinds.add("extracted")
        if recorded.score is not None:
            kinds.add("score")
        if recorded.escalation is not None:
            kinds.add("escalation")
    with context.uow.read() as tx:
        if _ids(tx, "CarePlan"):
            kinds.add("proposal")
    assert kinds == {"extracted", "score", "escalation", "proposal"}
