"""DEV ONLY: a demonstration SMART on FHIR authorisation server and test EHR.

It exists so a newcomer can click through an EHR launch on a laptop (`make demo`) and so tests
can get real signed tokens. It has no passwords and trusts whoever picks a user: it refuses to
run unless dev mode is set (`WARDCARE_DEV_MODE=1` or `--dev`). A hospital points WardCare at its
own authorisation server with `WARDCARE_AUTH_ISSUER`, `WARDCARE_AUTH_JWKS_URL` and
`WARDCARE_AUTH_AUDIENCE` instead.
"""

from __future__ import annotations

from wardcare.config import Settings


class DevModeRequired(RuntimeError):
    pass


def require_dev_mode(settings: Settings) -> None:
    if not settings.dev_mode:
        raise DevModeRequired(
            "The demo authorisation server is for development only: set WARDCARE_DEV_MODE=1 "
            "(or pass --dev) to run it, or configure WARDCARE_AUTH_ISSUER, "
            "WARDCARE_AUTH_JWKS_URL and WARDCARE_AUTH_AUDIENCE for a real one"
        )


def dev_root(settings: Settings) -> str:
    """Where the dev server says it lives: WARDCARE_BASE_URL's origin, else host and port."""
    if settings.base_url:
        return settings.base_url.rstrip("/").removesuffix("/fhir")
    return f"http://{settings.host}:{settings.http_port}"


def dev_issuer(settings: Settings) -> str:
    return settings.auth_issuer or f"{dev_root(settings)}/dev-auth"


def dev_audience(settings: Settings) -> str:
    return settings.auth_audience or f"{dev_root(settings)}/fhir"
