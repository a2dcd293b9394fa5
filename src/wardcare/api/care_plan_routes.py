"""Care planning over HTTP: FHIR operations on templates, interventions and goals, and the
patient views the UI and handover read.

- `POST /fhir/PlanDefinition/{id}/$apply` (FHIR R4 Clinical Reasoning): `subject`, `encounter`
  and (WardCare) `intervention` as a Parameters body or query parameters; stores the draft plan.
- `POST /fhir/Task/{id}/$record-occurrence`: `outcome` (done, not-done, declined), `reason`,
  `performed`, `occurrence` (the due time answered), `note`.
- `POST /fhir/Goal/{id}/$evaluate`: `result` (met, partly-met, not-met) and `note`.
- `GET /patients/{id}/care-summary` and `GET /patients/{id}/due`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from wardcare import errors
from wardcare.api.dependencies import ActorDep, BaseUrlDep, ContextDep
from wardcare.api.fhir_responses import fhir_response, written_response
from wardcare.api.worker_threads import run_in_worker
from wardcare.fhir.dates import InvalidDate, date_range, from_micros
from wardcare.fhir.validation import parse_json
from wardcare.services import due_list
from wardcare.services.care_plan_apply import apply_plan
from wardcare.services.care_summary import care_summary, intervention_entry, review_entry, times
from wardcare.services.goal_evaluation import evaluate_goal
from wardcare.services.intervention_documentation import record_occurrence

router = APIRouter(tags=["Care planning"])

_VALUE_KEYS = ("valueReference", "valueString", "valueCode", "valueDateTime", "valueUri")


async def _parameters(request: Request) -> dict[str, list[Any]]:
    """Operation parameters from a FHIR Parameters body, then the query string."""
    found: dict[str, list[Any]] = {}
    raw = await request.body()
    if raw.strip():
        body = parse_json(raw)
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise errors.invalid(
                "The body of an operation is a Parameters resource", "resourceType"
            )
        for index, parameter in enumerate(body.get("parameter") or []):
            name = parameter.get("name") if isinstance(parameter, dict) else None
            key = next((k for k in _VALUE_KEYS if k in parameter), None) if name else None
            if not isinstance(name, str) or key is None:
                raise errors.invalid(
                    "Each parameter needs a name and a value (valueString, valueCode, "
                    "valueDateTime or valueReference)",
                    f"Parameters.parameter[{index}]",
                )
            value = parameter[key]
            found.setdefault(name, []).append(
                value.get("reference") if key == "valueReference" else value
            )
    for name, value in request.query_params.multi_items():
        found.setdefault(name, []).append(value)
    return found


def _one(parameters: dict[str, list[Any]], name: str, *, required: bool = False) -> str | None:
    values = parameters.get(name) or []
    if len(values) > 1:
        raise errors.invalid(f"{name} is given more than once", name)
    if not values:
        if required:
            raise errors.invalid(f"The parameter {name} is required", name)
        return None
    if not isinstance(values[0], str):
        raise errors.invalid(f"{name} must be text", name)
    return values[0]


def _moment(parameters: dict[str, list[Any]], name: str) -> datetime | None:
    text = _one(parameters, name)
    if text is None:
        return None
    if "T" not in text:
        raise errors.invalid(f"{name} must be a dateTime with a time and zone", name)
    try:
        return from_micros(date_range(text)[0])
    except InvalidDate as exc:
        raise errors.invalid(f"{name}: {exc}", name) from exc


@router.post("/fhir/PlanDefinition/{plan_id}/$apply", summary="A care-plan template applied")
async def apply(
    plan_id: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    parameters = await _parameters(request)
    subject = _one(parameters, "subject", required=True)
    assert subject is not None
    encounter = _one(parameters, "encounter")
    chosen = parameters.get("intervention")
    applied = await run_in_worker(
        lambda: apply_plan(
            ctx,
            actor=actor,
            plan_definition_id=plan_id,
            subject=subject,
            encounter=encounter,
            interventions=[str(c) for c in chosen] if chosen is not None else None,
        )
    )
    return written_response(request, applied.care_plan, 201, base_url)


@router.post("/fhir/Task/{task_id}/$record-occurrence", summary="Document an intervention")
async def record(
    task_id: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    parameters = await _parameters(request)
    outcome = _one(parameters, "outcome", required=True)
    assert outcome is not None
    reason, note = _one(parameters, "reason"), _one(parameters, "note")
    performed, occurrence = _moment(parameters, "performed"), _moment(parameters, "occurrence")
    stored = await run_in_worker(
        lambda: record_occurrence(
            ctx,
            actor=actor,
            task_id=task_id,
            outcome=outcome,
            reason=reason,
            performed=performed,
            occurrence=occurrence,
            note=note,
        )
    )
    return written_response(request, stored, 201, base_url)


@router.post("/fhir/Goal/{goal_id}/$evaluate", summary="Evaluate a goal")
async def evaluate(
    goal_id: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    parameters = await _parameters(request)
    result = _one(parameters, "result", required=True)
    note = _one(parameters, "note") or ""
    assert result is not None
    stored = await run_in_worker(
        lambda: evaluate_goal(ctx, actor=actor, goal_id=goal_id, result=result, note=note)
    )
    return written_response(request, stored, 201, base_url)


@router.get("/patients/{patient_id}/care-summary", summary="Problems, goals, interventions due")
async def summary(patient_id: str, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await run_in_worker(lambda: care_summary(ctx, actor=actor, patient_id=patient_id))
    return fhir_response(found)


@router.get("/patients/{patient_id}/due", summary="One patient's assessments and care due")
async def patient_due(patient_id: str, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await run_in_worker(
        lambda: due_list.patient_due(ctx, actor=actor, patient_id=patient_id)
    )
    return fhir_response(
        {
            "patient": found.patient,
            "encounter": f"Encounter/{found.encounter['id']}" if found.encounter else None,
            "generatedAt": times(found.generated_at),
            "due": [assessment_entry(item) for item in found.items]
            + care_plan_entries(found.care_plans),
        }
    )


def assessment_entry(item: due_list.DueItem) -> dict[str, Any]:
    template = item.template.template
    overdue = item.due.overdue_by
    return {
        "kind": "assessment",
        "assessment": template.id,
        "title": template.title,
        "state": item.due.state.value,
        "dueAt": times(item.due.due_at),
        "overdueMinutes": int(overdue.total_seconds() // 60) if overdue else None,
        "last": {"at": times(item.last_at), "total": item.last_total, "band": item.last_band}
        if item.last_at
        else None,
        "note": item.note,
    }


def care_plan_entries(plans: list[Any]) -> list[dict[str, Any]]:
    """Interventions with something outstanding, then plans due or overdue for review."""
    entries = [
        intervention_entry(plan, work)
        for plan in plans
        for work in plan.interventions
        if work.occurrences
    ]
    entries += [
        review_entry(plan) for plan in plans if plan.review_state.value in ("due", "overdue")
    ]
    return entries
