"""DEV ONLY: the demo SMART authorisation server's logic (SMART App Launch 2.0.0, 2.0.10
"App Launch: Launch and Authorization"): launch contexts, authorisation codes bound to a PKCE
S256 challenge, and signed access tokens that carry the launch context.

Codes and launch contexts live in memory for a few minutes: it is a single-process demo.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardcare.config import Settings
from wardcare.devauth import dev_audience, dev_issuer, require_dev_mode
from wardcare.devauth.signing_key import SigningKey, load_or_create
from wardcare.devauth.users import DemoUser

CODE_SECONDS = 120
LAUNCH_SECONDS = 600
TOKEN_SECONDS = 3600


class OAuthError(Exception):
    """An error the token endpoint answers as {"error": ..., "error_description": ...}."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class LaunchContext:
    patient: str | None
    encounter: str | None
    user: str | None  # the EHR's logged-in user, who need not log in again
    expires: float


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    user: DemoUser
    patient: str | None
    encounter: str | None
    expires: float


def s256(verifier: str) -> str:
    """RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class DevAuthorizationServer:
    def __init__(self, settings: Settings) -> None:
        require_dev_mode(settings)
        self.key: SigningKey = load_or_create(Path(settings.dev_auth_key_file))
        self.issuer = dev_issuer(settings)
        self.audience = dev_audience(settings)
        self._launches: dict[str, LaunchContext] = {}
        self._codes: dict[str, Grant] = {}
        self._lock = threading.Lock()

    # -- launch contexts (the test EHR) ------------------------------------------------------

    def new_launch(self, *, patient: str | None, encounter: str | None, user: str | None) -> str:
        launch = secrets.token_urlsafe(16)
        with self._lock:
            self._forget_expired()
            self._launches[launch] = LaunchContext(
                patient, encounter, user, time.monotonic() + LAUNCH_SECONDS
            )
        return launch

    def launch(self, launch_id: str) -> LaunchContext | None:
        with self._lock:
            found = self._launches.get(launch_id)
        return found if found and found.expires > time.monotonic() else None

    # -- codes and tokens --------------------------------------------------------------------

    def issue_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            self._codes[code] = grant
        return code

    def exchange(
        self, *, code: str, redirect_uri: str, client_id: str, code_verifier: str
    ) -> dict[str, Any]:
        """The token response (SMART 2.0.0 "Response body" of the token request)."""
        with self._lock:
            grant = self._codes.pop(code, None)  # a code works once (RFC 6749 4.1.2)
        if grant is None or grant.expires < time.monotonic():
            raise OAuthError("invalid_grant", "the authorisation code is unknown, used or expired")
        if grant.client_id != client_id or grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "client_id or redirect_uri differ from the request")
        if not code_verifier or not secrets.compare_digest(
            s256(code_verifier), grant.code_challenge
        ):
            raise OAuthError("invalid_grant", "PKCE code_verifier does not match the challenge")
        token = self.mint(
            user=grant.user,
            scope=grant.scope,
            patient=grant.patient,
            encounter=grant.encounter,
            client_id=client_id,
        )
        response: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "scope": grant.scope,
            "need_patient_banner": False,
        }
        if grant.patient:
            response["patient"] = grant.patient
        if grant.encounter:
            response["encounter"] = grant.encounter
        if "openid" in grant.scope.split():
            response["id_token"] = self.id_token(grant.user, client_id)
        return response

    def mint(
        self,
        *,
        user: DemoUser,
        scope: str,
        patient: str | None = None,
        encounter: str | None = None,
        client_id: str = "wardcare-cli",
        lifetime: int = TOKEN_SECONDS,
    ) -> str:
        """A signed access token with the claims WardCare's resource server reads."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user.practitioner_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(12),
            "scope": scope,
            "client_id": client_id,
            "fhirUser": user.reference,
            "name": user.display,
        }
        if patient:
            claims["patient"] = patient
        if encounter:
            claims["encounter"] = encounter
        return self.key.sign(claims)

    def id_token(self, user: DemoUser, client_id: str) -> str:
        now = int(time.time())
        return self.key.sign(
            {
                "iss": self.issuer,
                "aud": client_id,
                "sub": user.practitioner_id,
                "iat": now,
                "exp": now + TOKEN_SECONDS,
                "fhirUser": user.reference,
                "name": user.display,
            }
        )

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for table in (self._launches, self._codes):
            for key in [k for k, v in table.items() if v.expires < now]:
                del table[key]
