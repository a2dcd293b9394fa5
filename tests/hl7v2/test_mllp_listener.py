"""The listener over real sockets, with an independent MLLP client (python-hl7's hl7.mllp) and
with raw sockets for what a library would not send: garbage, oversize frames, a drop mid-frame,
a byte-at-a-time sender. After each, the server still serves and the database is right."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import hl7
import hl7.mllp
import pytest

from tests.hl7v2.inbound_support import ack_fields, current, sample
from tests.hl7v2.mllp_support import frame, read_frames, running_listener, send_raw
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.config import Settings
from wardcare.hl7v2.mllp_framing import DEFAULT_MAX_FRAME_SIZE
from wardcare.hl7v2.mllp_listener import DEFAULT_IDLE_TIMEOUT
from wardcare.services.context import AppContext
from wardcare.storage import hl7_message_log

ADMIT = original_mode(sample("adt_a01_admit.hl7"))
VITALS = original_mode(sample("oru_r01_vitals.hl7"))


async def _send_with_python_hl7(port: int, messages: list[bytes]) -> list[hl7.Message]:
    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port, encoding="latin-1")
    acks = []
    try:
        for message in messages:
            writer.writemessage(hl7.parse(message.decode("latin-1")))
            await writer.drain()
            acks.append(await asyncio.wait_for(reader.readmessage(), 20))
    finally:
        writer.close()
        await writer.wait_closed()
    return acks


def _log(context: AppContext) -> list[hl7_message_log.LoggedMessage]:
    with context.uow.read() as tx:
        return hl7_message_log.search(tx.connection, hl7_message_log.LogFilter(count=500))[0]


def test_an_independent_client_gets_aa_and_a_duplicate_the_same_ack(context: AppContext) -> None:
    with running_listener(context) as listener:
        acks = asyncio.run(_send_with_python_hl7(listener.port, [ADMIT, VITALS, VITALS]))
    assert [str(a.segment("MSA")[1]) for a in acks] == ["AA", "AA", "AA"]
    assert [str(a.segment("MSA")[2]) for a in acks] == ["PAS000101", "EOBS0000001", "EOBS0000001"]
    assert str(acks[1]) == str(acks[2])  # the original ACK, unchanged
    vitals = [
        o
        for o in current(context, "Observation")
        if o["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    assert len(vitals) == 6  # RR, SpO2, O2 flow, BP panel, pulse, temperature: stored once


def test_garbage_before_a_frame_is_skipped(context: AppContext) -> None:
    with running_listener(context) as listener:
        [ack] = send_raw(listener.port, b"\r\nNOISE\x00\xff" + frame(ADMIT))
    assert ack_fields(ack)["MSA"][1:3] == ["AA", "PAS000101"]


def test_an_oversize_frame_is_rejected_its_connection_closed_and_others_served(
    context: AppContext,
) -> None:
    big = ADMIT.replace(b"NK1|1|Jones^Peter", b"NK1|1|" + b"X" * 5000)
    with (
        running_listener(context, max_frame_size=2000) as listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=20) as other,
        socket.create_connection(("127.0.0.1", listener.port), timeout=20) as sender,
    ):
        other.sendall(frame(ADMIT)[:100])  # another connection, mid-frame meanwhile
        sender.sendall(frame(big) + frame(VITALS))
        [ack] = read_frames(sender, 1)
        # AR naming the sender (MSH read from the head that was kept), then the connection
        # is closed: the frame after the oversize one is neither stored nor answered.
        assert sender.recv(65536) == b""
        other.sendall(frame(ADMIT)[100:])
        [other_ack] = read_frames(other, 1)
    fields = ack_fields(ack)
    assert fields["MSA"][1:3] == ["AR", "PAS000101"]
    assert fields["MSH"][2:6] == ["WARDCARE", "LTH", "PAS", "LTH"]  # MSH-3..6, swapped
    assert fields["ERR"][3].startswith("207^")
    assert ack_fields(other_ack)["MSA"][1:3] == ["AA", "PAS000101"]
    assert len(current(context, "Patient")) == 1
    assert [m.control_id for m in _log(context)] == ["PAS000101"]  # the vitals never arrived


def test_a_connection_dropped_mid_frame_stores_and_acks_nothing(context: AppContext) -> None:
    with running_listener(context) as listener:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as conn:
            conn.sendall(frame(ADMIT)[: len(ADMIT) // 2])
        # The server still serves other connections, and stored nothing from the broken one.
        acks = send_raw(listener.port, frame(VITALS))
    [ack] = acks
    assert ack_fields(ack)["MSA"][1] == "AE"  # the patient was never admitted
    assert current(context, "Patient") == []
    assert [m.control_id for m in _log(context)] == ["EOBS0000001"]


def test_a_slow_sender_one_byte_at_a_time(context: AppContext) -> None:
    with (
        running_listener(context) as listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=20) as conn,
    ):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in frame(ADMIT):
            conn.sendall(bytes([byte]))
        [ack] = read_frames(conn, 1)
    assert ack_fields(ack)["MSA"][1] == "AA"


def test_an_idle_connection_is_closed(context: AppContext) -> None:
    with (
        running_listener(context, idle_timeout=0.2) as listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=10) as conn,
    ):
        assert conn.recv(10) == b""  # closed by the server, not by us


def test_the_idle_timeout_closes_only_the_idle_connection(context: AppContext) -> None:
    """A busy sender (a byte every 50 ms, against a 2 s timeout) keeps its connection while an
    idle one beside it is closed; the busy one's message is then answered."""
    closed = threading.Event()
    with (
        running_listener(context, idle_timeout=2.0) as listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=30) as idle,
        socket.create_connection(("127.0.0.1", listener.port), timeout=30) as busy,
    ):

        def watch() -> None:
            if idle.recv(10) == b"":
                closed.set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        busy.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = frame(ADMIT)
        sent = 0
        while not closed.is_set() and sent < len(data) - 1:
            busy.sendall(data[sent : sent + 1])
            sent += 1
            closed.wait(0.05)
        watcher.join(30)
        assert closed.is_set()
        busy.sendall(data[sent:])
        [ack] = read_frames(busy, 1)
    assert ack_fields(ack)["MSA"][1] == "AA"


