"""The FastAPI application: routes, and one place where errors become OperationOutcomes."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from wardcare import __version__, errors
from wardcare.api import (
    care_plan_routes,
    fhir_routes,
    handover_routes,
    hl7_outbox_routes,
    hl7_routes,
    patient_routes,
    ward_routes,
)
from wardcare.api.direct_routes import DirectFhirRoutes
from wardcare.api.fhir_responses import error_response
from wardcare.api.security import install_security
from wardcare.errors import Category, WardCareError
from wardcare.services.context import AppContext
from wardcare.services.template_publishing import publish_care_plans, publish_questionnaires
from wardcare.ui import install as install_ui

log = logging.getLogger("wardcare.api")
GC_THRESHOLDS = (50_000, 50, 50)


def create_app(context: AppContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Every assessment template is published as a Questionnaire before the first request.
        publish_questionnaires(context)
        publish_care_plans(context)
        # What start-up built (templates, validators, the FHIR models, search registries) lives
        # as long as the process: freezing it keeps every full garbage collection from walking
        # it again, which was the tail of the ward due list (p95 81 -> 67 ms in-process).
        gc.collect()
        gc.freeze()
        # A request allocates thousands of short-lived objects (JSON, models, index rows), so
        # CPython's default first-generation threshold (700) ran a collection several times
        # per request: at 50,000 the server spent 1.95 -> 1.80 ms of CPU per create (A/B, 8
        # clients, SQLite; docs/benchmarks.md).
        gc.set_threshold(*GC_THRESHOLDS)
        yield
        audit_trail.close()  # everything audited so far is stored before the process ends

    app = FastAPI(
        lifespan=lifespan,
        title="WardCare",
        version=__version__,
        description="Nursing documentation and care planning: FHIR R4 API",
    )
    app.state.context = context
    # Added first, so it sits inside the security middleware: hot FHIR interactions skip
    # FastAPI's router, never the authentication or the audit.
    app.add_middleware(DirectFhirRoutes)
    audit_trail = install_security(app, context)
    app.include_router(care_plan_routes.router)
    app.include_router(fhir_routes.router)
    app.include_router(ward_routes.router)
    app.include_router(patient_routes.router)
    app.include_router(hl7_routes.router)
    app.include_router(hl7_outbox_routes.router)
    app.include_router(handover_routes.router)
    install_ui(app)  # the ward UI at /ui

    @app.exception_handler(WardCareError)
    async def _wardcare_error(_request: Request, exc: WardCareError) -> Response:
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        category = {404: Category.NOT_FOUND, 405: Category.NOT_ALLOWED}.get(
            exc.status_code, Category.INVALID
        )
        response = error_response(errors.error(category, str(exc.detail)))
        response.status_code = exc.status_code
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(errors.invalid(str(exc.errors())))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        response = error_response(
            errors.error(Category.STORAGE, "Internal error; nothing was changed")
        )
        response.status_code = 500
        return response

    return app
