"""The care-plan page and handover note entry: /ui/patients/{id}/care-plans.

Thin over the care-planning and handover use cases: adopt a proposal (`apply_plan`), reword a
goal and activate a draft, document an intervention (`record_occurrence`), evaluate a goal
(`evaluate_goal`), discontinue with a reason, write an SBAR handover note (`record_note`).
Each action is a form POST answered with a redirect back to the page (a reload never repeats
it); a refused action shows the page again with the reason in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from wardcare import errors
from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.api.worker_threads import run_in_worker
from wardcare.domain.actor import Actor
from wardcare.errors import WardCareError
from wardcare.services import fhir_reads
from wardcare.services.care_plan_apply import apply_plan
from wardcare.services.care_plan_changes import (
    activate_plan,
    change_frequency,
    close_plan,
    draft_plans,
    reword_goal,
)
from wardcare.services.care_summary import care_summary
from wardcare.services.context import AppContext
from wardcare.services.goal_evaluation import evaluate_goal
from wardcare.services.handover_notes import SECTIONS, record_note
from wardcare.services.intervention_documentation import record_occurrence
from wardcare.services.patient_chart import current_encounter
from wardcare.ui.pages import call, error_page, page, patient_name

router = APIRouter()


def _view(ctx: AppContext, actor: Actor, patient_id: str) -> dict[str, Any]:
    patient = fhir_reads.read(ctx, actor=actor, resource_type="Patient", resource_id=patient_id)
    return {
        "patient": orjson.loads(patient.content or b"{}"),
        "summary": care_summary(ctx, actor=actor, patient_id=patient_id),
        "drafts": draft_plans(ctx, actor=actor, patient_id=patient_id),
    }


async def _render(
    request: Request,
    ctx: AppContext,
    actor: Actor,
    patient_id: str,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    found = await call(request, lambda: _view(ctx, actor, patient_id))
    if isinstance(found, Response):
        return found
    return page(
        request,
        "care_plans.html",
        {
            **found,
            "title": f"Care plans: {patient_name(found['patient'])}",
            "patient_id": patient_id,
            "problem": problem,
            "done": request.query_params.get("done"),
            "sections": SECTIONS,
        },
        status,
    )


@router.get("/patients/{patient_id}/care-plans", summary="Care plans: view and change")
async def care_plans(
    patient_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    return await _render(request, ctx, actor, patient_id)


async def _act(
    request: Request,
    ctx: AppContext,
    actor: Actor,
    patient_id: str,
    work: Callable[[dict[str, str]], object],
    done: str,
) -> Response:
    body = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    try:
        await run_in_worker(lambda: work(form))
    except WardCareError as exc:
        if exc.category.value == "not-found":
            return error_page(request, exc)
        message = "; ".join(i.message for i in exc.issues)
        return await _render(request, ctx, actor, patient_id, message, 422)
    return RedirectResponse(
        f"/ui/patients/{patient_id}/care-plans?done={quote(done)}", status_code=303
    )


def _version(form: dict[str, str]) -> int:
    return int(form.get("version", "0") or 0)


@router.post("/patients/{patient_id}/care-plans/adopt", summary="Adopt a proposed care plan")
async def adopt(patient_id: str, request: Request, ctx: ContextDep, actor: ActorDep) -> Response:
    def work(form: dict[str, str]) -> object:
        encounter = current_encounter(ctx, actor=actor, patient_id=patient_id)
        return apply_plan(
            ctx,
            actor=actor,
            plan_definition_id=form.get("template", ""),
            subject=f"Patient/{patient_id}",
            encounter=encounter,
        )

    return await _act(request, ctx, actor, patient_id, work, "Draft plan made: check and activate")


@router.post("/patients/{patient_id}/care-plans/{plan_id}/activate", summary="Activate a plan")
async def activate(
    patient_id: str, plan_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        return activate_plan(ctx, actor=actor, care_plan_id=plan_id, version=_version(form))

    return await _act(request, ctx, actor, patient_id, work, "Plan activated")


@router.post("/patients/{patient_id}/care-plans/{plan_id}/close", summary="Discontinue a plan")
async def close(
    patient_id: str, plan_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        return close_plan(
            ctx,
            actor=actor,
            care_plan_id=plan_id,
            version=_version(form),
            status=form.get("status", "revoked"),
            reason=form.get("reason", ""),
        )

    return await _act(request, ctx, actor, patient_id, work, "Plan closed")


@router.post("/patients/{patient_id}/goals/{goal_id}/reword", summary="Personalise a goal")
async def reword(
    patient_id: str, goal_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        return reword_goal(
            ctx,
            actor=actor,
            goal_id=goal_id,
            version=_version(form),
            description=form.get("description", ""),
        )

    return await _act(request, ctx, actor, patient_id, work, "Goal changed")


@router.post(
    "/patients/{patient_id}/interventions/{task_id}/frequency",
    summary="Personalise how often an intervention of a draft plan falls due",
)
async def frequency(
    patient_id: str, task_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        hours = form.get("every_hours", "").strip()
        if not hours.isdigit():
            raise errors.unprocessable(
                f"How often: {hours!r} is not a whole number of hours",
                "Task.extension.valueTiming.repeat.period",
            )
        return change_frequency(
            ctx, actor=actor, task_id=task_id, version=_version(form), every_hours=int(hours)
        )

    return await _act(request, ctx, actor, patient_id, work, "Frequency changed")


@router.post("/patients/{patient_id}/goals/{goal_id}/evaluate", summary="Evaluate a goal")
async def evaluate(
    patient_id: str, goal_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        return evaluate_goal(
            ctx,
            actor=actor,
            goal_id=goal_id,
            result=form.get("result", ""),
            note=form.get("note", ""),
        )

    return await _act(request, ctx, actor, patient_id, work, "Evaluation recorded")


@router.post(
    "/patients/{patient_id}/interventions/{task_id}/document", summary="Document an intervention"
)
async def document(
    patient_id: str, task_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        return record_occurrence(
            ctx,
            actor=actor,
            task_id=task_id,
            outcome=form.get("outcome", ""),
            reason=form.get("reason") or None,
            note=form.get("note") or None,
        )

    return await _act(request, ctx, actor, patient_id, work, "Intervention documented")


@router.post("/patients/{patient_id}/handover-note", summary="Write an SBAR handover note")
async def handover_note(
    patient_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    def work(form: dict[str, str]) -> object:
        body = {section: form.get(section, "") for section in SECTIONS}
        return record_note(ctx, actor=actor, patient_id=patient_id, body=body)

    return await _act(request, ctx, actor, patient_id, work, "Handover note saved")
