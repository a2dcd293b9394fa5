"""The demo authorisation server is DEV ONLY, and WardCare has no unauthenticated mode."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from wardcare.api.app import create_app
from wardcare.api.security_tokens import actor_from_claims
from wardcare.config import Settings
from wardcare.devauth import DevModeRequired, users
from wardcare.devauth.authorization_server import DevAuthorizationServer
from wardcare.domain.actor import ActorKind
from wardcare.services.context import AppContext

WARDCARE = [sys.executable, "-m", "wardcare"]


def test_the_demo_server_refuses_to_start_without_dev_mode(tmp_path: Path) -> None:
    settings = Settings(dev_mode=False, dev_auth_key_file=str(tmp_path / "key.pem"))
    with pytest.raises(DevModeRequired, match="WARDCARE_DEV_MODE"):
        DevAuthorizationServer(settings)
    assert not (tmp_path / "key.pem").exists()


def test_the_app_refuses_to_start_with_no_authorisation_server(context: AppContext) -> None:
    settings = context.settings.model_copy(update={"dev_mode": False})
    with pytest.raises(RuntimeError, match="no unauthenticated mode"):
        create_app(dataclasses.replace(context, settings=settings))


def test_production_configuration_uses_the_issuers_jwks_and_has_no_dev_routes(
    context: AppContext, tmp_path: Path
) -> None:
    issuer = DevAuthorizationServer(context.settings)  # stands in for the hospital's server
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.key.jwks))
    settings = context.settings.model_copy(
        update={
            "dev_mode": False,
            "auth_issuer": issuer.issuer,
            "auth_jwks_file": str(jwks),
            "auth_audience": issuer.audience,
            "auth_authorization_endpoint": "https://sso.example/authorize",
            "auth_token_endpoint": "https://sso.example/token",
        }
    )
    app = create_app(dataclasses.replace(context, settings=settings))
    token = issuer.mint(user=users.user("nurse"), scope="user/*.rs")
    with TestClient(app) as client:
        assert client.get("/dev-auth/jwks").status_code == 401  # not mounted, not public
        assert client.get("/fhir/Patient").status_code == 401
        ok = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        config = client.get("/fhir/.well-known/smart-configuration").json()
        assert config["authorization_endpoint"] == "https://sso.example/authorize"
        assert config["issuer"] == issuer.issuer


def test_wardcare_token_prints_a_token_only_in_dev_mode(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WARDCARE_DEV_AUTH_KEY_FILE": str(tmp_path / "key.pem"),
        "WARDCARE_DEV_MODE": "0",
    }
    refused = subprocess.run(
        [*WARDCARE, "token", "--user", "nurse"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert "development only" in refused.stdout
    printed = subprocess.run(
        [
            *WARDCARE,
            "token",
            "--dev",
            "--user",
            "nic",
            "--scope",
            "patient/*.rs launch",
            "--patient",
            "p1",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = printed.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    actor = actor_from_claims(claims)
    assert actor.kind == ActorKind.USER
    assert actor.reference == "Practitioner/dev-nic"
    assert actor.patient == "p1"
    assert actor.scopes == frozenset({"patient/*.rs", "launch"})
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600


def test_wardcare_serve_without_an_authorisation_server_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDCARE_")} | {
        "WARDCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'refuse.db'}"
    }
    subprocess.run([*WARDCARE, "migrate"], env=env, check=True, capture_output=True)
    refused = subprocess.run(
        [*WARDCARE, "serve", "--http-port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1
    assert "no unauthenticated mode" in " ".join(refused.stdout.split())