def test_frame_size_and_idle_timeout_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WARDCARE_MLLP_MAX_FRAME_BYTES", "65536")
    monkeypatch.setenv("WARDCARE_MLLP_IDLE_TIMEOUT_SECONDS", "42.5")
    settings = Settings()
    assert (settings.mllp_max_frame_bytes, settings.mllp_idle_timeout_seconds) == (65536, 42.5)
    monkeypatch.delenv("WARDCARE_MLLP_MAX_FRAME_BYTES")
    monkeypatch.delenv("WARDCARE_MLLP_IDLE_TIMEOUT_SECONDS")
    assert (Settings().mllp_max_frame_bytes, Settings().mllp_idle_timeout_seconds) == (
        DEFAULT_MAX_FRAME_SIZE,
        DEFAULT_IDLE_TIMEOUT,
    )


def test_many_connections_and_concurrent_duplicates(context: AppContext) -> None:
    """Eight connections at once, each sending the same admission then its own patients'
    registrations: the duplicate is applied once, every connection gets an AA."""

    async def one(port: int, n: int) -> list[str]:
        messages = [ADMIT] + [
            ADMIT.replace(b"PAS000101", f"REG{n:02d}{i:02d}".encode())
            .replace(b"ADT^A01^ADT_A01", b"ADT^A04^ADT_A01")
            .replace(b"9434765919^^^NHS^NH~RR100001", f"^^^NHS^NH~RN{n:02d}{i:04d}".encode())
            .replace(b"V0001234", f"V{n:02d}{i:05d}".encode())
            for i in range(3)
        ]
        acks = await _send_with_python_hl7(port, messages)
        return [str(a.segment("MSA")[1]) for a in acks]

    async def all_of(port: int) -> list[list[str]]:
        return await asyncio.gather(*(one(port, n) for n in range(8)))

    with running_listener(context) as listener:
        started = time.monotonic()
        results = asyncio.run(all_of(listener.port))
        assert time.monotonic() - started < 120
    assert all(codes == ["AA"] * 4 for codes in results)
    assert len(current(context, "Patient")) == 1 + 8 * 3
    assert len([m for m in _log(context) if m.control_id == "PAS000101"]) == 1
