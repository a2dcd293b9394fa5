"""The FHIR REST API at /fhir (FHIR R4 RESTful API, JSON only).

Each handler parses the request, calls one service in a worker thread (services are synchronous
and hold a database transaction), and maps the result to HTTP. No queries live here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response

from wardcare import errors
from wardcare.api.dependencies import ActorDep, BaseUrlDep, ContextDep
from wardcare.api.fhir_formats import format_refusal
from wardcare.api.fhir_responses import (
    fhir_response,
    version_headers,
    written_response,
)
from wardcare.api.smart_routes import smart_endpoints
from wardcare.api.worker_threads import run_in_worker
from wardcare.fhir import bundles
from wardcare.fhir.capability import capability_statement
from wardcare.fhir.validation import parse_json
from wardcare.services import assessment_amendment as amendment
from wardcare.services import fhir_interactions as fhir
from wardcare.services import fhir_reads
from wardcare.services import record_assessment as assessments
from wardcare.services.bundle_processing import process_bundle

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])

_JSON_TYPES = ("application/fhir+json", "application/json", "application/json-patch+json")


async def _body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "application/fhir+json").split(";")[0]
    if content_type.strip().lower() not in _JSON_TYPES:
        raise errors.error(
            errors.Category.NOT_SUPPORTED,
            f"Content-Type {content_type!r} is not accepted: send application/fhir+json",
        )
    return parse_json(await request.body())


@router.get("/metadata", summary="CapabilityStatement")
async def metadata(request: Request, ctx: ContextDep, base_url: BaseUrlDep) -> Response:
    statement = capability_statement(
        base_url=base_url,
        search_parameters=ctx.search_parameters,
        profiles=ctx.profiles,
        published=ctx.clock.now().date().isoformat(),
        smart=smart_endpoints(request, ctx.settings),
    )
    return fhir_response(statement)


@router.post("", summary="Batch or transaction Bundle")
async def batch_or_transaction(
    request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    bundle = await _body(request)
    result = await run_in_worker(
        lambda: process_bundle(ctx, actor=actor, bundle=bundle, base_url=base_url)
    )
    return fhir_response(result)


@router.get("/_history", summary="System history")
async def system_history(
    request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    params = request.query_params.multi_items()
    result = await run_in_worker(lambda: fhir_reads.history(ctx, actor=actor, params=params))
    return fhir_response(
        bundles.history_bundle(
            base_url=base_url,
            path="_history",
            versions=result.versions,
            total=result.total,
            count=result.count,
            offset=result.offset,
            params=params,
        )
    )


@router.get("/{resource_type}", summary="Search")
async def search_get(
    resource_type: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    return await _search(resource_type, request.query_params.multi_items(), ctx, actor, base_url)


@router.post("/QuestionnaireResponse", summary="Record an assessment (scored and stored)")
async def record_assessment(
    request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    response = await _body(request)
    if_none_exist = request.headers.get("if-none-exist")
    recorded = await run_in_worker(
        lambda: assessments.record_assessment(
            ctx, actor=actor, response=response, if_none_exist=if_none_exist
        )
    )
    answer = written_response(
        request, recorded.response, 201 if recorded.created else 200, base_url
    )
    if recorded.score is not None:
        answer.headers["X-WardCare-Score"] = f"Observation/{recorded.score.id}"
    return answer


@router.post("/QuestionnaireResponse/$extract", summary="SDC extract: Observations, not stored")
async def extract_assessment(request: Request, ctx: ContextDep, actor: ActorDep) -> Response:
    body = await _body(request)
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        body = next(
            (
                p.get("resource")
                for p in body.get("parameter", [])
                if p.get("name") == "questionnaire-response"
            ),
            None,
        )
    bundle = await run_in_worker(lambda: assessments.extract(ctx, actor=actor, response=body))
    return fhir_response(bundle)


@router.post("/{resource_type}/_search", summary="Search by POST")
async def search_post(
    resource_type: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    content_type = request.headers.get("content-type", "")
    body = (await request.body()).decode("utf-8", errors="replace")
    if body and not content_type.startswith("application/x-www-form-urlencoded"):
        raise errors.invalid("POST _search takes application/x-www-form-urlencoded parameters")
    params = request.query_params.multi_items() + parse_qsl(body, keep_blank_values=True)
    refusal = format_refusal(params)
    if refusal is not None:
        return refusal
    return await _search(resource_type, params, ctx, actor, base_url)


async def _search(
    resource_type: str,
    params: list[tuple[str, str]],
    ctx: ContextDep,
    actor: ActorDep,
    base_url: str,
) -> Response:
    result = await run_in_worker(
        lambda: fhir_reads.search(ctx, actor=actor, resource_type=resource_type, params=params)
    )
    return fhir_response(
        bundles.searchset(
            base_url=base_url,
            resource_type=resource_type,
            params=params,
            matches=result.page.matches,
            included=result.page.included,
            total=result.page.total,
            count=result.query.count,
            offset=result.query.offset,
            elements=result.query.elements,
        )
    )


@router.post("/{resource_type}", summary="Create")
async def create(
    resource_type: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    fhir.check_type(resource_type)
    resource = await _body(request)
    if_none_exist = request.headers.get("if-none-exist")
    result = await run_in_worker(
        lambda: fhir.create(
            ctx,
            actor=actor,
            resource=resource,
            resource_type=resource_type,
            if_none_exist=if_none_exist,
        )
    )
    return written_response(request, result.stored, 201 if result.created else 200, base_url)


@router.get("/{resource_type}/_history", summary="Type history")
async def type_history(
    resource_type: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    params = request.query_params.multi_items()
    result = await run_in_worker(
        lambda: fhir_reads.history(ctx, actor=actor, resource_type=resource_type, params=params)
    )
    return fhir_response(
        bundles.history_bundle(
            base_url=base_url,
            path=f"{resource_type}/_history",
            versions=result.versions,
            total=result.total,
            count=result.count,
            offset=result.offset,
            params=params,
        )
    )


@router.get("/{resource_type}/{resource_id}", summary="Read")
async def read(resource_type: str, resource_id: str, ctx: ContextDep, actor: ActorDep) -> Response:
    stored = await run_in_worker(
        lambda: fhir_reads.read(
            ctx, actor=actor, resource_type=resource_type, resource_id=resource_id
        )
    )
    assert stored.content is not None
    return fhir_response(stored.content, headers=version_headers(stored))


@router.put("/{resource_type}/{resource_id}", summary="Update (or create with a chosen id)")
async def update(
    resource_type: str,
    resource_id: str,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
) -> Response:
    resource = await _body(request)
    if_match = request.headers.get("if-match")
    # A form's readings and score follow its answers: assessments are amended by their service.
    update = amendment.update if resource_type == "QuestionnaireResponse" else fhir.update
    result = await run_in_worker(
        lambda: update(
            ctx,
            actor=actor,
            resource_type=resource_type,
            resource_id=resource_id,
            resource=resource,
            if_match=if_match,
        )
    )
    return written_response(request, result.stored, 201 if result.created else 200, base_url)


@router.delete("/{resource_type}/{resource_id}", summary="Delete (logical; history is kept)")
async def delete(
    resource_type: str, resource_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    if_match = request.headers.get("if-match")
    stored = await run_in_worker(
        lambda: fhir.delete(
            ctx,
            actor=actor,
            resource_type=resource_type,
            resource_id=resource_id,
            if_match=if_match,
        )
    )
    return Response(status_code=204, headers={"ETag": stored.etag})


@router.get("/{resource_type}/{resource_id}/_history", summary="Instance history")
async def instance_history(
    resource_type: str,
    resource_id: str,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
) -> Response:
    params = request.query_params.multi_items()
    result = await run_in_worker(
        lambda: fhir_reads.history(
            ctx, actor=actor, resource_type=resource_type, resource_id=resource_id, params=params
        )
    )
    return fhir_response(
        bundles.history_bundle(
            base_url=base_url,
            path=f"{resource_type}/{resource_id}/_history",
            versions=result.versions,
            total=result.total,
            count=result.count,
            offset=result.offset,
            params=params,
        )
    )


@router.get("/{resource_type}/{resource_id}/_history/{version_id}", summary="Version read")
async def vread(
    resource_type: str, resource_id: str, version_id: str, ctx: ContextDep, actor: ActorDep
) -> Response:
    stored = await run_in_worker(
        lambda: fhir_reads.vread(
            ctx,
            actor=actor,
            resource_type=resource_type,
            resource_id=resource_id,
            version_id=version_id,
        )
    )
    assert stored.content is not None
    return fhir_response(stored.content, headers=version_headers(stored))
