"""Benchmark: HL7 v2 outbound, from the outbox to a local receiver that ACKs every message.

    .venv/bin/python bench/hl7_outbound.py [--databases sqlite,postgresql] [--messages 1000]

Per database (fresh, migrated with `wardcare migrate`):
1. Queueing cost: NEWS2 score Observations stored one per transaction through the service layer
   (`fhir_interactions.create_in`, as the NEWS2-from-vital-signs hook stores them), first with
   no HL7 destination configured, then with one (the outbox hook builds the ORU^R01 and inserts
   the outbox row in the same transaction). The difference is what the outbox adds to a write.
2. Delivery: the ORU^R01 messages queued in step 1 sent by `OutboundSender` (the thread
   `wardcare serve` runs) to an asyncio MLLP receiver in this process that answers AA at once:
   messages per second from start until the outbox shows every one `sent` (each send waits for
   its ACK and records it durably before the next, in order).
3. For comparison, the same messages sent by the bare MLLP client over one connection with no
   database at all: the ceiling the network round trip and ACK parsing allow.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, machine, markdown_table, migrate, write_results
from wardcare.bootstrap import build_context
from wardcare.config import Hl7Destination, Settings
from wardcare.demo.synthetic_hospital import make_patient
from wardcare.domain import news2
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER
from wardcare.domain.assessment_outcome import from_news2
from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame
from wardcare.hl7v2.mllp_sender import MllpClient, OutboundSender, read_ack
from wardcare.services import assessment_results
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.hl7_outbox_store import SENT, Hl7OutboxStore


@contextmanager
def acking_receiver() -> Iterator[int]:
    """An MLLP receiver that answers AA echoing MSH-10, as fast as it can; yields its port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    stop: list[asyncio.Event] = []

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpFrameDecoder()
        try:
            while chunk := await reader.read(65536):
                for frame in decoder.feed(chunk):
                    control_id = frame.payload.split(b"\r", 1)[0].split(b"|")[9]
                    writer.write(
                        encode_frame(
                            b"MSH|^~\\&|EPR|LTH|WARDCARE|LTH|20261201||ACK|A"
                            + control_id
                            + b"|P|2.5.1\rMSA|AA|"
                            + control_id
                            + b"\r"
                        )
                    )
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def serve() -> None:
        stop.append(asyncio.Event())
        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        async with server:
            await stop[0].wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)


def news2_score(ctx: AppContext, patient: str, index: int) -> dict[str, Any]:
    vitals = news2.VitalSigns(
        respiration_rate=14 + index % 10,
        spo2=95,
        on_oxygen=False,
        systolic_bp=120,
        pulse=80 + index % 40,
        consciousness=news2.Consciousness("A"),
        temperature=37.0,
    )
    loaded = ctx.catalog.get("news2")
    assert loaded is not None
    return assessment_results.score_observation(
        loaded,
        from_news2(news2.news2(vitals, news2.SpO2Scale(1))),
        assessment_results.Context(
            patient=patient,
            encounter=None,
            effective="2026-12-01T10:00:00Z",
            performer=None,
            derived_from=[],
        ),
    )


def store_scores(ctx: AppContext, patient: str, count: int) -> float:
    """Scores stored per second, one transaction each."""
    started = time.perf_counter()
    for index in range(count):
        with ctx.uow.write() as tx:
            fhir.create_in(
                tx,
                ctx,
                actor=UNAUTHENTICATED_DEVELOPER,
                resource=news2_score(ctx, patient, index),
                resource_id=str(uuid.uuid4()),
                run_hooks=False,
            )
    return count / (time.perf_counter() - started)


def run(kind: str, count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with fresh_database(kind) as url, acking_receiver() as port:
        migrate(url)
        destination = Hl7Destination(
            name="EPR", host="127.0.0.1", port=port, message_types=["ORU^R01"]
        )
        plain = build_context(Settings(database_url=url))
        with_outbox = build_context(Settings(database_url=url, hl7_destinations=[destination]))
        patient_resource = make_patient(Faker("en_GB"), random.Random(1))
        created = fhir.create(plain, actor=UNAUTHENTICATED_DEVELOPER, resource=patient_resource)
        patient = f"Patient/{created.stored.id}"
        store_scores(plain, patient, 50)  # warm-up: caches, statement preparation
        # Alternating halves, best of each: the machine is shared, and a burst of someone
        # else's work during one run would otherwise be read as the outbox's cost.
        half = count // 2
        rates: dict[str, list[float]] = {"no_destination": [], "with_outbox": []}
        for _round in range(2):
            rates["no_destination"].append(store_scores(plain, patient, half))
            rates["with_outbox"].append(store_scores(with_outbox, patient, half))
        for name, values in rates.items():
            results[f"scores_stored_per_s_{name}"] = round(max(values))
        count = 2 * half
        with with_outbox.uow.read() as tx:
            queued = Hl7OutboxStore(tx.connection).queue_head("EPR", limit=count + 1)
        assert len(queued) == count, f"expected {count} queued messages, found {len(queued)}"

        started = time.perf_counter()
        with OutboundSender(with_outbox, poll_seconds=0.01):
            while True:
                with with_outbox.uow.read() as tx:
                    counts = Hl7OutboxStore(tx.connection).counts()
                if counts.get(("EPR", SENT), 0) == count:
                    break
                time.sleep(0.01)
        results["delivered_per_s"] = round(count / (time.perf_counter() - started))

        client = MllpClient("127.0.0.1", port, timeout=10)
        started = time.perf_counter()
        for message in queued:
            ack = read_ack(client.exchange(message.message.encode()))
            assert ack is not None
            assert ack.code == "AA"
        results["bare_mllp_round_trips_per_s"] = round(count / (time.perf_counter() - started))
        client.close()
        for ctx in (plain, with_outbox):
            ctx.uow.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "messages": args.messages}
    rows = []
    for kind in args.databases.split(","):
        results[kind] = run(kind, args.messages)
        rows.extend([kind, name, value] for name, value in results[kind].items())
    print(markdown_table(["database", "measure", "value"], rows))
    print(f"results: {write_results('hl7_outbound', results)}")


if __name__ == "__main__":
    main()
