"""Evaluate a care-plan goal: met, partly met or not met, with the nurse's note.

The evaluation is an Observation (`focus` the Goal, `basedOn` the plan, the result coded in
WardCare's care-planning system, the note as `note`), and the Goal gets a new version: its
`achievementStatus` (achieved / improving / not-achieved), `statusDate` today (the next review
counts from it) and the evaluation in `outcomeReference`. One transaction, one Provenance.
"""

from __future__ import annotations

from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.schedule import LONDON
from wardcare.domain.smart_scopes import Interaction
from wardcare.fhir import resource_ids
from wardcare.fhir.care_planning import (
    EVALUATION_RESULTS,
    GOAL_ACHIEVEMENT,
    GOAL_EVALUATION,
    actor_reference,
    coding,
)
from wardcare.fhir.dates import instant
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation, fhir_reads
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance


def evaluate_goal(
    ctx: AppContext, *, actor: Actor, goal_id: str, result: str, note: str
) -> StoredVersion:
    """Store the evaluation; returns the evaluation Observation."""
    if result not in EVALUATION_RESULTS:
        raise errors.unprocessable(
            f"result must be met, partly-met or not-met, not {result!r}", "result"
        )
    if not note.strip():
        raise errors.unprocessable("An evaluation needs the nurse's note", "note")
    now = ctx.clock.now()
    display, achievement = EVALUATION_RESULTS[result]
    with ctx.uow.write() as tx:
        current = fhir_reads.read_in(tx, resource_type="Goal", resource_id=goal_id)
        goal = orjson.loads(current.content or b"{}")
        # Evaluating updates the goal and adds the evaluation Observation.
        authorisation.authorise_patient_write(
            actor,
            authorisation.patients_of(goal),
            [(Interaction.UPDATE, "Goal"), (Interaction.CREATE, "Observation")],
            target=f"Goal/{goal_id}",
        )
        if goal.get("lifecycleStatus") != "active":
            raise errors.unprocessable(
                f"This goal is {goal.get('lifecycleStatus')}: only an active goal is evaluated",
                "Goal.lifecycleStatus",
            )
        query = parse_search(
            "CarePlan",
            [("goal", f"Goal/{goal_id}"), ("status", "active")],
            ctx.search_parameters,
            default_count=2,
            max_count=2,
        )
        plans = tx.resources.search(query).matches
        if not plans:
            raise errors.unprocessable("This goal's plan is not active", "Goal")
        evaluation: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [coding(GOAL_EVALUATION, "Care plan goal evaluation")]},
            "subject": goal["subject"],
            "focus": [{"reference": f"Goal/{goal_id}"}],
            "basedOn": [{"reference": f"CarePlan/{plans[0].id}"}],
            "effectiveDateTime": instant(now),
            "performer": [actor_reference(actor.display, actor.reference)],
            "valueCodeableConcept": {"coding": [coding(result, display)], "text": display},
            "note": [{"text": note, "time": instant(now)}],
        }
        ctx.validator.validate(evaluation, expected_type="Observation")
        stored = fhir.create_in(
            tx,
            ctx,
            actor=actor,
            resource=evaluation,
            resource_id=resource_ids.new_id(),
            run_hooks=False,
            provenance=False,
        ).stored
        updated = {
            **goal,
            "achievementStatus": {
                "coding": [{"system": GOAL_ACHIEVEMENT, "code": achievement}],
                "text": display,
            },
            "statusDate": now.astimezone(LONDON).date().isoformat(),
            "outcomeReference": [
                *goal.get("outcomeReference", []),
                {"reference": f"Observation/{stored.id}"},
            ],
        }
        updated.pop("meta", None)
        new_goal = tx.resources.new_version(current, updated, now=stored.last_updated, method="PUT")
        record_provenance(
            tx.resources,
            [stored, new_goal],
            actor,
            patient=goal["subject"].get("reference"),
            now=stored.last_updated,
            reason=f"Goal evaluated: {display}",
        )
        return stored
