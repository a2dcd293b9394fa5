"""A patient's care at a glance, as plain data for the UI and the handover PDF.

`care_summary(ctx, actor=..., patient_id=...)` returns a dict (JSON-ready: strings, numbers,
lists, dicts, None). Times are `{"utc": ISO 8601, "local": ISO 8601 Europe/London}`; dates are
ISO dates. The shape:

    {
      "patient": "Patient/123",
      "generatedAt": {"utc": ..., "local": ...},
      "problems": [                       # one per active care plan, in plan order
        {"carePlan": "CarePlan/1", "condition": "Condition/2" | None, "text": "At risk of falling",
         "code": {"system": ..., "code": ..., "display": ...} | None}
      ],
      "carePlans": [
        {"reference": "CarePlan/1", "version": 3, "template": "falls-prevention",
         "title": "Falls prevention (multifactorial)",
         "review": {"date": "2026-11-23" | None, "state": "overdue"|"due"|"not-due"},
         "goals": [
           {"reference": "Goal/4", "description": ..., "target": "<= 0 {count}" | text | None,
            "achievement": "achieved"|"improving"|"not-achieved"|None,
            "review": {"date": ..., "state": ...} | None,
            "lastEvaluation": {"reference": "Observation/9", "result": "met"|"partly-met"|"not-met",
                               "note": ..., "at": {times}, "by": "name"} | None}
         ],
         "interventions": [ <intervention entry, below> ]}
      ],
      "proposals": [                      # plans assessments proposed that no nurse has applied
        {"reference": "CarePlan/7", "template": ..., "title": ..., "reason": ..., "created": ...}
      ],
      "assessments": [                    # latest result of each active assessment
        {"assessment": "news2", "title": ..., "at": {times} | None, "total": 3 | None,
         "band": "low" | None, "state": "overdue"|..., "dueAt": {times} | None}
      ]
    }

An intervention entry (the ward due list uses the same, with `kind`):

    {"kind": "intervention", "intervention": "Task/5", "carePlan": "CarePlan/1",
     "plan": "falls-prevention", "title": "Intentional rounding", "timing": "every hour",
     "state": "overdue"|"due"|"not-due"|"unscheduled", "dueAt": {times} | None,
     "overdueMinutes": 40 | None, "overdueCount": 1,
     "last": {"at": {times}, "outcome": "done"|"not-done"|"declined"} | None}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from wardcare.domain.actor import Actor
from wardcare.domain.schedule import LONDON, DueState
from wardcare.fhir.care_planning import (
    CARE_PLANNING,
    OPEN_PLAN_STATUSES,
    plan_template_id,
    reference_id,
)
from wardcare.fhir.dates import date_range, from_micros
from wardcare.services import authorisation
from wardcare.services.care_plan_proposals import open_plans
from wardcare.services.care_plan_work import GoalWork, InterventionWork, PlanWork
from wardcare.services.context import AppContext
from wardcare.services.due_list import patient_due_in


def times(moment: datetime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    return {
        "utc": moment.astimezone(UTC).isoformat(),
        "local": moment.astimezone(LONDON).isoformat(),
    }


def intervention_entry(plan: PlanWork, work: InterventionWork) -> dict[str, Any]:
    first = work.next_due
    overdue = [o for o in work.occurrences if o.state == DueState.OVERDUE]
    return {
        "kind": "intervention",
        "intervention": f"Task/{work.task['id']}",
        "carePlan": f"CarePlan/{plan.plan['id']}",
        "plan": plan.template_id,
        "title": work.title,
        "timing": work.timing.describe() if work.timing else "timing not readable: check the plan",
        "state": first.state.value if first else DueState.UNSCHEDULED.value,
        "dueAt": times(first.due_at) if first else None,
        "overdueMinutes": int(first.overdue_by.total_seconds() // 60)
        if first and first.overdue_by
        else None,
        "overdueCount": len(overdue),
        "last": {"at": times(work.last.at), "outcome": work.last.outcome.value}
        if work.last
        else None,
    }


def review_entry(plan: PlanWork) -> dict[str, Any]:
    return {
        "kind": "care-plan-review",
        "carePlan": f"CarePlan/{plan.plan['id']}",
        "plan": plan.template_id,
        "title": f"Review: {plan.plan.get('title', plan.template_id)}",
        "state": plan.review_state.value,
        "reviewDate": plan.next_review.isoformat() if plan.next_review else None,
    }


def care_summary(ctx: AppContext, *, actor: Actor, patient_id: str) -> dict[str, Any]:
    authorisation.authorise_patient(
        actor, patient_id, authorisation.CHART_READS + authorisation.CARE_PLAN_READS
    )
    now = ctx.clock.now()
    with ctx.uow.read() as tx:
        due = patient_due_in(tx, ctx, patient_id=patient_id, now=now)
        evaluations = {
            v.id: orjson.loads(v.content)
            for v in tx.resources.current_many(
                ("Observation", ref)
                for plan in due.care_plans
                for goal in plan.goals
                for ref in [_last_evaluation_id(goal)]
                if ref
            )
            if v.content
        }
        proposals = [
            p
            for _v, p in open_plans(tx, ctx, due.patient)
            if p.get("intent") == "proposal" and p.get("status") in OPEN_PLAN_STATUSES
        ]
    return {
        "patient": due.patient,
        "generatedAt": times(now),
        "problems": [_problem(ctx, plan) for plan in due.care_plans],
        "carePlans": [_plan(plan, evaluations) for plan in due.care_plans],
        "proposals": [
            {
                "reference": f"CarePlan/{p['id']}",
                "template": plan_template_id(p),
                "title": p.get("title"),
                "reason": " ".join(n.get("text", "") for n in p.get("note", ())),
                "created": p.get("created"),
            }
            for p in proposals
        ],
        "assessments": [
            {
                "assessment": item.template.template.id,
                "title": item.template.template.title,
                "at": times(item.last_at),
                "total": item.last_total,
                "band": item.last_band,
                "state": item.due.state.value,
                "dueAt": times(item.due.due_at),
            }
            for item in due.items
        ],
    }


def _problem(ctx: AppContext, plan: PlanWork) -> dict[str, Any]:
    loaded = ctx.catalog.care_plans.get(plan.template_id)
    condition = next(
        (i for i in (reference_id(r, "Condition") for r in plan.plan.get("addresses", ())) if i),
        None,
    )
    return {
        "carePlan": f"CarePlan/{plan.plan['id']}",
        "condition": f"Condition/{condition}" if condition else None,
        "text": loaded.template.problem.text if loaded else plan.plan.get("description"),
        "code": loaded.template.problem.code.model_dump(exclude_none=True) if loaded else None,
    }


def _plan(plan: PlanWork, evaluations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "reference": f"CarePlan/{plan.plan['id']}",
        "version": plan.version,
        "template": plan.template_id,
        "title": plan.plan.get("title"),
        "review": {
            "date": plan.next_review.isoformat() if plan.next_review else None,
            "state": plan.review_state.value,
        },
        "goals": [_goal(goal, evaluations) for goal in plan.goals],
        "interventions": [intervention_entry(plan, work) for work in plan.interventions],
    }


def _last_evaluation_id(goal: GoalWork) -> str | None:
    references = goal.goal.get("outcomeReference") or []
    return reference_id(references[-1], "Observation") if references else None


def _goal(goal: GoalWork, evaluations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    resource = goal.goal
    achievement = next(
        (c.get("code") for c in (resource.get("achievementStatus") or {}).get("coding", ())),
        None,
    )
    last_id = _last_evaluation_id(goal)
    evaluation = evaluations.get(last_id or "")
    return {
        "reference": f"Goal/{resource['id']}",
        "description": (resource.get("description") or {}).get("text"),
        "lifecycleStatus": resource.get("lifecycleStatus"),
        "target": _target_text(resource),
        "achievement": achievement,
        "review": {"date": goal.next_review.isoformat(), "state": goal.review_state.value}
        if goal.next_review and goal.review_state
        else None,
        "lastEvaluation": _evaluation(last_id, evaluation) if evaluation and last_id else None,
    }


def _target_text(goal: dict[str, Any]) -> str | None:
    for target in goal.get("target", ()):
        if "detailString" in target:
            return str(target["detailString"])
        quantity = target.get("detailQuantity")
        if quantity:
            value = quantity.get("value")
            shown = int(value) if isinstance(value, float) and value.is_integer() else value
            return f"{quantity.get('comparator', '=')} {shown} {quantity.get('unit', '')}".strip()
    return None


def _evaluation(observation_id: str, evaluation: dict[str, Any]) -> dict[str, Any]:
    result = next(
        (
            c.get("code")
            for c in (evaluation.get("valueCodeableConcept") or {}).get("coding", ())
            if c.get("system") == CARE_PLANNING
        ),
        None,
    )
    effective = evaluation.get("effectiveDateTime")
    return {
        "reference": f"Observation/{observation_id}",
        "result": result,
        "note": " ".join(n.get("text", "") for n in evaluation.get("note", ())) or None,
        "at": times(from_micros(date_range(effective)[0])) if isinstance(effective, str) else None,
        "by": next((p.get("display") for p in evaluation.get("performer", ())), None),
    }
