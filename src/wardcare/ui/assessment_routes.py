"""Assessment forms: /ui/patients/{id}/assessments/{template}.

GET shows the form built from the published Questionnaire; POST .../preview answers the running
score as the nurse types (JSON, nothing stored); POST records the assessment through the same
service as `POST /fhir/QuestionnaireResponse` and redirects (303) to what was stored, so a
reload never records it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.api.worker_threads import run_in_worker
from wardcare.domain.actor import Actor
from wardcare.errors import WardCareError
from wardcare.services import fhir_reads
from wardcare.services.assessment_preview import preview, template_or_404
from wardcare.services.context import AppContext
from wardcare.services.patient_chart import current_encounter
from wardcare.services.record_assessment import record_assessment
from wardcare.ui.pages import BAND_LEVEL, call, error_page, page, patient_name
from wardcare.ui.questionnaire_form import (
    Field,
    answers_from_form,
    fields,
    questionnaire_response,
)

router = APIRouter()
_ITEM_INDEX = re.compile(r"^QuestionnaireResponse\.item\[(\d+)\]")
_LINK_ID = re.compile(r"linkId='([a-z0-9-]+)'")


@dataclass(frozen=True)
class _Form:
    patient: dict[str, Any]
    questionnaire: dict[str, Any]
    fields: list[Field]


def _load(ctx: AppContext, actor: Actor, patient_id: str, template_id: str) -> _Form:
    loaded = template_or_404(ctx, template_id)
    patient = fhir_reads.read(ctx, actor=actor, resource_type="Patient", resource_id=patient_id)
    # The form is built from the Questionnaire as published in the record, not from the file.
    published = fhir_reads.read(
        ctx, actor=actor, resource_type="Questionnaire", resource_id=loaded.template.id
    )
    questionnaire = orjson.loads(published.content or b"{}")
    return _Form(orjson.loads(patient.content or b"{}"), questionnaire, fields(questionnaire))


async def _form_values(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _render(
    request: Request,
    form: _Form,
    patient_id: str,
    values: dict[str, str],
    problems: dict[str, str],
    general: list[str],
    status: int = 200,
) -> Response:
    return page(
        request,
        "assessment.html",
        {
            "title": f"{form.questionnaire.get('title')}: {patient_name(form.patient)}",
            "patient": form.patient,
            "patient_id": patient_id,
            "questionnaire": form.questionnaire,
            "fields": form.fields,
            "values": values,
            "problems": problems,
            "general": general,
        },
        status,
    )


@router.get("/patients/{patient_id}/assessments/{template_id}", summary="Assessment form")
async def assessment_form(
    patient_id: str, template_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    form = await call(request, lambda: _load(ctx, actor, patient_id, template_id))
    if isinstance(form, Response):
        return form
    return _render(request, form, patient_id, {}, {}, [])


@router.post(
    "/patients/{patient_id}/assessments/{template_id}/preview",
    summary="Running score of a form being filled in (nothing stored)",
)
async def assessment_preview(
    patient_id: str, template_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    values = await _form_values(request)

    def work() -> dict[str, Any]:
        form = _load(ctx, actor, patient_id, template_id)
        answers, problems = answers_from_form(form.fields, values)
        result = preview(
            ctx, actor=actor, patient_id=patient_id, template_id=template_id, answers=answers
        )
        return {
            "total": result.total,
            "partialTotal": result.partial_total,
            "band": result.band_code,
            "bandWords": (result.band_code or "").upper()
            if result.template.template.engine == "news2"
            else result.band_display,
            "level": BAND_LEVEL.get(result.band_code or ""),
            "response": result.response,
            "points": result.points,
            "missing": [f.text for f in form.fields if f.link_id in result.missing],
            "answered": len(answers),
            "problems": {**result.problems, **problems},
            "scored": result.template.template.engine != "none",
            # RCP colours belong to NEWS2 sub-scores (0-3) only, not to other tools' points.
            "news2": result.template.template.engine == "news2",
        }

    try:
        return JSONResponse(await run_in_worker(work))
    except WardCareError as exc:
        return JSONResponse({"error": [i.message for i in exc.issues]}, status_code=404)


@router.post("/patients/{patient_id}/assessments/{template_id}", summary="Record an assessment")
async def assessment_submit(
    patient_id: str, template_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    values = await _form_values(request)
    form = await call(request, lambda: _load(ctx, actor, patient_id, template_id))
    if isinstance(form, Response):
        return form
    answers, problems = answers_from_form(form.fields, values)
    if problems:
        return _render(request, form, patient_id, values, problems, [], 422)
    encounter = await call(
        request, lambda: current_encounter(ctx, actor=actor, patient_id=patient_id)
    )
    if isinstance(encounter, Response):
        return encounter
    response = questionnaire_response(
        form.questionnaire,
        form.fields,
        answers,
        patient_id=patient_id,
        encounter=encounter,
        actor=actor,
        authored=ctx.clock.now(),
    )
    try:
        recorded = await run_in_worker(
            lambda: record_assessment(ctx, actor=actor, response=response)
        )
    except WardCareError as exc:
        if exc.category.value not in ("unprocessable", "invalid"):
            return error_page(request, exc)
        answered = [f for f in form.fields if f.link_id in answers]
        by_field, general = _problems_by_field(exc, answered)
        return _render(request, form, patient_id, values, by_field, general, 422)
    query = {"response": recorded.response.id}
    if recorded.score is not None:
        query["score"] = recorded.score.id
    if recorded.escalation is not None:
        query["escalation"] = recorded.escalation.id
    return RedirectResponse(
        f"/ui/patients/{patient_id}/assessments/{template_id}/recorded?{urlencode(query)}",
        status_code=303,
    )


def _problems_by_field(
    error: WardCareError, answered: list[Field]
) -> tuple[dict[str, str], list[str]]:
    """The server's issues placed beside the field they name (by item index or linkId)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for issue in error.issues:
        link_id = None
        for expression in issue.expression:
            index = _ITEM_INDEX.match(expression)
            named = _LINK_ID.search(expression)
            if index and int(index.group(1)) < len(answered):
                link_id = answered[int(index.group(1))].link_id
            elif named:
                link_id = named.group(1)
        if link_id:
            by_field[link_id] = issue.message
        else:
            general.append(issue.message)
    return by_field, general


