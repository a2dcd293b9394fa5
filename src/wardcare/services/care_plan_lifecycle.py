"""What a change to a care plan means, checked in the transaction that writes it.

Installed as a write hook (`bootstrap.py`), so it applies however the change arrives (`PUT`,
a transaction Bundle): a change it refuses rolls the whole write back with an OperationOutcome
naming the element.

- Only a person makes a plan active (FHIR R4 CarePlan `active`: "the plan is ready to be acted
  upon"); a proposal is applied first (`PlanDefinition/$apply`), never activated as it is.
- Completing, discontinuing (`revoked`) or marking a plan `entered-in-error` needs a reason, in
  the core `request-statusReason` extension; a closed plan is never reopened (apply the template
  again), so its history stays true.
- Activation makes the plan's goals active and its interventions `in-progress` from now (their
  occurrences fall due from this moment); closing a plan closes its open interventions and goals
  the same way, with the same reason, and its problem (resolved, inactive or entered in error).
- An intervention's timing and a goal's review interval must be ones WardCare can schedule.
"""

from __future__ import annotations

from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor, ActorKind
from wardcare.domain.schedule import LONDON
from wardcare.errors import Category
from wardcare.fhir.care_planning import (
    CLOSED_PLAN_STATUSES,
    OPEN_TASK_STATUSES,
    REVIEW_EXTENSION,
    is_intervention,
    plan_template_id,
    reference_id,
    status_reason,
)
from wardcare.fhir.dates import instant
from wardcare.fhir.intervention_timing import task_timing, timing_from_fhir
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

_TASK_WHEN_CLOSED = {"completed": "completed", "revoked": "cancelled"}
_GOAL_WHEN_CLOSED = {"completed": "completed", "revoked": "cancelled"}
_CONDITION_WHEN_CLOSED = {"completed": "resolved", "revoked": "inactive"}


def on_care_planning_write(
    tx: Transaction, ctx: AppContext, actor: Actor, resource: dict[str, Any]
) -> None:
    kind = resource.get("resourceType")
    if kind == "CarePlan" and plan_template_id(resource) is not None:
        _care_plan(tx, ctx, actor, resource)
    elif kind == "Task" and is_intervention(resource):
        timing, path = task_timing(resource)
        timing_from_fhir(timing, path)
    elif kind == "Goal":
        for index, extension in enumerate(resource.get("extension") or ()):
            if extension.get("url") == REVIEW_EXTENSION:
                _check_review(extension.get("valueDuration"), f"Goal.extension[{index}]")


def _check_review(duration: Any, path: str) -> None:
    if not (
        isinstance(duration, dict)
        and duration.get("code") == "d"
        and isinstance(duration.get("value"), int)
        and 1 <= duration["value"] <= 90
    ):
        raise errors.unprocessable(
            "A goal's review interval is whole days (1 to 90), UCUM code d",
            f"{path}.valueDuration",
        )


def _care_plan(tx: Transaction, ctx: AppContext, actor: Actor, plan: dict[str, Any]) -> None:
    version = int(plan.get("meta", {}).get("versionId", "1"))
    before = None
    if version > 1:
        previous = tx.resources.version("CarePlan", plan["id"], version - 1)
        if previous is not None and previous.content is not None:
            before = orjson.loads(previous.content).get("status")
    status = plan.get("status")
    if status == before:
        return
    if before in CLOSED_PLAN_STATUSES:
        raise errors.unprocessable(
            f"This plan is {before}: a closed plan is never reopened; apply the template again "
            "for a new plan",
            "CarePlan.status",
        )
    if status == "active" and plan.get("intent") == "proposal":
        raise errors.unprocessable(
            "A proposal is not activated as it is: apply it (PlanDefinition/$apply), "
            "personalise the plan, then activate the plan",
            "CarePlan.status",
        )
    if status in CLOSED_PLAN_STATUSES and not status_reason(plan):
        raise errors.unprocessable(
            f"A plan marked {status} needs the reason, in the extension {_REASON_HINT}",
            "CarePlan.extension",
        )
    if status == "active":
        if actor.kind != ActorKind.USER:
            raise errors.error(
                Category.FORBIDDEN,
                f"Only a person activates a care plan ({actor.display} is not one)",
            )
        if before in (None, "draft"):
            _activate(tx, ctx, actor, plan)
    elif status in CLOSED_PLAN_STATUSES:
        _close(tx, ctx, actor, plan, status, status_reason(plan) or "")


_REASON_HINT = "http://hl7.org/fhir/StructureDefinition/request-statusReason"


def _activate(tx: Transaction, ctx: AppContext, actor: Actor, plan: dict[str, Any]) -> None:
    now = ctx.clock.now()
    today = now.astimezone(LONDON).date().isoformat()
    for goal in _linked(tx, plan, "Goal"):
        if goal.get("lifecycleStatus") == "proposed":
            _write(tx, ctx, actor, {**goal, "lifecycleStatus": "active", "statusDate": today})
    for task in _linked(tx, plan, "Task"):
        if task.get("status") == "draft":
            period = {**task.get("executionPeriod", {}), "start": instant(now)}
            _write(tx, ctx, actor, {**task, "status": "in-progress", "executionPeriod": period})


def _close(
    tx: Transaction, ctx: AppContext, actor: Actor, plan: dict[str, Any], status: str, reason: str
) -> None:
    why = {"text": reason}
    for task in _linked(tx, plan, "Task"):
        if task.get("status") in OPEN_TASK_STATUSES:
            new_status = _TASK_WHEN_CLOSED.get(status, "entered-in-error")
            _write(tx, ctx, actor, {**task, "status": new_status, "statusReason": why})
    for goal in _linked(tx, plan, "Goal"):
        if goal.get("lifecycleStatus") in ("proposed", "planned", "accepted", "active", "on-hold"):
            lifecycle = _GOAL_WHEN_CLOSED.get(status, "entered-in-error")
            _write(tx, ctx, actor, {**goal, "lifecycleStatus": lifecycle})
    for condition in _linked(tx, plan, "Condition"):
        if status == "entered-in-error":
            # FHIR R4 con-5: no clinicalStatus when the verification is entered-in-error.
            updated = {k: v for k, v in condition.items() if k != "clinicalStatus"}
            updated["verificationStatus"] = {
                "coding": [{"system": _VERIFICATION, "code": "entered-in-error"}]
            }
        else:
            updated = {
                **condition,
                "clinicalStatus": {
                    "coding": [{"system": _CLINICAL, "code": _CONDITION_WHEN_CLOSED[status]}]
                },
            }
        _write(tx, ctx, actor, updated)


_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _linked(tx: Transaction, plan: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    if resource_type == "Goal":
        references = plan.get("goal") or []
    elif resource_type == "Condition":
        references = plan.get("addresses") or []
    else:
        references = [a.get("reference") for a in plan.get("activity") or ()]
    ids = [i for i in (reference_id(r, resource_type) for r in references) if i]
    return [
        orjson.loads(v.content)
        for v in tx.resources.current_many((resource_type, i) for i in ids)
        if v.content
    ]


def _write(tx: Transaction, ctx: AppContext, actor: Actor, resource: dict[str, Any]) -> None:
    fhir.update_in(
        tx,
        ctx,
        actor=actor,
        resource=resource,
        expected_version=int(resource["meta"]["versionId"]),
    )
