"""The app side of SMART App Launch 2.0.0: WardCare's UI as a SMART app.

- EHR launch: `/launch?iss=...&launch=...` (2.0.10 "EHR Launch").
- Standalone launch: `/launch/standalone` (iss is WardCare's own FHIR base).
- Both read the smart-configuration of `iss`, redirect to its authorization endpoint
  with PKCE S256, `state` and `aud`, and come back to `/launch/callback`, which checks `state`
  (against the pending launch and the browser's launch cookie), exchanges the code, verifies the
  access token like any other, keeps it in a server-side session (`api/sessions.py`) and sends
  the browser to `/ui/patients/{patient}` with a patient in context, else `/ui/wards`.

`iss` must be WardCare's own FHIR base: the UI reads WardCare's API, and fetching a discovery
document from any URL a link names would let anyone make the server call out (SSRF). So the
configuration is the one `/fhir/.well-known/smart-configuration` serves, built in-process (the
same function), not fetched over HTTP from the server itself. The code exchange is an HTTP call
(httpx), since the authorisation server may be the hospital's.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wardcare.api.security_tokens import InvalidToken, TokenVerifier, actor_from_claims
from wardcare.api.sessions import (
    LAUNCH_COOKIE,
    PENDING_SECONDS,
    SESSION_COOKIE,
    PendingLaunch,
    SessionStore,
)
from wardcare.api.smart_routes import server_root, smart_configuration, smart_endpoints

router = APIRouter(tags=["SMART app launch"])

EHR_SCOPE = "launch openid fhirUser patient/*.cruds"
STANDALONE_SCOPE = "openid fhirUser user/*.cruds"


def _sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


@router.get("/launch", summary="SMART EHR launch")
async def ehr_launch(request: Request, iss: str = "", launch: str = "") -> Response:
    if not iss or not launch:
        return _failure("An EHR launch needs iss and launch parameters", 400)
    return await _begin(request, iss=iss, scope=EHR_SCOPE, launch=launch)


@router.get("/launch/standalone", summary="SMART standalone launch")
async def standalone_launch(request: Request) -> Response:
    root = server_root(request, request.app.state.context.settings)
    return await _begin(request, iss=f"{root}/fhir", scope=STANDALONE_SCOPE, launch=None)


async def _begin(request: Request, *, iss: str, scope: str, launch: str | None) -> Response:
    root = server_root(request, request.app.state.context.settings)
    if iss.rstrip("/") != f"{root}/fhir":
        return _failure(
            f"WardCare's UI launches only against its own FHIR server ({root}/fhir)", 400
        )
    configuration = smart_configuration(
        smart_endpoints(request, request.app.state.context.settings)
    )
    authorize = configuration["authorization_endpoint"]
    token_endpoint = configuration["token_endpoint"]
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(24)
    redirect_uri = f"{root}/launch/callback"
    client_id = request.app.state.context.settings.launch_client_id
    _sessions(request).remember(
        PendingLaunch(
            state, verifier, token_endpoint, redirect_uri, iss, time.time() + PENDING_SECONDS
        )
    )
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": iss,
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    if launch:
        params["launch"] = launch
    response = RedirectResponse(f"{authorize}?{urlencode(params)}", status_code=302)
    _set_cookie(request, response, LAUNCH_COOKIE, state, PENDING_SECONDS)
    return response


@router.get("/launch/callback", summary="SMART redirect_uri: exchange the code")
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    if error:
        return _failure(f"The authorisation server refused: {error}", 400)
    browser_state = request.cookies.get(LAUNCH_COOKIE)
    pending = _sessions(request).take(state) if state else None
    if pending is None or browser_state is None or not secrets.compare_digest(state, browser_state):
        return _failure("The launch state does not match: start the launch again", 400)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(
                pending.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": pending.redirect_uri,
                    "client_id": request.app.state.context.settings.launch_client_id,
                    "code_verifier": pending.code_verifier,
                },
            )
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        return _failure(f"The token endpoint could not be reached: {exc}", 502)
    if answer.status_code != 200 or "access_token" not in body:
        return _failure(f"The token request failed: {body.get('error_description', body)}", 400)
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        claims = await verifier.verify(body["access_token"])
    except InvalidToken as exc:
        return _failure(f"The access token is not valid here: {exc}", 400)
    actor = actor_from_claims(claims)
    session = _sessions(request).open(actor, body["access_token"], float(claims["exp"]))
    patient = body.get("patient") or actor.patient
    target = f"/ui/patients/{patient}" if patient else "/ui/wards"
    response = RedirectResponse(target, status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, session.id, int(claims["exp"] - time.time()))
    response.delete_cookie(LAUNCH_COOKIE, path="/")
    return response


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    # Inside an EHR's iframe the app is a third party: only SameSite=None; Secure cookies are
    # sent there, and browsers accept those over https alone. Over plain http (a laptop demo,
    # same site) Lax is the safe choice.
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        name,
        value,
        max_age=max(age, 0),
        path="/",
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )


def _failure(message: str, status: int) -> Response:
    return HTMLResponse(
        f"<!doctype html><title>WardCare launch</title><p role='alert'>{html.escape(message)}</p>",
        status_code=status,
    )
