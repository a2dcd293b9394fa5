"""The `wardcare` command as a user runs it: migrate, load the demo hospital, serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import empty_database
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.fhir.search_query import parse_search
from wardcare.services.context import AppContext
from wardcare.storage.database import make_engine

WARDCARE = [sys.executable, "-m", "wardcare"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _count(context: AppContext, resource_type: str, *params: tuple[str, str]) -> int:
    query = parse_search(
        resource_type, list(params), context.search_parameters, default_count=1, max_count=1
    )
    with context.uow.read() as tx:
        total = tx.resources.search(query).total
    assert total is not None
    return total


def test_demo_load_only_builds_two_wards_of_28_beds_with_patients_and_obs(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    empty_database(engine)
    engine.dispose()
    env = {**os.environ, "WARDCARE_DATABASE_URL": database_url}
    result = subprocess.run(
        [*WARDCARE, "demo", "--load-only"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    context = build_context(Settings(database_url=database_url))
    try:
        for ward in ("WARD7", "WARD9"):
            assert _count(context, "Location", ("identifier", ward)) == 1
        assert _count(context, "Location", ("physical-type", "bd")) == 56
        patients = _count(context, "Patient")
        assert 45 <= patients <= 56
        assert _count(context, "Encounter", ("status", "in-progress")) == patients
        assert _count(context, "Observation", ("category", "vital-signs")) > patients * 10
        # Loading twice does not duplicate anything: the demo loads only into an empty record.
        again = subprocess.run(
            [*WARDCARE, "demo", "--load-only"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert again.returncode == 0
        assert "already loaded" in again.stdout
        assert _count(context, "Patient") == patients
    finally:
        context.uow.engine.dispose()


def test_serve_prints_its_urls_and_answers_metadata(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    subprocess.run(
        [*WARDCARE, "migrate", "--database", database], check=True, capture_output=True, timeout=120
    )
    port = _free_port()
    # A free MLLP port too: the default 2575 may be taken on a developer's machine.
    server = subprocess.Popen(
        [
            *WARDCARE,
            "serve",
            "--http-port",
            str(port),
            "--mllp-port",
            str(_free_port()),
            "--database",
            database,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/fhir/metadata")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["fhirVersion"] == "4.0.1"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/fhir" in output
