"""SMART on FHIR discovery (SMART App Launch 2.0.0, 2.0.9 "Conformance"):
`/fhir/.well-known/smart-configuration`, and the endpoints the CapabilityStatement names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from wardcare.api.dependencies import ContextDep
from wardcare.config import Settings
from wardcare.devauth import dev_issuer
from wardcare.fhir.capability import SmartEndpoints

router = APIRouter(tags=["SMART on FHIR"])

CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-v2",
    "permission-v1",
    "permission-patient",
    "permission-user",
    "sso-openid-connect",
]


def server_root(request: Request, settings: Settings) -> str:
    if settings.base_url:
        return settings.base_url.rstrip("/").removesuffix("/fhir")
    return str(request.base_url).rstrip("/")


def smart_endpoints(request: Request, settings: Settings) -> SmartEndpoints:
    """The configured authorisation server, or in dev mode WardCare's own demo one."""
    if settings.auth_issuer and not settings.dev_mode:
        return SmartEndpoints(
            issuer=settings.auth_issuer,
            jwks_uri=settings.auth_jwks_url or "",
            authorize=settings.auth_authorization_endpoint or f"{settings.auth_issuer}/authorize",
            token=settings.auth_token_endpoint or f"{settings.auth_issuer}/token",
        )
    root = server_root(request, settings)
    return SmartEndpoints(
        issuer=dev_issuer(settings),
        jwks_uri=f"{root}/dev-auth/jwks",
        authorize=f"{root}/dev-auth/authorize",
        token=f"{root}/dev-auth/token",
    )


def smart_configuration(endpoints: SmartEndpoints) -> dict[str, Any]:
    return {
        "issuer": endpoints.issuer,
        "jwks_uri": endpoints.jwks_uri,
        "authorization_endpoint": endpoints.authorize,
        "token_endpoint": endpoints.token,
        "grant_types_supported": ["authorization_code"],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": ["code"],
        "scopes_supported": [
            "openid",
            "fhirUser",
            "launch",
            "launch/patient",
            "patient/*.cruds",
            "user/*.cruds",
            "system/*.cruds",
            "user/AuditEvent.rs",
        ],
        "capabilities": CAPABILITIES,
        "code_challenge_methods_supported": ["S256"],
    }


@router.get("/fhir/.well-known/smart-configuration", summary="SMART on FHIR configuration")
async def well_known(request: Request, ctx: ContextDep) -> Response:
    return JSONResponse(smart_configuration(smart_endpoints(request, ctx.settings)))
