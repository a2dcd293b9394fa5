"""A/B of recording assessments: this checkout against another commit, in interleaved rounds.

    .venv/bin/python bench/assessments_ab.py BASE_COMMIT [--pairs 12] [--assessments 400]

This machine's speed drifts by tens of per cent within minutes, so two benchmark runs an hour
(or five minutes) apart cannot show a 5 % change. Here both servers run at once on fresh SQLite
files: the base commit's code from a temporary `git worktree` (its `src/` first on PYTHONPATH),
this checkout's as installed. Each pair is one round of `--assessments` on each, in alternating
order, so a drift hits both alike; the median of the per-pair ratios (server CPU and rate,
this / base) is the result. Nothing is written to bench/results: this is for deciding whether
a change helped, not a target's figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.assessments import HEADERS, _client
from bench.common import (
    REPO,
    KeepAliveClient,
    Server,
    free_port,
    fresh_database,
    migrate,
    running_server,
)


@contextlib.contextmanager
def base_checkout(commit: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wardcare-ab-") as directory:
        tree = Path(directory) / "base"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), commit],
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
            )


def _patients(server: Server) -> list[str]:
    client = KeepAliveClient("127.0.0.1", server.port)
    found = []
    for n in range(200):
        body = json.dumps({"resourceType": "Patient", "name": [{"family": f"AB{n}"}]}).encode()
        status, answer = client.request("POST", "/fhir/Patient", body, HEADERS)
        assert status == 201, answer
        found.append(json.loads(answer)["id"])
    client.close()
    _client(server.port, found, 300, 99)  # warm up: caches, statements, the first ANALYZE
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--assessments", type=int, default=400)
    args = parser.parse_args()
    logs = Path(tempfile.gettempdir()) / "wardcare-bench-logs"
    rounds: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
    with contextlib.ExitStack() as stack:
        tree = stack.enter_context(base_checkout(args.base))
        servers: dict[str, tuple[Server, list[str]]] = {}
        for label, pythonpath in (("base", str(tree / "src")), ("this", None)):
            saved = os.environ.pop("PYTHONPATH", None)
            if pythonpath:
                os.environ["PYTHONPATH"] = pythonpath
            try:
                url = stack.enter_context(fresh_database("sqlite"))
                migrate(url)
                server = stack.enter_context(
                    running_server(url, log_dir=logs, mllp_port=str(free_port()))
                )
            finally:
                os.environ.pop("PYTHONPATH", None)
                if saved is not None:
                    os.environ["PYTHONPATH"] = saved
            servers[label] = (server, _patients(server))
        for pair in range(args.pairs):
            for label in ("base", "this") if pair % 2 == 0 else ("this", "base"):
                server, patients = servers[label]
                cpu = server.cpu_seconds()
                done, failures, elapsed = _client(
                    server.port, patients, args.assessments, 1000 + pair
                )
                if failures:
                    raise RuntimeError(f"{failures} assessments failed on {label}")
                rounds[label].append((done / elapsed, 1000 * (server.cpu_seconds() - cpu) / done))
    for label, measured in rounds.items():
        rates = [round(rate, 1) for rate, _cpu in measured]
        cpu_ms = statistics.median(cpu for _rate, cpu in measured)
        rate = statistics.median(rates)
        print(f"{label}: median {rate:.1f}/s, {cpu_ms:.2f} ms CPU; rounds {rates}")
    pairs = list(zip(rounds["base"], rounds["this"], strict=True))
    cpu_ratio = statistics.median(this[1] / base[1] for base, this in pairs)
    rate_ratio = statistics.median(this[0] / base[0] for base, this in pairs)
    print(f"this / base, median of {len(pairs)} pairs: CPU {cpu_ratio:.3f}, rate {rate_ratio:.3f}")


if __name__ == "__main__":
    main()
