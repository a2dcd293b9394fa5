"""HL7 v2 inbound benchmark: messages per second durably acknowledged over MLLP.

    .venv/bin/python bench/mllp_ingest.py [--databases sqlite,postgresql] [--messages 600]

Per database (SQLite file in a temporary directory; PostgreSQL in a schema of its own), a real
`wardcare serve` (HTTP and MLLP in one process, default settings) on a fresh, migrated
database:

1. ORU^R01 with 8 OBX (the shared e-obs sample: RR, SpO2, air/oxygen, systolic, diastolic,
   pulse, ACVPU, temperature) for patients registered beforehand, each message a complete set
   a minute after the last, so every message stores its vital signs AND a NEWS2 score. First one
   connection, then 8 connections at once (each with its own patients, as 8 wards' devices).
2. ADT^A01 admissions of new patients (a Patient, an Encounter, bed Locations, an allergy and a
   diagnosis each), one connection, then 8.
3. A bare ACK-only MLLP echo server (framing only, no parsing, no database) on one connection,
   in the same run: the ceiling the transport alone allows on this machine.

Every message must be answered AA (the ACK is sent only after the commit holding its effects).
Clients are separate processes with one plain socket each. Results go to stdout as markdown and
to bench/results/mllp_ingest-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    DATABASES,
    free_port,
    fresh_database,
    machine,
    migrate,
    running_server,
    source_state,
    write_results,
)
from wardcare.domain.nhs_number import check_digit
from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "hl7v2" / "samples"


def _sample(name: str) -> str:
    text = (SAMPLES / name).read_bytes().decode("latin-1")
    return text.replace("\r\n", "\r").replace("\n", "\r").replace("|||AL|NE", "")


def nhs_number(n: int) -> str:
    """The n-th valid NHS number from 9000000000 (skipping prefixes with no check digit)."""
    base = 900_000_000 + n * 7
    while check_digit(str(base)) is None:
        base += 1
    return f"{base}{check_digit(str(base))}"


def admission(n: int, tag: str) -> bytes:
    number = nhs_number(n)
    return (
        _sample("adt_a01_admit.hl7")
        .replace("PAS000101", f"{tag}A{n:07d}")
        .replace("9434765919", number)
        .replace("RR100001", f"B{n:07d}")
        .replace("V0001234", f"V{tag}{n:07d}")
        .replace("BAY2^BED5", f"BAY{n % 6 + 1}^BED{n % 30 + 1}")
        .encode("latin-1")
    )


def vitals(patient: int, n: int, tag: str) -> bytes:
    minute = 600 + n  # one set a minute: each message completes a set (NEWS2 every message)
    when = f"202611{22 + minute // 1440:02d}{minute % 1440 // 60:02d}{minute % 60:02d}00"
    return (
        _sample("oru_r01_vitals.hl7")
        .replace("EOBS0000001", f"{tag}O{patient:04d}{n:07d}")
        .replace("OBS-20261122-0001", f"OBS-{tag}-{patient}-{n}")
        .replace("9434765919", nhs_number(patient))
        .replace("RR100001", f"B{patient:07d}")
        .replace("20261122101000", when)
        .encode("latin-1")
    )


def _client(port: int, messages: list[bytes], out: Any) -> None:
    failures = 0
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        decoder = MllpFrameDecoder()
        for message in messages:
            conn.sendall(encode_frame(message))
            frames = []
            while not frames:
                data = conn.recv(65536)
                if not data:
                    raise ConnectionError("server closed the connection")
                frames = decoder.feed(data)
            if frames[0].payload.split(b"\r")[1].split(b"|")[1] != b"AA":
                failures += 1
    out.put(failures)


def run_clients(port: int, batches: list[list[bytes]]) -> tuple[float, int]:
    """Messages per second over len(batches) connections, and how many were not AA."""
    queue: Any = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_client, args=(port, b, queue)) for b in batches]
    started = time.perf_counter()
    for p in processes:
        p.start()
    failures = sum(queue.get() for _ in processes)
    elapsed = time.perf_counter() - started
    for p in processes:
        p.join()
    return sum(len(b) for b in batches) / elapsed, failures


def _echo_server(port: int, ready: Any) -> None:
    ack = b"MSH|^~\\&|WARDCARE||||20261122||ACK|1|P|2.5.1\rMSA|AA|1\r"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpFrameDecoder()
        while data := await reader.read(65536):
            for _ in decoder.feed(data):
                writer.write(encode_frame(ack))
            await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def echo_figure(messages: int) -> float:
    port = free_port()
    ready: Any = multiprocessing.Event()
    server = multiprocessing.Process(target=_echo_server, args=(port, ready), daemon=True)
    server.start()
    ready.wait(30)
    try:
        rate, _ = run_clients(port, [[vitals(0, n, "E") for n in range(messages)]])
    finally:
        server.terminate()
        server.join()
    return rate


def one_database(kind: str, messages: int, log_dir: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    with fresh_database(kind) as url:
        migrate(url)
        mllp_port = free_port()
        with running_server(url, log_dir=log_dir, mllp_port=str(mllp_port)):
            # 72 patients: 8 for the single connection, 8 per connection for the 8 connections.
            _, failed = run_clients(mllp_port, [[admission(p, "R") for p in range(72)]])
            assert failed == 0, "registration was not acknowledged AA"
            for connections in (1, 8):
                per = messages // connections
                batches = [
                    [
                        vitals(
                            c * 8 + n % 8 + (8 if connections == 8 else 0), n, f"{connections}c{c}"
                        )
                        for n in range(per)
                    ]
                    for c in range(connections)
                ]
                rate, failed = run_clients(mllp_port, batches)
                assert failed == 0, f"{failed} ORU messages were not acknowledged AA"
                figures[f"ORU^R01 (8 OBX), {connections} connection(s)"] = round(rate, 1)
            for connections in (1, 8):
                per = messages // connections
                batches = [
                    [
                        admission(10_000 * (connections + 1) + c * per + n, f"{connections}d{c}")
                        for n in range(per)
                    ]
                    for c in range(connections)
                ]
                rate, failed = run_clients(mllp_port, batches)
                assert failed == 0, f"{failed} ADT messages were not acknowledged AA"
                figures[f"ADT^A01, {connections} connection(s)"] = round(rate, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default=",".join(DATABASES))
    parser.add_argument("--messages", type=int, default=600, help="per scenario")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "source": source_state()}
    results["ACK-only MLLP echo server, 1 connection"] = round(echo_figure(args.messages * 5), 1)
    with tempfile.TemporaryDirectory(prefix="wardcare-mllp-") as logs:
        for kind in args.databases.split(","):
            results[kind] = one_database(kind, args.messages, Path(logs))
    print("| database | scenario | messages/s durably acknowledged |\n|---|---|---|")
    print(
        f"| - | ACK-only echo server, 1 connection | "
        f"{results['ACK-only MLLP echo server, 1 connection']} |"
    )
    for kind in args.databases.split(","):
        for name, value in results[kind].items():
            print(f"| {kind} | {name} | {value} |")
    print(f"load average during the run: {machine()['load_average']}")
    print(f"results: {write_results('mllp_ingest', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
