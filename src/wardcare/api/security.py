"""Wiring of security into the app: token verifier, sessions, the audit trail, the middleware,
the discovery, launch and (in dev mode only) demo authorisation routes."""

from __future__ import annotations

from fastapi import FastAPI

from wardcare.api import dev_auth_routes, launch_routes, smart_routes
from wardcare.api.security_middleware import SecurityMiddleware
from wardcare.api.security_tokens import verifier_from_settings
from wardcare.api.sessions import SessionStore
from wardcare.devauth.authorization_server import DevAuthorizationServer
from wardcare.services.audit import AuditTrail
from wardcare.services.context import AppContext


def install_security(app: FastAPI, context: AppContext) -> AuditTrail:
    """Call before the other routers are included (discovery must win over /fhir/{type}/{id}).
    Returns the audit trail, which the app's lifespan closes (flushing it) on shutdown."""
    settings = context.settings
    dev_jwks = None
    if settings.dev_mode:
        app.state.dev_auth = DevAuthorizationServer(settings)
        dev_jwks = app.state.dev_auth.key.jwks.copy
        app.include_router(dev_auth_routes.router)
    verifier = verifier_from_settings(settings, dev_jwks)
    sessions = SessionStore()
    trail = AuditTrail(context)
    app.state.token_verifier = verifier
    app.state.sessions = sessions
    app.state.audit = trail
    app.include_router(smart_routes.router)
    app.include_router(launch_routes.router)
    app.add_middleware(
        SecurityMiddleware,
        verifier=verifier,
        sessions=sessions,
        trail=trail,
        dev_mode=settings.dev_mode,
    )
    return trail
