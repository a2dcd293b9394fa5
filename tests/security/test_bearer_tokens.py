"""Bad tokens are refused with 401, an OperationOutcome and WWW-Authenticate (RFC 6750 3.1);
public discovery paths need none; every other path needs one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from tests import factories
from wardcare.devauth import dev_audience, dev_issuer
from wardcare.devauth.authorization_server import DevAuthorizationServer
from wardcare.services.context import AppContext


def _claims(context: AppContext, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": dev_issuer(context.settings),
        "aud": dev_audience(context.settings),
        "sub": "dev-nurse",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "scope": "user/*.cruds",
        "fhirUser": "Practitioner/dev-nurse",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(context: AppContext, **changes: Any) -> str:
    server = DevAuthorizationServer(context.settings)
    return server.key.sign(_claims(context, **changes))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _refused(client: TestClient, token: str, why: str) -> None:
    response = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"
    assert why in outcome["issue"][0]["diagnostics"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="WardCare"')
    assert 'error="invalid_token"' in challenge


def test_a_valid_token_is_accepted(client: TestClient, context: AppContext) -> None:
    token = _signed(context)
    response = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_expired_token_is_refused(client: TestClient, context: AppContext) -> None:
    past = int(time.time()) - 3600
    _refused(client, _signed(context, exp=past, iat=past - 60, nbf=past - 60), "expired")


def test_token_not_yet_valid_is_refused(client: TestClient, context: AppContext) -> None:
    later = int(time.time()) + 3600
    _refused(client, _signed(context, nbf=later, iat=later), "not yet valid")


def test_token_within_the_leeway_is_accepted(client: TestClient, context: AppContext) -> None:
    just_expired = int(time.time()) - 5  # leeway is 30 s: clock skew between servers
    token = _signed(context, exp=just_expired, iat=just_expired - 60, nbf=just_expired - 60)
    response = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_wrong_audience_is_refused(client: TestClient, context: AppContext) -> None:
    _refused(client, _signed(context, aud="https://another.example/fhir"), "Audience")


def test_wrong_issuer_is_refused(client: TestClient, context: AppContext) -> None:
    _refused(client, _signed(context, iss="https://evil.example/auth"), "issuer")


def test_missing_expiry_is_refused(client: TestClient, context: AppContext) -> None:
    _refused(client, _signed(context, exp=None), "exp")


def test_bad_signature_is_refused(client: TestClient, context: AppContext) -> None:
    server = DevAuthorizationServer(context.settings)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        _claims(context, scope="system/*.cruds"),
        other,
        algorithm="RS256",
        headers={"kid": server.key.kid},
    )
    _refused(client, forged, "Signature verification failed")


def test_tampered_payload_is_refused(client: TestClient, context: AppContext) -> None:
    header, _payload, signature = _signed(context, scope="patient/*.rs", patient="p1").split(".")
    wider = _b64(_claims(context, scope="system/*.cruds"))
    _refused(client, f"{header}.{wider}.{signature}", "Signature verification failed")


def test_alg_none_is_refused(client: TestClient, context: AppContext) -> None:
    server = DevAuthorizationServer(context.settings)
    unsigned = f"{_b64({'alg': 'none', 'kid': server.key.kid})}.{_b64(_claims(context))}."
    _refused(client, unsigned, "algorithm 'none' is not accepted")


def test_hs256_signed_with_the_public_key_is_refused(
    client: TestClient, context: AppContext
) -> None:
    """The classic key-confusion attack: the public key used as an HMAC secret."""
    server = DevAuthorizationServer(context.settings)
    public_pem = jwt.PyJWK(server.key.public_jwk).key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": server.key.kid})
    payload = _b64(_claims(context, scope="system/*.cruds"))
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    _refused(client, f"{header}.{payload}.{signature}", "algorithm 'HS256' is not accepted")


def test_unknown_key_id_is_refused(client: TestClient, context: AppContext) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(context), other, algorithm="RS256", headers={"kid": "not-ours"})
    _refused(client, token, "'not-ours' is not in the issuer's JWKS")


def test_garbage_is_refused(client: TestClient) -> None:
    _refused(client, "not-a-jwt", "not a JWT")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fhir/Patient"),
        ("GET", "/fhir/Patient/abc"),
        ("POST", "/fhir/Patient"),
        ("POST", "/fhir"),
        ("GET", "/fhir/_history"),
        ("GET", "/wards"),
        ("GET", "/wards/WARD7/due"),
        ("GET", "/patients/abc/fluid-balance"),
        ("GET", "/an/unknown/route"),
    ],
)
def test_every_path_but_the_public_ones_needs_a_token(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="WardCare"'


def test_a_scheme_other_than_bearer_is_refused(client: TestClient) -> None:
    response = client.get("/fhir/Patient", headers={"Authorization": "Basic bnVyc2U6cGFzcw=="})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/fhir/metadata", "/fhir/.well-known/smart-configuration", "/openapi.json", "/docs"],
)
def test_public_paths_need_no_token(client: TestClient, path: str) -> None:
    assert client.get(path, headers={"Authorization": ""}).status_code == 200


def test_the_token_becomes_the_actor_of_the_provenance(
    client: TestClient, context: AppContext
) -> None:
    token = _signed(context, fhirUser="Practitioner/dev-nic", name="Sam Okafor (Nurse in charge)")
    created = client.post(
        "/fhir/Patient", json=factories.patient(), headers={"Authorization": f"Bearer {token}"}
    ).json()
    bundle = client.get("/fhir/Provenance", params={"target": f"Patient/{created['id']}"}).json()
    agent = bundle["entry"][0]["resource"]["agent"][0]["who"]
    assert agent["reference"] == "Practitioner/dev-nic"


def test_a_person_opening_the_ui_without_a_session_is_sent_to_log_in(client: TestClient) -> None:
    response = client.get("/ui/wards", headers={"Authorization": ""}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/launch/standalone"


def test_an_ended_session_cookie_is_refused(client: TestClient) -> None:
    response = client.get(
        "/fhir/Patient", headers={"Authorization": "", "Cookie": "wardcare_session=gone"}
    )
    assert response.status_code == 401
    assert "launch WardCare again" in response.json()["issue"][0]["diagnostics"]
