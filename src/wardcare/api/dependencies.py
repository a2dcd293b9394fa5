"""What every route needs from the request: the application context, the actor and the base URL.

`current_actor` (`ActorDep`) is who is acting, for API routes and UI pages alike: the
`SecurityMiddleware` (`api/security_middleware.py`) has already verified either a bearer access
token (`Authorization: Bearer ...`) or the SMART app's session cookie (`wardcare_session`, set
by `/launch/callback`), and put the resulting `Actor` on the request. A UI page takes
`actor: ActorDep` and passes it to the services, which enforce scopes and the patient
compartment. `current_session` (`SessionDep`) gives a UI page its session (e.g. the
`csrf_token` to send as `X-CSRF-Token` with state-changing requests); None for bearer callers.
A route never runs without an actor: the middleware answers 401 first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from wardcare import errors
from wardcare.api.sessions import SESSION_COOKIE, Session, SessionStore
from wardcare.domain.actor import Actor
from wardcare.services.context import AppContext


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, and three thread hops per request cost more than the work they do.
async def app_context(request: Request) -> AppContext:
    return _context(request)


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def current_actor(request: Request) -> Actor:
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:  # a public path's route asked for an actor: refuse, never guess
        raise errors.error(errors.Category.UNAUTHORIZED, "This needs an access token")
    return actor


async def current_session(request: Request) -> Session | None:
    store: SessionStore = request.app.state.sessions
    session_id = request.cookies.get(SESSION_COOKIE)
    return store.get(session_id) if session_id else None


async def fhir_base_url(request: Request) -> str:
    context = _context(request)
    if context.settings.base_url:
        return context.settings.base_url.rstrip("/")
    # What Starlette's `request.base_url` is made of; building that URL object took a few
    # per cent of a create's CPU, and clients send the same few values on every request.
    scope = request.scope
    server = scope.get("server")
    key = (
        scope.get("scheme"),
        request.headers.get("host"),
        tuple(server) if server else None,  # a list from some servers (and the test client)
        scope.get("app_root_path", scope.get("root_path", "")),
    )
    found = _BASE_URLS.get(key)
    if found is None:
        found = str(request.base_url).rstrip("/") + "/fhir"
        if len(_BASE_URLS) < _BASE_URLS_KEPT:  # the Host header is the client's to choose
            _BASE_URLS[key] = found
    return found


_BASE_URLS: dict[tuple[object, ...], str] = {}
_BASE_URLS_KEPT = 1000


ContextDep = Annotated[AppContext, Depends(app_context)]
ActorDep = Annotated[Actor, Depends(current_actor)]
BaseUrlDep = Annotated[str, Depends(fhir_base_url)]
SessionDep = Annotated[Session | None, Depends(current_session)]
