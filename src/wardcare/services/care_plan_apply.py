"""PlanDefinition/$apply (FHIR R4 Clinical Reasoning): a care-plan template made into a draft
plan for one patient.

One transaction stores the problem (a Condition on the problem list), the goals (Goal,
`lifecycleStatus` proposed), one Task per intervention (`status` draft, `intent` plan, its
timing in the intervention-timing extension) and the CarePlan (`status` draft, `intent` plan)
that addresses the problem and lists the goals and Tasks, with one Provenance naming them all.
Unlike the R4 operation, which returns an unsaved CarePlan, WardCare stores the draft so the
nurse can personalise it (`PUT` with `If-Match`) and then activate it; nothing is active until a
person activates it (`services/care_plan_lifecycle.py`).

The interventions are the template's `always` ones plus those an open proposal for the same
template lists (the falls factors an assessment found), or exactly the ones the caller names.
A patient has at most one open plan per template: applying again is a 409 naming the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wardcare import errors
from wardcare.catalog.care_plan_schema import Goal as GoalTemplate
from wardcare.catalog.care_plans import LoadedCarePlan, goal_target, review_duration
from wardcare.domain.actor import Actor
from wardcare.domain.schedule import LONDON
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category
from wardcare.fhir import resource_ids
from wardcare.fhir.care_planning import (
    REVIEW_EXTENSION,
    actor_reference,
    coding,
    plan_template_id,
    reference_id,
)
from wardcare.fhir.dates import instant
from wardcare.fhir.intervention_timing import TIMING_EXTENSION, timing_to_fhir
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation
from wardcare.services import fhir_interactions as fhir
from wardcare.services.care_plan_proposals import open_plans
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance
from wardcare.storage.unit_of_work import Transaction

APPLY_CREATES = ("CarePlan", "Goal", "Task", "Condition")
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@dataclass(frozen=True)
class AppliedPlan:
    care_plan: StoredVersion
    goals: list[StoredVersion]
    tasks: list[StoredVersion]
    condition: StoredVersion


def find_template(ctx: AppContext, plan_definition_id: str) -> LoadedCarePlan:
    """The template published as PlanDefinition/{id} (the latest) or {id}-v1-0-0 (a version)."""
    plans = ctx.catalog.care_plans
    found = plans.get(plan_definition_id)
    if found is None and "-v" in plan_definition_id:
        plan_id, _, version = plan_definition_id.rpartition("-v")
        found = plans.get(plan_id, version.replace("-", "."))
    if found is None:
        raise errors.not_found(f"PlanDefinition/{plan_definition_id} is not a care-plan template")
    return found


def apply_plan(
    ctx: AppContext,
    *,
    actor: Actor,
    plan_definition_id: str,
    subject: str,
    encounter: str | None = None,
    interventions: Sequence[str] | None = None,
) -> AppliedPlan:
    plan = find_template(ctx, plan_definition_id)
    if plan.template.status == "retired":
        raise errors.unprocessable(
            f"{plan.template.title} {plan.template.version} is retired", "PlanDefinition.status"
        )
    patient_id = reference_id({"reference": subject}, "Patient")
    if patient_id is None:
        raise errors.unprocessable(
            f"subject must be a Patient reference (Patient/id), not {subject!r}", "subject"
        )
    # $apply creates the plan, its goals and interventions and the problem they address.
    authorisation.authorise_patient_write(
        actor, [patient_id], [(Interaction.CREATE, t) for t in APPLY_CREATES]
    )
    if interventions is not None:
        for index, name in enumerate(interventions):
            if plan.template.intervention(name) is None:
                known = ", ".join(i.id for i in plan.template.interventions)
                raise errors.unprocessable(
                    f"{plan.template.title} has no intervention {name!r} (known: {known})",
                    f"intervention[{index}]",
                )
    with ctx.uow.write() as tx:
        return _apply(tx, ctx, actor, plan, f"Patient/{patient_id}", encounter, interventions)


def _apply(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    plan: LoadedCarePlan,
    patient: str,
    encounter: str | None,
    chosen: Sequence[str] | None,
) -> AppliedPlan:
    _check_exists(tx, patient, "subject")
    if encounter is not None:
        if reference_id({"reference": encounter}, "Encounter") is None:
            raise errors.unprocessable("encounter must be Encounter/id", "encounter")
        _check_exists(tx, encounter, "encounter")
    template = plan.template
    proposal: tuple[StoredVersion, dict[str, Any]] | None = None
    for stored, existing in open_plans(tx, ctx, patient):
        if plan_template_id(existing) != template.id:
            continue
        if existing.get("intent") == "proposal":
            proposal = (stored, existing)
        else:
            raise errors.error(
                Category.CONFLICT,
                f"{patient} already has an open {template.title} plan (CarePlan/{stored.id}, "
                f"{existing.get('status')}): change that plan instead",
            )
    selected = list(chosen) if chosen is not None else _from_proposal(plan, proposal)
    now = instant(ctx.clock.now())
    ids = {name: resource_ids.new_id() for name in ("plan", "condition")}
    plan_ref = f"CarePlan/{ids['plan']}"
    common: dict[str, Any] = {"subject": {"reference": patient}}
    if encounter:
        common["encounter"] = {"reference": encounter}
    author = actor_reference(actor.display, actor.reference)

    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {
            "coding": [template.problem.code.model_dump(exclude_none=True)],
            "text": template.problem.text,
        },
        "recordedDate": now,
        "recorder": author,
        **common,
    }
    condition_ref = f"Condition/{ids['condition']}"
    today = ctx.clock.now().astimezone(LONDON).date().isoformat()
    goals = [_goal(goal, patient, condition_ref, today) for goal in template.goals]
    tasks = [_task(plan, name, plan_ref, common, author, now) for name in selected]
    goal_ids = [resource_ids.new_id() for _ in goals]
    task_ids = [resource_ids.new_id() for _ in tasks]
    care_plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "plan",
        "instantiatesCanonical": [template.canonical],
        "category": [{"coding": [coding("nursing-care-plan", "Nursing care plan")]}],
        "title": template.title,
        "description": template.description,
        "created": now,
        "author": author,
        "addresses": [{"reference": condition_ref}],
        "goal": [{"reference": f"Goal/{i}"} for i in goal_ids],
        "activity": [{"reference": {"reference": f"Task/{i}"}} for i in task_ids],
        **common,
    }
    if proposal is not None:
        care_plan["basedOn"] = [{"reference": f"CarePlan/{proposal[0].id}"}]
        care_plan["supportingInfo"] = proposal[1].get("supportingInfo", [])
        care_plan["note"] = proposal[1].get("note", [])
    for resource in (condition, *goals, *tasks, care_plan):
        ctx.validator.validate(resource, expected_type=resource["resourceType"])

    def store(resource: dict[str, Any], resource_id: str) -> StoredVersion:
        return fhir.create_in(
            tx,
            ctx,
            actor=actor,
            resource=resource,
            resource_id=resource_id,
            run_hooks=False,
            provenance=False,
        ).stored

    stored_condition = store(condition, ids["condition"])
    stored_goals = [store(g, i) for g, i in zip(goals, goal_ids, strict=True)]
    stored_tasks = [store(t, i) for t, i in zip(tasks, task_ids, strict=True)]
    stored_plan = store(care_plan, ids["plan"])
    written = [stored_plan, stored_condition, *stored_goals, *stored_tasks]
    if proposal is not None:
        # The proposal has done its job: the plan made from it is now the nurse's to change.
        accepted = {**proposal[1], "status": "completed"}
        accepted.pop("meta", None)
        accepted["note"] = [
            *proposal[1].get("note", []),
            {"text": f"Applied as {plan_ref}", "time": now},
        ]
        written.append(
            tx.resources.new_version(
                proposal[0], accepted, now=stored_plan.last_updated, method="PUT"
            )
        )
    record_provenance(
        tx.resources,
        written,
        actor,
        patient=patient,
        now=stored_plan.last_updated,
        reason=f"Applied {template.title} {template.version}",
    )
    return AppliedPlan(stored_plan, stored_goals, stored_tasks, stored_condition)


def _goal(goal: GoalTemplate, patient: str, condition_ref: str, today: str) -> dict[str, Any]:
    target = goal_target(goal)
    if goal.target.detail is not None:
        target["detailString"] = goal.target.detail
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "proposed",
        "description": {"text": goal.description},
        "subject": {"reference": patient},
        "startDate": today,
        "addresses": [{"reference": condition_ref}],
        "target": [target],
        "note": [{"text": f"Evaluation: {goal.evaluation}"}],
        "extension": [
            {"url": REVIEW_EXTENSION, "valueDuration": review_duration(goal.review_every)}
        ],
    }


def _task(
    plan: LoadedCarePlan,
    name: str,
    plan_ref: str,
    common: dict[str, Any],
    author: dict[str, Any],
    now: str,
) -> dict[str, Any]:
    template = plan.template
    intervention = template.intervention(name)
    assert intervention is not None
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "draft",
        "intent": "plan",
        "instantiatesCanonical": f"{template.activity_url(intervention)}|{template.version}",
        "code": {
            "coding": [intervention.code(template.id).model_dump(exclude_none=True)],
            "text": intervention.title,
        },
        "description": intervention.description,
        "basedOn": [{"reference": plan_ref}],
        "for": common["subject"],
        "authoredOn": now,
        "requester": author,
        "extension": [
            {"url": TIMING_EXTENSION, "valueTiming": timing_to_fhir(plan.timing(intervention))}
        ],
    }
    if "encounter" in common:
        task["encounter"] = common["encounter"]
    return task


def _from_proposal(
    plan: LoadedCarePlan, proposal: tuple[StoredVersion, dict[str, Any]] | None
) -> list[str]:
    selected = [i.id for i in plan.template.interventions if i.include == "always"]
    if proposal is None:
        return selected
    prefix = f"http://wardcare.org/fhir/ActivityDefinition/{plan.template.id}."
    for activity in proposal[1].get("activity", ()):
        for canonical in activity.get("detail", {}).get("instantiatesCanonical", ()):
            name = canonical.split("|", 1)[0].removeprefix(prefix)
            if plan.template.intervention(name) is not None and name not in selected:
                selected.append(name)
    return selected


def _check_exists(tx: Transaction, reference: str, parameter: str) -> None:
    resource_type, _, resource_id = reference.partition("/")
    found = tx.resources.current(resource_type, resource_id)
    if found is None or found.deleted:
        raise errors.unprocessable(f"{reference} does not exist", parameter)
