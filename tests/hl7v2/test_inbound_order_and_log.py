"""Per-patient order, the message log API (/hl7/messages, $reprocess) and the `wardcare hl7`
commands."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.hl7v2.inbound_support import SAMPLES, ack_fields, current, sample
from tests.hl7v2.mllp_support import running_listener
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.hl7v2.inbound_ordering import PatientQueues
from wardcare.services.context import AppContext

WARDCARE = [sys.executable, "-m", "wardcare"]


def test_one_patients_messages_run_in_arrival_order_and_others_are_not_held_up() -> None:
    async def scenario() -> list[str]:
        queues = PatientQueues()
        order: list[str] = []
        release = asyncio.Event()

        async def message(key: str, name: str, wait: bool = False) -> None:
            async with queues.hold([key]):
                order.append(f"start {name}")
                if wait:
                    await release.wait()
                order.append(f"end {name}")

        first = asyncio.create_task(message("nhs:1", "A01", wait=True))
        await asyncio.sleep(0)
        later = [asyncio.create_task(message("nhs:1", n)) for n in ("A02", "A03")]
        other = asyncio.create_task(message("nhs:2", "other patient"))
        await other  # not blocked by patient 1's unfinished message
        release.set()
        await asyncio.gather(first, *later)
        return order

    order = asyncio.run(scenario())
    assert order == [
        "start A01",
        "start other patient",
        "end other patient",
        "end A01",
        "start A02",
        "end A02",
        "start A03",
        "end A03",
    ]


def test_the_log_lists_messages_and_reprocess_applies_one_after_the_fix(
    context: AppContext, client: TestClient
) -> None:
    handler = InboundHandler(context)
    [ack] = handler.handle(original_mode(sample("oru_r01_vitals.hl7")))  # patient not yet known
    assert ack_fields(ack)["MSA"][1] == "AE"
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    listed = client.get("/hl7/messages", params={"status": "error"}).json()
    assert listed["total"] == 1
    [failed] = listed["messages"]
    assert failed["messageType"] == "ORU^R01"
    assert failed["controlId"] == "EOBS0000001"
    assert "PID-3" in failed["error"]
    assert failed["ack"].startswith("MSH|")
    assert client.get("/hl7/messages", params={"type": "ADT"}).json()["total"] == 1
    assert client.get("/hl7/messages", params={"status": "bogus"}).status_code == 400
    done = client.post(f"/hl7/messages/{failed['id']}/$reprocess").json()
    assert done["status"] == "accepted"
    assert done["attempts"] == 2
    assert ack_fields(done["acks"][0].encode())["MSA"][1:3] == ["AA", "EOBS0000001"]
    assert len([r for r in done["resources"] if r.startswith("Observation/")]) == 8
    assert client.post("/hl7/messages/999999/$reprocess").status_code == 404
    raw = client.get(f"/hl7/messages/{failed['id']}").json()["raw"]
    assert raw.startswith("MSH|^~\\&|EOBS|WARD7")


def test_hl7_send_prints_each_ack(context: AppContext) -> None:
    with running_listener(context) as listener:
        result = subprocess.run(
            [
                *WARDCARE,
                "hl7",
                "send",
                str(SAMPLES / "adt_a01_admit.hl7"),
                str(SAMPLES / "bad/unsupported_qry_a19.hl7"),
                "--host",
                "127.0.0.1",
                "--port",
                str(listener.port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert "MSA|CA|PAS000101" in result.stdout
    assert "MSA|AR|PAS000902" in result.stdout


def test_hl7_import_applies_a_batch_file(
    context: AppContext, database_url: str, tmp_path: Path
) -> None:
    batch = (
        b"FHS|^~\\&|PAS|LTH\rBHS|^~\\&|PAS|LTH\r"
        + b"".join(
            original_mode(sample(n))
            for n in ("adt_a01_admit.hl7", "oru_r01_vitals.hl7", "bad/unsupported_qry_a19.hl7")
        )
        + b"BTS|3\rFTS|1\r"
    )
    path = tmp_path / "batch.hl7"
    path.write_bytes(batch)
    result = subprocess.run(
        [*WARDCARE, "hl7", "import", str(path), "--database", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "AA: 2" in result.stdout
    assert "AR: 1" in result.stdout
    assert len(current(context, "Patient")) == 1
