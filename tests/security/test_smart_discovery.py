"""SMART discovery (SMART App Launch 2.0.0 "Conformance"): the well-known configuration and the
CapabilityStatement's rest.security."""

from __future__ import annotations

from fastapi.testclient import TestClient

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def test_smart_configuration_names_the_endpoints_and_capabilities(client: TestClient) -> None:
    response = client.get("/fhir/.well-known/smart-configuration", headers={"Authorization": ""})
    assert response.status_code == 200
    config = response.json()
    assert config["authorization_endpoint"] == "http://testserver/dev-auth/authorize"
    assert config["token_endpoint"] == "http://testserver/dev-auth/token"
    assert config["jwks_uri"] == "http://testserver/dev-auth/jwks"
    assert config["issuer"].endswith("/dev-auth")
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {
        "launch-ehr",
        "launch-standalone",
        "client-public",
        "context-ehr-patient",
        "permission-v2",
    } <= set(config["capabilities"])


def test_jwks_publishes_the_public_key_only(client: TestClient) -> None:
    keys = client.get("/dev-auth/jwks", headers={"Authorization": ""}).json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


def test_capability_statement_declares_smart_security(client: TestClient) -> None:
    statement = client.get("/fhir/metadata", headers={"Authorization": ""}).json()
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = next(e for e in security["extension"] if e["url"] == OAUTH_URIS)
    values = {e["url"]: e["valueUri"] for e in uris["extension"]}
    assert values == {
        "authorize": "http://testserver/dev-auth/authorize",
        "token": "http://testserver/dev-auth/token",
    }
