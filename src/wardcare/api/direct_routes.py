"""The FHIR interactions most requests make, dispatched without FastAPI's router.

Why: for a vital-sign create, FastAPI's route matching (every included router is tried in turn)
and dependency solving took about a third of the server's CPU (py-spy with `--gil`, 8 clients,
SQLite: 31 % of samples between `ExceptionMiddleware` and the endpoint), more than validating the
resource. This middleware sits inside `SecurityMiddleware` (the actor is on the request and the
access is audited as for any route) and calls the very route functions of `fhir_routes`, with the
arguments their dependencies would give. So the behaviour, the errors and the OpenAPI
description stay one thing; only the dispatch is shorter. Anything it does not recognise exactly
(other methods, operations, `_history`, `_search`, discovery under `/fhir/.well-known/`, a
trailing slash) goes on to FastAPI as before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from wardcare.api import fhir_routes
from wardcare.api.dependencies import app_context, current_actor, fhir_base_url
from wardcare.api.fhir_formats import not_acceptable
from wardcare.api.fhir_responses import error_response
from wardcare.errors import WardCareError

# A resource type as the FHIR routes take it (capitalised: never `metadata`, `_history`,
# `.well-known`), and a FHIR id that is not a keyword (`_history`, `_search`, `$operation`).
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")

Handler = Callable[[Request, list[str]], Awaitable[Response]]


async def _create(request: Request, parts: list[str]) -> Response:
    ctx = await app_context(request)
    actor = await current_actor(request)
    base_url = await fhir_base_url(request)
    if parts[0] == "QuestionnaireResponse":
        return await fhir_routes.record_assessment(request, ctx, actor, base_url)
    return await fhir_routes.create(parts[0], request, ctx, actor, base_url)


async def _search(request: Request, parts: list[str]) -> Response:
    ctx = await app_context(request)
    actor = await current_actor(request)
    base_url = await fhir_base_url(request)
    return await fhir_routes.search_get(parts[0], request, ctx, actor, base_url)


async def _read(request: Request, parts: list[str]) -> Response:
    ctx = await app_context(request)
    actor = await current_actor(request)
    return await fhir_routes.read(parts[0], parts[1], ctx, actor)


async def _update(request: Request, parts: list[str]) -> Response:
    ctx = await app_context(request)
    actor = await current_actor(request)
    base_url = await fhir_base_url(request)
    return await fhir_routes.update(parts[0], parts[1], request, ctx, actor, base_url)


# (method, path segments after /fhir/) -> handler. The same routes are declared in
# `fhir_routes` for FastAPI (and the OpenAPI description); these are only the hot ones.
_ROUTES: dict[tuple[str, int], Handler] = {
    ("POST", 1): _create,
    ("GET", 1): _search,
    ("GET", 2): _read,
    ("PUT", 2): _update,
}


def direct_handler(method: str, path: str) -> tuple[Handler, list[str]] | None:
    """The handler for a request, or None to let FastAPI route it."""
    if not path.startswith("/fhir/"):
        return None
    parts = path[6:].split("/")
    handler = _ROUTES.get((method, len(parts)))
    if handler is None or not _RESOURCE_TYPE.fullmatch(parts[0]):
        return None
    if len(parts) == 2 and not _RESOURCE_ID.fullmatch(parts[1]):
        return None
    return handler, parts


class DirectFhirRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/fhir"):
            # Every FHIR request, direct or routed by FastAPI, is JSON or a 406: checked here,
            # where all of them pass, rather than in another middleware layer.
            refusal = not_acceptable(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        found = direct_handler(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        handler, parts = found
        request = Request(scope, receive, send)
        try:
            response = await handler(request, parts)
        except WardCareError as exc:  # as the app's exception handler answers it
            response = error_response(exc)
        await response(scope, receive, send)
