"""DEV ONLY: HTTP endpoints of the demo authorisation server and the test EHR.

Mounted only in dev mode (`WARDCARE_DEV_MODE=1`; `make demo` sets it): `/dev-auth/authorize` (a
tiny login and consent page), `/dev-auth/token` (authorization_code with PKCE S256),
`/dev-auth/jwks`, and `/dev-ehr/launch?patient=...` which plays the EHR: it creates a launch
context and opens the app at `/launch?iss=...&launch=...`.
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from wardcare.api.smart_routes import server_root
from wardcare.api.worker_threads import run_in_worker
from wardcare.devauth import users
from wardcare.devauth.authorization_server import (
    CODE_SECONDS,
    DevAuthorizationServer,
    Grant,
    OAuthError,
)
from wardcare.domain.actor import WARDCARE_SYSTEM
from wardcare.services import fhir_reads
from wardcare.services.context import AppContext

router = APIRouter(tags=["DEV ONLY: demo authorisation server"])

_REQUIRED = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge")


def _server(request: Request) -> DevAuthorizationServer:
    server: DevAuthorizationServer = request.app.state.dev_auth
    return server


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


@router.get("/dev-auth/jwks", summary="DEV ONLY: the demo server's public keys")
async def jwks(request: Request) -> Response:
    return JSONResponse(_server(request).key.jwks)


@router.get("/dev-ehr/launch", summary="DEV ONLY: the test EHR launches the app for a patient")
async def ehr_launch(
    request: Request,
    patient: str | None = None,
    encounter: str | None = None,
    user: str = "nurse",
    app: str | None = None,
) -> Response:
    if user not in users.USERS:
        return _page_error(f"No demo user {user!r}; choose one of {', '.join(users.USERS)}")
    launch = _server(request).new_launch(patient=patient, encounter=encounter, user=user)
    root = server_root(request, _context(request).settings)
    target = (
        (app or root).rstrip("/")
        + "/launch?"
        + urlencode({"iss": f"{root}/fhir", "launch": launch})
    )
    return RedirectResponse(target, status_code=302)


@router.get("/dev-auth/authorize", summary="DEV ONLY: log in and consent")
async def authorize(request: Request) -> Response:
    params = dict(request.query_params)
    problem = _check_request(params)
    if problem:
        return _page_error(problem)
    server = _server(request)
    launch = server.launch(params["launch"]) if params.get("launch") else None
    if params.get("launch") and launch is None:
        return _page_error("The launch has expired or is unknown: launch again from the EHR")
    if launch is not None and launch.user:
        # The EHR already knows who is logged in (SMART EHR launch): no second login.
        return await _approve(request, params, launch.user, launch.patient, launch.encounter)
    return HTMLResponse(await _login_page(request, params))


@router.post("/dev-auth/authorize", summary="DEV ONLY: the login page's answer")
async def authorize_answer(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    problem = _check_request(form)
    if problem:
        return _page_error(problem)
    if form.get("user") not in users.USERS:
        return _page_error("Choose a demo user")
    return await _approve(
        request, form, form["user"], form.get("patient") or None, form.get("encounter") or None
    )


@router.post("/dev-auth/token", summary="DEV ONLY: exchange a code (PKCE S256) for a token")
async def token(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if form.get("grant_type") != "authorization_code":
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": "authorization_code only"},
            400,
            headers=no_store,
        )
    try:
        answer = _server(request).exchange(
            code=form.get("code", ""),
            redirect_uri=form.get("redirect_uri", ""),
            client_id=form.get("client_id", ""),
            code_verifier=form.get("code_verifier", ""),
        )
    except OAuthError as exc:
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description}, 400, headers=no_store
        )
    return Response(orjson.dumps(answer), media_type="application/json", headers=no_store)


def _check_request(params: dict[str, str]) -> str | None:
    missing = [name for name in _REQUIRED if not params.get(name)]
    if missing:
        return f"The authorisation request lacks {', '.join(missing)}"
    if params["response_type"] != "code":
        return "response_type must be code"
    if params.get("code_challenge_method") != "S256":
        return "PKCE with code_challenge_method=S256 is required (SMART App Launch 2.0)"
    return None


async def _approve(
    request: Request,
    params: dict[str, str],
    login: str,
    patient: str | None,
    encounter: str | None,
) -> Response:
    demo_user = users.user(login)
    await run_in_worker(lambda: users.ensure_practitioner(_context(request), demo_user))
    scope = params["scope"]
    if patient is None and "launch/patient" in scope.split():
        return _page_error("This app needs a patient: choose one on the login page")
    code = _server(request).issue_code(
        Grant(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            scope=scope,
            user=demo_user,
            patient=patient,
            encounter=encounter,
            expires=time.monotonic() + CODE_SECONDS,
        )
    )
    separator = "&" if "?" in params["redirect_uri"] else "?"
    target = (
        params["redirect_uri"] + separator + urlencode({"code": code, "state": params["state"]})
    )
    return RedirectResponse(target, status_code=302)


async def _login_page(request: Request, params: dict[str, str]) -> str:
    patients = await run_in_worker(lambda: _patients(_context(request)))
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k not in ("user", "patient")
    )
    user_options = "".join(
        f'<option value="{html.escape(u.login)}">{html.escape(u.display)}</option>'
        for u in users.USERS.values()
    )
    patient_options = '<option value="">(no patient)</option>' + "".join(
        f'<option value="{html.escape(pid)}">{html.escape(name)}</option>' for pid, name in patients
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>DEV ONLY: WardCare demo login</title></head><body>
<p role="alert"><strong>DEV ONLY</strong>: demonstration login, no passwords. Never use with real
patients.</p>
<h1>Log in to WardCare (demo)</h1>
<p>{html.escape(params["client_id"])} asks for: <code>{html.escape(params["scope"])}</code></p>
<form method="post" action="/dev-auth/authorize">{hidden}
<p><label for="user">User</label> <select id="user" name="user">{user_options}</select></p>
<p><label for="patient">Patient</label> <select id="patient" name="patient">{patient_options}
</select></p>
<p><button type="submit">Allow</button></p></form></body></html>"""


def _patients(ctx: AppContext) -> list[tuple[str, str]]:
    found = fhir_reads.search(
        ctx, actor=WARDCARE_SYSTEM, resource_type="Patient", params=[("_count", "100")]
    )
    rows = []
    for stored in found.page.matches:
        resource: dict[str, Any] = orjson.loads(stored.content or b"{}")
        name = (resource.get("name") or [{}])[0]
        text = " ".join([*name.get("given", []), name.get("family", "")]).strip()
        rows.append((stored.id, text or stored.id))
    return rows


def _page_error(message: str) -> Response:
    return HTMLResponse(
        "<!doctype html><title>Demo login: error</title>"
        f"<p role='alert'>{html.escape(message)}</p>",
        status_code=400,
    )
