"""SMART App Launch 2.0 end to end over real sockets: the test EHR launches WardCare's UI for a
patient; the app discovers the configuration, is authorised with PKCE S256, exchanges the code
and keeps the token in a server-side session. Standalone launch, PKCE failure, state mismatch."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests import factories
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


def _patient(live_server: LiveServer) -> str:
    created = httpx.post(
        f"{live_server.base_url}/fhir/Patient",
        json=factories.patient(),
        headers=live_server.headers,
    )
    assert created.status_code == 201
    patient_id: str = created.json()["id"]
    return patient_id


def test_ehr_launch_opens_the_patient_with_a_session(live_server: LiveServer) -> None:
    base = live_server.base_url
    own, other = _patient(live_server), _patient(live_server)
    with httpx.Client(base_url=base, follow_redirects=True) as browser:
        landed = browser.get("/dev-ehr/launch", params={"patient": own, "user": "nic"})
        hops = [str(r.url.path) for r in landed.history]
        assert hops == ["/dev-ehr/launch", "/launch", "/dev-auth/authorize", "/launch/callback"]
        assert landed.url.path == f"/ui/patients/{own}"
        authorize = landed.history[2].request.url
        asked = parse_qs(urlsplit(str(authorize)).query)
        assert asked["code_challenge_method"] == ["S256"]
        assert asked["aud"] == [f"{base}/fhir"]
        assert "launch" in asked

        cookie = landed.history[-1].headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "wardcare_session=" in cookie
        # The session is the nurse in charge with the patient in context.
        assert browser.get(f"/fhir/Patient/{own}").status_code == 200
        assert browser.get(f"/fhir/Patient/{other}").status_code == 404
        # A state-changing request from a page needs X-CSRF-Token or a same-origin Origin.
        cross_site = browser.post(
            "/fhir/Observation",
            json=factories.heart_rate(own),
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 401
        same_origin = browser.post(
            "/fhir/Observation",
            json=factories.heart_rate(own),
            headers={"Origin": base},
        )
        assert same_origin.status_code == 201, same_origin.text
    provenance = httpx.get(
        f"{base}/fhir/Provenance",
        params={"target": f"Observation/{same_origin.json()['id']}"},
        headers=live_server.headers,
    ).json()
    assert provenance["entry"][0]["resource"]["agent"][0]["who"]["reference"] == (
        "Practitioner/dev-nic"
    )


def test_standalone_launch_logs_in_on_the_demo_page(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url, follow_redirects=True) as browser:
        page = browser.get("/launch/standalone")
        assert page.status_code == 200
        assert "DEV ONLY" in page.text
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        )
        answer = browser.post(
            "/dev-auth/authorize",
            data={**fields, "user": "ward-manager", "patient": ""},
        )
        assert answer.url.path == "/ui/wards"
        assert browser.get("/wards").status_code == 200  # user/ scopes reach the ward


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _code(live_server: LiveServer, patient: str, challenge: str) -> str:
    base = live_server.base_url
    launch = httpx.get(f"{base}/dev-ehr/launch", params={"patient": patient})
    launch_id = parse_qs(urlsplit(launch.headers["location"]).query)["launch"][0]
    answer = httpx.get(
        f"{base}/dev-auth/authorize",
        params={
            "response_type": "code",
            "client_id": "test-app",
            "redirect_uri": "http://app.example/callback",
            "scope": "launch openid fhirUser patient/*.rs",
            "state": "abc123",
            "aud": f"{base}/fhir",
            "launch": launch_id,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["abc123"]  # state is echoed (RFC 6749 4.1.2)
    return query["code"][0]


def _exchange(live_server: LiveServer, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        f"{live_server.base_url}/dev-auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://app.example/callback",
            "client_id": "test-app",
            "code_verifier": verifier,
        },
    )


def test_a_wrong_pkce_verifier_gets_no_token(live_server: LiveServer) -> None:
    patient = _patient(live_server)
    verifier = "v" * 50
    code = _code(live_server, patient, _challenge(verifier))
    refused = _exchange(live_server, code, "w" * 50)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # The code was spent by the failed attempt: it cannot be retried.
    assert _exchange(live_server, code, verifier).status_code == 400

    good = _exchange(live_server, _code(live_server, patient, _challenge(verifier)), verifier)
    assert good.status_code == 200
    body = good.json()
    assert body["patient"] == patient
    assert body["token_type"] == "Bearer"
    assert body["id_token"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (
        httpx.get(f"{live_server.base_url}/fhir/Patient/{patient}", headers=headers).status_code
        == 200
    )


def test_a_callback_with_the_wrong_state_is_refused(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url) as browser:
        started = browser.get("/launch/standalone")
        assert started.status_code == 302
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        wrong = browser.get("/launch/callback", params={"code": "x", "state": "forged"})
        assert wrong.status_code == 400
        assert "state" in wrong.text
    # The right state from a different browser (no launch cookie) is refused too.
    stranger = httpx.get(
        f"{live_server.base_url}/launch/callback", params={"code": "x", "state": state}
    )
    assert stranger.status_code == 400


def test_launch_only_against_wardcares_own_fhir_base(live_server: LiveServer) -> None:
    answer = httpx.get(
        f"{live_server.base_url}/launch",
        params={"iss": "http://169.254.169.254/fhir", "launch": "x"},
    )
    assert answer.status_code == 400
