"""`wardcare serve` runs the outbound sender: a NEWS2 recorded over HTTP reaches a real MLLP
receiver as an ORU^R01, and the server stops cleanly with the sender."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.hl7v2.outbound_receiver import MllpReceiver
from tests.hl7v2.outbound_support import wait_for
from tests.services.test_assessments import news2_response
from wardcare.config import Settings
from wardcare.devauth import users
from wardcare.devauth.authorization_server import DevAuthorizationServer

WARDCARE = [sys.executable, "-m", "wardcare"]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_delivers_a_recorded_news2_to_the_configured_destination(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    subprocess.run(
        [*WARDCARE, "migrate", "--database", database], check=True, capture_output=True, timeout=120
    )
    http_port = _free_port()
    with MllpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDCARE_")}
        # HTTP needs a token: the server runs the DEV ONLY demo issuer, whose key (in the
        # test's directory) signs the nurse's token here, as `wardcare token` would.
        auth = {
            "dev_mode": "1",
            "dev_auth_key_file": str(tmp_path / "dev-auth-key.pem"),
            "auth_issuer": "urn:wardcare:test:dev-auth",
            "auth_audience": "urn:wardcare:test:fhir",
        }
        env.update({f"WARDCARE_{k.upper()}": v for k, v in auth.items()})
        token = DevAuthorizationServer(Settings(**auth)).mint(  # type: ignore[arg-type]
            user=users.user("nurse"), scope="user/*.cruds"
        )
        headers = {"Authorization": f"Bearer {token}"}
        env["WARDCARE_MLLP_PORT"] = str(_free_port())
        env["WARDCARE_HL7_DESTINATIONS"] = json.dumps(
            [
                {
                    "name": "EPR",
                    "host": "127.0.0.1",
                    "port": receiver.port,
                    "message_types": ["ORU^R01"],
                }
            ]
        )
        server = subprocess.Popen(
            [*WARDCARE, "serve", "--http-port", str(http_port), "--database", database],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{http_port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/fhir/metadata")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.2)
            patient = httpx.post(
                f"{base}/fhir/Patient", json=factories.patient(), headers=headers
            ).json()
            recorded = httpx.post(
                f"{base}/fhir/QuestionnaireResponse",
                json=news2_response(patient["id"]),
                headers=headers,
            )
            assert recorded.status_code == 201
            wait_for(lambda: len(receiver.received) == 1, "the ORU^R01 at the receiver")
            wait_for(
                lambda: (
                    httpx.get(f"{base}/hl7/outbox", headers=headers).json()["counts"]
                    == {"EPR": {"sent": 1}}
                ),
                "the outbox to show the message sent",
            )
            (message,) = receiver.received
            assert "|ORU^R01^ORU_R01|" in message
            assert patient["identifier"][0]["value"] + "^^^NHS^NH" in message
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"HL7 v2 outbound:    EPR at 127.0.0.1:{receiver.port} (ORU^R01)" in output
