"""The ward UI: server-rendered pages under /ui (ward board, patient page, assessment forms).

Pages call the same services as the FHIR API, with the actor `api.dependencies.current_actor`
finds; their templates, CSS and JavaScript ship in this package and are served by WardCare
itself (no build step, no network).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from wardcare.ui import assessment_routes, board_routes, care_plan_routes, patient_routes
from wardcare.ui.pages import STATIC


def install(app: FastAPI) -> None:
    router = APIRouter(prefix="/ui", tags=["Ward UI"])
    router.include_router(board_routes.router)
    router.include_router(patient_routes.router)
    router.include_router(assessment_routes.router)
    router.include_router(care_plan_routes.router)
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
