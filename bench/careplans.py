"""Benchmark: the ward due list with care plans (issue: care planning).

    .venv/bin/python bench/careplans.py [--databases sqlite,postgresql] [--requests 200]

`wardcare serve` with its default settings on a fresh database. Over HTTP: a ward of 28 beds
(4 bays of 7), a patient admitted to each, a NEWS2 and a pressure ulcer screen recorded for
each, and 3 care plans applied and activated per patient (pressure ulcer prevention, falls
prevention with the safe-environment interventions, nutrition support: 15 interventions per
patient, 420 on the ward), with three documented occurrences of every intervention. Then
`GET /wards/{ward}/due` (assessments and interventions for every bed) and
`GET /patients/{id}/care-summary` are timed one request at a time. Target: the ward due list
<= 100 ms p95 on SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    KeepAliveClient,
    Server,
    fresh_database,
    latency_summary,
    machine,
    markdown_table,
    migrate,
    running_server,
    verdict,
    write_results,
)

HEADERS = {"Content-Type": "application/fhir+json"}
CODES = "http://wardcare.org/fhir/Id/location-code"
PHYSICAL = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ACVPU = "http://wardcare.org/fhir/CodeSystem/acvpu"
PLANS = ("pressure-ulcer-prevention", "falls-prevention", "nutrition-support")
TARGET_P95_MS = 100.0
WARD = "WARDB"


def _json(client: KeepAliveClient, method: str, path: str, body: Any = None, **headers: str) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    status, answer = client.request(method, path, data, {**HEADERS, **headers})
    if status >= 300:
        raise RuntimeError(f"{method} {path}: {status} {answer[:400]!r}")
    return json.loads(answer) if answer else None


def _location(client: KeepAliveClient, code: str, kind: str, part_of: str | None) -> str:
    body: dict[str, Any] = {
        "resourceType": "Location",
        "status": "active",
        "name": code,
        "identifier": [{"system": CODES, "value": code}],
        "physicalType": {"coding": [{"system": PHYSICAL, "code": kind}]},
    }
    if part_of:
        body["partOf"] = {"reference": part_of}
    return f"Location/{_json(client, 'POST', '/fhir/Location', body)['id']}"


def _news2(patient: str, when: datetime) -> dict[str, Any]:
    answers = {
        "respiration-rate": {"valueInteger": 18},
        "spo2": {"valueInteger": 96},
        "on-oxygen": {"valueBoolean": False},
        "systolic-bp": {"valueInteger": 124},
        "pulse": {"valueInteger": 84},
        "consciousness": {"valueCoding": {"system": ACVPU, "code": "A"}},
        "temperature": {"valueDecimal": 37.1},
    }
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://wardcare.org/fhir/Questionnaire/news2|1.0.0",
        "status": "completed",
        "subject": {"reference": patient},
        "authored": when.isoformat(),
        "item": [{"linkId": k, "answer": [v]} for k, v in answers.items()],
    }


def _pressure(patient: str, when: datetime) -> dict[str, Any]:
    system = "http://wardcare.org/fhir/CodeSystem/pressure-ulcer-risk"
    choice = {
        "pressure-ulcer-history": "previous",
        "skin-inspection": "blanching-redness",
        "mobility": "limited",
        "moisture": "none",
        "nutrition": "medium",
    }
    items = [
        {"linkId": k, "answer": [{"valueCoding": {"system": system, "code": v}}]}
        for k, v in choice.items()
    ] + [
        {"linkId": k, "answer": [{"valueBoolean": False}]}
        for k in ("sensory-impairment", "cognitive-impairment", "medical-device")
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://wardcare.org/fhir/Questionnaire/pressure-ulcer-risk|1.0.0",
        "status": "completed",
        "subject": {"reference": patient},
        "authored": when.isoformat(),
        "item": items,
    }


def load_ward(client: KeepAliveClient) -> list[str]:
    """The ward, its 28 patients, their assessments, plans and documented care."""
    now = datetime.now(UTC)
    ward = _location(client, WARD, "wa", None)
    patients = []
    for bay_number in range(1, 5):
        bay = _location(client, f"{WARD}/BAY{bay_number}", "ro", ward)
        for bed_number in range(1, 8):
            bed = _location(client, f"{WARD}/BAY{bay_number}/BED{bed_number}", "bd", bay)
            patient = {
                "resourceType": "Patient",
                "name": [{"family": f"Bench{bay_number}{bed_number}"}],
                "gender": "female",
                "birthDate": "1940-01-01",
            }
            patient_ref = f"Patient/{_json(client, 'POST', '/fhir/Patient', patient)['id']}"
            encounter = {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "subject": {"reference": patient_ref},
                "period": {"start": (now - timedelta(days=1)).isoformat()},
                "location": [
                    {"location": {"reference": ward}, "status": "active"},
                    {"location": {"reference": bed}, "status": "active"},
                ],
            }
            encounter_ref = f"Encounter/{_json(client, 'POST', '/fhir/Encounter', encounter)['id']}"
            when = now - timedelta(hours=4)
            _json(client, "POST", "/fhir/QuestionnaireResponse", _news2(patient_ref, when))
            _json(client, "POST", "/fhir/QuestionnaireResponse", _pressure(patient_ref, when))
            for plan_id in PLANS:
                parameters = {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "subject", "valueReference": {"reference": patient_ref}},
                        {"name": "encounter", "valueReference": {"reference": encounter_ref}},
                    ],
                }
                plan = _json(client, "POST", f"/fhir/PlanDefinition/{plan_id}/$apply", parameters)
                version = plan.pop("meta")["versionId"]
                plan["status"] = "active"
                _json(
                    client,
                    "PUT",
                    f"/fhir/CarePlan/{plan['id']}",
                    plan,
                    **{"If-Match": f'W/"{version}"'},
                )
                for activity in plan["activity"]:
                    task = activity["reference"]["reference"]
                    for hours in (3, 2, 1):
                        performed = (now - timedelta(hours=hours)).isoformat()
                        _json(
                            client,
                            "POST",
                            f"/fhir/{task}/$record-occurrence?outcome=done&performed="
                            + performed.replace("+", "%2B"),
                        )
            patients.append(patient_ref)
    return patients


def timed(client: KeepAliveClient, path: str, requests: int, server: Server) -> dict[str, float]:
    """Wall-clock latencies, and the server's CPU per request (less sensitive than wall time
    to other work on a shared machine)."""
    for _ in range(10):  # warm up
        _json(client, "GET", path)
    seconds = []
    cpu_before, load_before = server.cpu_seconds(), os.getloadavg()[0]
    for _ in range(requests):
        start = time.perf_counter()
        status, _body = client.request("GET", path)
        seconds.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
    summary = latency_summary(seconds)
    summary["server_cpu_ms_per_request"] = round(
        1000 * (server.cpu_seconds() - cpu_before) / requests, 1
    )
    summary["load_average_1min"] = round((load_before + os.getloadavg()[0]) / 2, 1)
    return summary


def run(kind: str, requests: int, log_dir: Path) -> dict[str, Any]:
    with fresh_database(kind) as url:
        migrate(url)
        with running_server(url, log_dir=log_dir) as server:
            client = KeepAliveClient("127.0.0.1", server.port)
            started = time.perf_counter()
            patients = load_ward(client)
            loaded = time.perf_counter() - started
            due = _json(client, "GET", f"/wards/{WARD}/due")
            entries = [d for bed in due["beds"] for d in bed["due"]]
            figures = {
                "load_seconds": round(loaded, 1),
                "beds": len(due["beds"]),
                "due_entries": len(entries),
                "intervention_entries": sum(1 for d in entries if d["kind"] == "intervention"),
                "ward_due": timed(client, f"/wards/{WARD}/due", requests, server),
                "care_summary": timed(
                    client, f"/patients/{patients[0].split('/')[1]}/care-summary", requests, server
                ),
            }
            client.close()
            return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine()}
    log_dir = Path("/tmp/wardcare-bench-logs")
    rows = []
    for kind in args.databases.split(","):
        figures = run(kind, args.requests, log_dir)
        results[kind] = figures
        for name in ("ward_due", "care_summary"):
            summary = figures[name]
            target = (
                verdict(summary["p95_ms"] <= TARGET_P95_MS)
                if kind == "sqlite" and name == "ward_due"
                else ""
            )
            rows.append(
                [
                    kind,
                    name,
                    f"{summary['p50_ms']} / {summary['p95_ms']} / {summary['p99_ms']} ms; "
                    f"server CPU {summary['server_cpu_ms_per_request']} ms/request; "
                    f"load {summary['load_average_1min']}",
                    target,
                ]
            )
        rows.append(
            [
                kind,
                "entries on the ward list",
                f"{figures['due_entries']} ({figures['intervention_entries']} interventions)",
                "",
            ]
        )
    print(markdown_table(["database", "measure (p50 / p95 / p99)", "value", "target"], rows))
    print(f"results: {write_results('careplans', results)}")


if __name__ == "__main__":
    main()
