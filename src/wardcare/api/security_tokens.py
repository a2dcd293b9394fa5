"""Bearer access tokens (RFC 6750) verified against the configured issuer's JWKS, and turned into
the `Actor` who acts.

Checked: the signature with a key from the issuer's JWKS (by `kid`), the algorithm (asymmetric
only: `none` and HS* are refused, so a public key can never be used as an HMAC secret), `iss`,
`aud`, `exp`, `nbf` and `iat` with a small leeway for clock skew, and a `sub`. An unknown `kid`
refetches the JWKS at most once a minute (key rotation), never per request.

Claims WardCare reads (SMART App Launch 2.0.0 token response, carried in the access token):
`scope` (space separated), `patient` and `encounter` (launch context), `fhirUser` (e.g.
`Practitioner/123`, or an absolute URL of one), `name`, `client_id` (or `azp`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

from wardcare.config import Settings
from wardcare.devauth import dev_audience, dev_issuer
from wardcare.domain.actor import Actor, ActorKind
from wardcare.fhir.indexing import split_reference

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
REFETCH_SECONDS = 60.0
# A verified token is remembered until it expires: an RSA verification costs ~0.1-1 ms and a
# UI or client sends the same token with every request.
VERIFIED_CACHE = 4096


class SecurityNotConfigured(RuntimeError):
    """WardCare will not serve without an authorisation server to trust."""


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for WWW-Authenticate and the audit)."""


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        leeway: int,
        jwks_url: str | None = None,
        jwks: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._jwks_url = jwks_url
        self._local = jwks
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -REFETCH_SECONDS
        self._fetch_lock = asyncio.Lock()
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def verify(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is not None:
            if time.time() <= claims["exp"] + self.leeway:
                return claims
            del self._verified[token]
        claims = await self._verify(token)
        if isinstance(claims.get("exp"), int | float):
            self._verified[token] = claims
            if len(self._verified) > VERIFIED_CACHE:
                self._verified.popitem(last=False)
        return claims

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a JWT: {exc}") from exc
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidToken(f"algorithm {alg!r} is not accepted")
        key = await self._key(header.get("kid"))
        if key.key_type != _KTY[alg[:2]]:
            raise InvalidToken(f"key {key.key_id} is not a key for {alg}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return claims

    async def _key(self, kid: Any) -> jwt.PyJWK:
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no key (kid)")
        if kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"key {kid!r} is not in the issuer's JWKS")
        return key

    async def _refresh(self) -> None:
        async with self._fetch_lock:
            if time.monotonic() - self._fetched_at < REFETCH_SECONDS and self._keys:
                return
            self._fetched_at = time.monotonic()
            if self._local is not None:
                document = self._local()
            else:
                assert self._jwks_url is not None
                try:
                    async with httpx.AsyncClient(timeout=5) as client:
                        answer = await client.get(self._jwks_url)
                        answer.raise_for_status()
                        document = answer.json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise InvalidToken(f"the issuer's JWKS could not be read: {exc}") from exc
            keys = {}
            for jwk in document.get("keys", []):
                try:
                    parsed = jwt.PyJWK(jwk)
                except jwt.PyJWTError:
                    continue  # a key type this server cannot use (e.g. a symmetric "oct" key)
                if parsed.key_id and parsed.key_type in ("RSA", "EC"):
                    keys[parsed.key_id] = parsed
            self._keys = keys


_KTY = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


def jwks_file_reader(path: str) -> Callable[[], dict[str, Any]]:
    def read() -> dict[str, Any]:
        document: dict[str, Any] = json.loads(Path(path).read_text())
        return document

    return read


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    raw_scope = claims.get("scope", claims.get("scp", ""))
    scopes = frozenset(raw_scope.split() if isinstance(raw_scope, str) else map(str, raw_scope))
    fhir_user = claims.get("fhirUser")
    reference = None
    if isinstance(fhir_user, str):
        target = split_reference(fhir_user)
        reference = f"{target[0]}/{target[1]}" if target else None
    only_system = bool(scopes) and all(
        s.startswith("system/") for s in scopes if "/" in s and not s.startswith("launch")
    )
    display = claims.get("name") or fhir_user or claims.get("sub")
    return Actor(
        kind=ActorKind.SYSTEM if only_system and reference is None else ActorKind.USER,
        display=str(display),
        reference=reference,
        scopes=scopes,
        patient=_string(claims.get("patient")),
        encounter=_string(claims.get("encounter")),
        client_id=_string(claims.get("client_id") or claims.get("azp")),
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def verifier_from_settings(
    settings: Settings, dev_jwks: Callable[[], dict[str, Any]] | None
) -> TokenVerifier:
    """The production configuration, or in dev mode the demo server's key in-process."""
    leeway = settings.auth_leeway_seconds
    if settings.auth_issuer and (settings.auth_jwks_url or settings.auth_jwks_file):
        if not settings.auth_audience:
            raise SecurityNotConfigured(
                "WARDCARE_AUTH_AUDIENCE is required with WARDCARE_AUTH_ISSUER"
            )
        local = jwks_file_reader(settings.auth_jwks_file) if settings.auth_jwks_file else None
        return TokenVerifier(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway=leeway,
            jwks_url=settings.auth_jwks_url,
            jwks=local,
        )
    if dev_jwks is None:
        raise SecurityNotConfigured(
            "No authorisation server is configured: set WARDCARE_AUTH_ISSUER, "
            "WARDCARE_AUTH_JWKS_URL (or WARDCARE_AUTH_JWKS_FILE) and WARDCARE_AUTH_AUDIENCE, "
            "or WARDCARE_DEV_MODE=1 for the demo authorisation server. WardCare has no "
            "unauthenticated mode."
        )
    return TokenVerifier(
        issuer=dev_issuer(settings),
        audience=dev_audience(settings),
        leeway=leeway,
        jwks=dev_jwks,
    )
