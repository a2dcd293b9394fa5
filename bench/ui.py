"""Benchmark: the ward board for a 28-bed ward, rendered on the server.

    .venv/bin/python bench/ui.py [--requests 100]

A fresh SQLite database (migrated with `wardcare migrate`) is filled with the demo's synthetic
hospital (two 28-bed wards at 90 % occupancy, 3 days of 4-hourly vital signs each, scored as
NEWS2), and every patient on WARD7 gets a pressure ulcer screen and a falls assessment recorded
through the assessment service (so risk flags have data to read). Then:

1. In process: the board's data (`services.ward_board.ward_board`: census, due list, 24-hour
   NEWS2, escalations, allergies, risk flags) and the Jinja2 render of the page, timed apart.
2. Over HTTP: `wardcare serve` with its default settings answers `GET /ui/wards/WARD7` (the
   whole page) and `GET /ui/wards/WARD7/board` (the rows the page refreshes every minute) on
   one keep-alive connection. Target (issue 7): p95 <= 300 ms for the page on SQLite.

Results go to stdout as markdown and to bench/results/ui-<timestamp>.json; the exit status is 1
if any request failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    KeepAliveClient,
    auth_headers,
    fresh_database,
    latency_summary,
    machine,
    markdown_table,
    migrate,
    running_server,
    source_state,
    verdict,
    write_results,
)
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.demo.loader import load_hospital
from wardcare.demo.synthetic_hospital import build_hospital, ward_code_of
from wardcare.domain.actor import Actor, ActorKind
from wardcare.services import due_list
from wardcare.services.context import AppContext
from wardcare.services.record_assessment import record_assessment
from wardcare.services.template_publishing import publish_questionnaires
from wardcare.services.ward_board import ward_board
from wardcare.ui.pages import templates

TARGET_P95_MS = 300.0
# The services check scopes (services/authorisation.py): the bench acts as a nurse would.
BENCH_NURSE = Actor(ActorKind.USER, "Bench nurse", scopes=frozenset({"user/*.cruds"}))
WARD = "WARD7"


def _answer(item: Any, rng: random.Random) -> dict[str, Any]:
    if item.type == "boolean":
        return {"valueBoolean": rng.random() < 0.3}
    option = rng.choice(item.answers)
    return {"valueCoding": {"system": option.system or "", "code": option.code}}


def _record_risk_assessments(ctx: AppContext, patients: list[str]) -> int:
    """A pressure ulcer screen and a falls assessment per patient, with random answers."""
    rng = random.Random(7)
    recorded = 0
    for template_id in ("pressure-ulcer-risk", "falls-multifactorial"):
        loaded = ctx.catalog.get(template_id)
        assert loaded is not None
        template = loaded.template
        for patient in patients:
            items = []
            for item in template.items:
                if item.type not in ("boolean", "choice") or item.derived_from:
                    continue
                answer = _answer(item, rng)
                if "valueCoding" in answer:
                    answer["valueCoding"]["system"] = (
                        next(
                            o.system
                            for o in item.answers
                            if o.code == answer["valueCoding"]["code"]
                        )
                        or template.code_system
                    )
                items.append({"linkId": item.link_id, "answer": [answer]})
            record_assessment(
                ctx,
                actor=BENCH_NURSE,
                response={
                    "resourceType": "QuestionnaireResponse",
                    "questionnaire": template.canonical,
                    "status": "completed",
                    "subject": {"reference": f"Patient/{patient}"},
                    "authored": datetime.now(UTC).isoformat(),
                    "item": items,
                },
            )
            recorded += 1
    return recorded


def _in_process(ctx: AppContext, repeats: int) -> dict[str, Any]:
    """Wall-clock and CPU time (this process only: what the board costs whatever else runs on
    the machine) of the board's data, the due list alone (which the board starts from) and the
    render."""
    data_s, render_s, due_s, data_cpu, due_cpu = [], [], [], [], []
    board = ward_board(ctx, actor=BENCH_NURSE, ward_code=WARD)
    template = templates.get_template("board.html")
    for _ in range(repeats):
        cpu, start = time.process_time(), time.perf_counter()
        board = ward_board(ctx, actor=BENCH_NURSE, ward_code=WARD)
        middle = time.perf_counter()
        data_cpu.append(time.process_time() - cpu)
        html = template.render(board=board, title="board", refresh_seconds=60, request=None)
        end = time.perf_counter()
        data_s.append(middle - start)
        render_s.append(end - middle)
        cpu, start = time.process_time(), time.perf_counter()
        due_list.ward_due(ctx, actor=BENCH_NURSE, ward_code=WARD)
        due_s.append(time.perf_counter() - start)
        due_cpu.append(time.process_time() - cpu)
    return {
        "data_cpu": latency_summary(data_cpu),
        "due_list": latency_summary(due_s),
        "due_list_cpu": latency_summary(due_cpu),
        "beds": len(board.rows),
        "occupied": board.occupied,
        "flags": sum(len(r.flags) for r in board.rows),
        "html_bytes": len(html.encode()),
        "data": latency_summary(data_s),
        "render": latency_summary(render_s),
    }


def _over_http(url: str, requests: int, log_dir: Path) -> tuple[dict[str, Any], int]:
    results: dict[str, Any] = {}
    failures = 0
    with running_server(url, log_dir=log_dir) as server:
        client = KeepAliveClient(server.host, server.port)
        headers = auth_headers()  # the demo nurse's token (the browser sends its session)
        for path in (f"/ui/wards/{WARD}", f"/ui/wards/{WARD}/board"):
            for _ in range(10):  # warm-up: imports, template compilation, SQLite page cache
                client.request("GET", path, headers=headers)
            times = []
            cpu = server.cpu_seconds()
            for _ in range(requests):
                start = time.perf_counter()
                status, _body = client.request("GET", path, headers=headers)
                times.append(time.perf_counter() - start)
                failures += status != 200
            results[path] = latency_summary(times)
            results[path]["server_cpu_ms_per_request"] = round(
                1000 * (server.cpu_seconds() - cpu) / requests, 1
            )
        client.close()
    return results, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with fresh_database("sqlite") as url, tempfile.TemporaryDirectory() as logs:
        migrate(url)
        ctx = build_context(Settings(database_url=url, sqlite_synchronous="NORMAL"))
        publish_questionnaires(ctx)
        hospital = load_hospital(ctx, build_hospital(now=datetime.now(UTC)))
        patients = [a.patient["id"] for a in hospital.admitted if ward_code_of(hospital, a) == WARD]
        recorded = _record_risk_assessments(ctx, patients)
        local = _in_process(ctx, repeats=30)
        ctx.uow.engine.dispose()
        http, failures = _over_http(url, args.requests, Path(logs))
    page = http[f"/ui/wards/{WARD}"]
    ok = page["p95_ms"] <= TARGET_P95_MS
    print(
        f"## Ward board ({local['beds']} beds, {local['occupied']} patients, "
        f"{recorded} risk assessments, {local['flags']} risk flags shown)\n"
    )
    rows = [
        ["board data (in process)", local["data"]["p50_ms"], local["data"]["p95_ms"], "", ""],
        ["board data, CPU only", local["data_cpu"]["p50_ms"], local["data_cpu"]["p95_ms"], "", ""],
        ["of which the due list", local["due_list"]["p50_ms"], local["due_list"]["p95_ms"], "", ""],
        [
            "of which the due list, CPU only",
            local["due_list_cpu"]["p50_ms"],
            local["due_list_cpu"]["p95_ms"],
            "",
            "",
        ],
        ["page render (in process)", local["render"]["p50_ms"], local["render"]["p95_ms"], "", ""],
        *[
            [
                f"GET {path}",
                s["p50_ms"],
                s["p95_ms"],
                "<= 300" if path == f"/ui/wards/{WARD}" else "",
                verdict(ok) if path == f"/ui/wards/{WARD}" else "",
            ]
            for path, s in http.items()
        ],
    ]
    print(markdown_table(["measure", "p50 ms", "p95 ms", "target", "result"], rows))
    for path, summary in http.items():
        print(f"server CPU per GET {path}: {summary['server_cpu_ms_per_request']} ms")
    saved = write_results(
        "ui",
        {
            "machine": machine(),
            "source": source_state(),
            "in_process": local,
            "http": http,
            "failures": failures,
            "target_p95_ms": TARGET_P95_MS,
        },
    )
    print(f"\nResults: {saved}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
