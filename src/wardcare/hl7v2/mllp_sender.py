"""Delivering the HL7 outbox over MLLP: in order, one message at a time, each acknowledged.

One thread per destination (destinations never hold each other up) takes the destination's
oldest pending message, sends it in an MLLP frame, and waits for the acknowledgement:
- MSA-2 (message control ID) must echo the message's MSH-10; any other ACK is not about this
  message (a late answer to an earlier attempt, a confused peer), so it is not accepted, and the
  connection is closed so that a stale ACK can never be read as the next message's;
- AA (or CA) -> sent;
- AR (or CR), a timeout, a dropped or refused connection, a mismatched MSA-2 -> retried with
  exponential backoff until the receiver takes it: the receiver cannot take anything now, and
  dropping the message would lose a result;
- AE (or CE) -> retried, and after the destination's `max_attempts` moved to the dead-letter
  list (`GET /hl7/outbox?status=dead-letter`), so one message the receiver cannot apply does not
  stop the results behind it.
A message is never sent before the ones queued ahead of it for its destination have been
delivered or dead-lettered. The outbox row is updated only after the ACK is read, so a sender
stopped at any point sends the message again on restart (at-least-once delivery; the unchanged
MSH-10 lets the receiver recognise the resend).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from dataclasses import dataclass
from enum import Enum

from wardcare.config import Hl7Destination
from wardcare.fhir.dates import to_micros
from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame
from wardcare.services import hl7_outbox_queue
from wardcare.services.context import AppContext
from wardcare.storage.hl7_outbox_store import OutboxMessage

log = logging.getLogger("wardcare.hl7.outbound")
_ACK_FRAME_LIMIT = 1024 * 1024
_BATCH = 32


class Verdict(Enum):
    ACCEPTED = "accepted"
    APPLICATION_ERROR = "application-error"  # AE: dead-lettered after max_attempts
    RETRY = "retry"  # AR, timeout, connection trouble, wrong MSA-2: retried until taken


@dataclass(frozen=True)
class DeliveryResult:
    verdict: Verdict
    detail: str
    ack: str | None = None


@dataclass(frozen=True)
class Acknowledgement:
    code: str  # MSA-1
    control_id: str  # MSA-2
    text: str  # MSA-3 and any ERR-8 diagnostic text, for people reading the outbox


def read_ack(payload: bytes) -> Acknowledgement | None:
    """MSA-1, MSA-2 and the error text of an ACK; None if it has no MSA segment."""
    text = payload.decode("utf-8", errors="replace")
    segments = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 4:
        return None
    separator = segments[0][3]
    msa = next((s.split(separator) for s in segments if s.startswith("MSA")), None)
    if msa is None or len(msa) < 3:
        return None
    notes = [msa[3]] if len(msa) > 3 and msa[3] else []
    for err in (s.split(separator) for s in segments if s.startswith("ERR")):
        if len(err) > 8 and err[8]:
            notes.append(err[8])
    return Acknowledgement(msa[1].strip(), msa[2].strip(), "; ".join(notes))


def judge(ack: Acknowledgement | None, control_id: str) -> tuple[Verdict, str]:
    if ack is None:
        return Verdict.RETRY, "the answer was not an HL7 acknowledgement (no MSA segment)"
    if ack.control_id != control_id:
        return Verdict.RETRY, f"MSA-2 {ack.control_id!r} does not match MSH-10 {control_id!r}"
    suffix = f": {ack.text}" if ack.text else ""
    if ack.code in ("AA", "CA"):
        return Verdict.ACCEPTED, f"{ack.code}{suffix}"
    if ack.code in ("AE", "CE"):
        return Verdict.APPLICATION_ERROR, f"{ack.code} (application error){suffix}"
    return Verdict.RETRY, f"{ack.code or 'no MSA-1'} (rejected){suffix}"


def backoff_seconds(attempts: int, *, initial: float, maximum: float) -> float:
    """Wait before attempt `attempts + 1`: initial, doubled after each failure, capped."""
    return float(min(maximum, initial * 2 ** max(0, attempts - 1)))


class MllpClient:
    """One connection to a receiver, opened when needed and dropped after any trouble."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._socket: socket.socket | None = None

    def exchange(self, message: bytes) -> bytes:
        """Send one message and return the next frame the receiver sends back."""
        if self._socket is None:
            self._socket = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock = self._socket
        sock.settimeout(self.timeout)
        sock.sendall(encode_frame(message))
        decoder = MllpFrameDecoder(_ACK_FRAME_LIMIT)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the receiver closed the connection before acknowledging")
            frames = decoder.feed(chunk)
            if frames:
                return frames[0].payload

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def deliver(client: MllpClient, message: OutboxMessage) -> DeliveryResult:
    """One attempt: send, wait for the ACK, judge it."""
    try:
        payload = client.exchange(message.message.encode("utf-8"))
    except TimeoutError:
        client.close()
        return DeliveryResult(Verdict.RETRY, f"no acknowledgement within {client.timeout:g} s")
    except OSError as exc:
        client.close()
        return DeliveryResult(Verdict.RETRY, f"connection to {client.host}:{client.port}: {exc}")
    ack = read_ack(payload)
    verdict, detail = judge(ack, message.control_id)
    if verdict is Verdict.RETRY:
        client.close()
    return DeliveryResult(verdict, detail, payload.decode("utf-8", errors="replace"))


