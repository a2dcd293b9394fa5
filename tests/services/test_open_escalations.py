"""What the ward board and the patient page count as an open escalation: only escalation Tasks
(task-type `...-escalation`, raised by services/escalation.py), never a care plan's
intervention Tasks or any other open Task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests import factories
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER as ACTOR
from wardcare.fhir import codes
from wardcare.services import fhir_interactions as fhir
from wardcare.services import fhir_reads
from wardcare.services.care_plan_apply import apply_plan
from wardcare.services.care_plan_changes import activate_plan
from wardcare.services.context import AppContext
from wardcare.services.patient_summaries import open_escalations
from wardcare.services.record_assessment import record_assessment


@pytest.fixture
def patient_id(context: AppContext) -> str:
    return fhir.create(context, actor=ACTOR, resource=factories.patient()).stored.id


def _escalations(ctx: AppContext, patient_id: str) -> list[Any]:
    with ctx.uow.read() as tx:
        return open_escalations(tx, ctx, [patient_id])[patient_id]


def _activate_pressure_plan(ctx: AppContext, patient_id: str) -> None:
    applied = apply_plan(
        ctx,
        actor=ACTOR,
        plan_definition_id="pressure-ulcer-prevention",
        subject=f"Patient/{patient_id}",
    )
    activate_plan(
        ctx, actor=ACTOR, care_plan_id=applied.care_plan.id, version=applied.care_plan.version_id
    )
    assert applied.tasks  # open intervention Tasks (in-progress once active)


def test_open_intervention_tasks_are_not_escalations(context: AppContext, patient_id: str) -> None:
    _activate_pressure_plan(context, patient_id)
    # Another open Task that is not an escalation either (a to-do from another system).
    fhir.create(
        context,
        actor=ACTOR,
        resource={
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "code": {"text": "Chase the echo report"},
            "for": {"reference": f"Patient/{patient_id}"},
        },
    )
    assert _escalations(context, patient_id) == []


def test_an_escalation_beside_open_interventions_is_the_only_one_shown(
    context: AppContext, patient_id: str
) -> None:
    _activate_pressure_plan(context, patient_id)
    loaded = context.catalog.get("pain-score")
    assert loaded is not None
    recorded = record_assessment(
        context,
        actor=ACTOR,
        response={
            "resourceType": "QuestionnaireResponse",
            "questionnaire": loaded.template.canonical,
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "authored": datetime.now(UTC).isoformat(),
            "item": [{"linkId": "pain-score", "answer": [{"valueInteger": 9}]}],
        },
    )
    assert recorded.escalation is not None  # severe pain asks for an urgent response
    shown = _escalations(context, patient_id)
    assert [e.reference for e in shown] == [f"Task/{recorded.escalation.id}"]
    assert shown[0].priority == "urgent"
    task = fhir_reads.read(
        context, actor=ACTOR, resource_type="Task", resource_id=recorded.escalation.id
    )
    assert task.content is not None
    assert f'"system":"{codes.TASK_TYPE}"' in task.content.decode()
