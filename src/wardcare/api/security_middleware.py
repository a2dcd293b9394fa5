"""Secure by default: every HTTP request needs a verified access token (or a UI session made from
one), except an explicit allow-list of public paths; every protected request is audited.

A pure ASGI middleware (no per-request task or body buffering): it authenticates, puts the
`Actor` on `request.state.actor` for `api/dependencies.current_actor`, opens the request's
`AccessNote` (services note the patients touched and denials on it), and after the response
queues one AuditEvent with the outcome. A new route is protected without anyone remembering to.
401 and 403 answers carry `WWW-Authenticate` (RFC 6750 section 3).
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wardcare import errors
from wardcare.api.fhir_responses import error_response
from wardcare.api.security_tokens import InvalidToken, TokenVerifier, actor_from_claims
from wardcare.api.sessions import SESSION_COOKIE, SessionStore
from wardcare.domain.actor import Actor
from wardcare.errors import Category
from wardcare.services import audit

# Exact public paths, and public prefixes (each ends with "/").
PUBLIC_PATHS = frozenset(
    {
        "/fhir/metadata",
        "/launch",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/favicon.ico",
        "/docs/oauth2-redirect",
    }
)
PUBLIC_PREFIXES = (
    "/fhir/.well-known/",
    "/.well-known/",
    "/launch/",
    "/static/",
    "/ui/static/",
)
# DEV ONLY: the demo authorisation server and test EHR, public only where they are mounted.
DEV_PREFIXES = ("/dev-auth/", "/dev-ehr/")
_UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
REALM = 'Bearer realm="WardCare"'
ACTOR_CACHE = 10_000  # distinct tokens remembered; past it the cache starts again


def is_public(path: str, *, dev_mode: bool = False) -> bool:
    return (
        path in PUBLIC_PATHS
        or path.startswith(PUBLIC_PREFIXES)
        or (dev_mode and path.startswith(DEV_PREFIXES))
    )


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        sessions: SessionStore,
        trail: audit.AuditTrail,
        dev_mode: bool,
    ) -> None:
        self.app = app
        self.dev_mode = dev_mode
        self.verifier = verifier
        self.sessions = sessions
        self.trail = trail
        # The actor a verified token makes, so a client's every request does not build it
        # again from the claims: the verifier still checks the token (expiry included) first.
        self._actors: dict[str, Actor] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"], dev_mode=self.dev_mode):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        address = scope["client"][0] if scope.get("client") else None
        actor, problem = await self._authenticate(scope, headers)
        note, token = audit.begin_note()
        status = 500
        created: str | None = None
        try:
            if actor is None:
                status = 401
                await self._refuse(scope, send, problem or "no access token")
                return
            scope.setdefault("state", {})["actor"] = actor

            async def send_and_watch(message: Message) -> None:
                nonlocal status, created
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if status == 403:
                        message["headers"] = [
                            *message.get("headers", []),
                            (b"www-authenticate", f'{REALM}, error="insufficient_scope"'.encode()),
                        ]
                    for name, value in message.get("headers", []):
                        if name == b"location" and status == 201:
                            created = value.decode("latin-1")
                await send(message)

            await self.app(scope, receive, send_and_watch)
        finally:
            audit.end_note(token)
            self.trail.record(_access(scope, status, actor, address, problem, created), note)

    async def _authenticate(
        self, scope: Scope, headers: Headers
    ) -> tuple[Actor | None, str | None]:
        authorization = headers.get("authorization")
        if authorization:
            kind, _, token = authorization.partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                return None, "the Authorization header must be 'Bearer <token>'"
            token = token.strip()
            try:
                claims = await self.verifier.verify(token)
            except InvalidToken as exc:
                return None, f"invalid token: {exc}"
            actor = self._actors.get(token)
            if actor is None:
                actor = actor_from_claims(claims)
                if len(self._actors) >= ACTOR_CACHE:
                    self._actors.clear()
                self._actors[token] = actor
            return actor, None
        session_id = _cookie(headers, SESSION_COOKIE)
        if session_id:
            session = self.sessions.get(session_id)
            if session is None:
                return None, "the session has ended; launch WardCare again"
            if scope["method"] in _UNSAFE and not _same_origin_or_csrf(
                scope, headers, session.csrf_token
            ):
                return None, "a state-changing request from the UI needs X-CSRF-Token"
            return session.actor, None
        return None, None

    async def _refuse(self, scope: Scope, send: Send, problem: str) -> None:
        if scope["method"] == "GET" and scope["path"].startswith("/ui/"):
            # A person opening the UI without a session is sent to log in, not shown JSON.
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", b"/launch/standalone")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        response = error_response(errors.error(Category.UNAUTHORIZED, problem, code="login"))
        challenge = REALM
        if "invalid token" in problem or "session" in problem:
            description = problem.replace('"', "'")[:200]
            challenge += f', error="invalid_token", error_description="{description}"'
        response.headers["WWW-Authenticate"] = challenge
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def _same_origin_or_csrf(scope: Scope, headers: Headers, csrf: str) -> bool:
    if headers.get("x-csrf-token") == csrf:
        return True
    origin = headers.get("origin")
    host = headers.get("host")
    return bool(origin and host and origin.split("://", 1)[-1] == host)


def _access(
    scope: Scope,
    status: int,
    actor: Actor | None,
    address: str | None,
    problem: str | None,
    created: str | None,
) -> audit.Access:
    subtype, what = classify(scope["method"], scope["path"])
    if created and "/fhir/" in created:
        what = created.split("/fhir/", 1)[1].split("/_history")[0]
    query_string = scope.get("query_string", b"").decode("latin-1")
    query = scope["path"] + (f"?{unquote(query_string)}" if query_string else "")
    return audit.Access(
        subtype=subtype,
        status=status,
        actor=actor,
        what=what,
        # A view of one patient (/patients/X/due, /ui/patients/X/...) also says which view.
        query=query if what is None or query_string or subtype == "operation" else None,
        address=address,
        description=problem if status == 401 else None,
    )


def classify(method: str, path: str) -> tuple[str, str | None]:
    """The FHIR restful-interaction code of a request, and the resource it names, if one."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] != "fhir":
        return "operation", _patient_of_view(parts)
    rest = parts[1:]
    if any(p.startswith("$") for p in rest):
        return "operation", None
    if not rest:
        return ("batch" if method == "POST" else "history-system"), None
    if rest == ["_history"]:
        return "history-system", None
    resource_type = rest[0]
    if len(rest) == 1:
        return ("create" if method == "POST" else "search-type"), None
    if rest[1] in ("_history", "_search"):
        return ("search-type" if rest[1] == "_search" else "history-type"), None
    what = f"{resource_type}/{rest[1]}"
    if len(rest) == 2:
        return {"PUT": "update", "DELETE": "delete"}.get(method, "read"), what
    if len(rest) == 3:
        return "history-instance", what
    return "vread", f"{what}/_history/{rest[3]}"


def _patient_of_view(parts: list[str]) -> str | None:
    if len(parts) >= 2 and parts[0] == "patients":
        return f"Patient/{parts[1]}"
    if len(parts) >= 3 and parts[:2] == ["ui", "patients"]:
        return f"Patient/{parts[2]}"
    return None
