"""The HL7 outbox queue, for the sender and for people: what is due for a destination, what each
delivery attempt came to, the queue as integration analysts see it, and retrying a dead letter.
(What is queued, and when, is services/hl7_outbox.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.errors import Category
from wardcare.fhir.dates import from_micros, instant, to_micros
from wardcare.services import authorisation
from wardcare.services.context import AppContext
from wardcare.storage.hl7_outbox_store import DEAD_LETTER, Hl7OutboxStore, OutboxMessage


@dataclass(frozen=True)
class OutboxView:
    messages: list[OutboxMessage]
    counts: dict[tuple[str, str], int]


def queue_head(ctx: AppContext, *, destination: str, limit: int) -> list[OutboxMessage]:
    with ctx.uow.read() as tx:
        return Hl7OutboxStore(tx.connection).queue_head(destination, limit=limit)


@dataclass(frozen=True)
class Delivered:
    message_id: int
    ack: str
    at: int  # microseconds since the epoch, UTC


@dataclass(frozen=True)
class Failed:
    message_id: int
    error: str
    ack: str | None
    retry_after_seconds: float
    dead_letter: bool


def record_delivery(
    ctx: AppContext, *, delivered: Sequence[Delivered], failed: Failed | None = None
) -> None:
    """What a run of attempts came to, in one transaction (one fsync for a run of ACKs)."""
    if not delivered and failed is None:
        return
    with ctx.uow.write() as tx:
        store = Hl7OutboxStore(tx.connection)
        for done in delivered:
            store.mark_sent(done.message_id, ack=done.ack, now=done.at)
        if failed is not None:
            now = to_micros(ctx.clock.now())
            store.record_failure(
                failed.message_id,
                error=failed.error,
                ack=failed.ack,
                now=now,
                next_attempt=now + int(failed.retry_after_seconds * 1_000_000),
                dead_letter=failed.dead_letter,
            )


def outbox(
    ctx: AppContext,
    *,
    actor: Actor,
    status: str | None = None,
    destination: str | None = None,
    patient: str | None = None,
    count: int = 50,
    offset: int = 0,
) -> OutboxView:
    authorisation.authorise_interface(actor)
    with ctx.uow.read() as tx:
        store = Hl7OutboxStore(tx.connection)
        return OutboxView(
            store.listing(
                status=status, destination=destination, patient=patient, limit=count, offset=offset
            ),
            store.counts(),
        )


def outbox_message(ctx: AppContext, *, actor: Actor, message_id: int) -> OutboxMessage:
    authorisation.authorise_interface(actor)
    with ctx.uow.read() as tx:
        found = Hl7OutboxStore(tx.connection).get(message_id)
    if found is None:
        raise errors.not_found(f"Outbox message {message_id} is not known")
    return found


def retry_dead_letter(ctx: AppContext, *, actor: Actor, message_id: int) -> OutboxMessage:
    """Put a dead letter back at its place in its destination's queue (e.g. after the receiving
    system's mapping was fixed); who did it is kept with the message's error history."""
    authorisation.authorise_interface(actor, act=True)
    now = ctx.clock.now()
    note = f" | requeued by {actor.display} at {instant(now)}"
    with ctx.uow.write() as tx:
        store = Hl7OutboxStore(tx.connection)
        found = store.get(message_id)
        if found is None:
            raise errors.not_found(f"Outbox message {message_id} is not known")
        if found.status != DEAD_LETTER or not store.requeue(
            message_id, note=note, now=to_micros(now)
        ):
            raise errors.error(
                Category.CONFLICT,
                f"Outbox message {message_id} is {found.status}; only a dead letter is retried",
            )
        requeued = store.get(message_id)
    assert requeued is not None
    return requeued


def when(micros: int | None) -> str | None:
    return instant(from_micros(micros)) if micros is not None else None