@router.get(
    "/patients/{patient_id}/assessments/{template_id}/recorded",
    summary="What an assessment stored: score, band, escalation",
)
async def assessment_recorded(
    patient_id: str,
    template_id: str,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    response: str,
    score: str | None = None,
    escalation: str | None = None,
) -> Response:
    def work() -> dict[str, Any]:
        def read(kind: str, rid: str | None) -> dict[str, Any] | None:
            if rid is None:
                return None
            stored = fhir_reads.read(ctx, actor=actor, resource_type=kind, resource_id=rid)
            return dict(orjson.loads(stored.content or b"{}"))

        found: dict[str, Any] = {
            "patient": read("Patient", patient_id),
            "response": read("QuestionnaireResponse", response),
            "score": read("Observation", score),
            "escalation": read("Task", escalation),
        }
        loaded = template_or_404(ctx, template_id)
        found["template"] = loaded.template
        return found

    found = await call(request, work)
    if isinstance(found, Response):
        return found
    score_resource = found["score"] or {}
    band: dict[str, Any] = next(
        (c for i in score_resource.get("interpretation", ()) for c in i.get("coding", ())), {}
    )
    return page(
        request,
        "recorded.html",
        {
            **found,
            "title": f"Recorded: {found['template'].title}",
            "patient_id": patient_id,
            "total": score_resource.get("valueInteger"),
            "band": band,
            "band_response": next(
                (i.get("text") for i in score_resource.get("interpretation", ())), None
            ),
        },
    )
