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


def _wardcare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WARDCARE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_hl7_send_prints_each_exact_ack_and_fails_on_ar(context: AppContext) -> None:
    with running_listener(context) as listener:
        result = _wardcare(
            "hl7",
            "send",
            str(SAMPLES / "adt_a01_admit.hl7"),
            str(SAMPLES / "bad/unsupported_qry_a19.hl7"),
            "--host",
            "127.0.0.1",
            "--port",
            str(listener.port),
        )
    assert result.returncode == 1, result.stderr
    printed = result.stdout.split("\n")
    assert any(line.startswith("MSA|CA|PAS000101") for line in printed)
    assert any(line.startswith("MSA|AR|PAS000902") for line in printed)
    # Each ACK as it came, one segment a line (no wrapping or markup by the terminal).
    assert any(line.startswith("ERR|") and "200^" in line for line in printed)


def test_hl7_send_exits_0_when_every_message_is_accepted_and_1_on_ae(
    context: AppContext, tmp_path: Path
) -> None:
    admit = tmp_path / "admit.hl7"
    admit.write_bytes(original_mode(sample("adt_a01_admit.hl7")))
    invalid = tmp_path / "invalid.hl7"
    invalid.write_bytes(
        original_mode(sample("adt_a08_update.hl7")).replace(b"9434765919", b"9434765918")
    )
    with running_listener(context) as listener:
        port = ["--host", "127.0.0.1", "--port", str(listener.port)]
        good = _wardcare("hl7", "send", str(admit), *port)
        bad = _wardcare("hl7", "send", str(invalid), *port)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "MSA|AA|PAS000101" in good.stdout
    assert bad.returncode == 1
    assert "MSA|AE|PAS000104" in bad.stdout


def test_hl7_send_waits_for_both_acks_in_enhanced_mode(context: AppContext, tmp_path: Path) -> None:
    both = tmp_path / "both.hl7"
    both.write_bytes(
        sample("adt_a01_admit.hl7").replace(b"|||AL|NE||8859/1", b"|||AL|AL||8859/1")
        + original_mode(sample("adt_a02_transfer.hl7"))
    )
    with running_listener(context) as listener:
        result = _wardcare("hl7", "send", str(both), "--port", str(listener.port))
    assert result.returncode == 0, result.stdout + result.stderr
    codes = [line.split("|")[1:3] for line in result.stdout.split("\n") if line.startswith("MSA")]
    assert codes == [["CA", "PAS000101"], ["AA", "PAS000101"], ["AA", "PAS000102"]]


def test_hl7_import_reports_each_message_and_fails_when_one_is_not_applied(
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
    result = _wardcare("hl7", "import", str(path), "--database", database_url)
    assert result.returncode == 1, result.stderr
    lines = [line.split("\t") for line in result.stdout.split("\n") if "\t" in line]
    assert [line[:5] for line in lines] == [
        ["1", "PAS000101", "ADT^A01", "AA", "accepted"],
        ["2", "EOBS0000001", "ORU^R01", "AA", "accepted"],
        ["3", "PAS000902", "QRY^A19", "AR", "rejected"],
    ]
    assert "AA: 2" in result.stdout
    assert "AR: 1" in result.stdout
    assert "applied: 2 of 3" in result.stdout
    assert len(current(context, "Patient")) == 1


def test_hl7_import_exits_0_when_every_message_is_applied_even_with_only_a_commit_ack(
    context: AppContext, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "day.hl7"
    # The samples ask for a commit ACK only (MSH-15 AL, MSH-16 NE): the log says applied.
    path.write_bytes(sample("adt_a01_admit.hl7") + sample("adt_a02_transfer.hl7"))
    result = _wardcare("hl7", "import", str(path), "--database", database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied: 2 of 2" in result.stdout
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(sample("adt_a08_update.hl7").replace(b"9434765919", b"9434765918"))
    failed = _wardcare("hl7", "import", str(bad), "--database", database_url)
    assert failed.returncode == 1
    assert "\terror\t" in failed.stdout
    assert "Modulus 11" in failed.stdout