class OutboundSender:
    """The background sender `wardcare serve` starts: a thread per configured destination."""

    def __init__(self, ctx: AppContext, *, poll_seconds: float = 0.2) -> None:
        self._ctx = ctx
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[MllpClient] = []

    def start(self) -> OutboundSender:
        for destination in self._ctx.settings.hl7_destinations:
            client = MllpClient(
                destination.host, destination.port, timeout=destination.ack_timeout_seconds
            )
            self._clients.append(client)
            thread = threading.Thread(
                target=self._run,
                args=(destination, client),
                name=f"hl7-outbound-{destination.name}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the attempt in progress; undelivered messages stay in the outbox."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        for client in self._clients:
            client.close()

    def __enter__(self) -> OutboundSender:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self, destination: Hl7Destination, client: MllpClient) -> None:
        while not self._stop.is_set():
            try:
                wait = self._drain(destination, client)
            except Exception:  # the database or a bug: log it, keep the thread, try again
                log.exception("HL7 outbound to %s failed; retrying", destination.name)
                client.close()
                wait = self._poll
            if wait > 0:
                self._stop.wait(wait)
        client.close()

    def _drain(self, destination: Hl7Destination, client: MllpClient) -> float:
        """Send what is due, in order; return how long to wait before looking again.

        ACKs are recorded once per run of messages (up to _BATCH, one transaction), not once
        per message: a sender killed mid-run sends that run's messages again on restart, with
        the same MSH-10s, which a receiver recognises as resends (MSH-10 identifies a message).
        """
        ctx, settings = self._ctx, self._ctx.settings
        head = hl7_outbox_queue.queue_head(ctx, destination=destination.name, limit=_BATCH)
        if not head:
            return self._poll
        delivered: list[hl7_outbox_queue.Delivered] = []
        try:
            for message in head:
                if self._stop.is_set():
                    return 0
                now = to_micros(ctx.clock.now())
                if message.next_attempt > now:
                    # The head waits out its backoff, and so does everything behind it.
                    return min((message.next_attempt - now) / 1_000_000, self._poll)
                result = deliver(client, message)
                if result.verdict is Verdict.ACCEPTED:
                    at = to_micros(ctx.clock.now())
                    delivered.append(hl7_outbox_queue.Delivered(message.id, result.ack or "", at))
                    continue
                attempts = message.attempts + 1
                dead = result.verdict is Verdict.APPLICATION_ERROR and (
                    attempts >= destination.max_attempts
                )
                log.warning(
                    "HL7 %s %s to %s, attempt %d: %s%s",
                    message.message_type,
                    message.control_id,
                    destination.name,
                    attempts,
                    result.detail,
                    " -> dead letter" if dead else "",
                )
                failed = hl7_outbox_queue.Failed(
                    message.id,
                    result.detail,
                    result.ack,
                    backoff_seconds(
                        attempts,
                        initial=settings.hl7_retry_initial_seconds,
                        maximum=settings.hl7_retry_max_seconds,
                    ),
                    dead,
                )
                hl7_outbox_queue.record_delivery(ctx, delivered=delivered, failed=failed)
                delivered = []
                return 0  # read the queue again: the head is now waiting, or dead-lettered
            return 0
        finally:
            hl7_outbox_queue.record_delivery(ctx, delivered=delivered)
