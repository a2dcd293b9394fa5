"""Benchmark: what security and audit cost per request.

    .venv/bin/python bench/security.py [--requests 400]

In-process, on a fresh SQLite file (no HTTP server: the figures are the security work alone):

1. Token verification: `TokenVerifier.verify` of new demo RS256 tokens (JWKS cached), and of
   the same token again (verified-token cache), per call; both include an event-loop hop.
2. Scope decision: `authorisation.authorise` for a `user/*.cruds` and a `patient/*.rs` actor.
3. Audit: building a BALP AuditEvent and queueing it (what a request waits for), and how many
   queued events a second the writer thread stores in batches.
4. A FHIR read through the whole app (Starlette test client, middleware, token, scopes, audit)
   with a `user/*.cruds` token and with a `patient/*.rs` token (compartment check), p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from bench.common import machine, markdown_table, write_results
from wardcare.api.app import create_app
from wardcare.api.security_tokens import verifier_from_settings
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.devauth import users
from wardcare.devauth.authorization_server import DevAuthorizationServer
from wardcare.domain.actor import Actor, ActorKind
from wardcare.domain.smart_scopes import Interaction
from wardcare.services import audit, authorisation
from wardcare.storage.database import make_engine
from wardcare.storage.migrate import upgrade


def per_call_us(work: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        work()
    return (time.perf_counter() - start) / n * 1e6


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        settings = Settings(database_url=url, dev_mode=True, dev_auth_key_file=f"{tmp}/key.pem")
        context = build_context(settings)
        server = DevAuthorizationServer(settings)
        nurse = users.user("nurse")

        verifier = verifier_from_settings(settings, server.key.jwks.copy)
        token = server.mint(user=nurse, scope="user/*.cruds")
        loop = asyncio.new_event_loop()
        loop.run_until_complete(verifier.verify(token))
        fresh = iter([server.mint(user=nurse, scope="user/*.cruds") for _ in range(200)])
        results["verify_first_us"] = per_call_us(
            lambda: loop.run_until_complete(verifier.verify(next(fresh))), 200
        )
        results["verify_cached_us"] = per_call_us(
            lambda: loop.run_until_complete(verifier.verify(token)), 2000
        )
        loop.close()

        user = Actor(ActorKind.USER, "n", scopes=frozenset({"user/*.cruds"}))
        patient = Actor(ActorKind.USER, "n", scopes=frozenset({"patient/*.rs"}), patient="p1")
        results["authorise_user_us"] = per_call_us(
            lambda: authorisation.authorise(user, Interaction.READ, "Observation"), 20000
        )
        results["authorise_patient_us"] = per_call_us(
            lambda: authorisation.authorise(patient, Interaction.READ, "Observation"), 20000
        )

        trail = audit.AuditTrail(context)
        access = audit.Access("read", 200, user, what="Observation/x", address="127.0.0.1")
        note = audit.AccessNote(patients={"p1"})
        results["audit_queue_us"] = per_call_us(lambda: trail.record(access, note), 5000)
        start = time.perf_counter()
        trail.flush()
        results["audit_store_per_s"] = 5000 / (time.perf_counter() - start)
        trail.close()

        app = create_app(context)
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            made = client.post(
                "/fhir/Patient",
                json={"resourceType": "Patient", "name": [{"family": "Bench"}]},
            )
            patient_id = made.json()["id"]
            patient_token = server.mint(user=nurse, scope="patient/*.rs", patient=patient_id)
            for label, headers in (
                ("read_user", {}),
                ("read_patient", {"Authorization": f"Bearer {patient_token}"}),
            ):
                timings = []
                for _ in range(args.requests):
                    begin = time.perf_counter()
                    answer = client.get(f"/fhir/Patient/{patient_id}", headers=headers)
                    timings.append((time.perf_counter() - begin) * 1000)
                    assert answer.status_code == 200
                results[f"{label}_p50_ms"] = statistics.median(timings)
                results[f"{label}_p95_ms"] = percentile(timings, 0.95)
        context.uow.engine.dispose()

    rows = [
        ["verify a new RS256 token (JWKS cached)", f"{results['verify_first_us']:.0f} µs"],
        ["the same token again (verified-token cache)", f"{results['verify_cached_us']:.1f} µs"],
        ["authorise, user/*.cruds", f"{results['authorise_user_us']:.1f} µs"],
        ["authorise, patient/*.rs", f"{results['authorise_patient_us']:.1f} µs"],
        ["build + queue an AuditEvent", f"{results['audit_queue_us']:.0f} µs"],
        ["store queued AuditEvents (batches of 500)", f"{results['audit_store_per_s']:.0f} /s"],
        [
            "GET /fhir/Patient/{id}, user token, p50 / p95",
            f"{results['read_user_p50_ms']:.2f} / {results['read_user_p95_ms']:.2f} ms",
        ],
        [
            "GET /fhir/Patient/{id}, patient token, p50 / p95",
            f"{results['read_patient_p50_ms']:.2f} / {results['read_patient_p95_ms']:.2f} ms",
        ],
    ]
    print(markdown_table(["what", "cost"], rows))
    print(f"\nresults: {write_results('security', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
