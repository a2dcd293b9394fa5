"""How many SQLite pages one NEWS2 assessment's commit writes, index by index.

    .venv/bin/python bench/commit_pages.py [--warm 1500] [--sample 20]

A SQLite commit writes each page it changed to the WAL, so on this machine a write costs
mostly its page count (docs/benchmarks.md, "Where every target stands"). In process, on a
fresh file: `--warm` assessments fill the store, then for each of `--sample` more the file is
checkpointed (TRUNCATE), copied page by page, one assessment is recorded and checkpointed
again, and every page that differs is charged to the table or index that owns it (SQLite's
`dbstat`). Unlike a rate, the count does not move with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.assessments import response_body
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.domain.actor import Actor, ActorKind
from wardcare.services import fhir_interactions, record_assessment
from wardcare.storage.migrate import upgrade

NURSE = Actor(ActorKind.USER, "Bench nurse", "Practitioner/bench", frozenset({"user/*.cruds"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=1500)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database = Path(directory) / "pages.db"
        ctx = build_context(Settings(database_url=f"sqlite:///{database}"))
        upgrade(ctx.uow.engine)
        patients = [
            fhir_interactions.create(
                ctx, actor=NURSE, resource={"resourceType": "Patient", "name": [{"family": "B"}]}
            ).stored.id
            for _ in range(200)
        ]
        rng = random.Random(5)

        def record(minute: int) -> None:
            body = json.loads(response_body(rng.choice(patients), rng, minute))
            record_assessment.record_assessment(ctx, actor=NURSE, response=body)

        for minute in range(args.warm):
            record(minute)
        raw = sqlite3.connect(database)
        (size,) = raw.execute("PRAGMA page_size").fetchone()

        def pages() -> list[bytes]:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            data = database.read_bytes()
            return [data[i : i + size] for i in range(0, len(data), size)]

        by_owner: Counter[str] = Counter()
        for k in range(args.sample):
            before = pages()
            record(args.warm + k)
            after = pages()
            owners = {page: name for name, page in raw.execute("SELECT name, pageno FROM dbstat")}
            for number in range(max(len(before), len(after))):
                old = before[number] if number < len(before) else None
                new = after[number] if number < len(after) else None
                if old != new:
                    by_owner[owners.get(number + 1, "(free)")] += 1
        raw.close()
        ctx.uow.engine.dispose()
    total = sum(by_owner.values()) / args.sample
    print(f"pages per assessment commit: {total:.1f} (mean of {args.sample}, {args.warm} stored)")
    for name, count in by_owner.most_common():
        print(f"{count / args.sample:7.2f}  {name}")


if __name__ == "__main__":
    main()
