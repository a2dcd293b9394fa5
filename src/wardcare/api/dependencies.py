"""What every route needs from the request: the application context, the actor and the base URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER, Actor
from wardcare.services.context import AppContext


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, and three thread hops per request cost more than the work they do.
async def app_context(request: Request) -> AppContext:
    return _context(request)


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def current_actor(request: Request) -> Actor:
    # SMART on FHIR bearer tokens replace this when the EHR-plugin work lands; until then every
    # caller acts as the clearly labelled unauthenticated developer, recorded as such.
    actor: Actor = getattr(request.state, "actor", UNAUTHENTICATED_DEVELOPER)
    return actor


async def fhir_base_url(request: Request) -> str:
    context = _context(request)
    if context.settings.base_url:
        return context.settings.base_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/fhir"


ContextDep = Annotated[AppContext, Depends(app_context)]
ActorDep = Annotated[Actor, Depends(current_actor)]
BaseUrlDep = Annotated[str, Depends(fhir_base_url)]
