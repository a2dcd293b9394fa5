"""The HL7 outbox over HTTP, for integration analysts: GET /hl7/outbox shows what is pending,
sent and dead-lettered, with attempts, the last error and ACK; a dead letter can be retried."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.api.fhir_responses import fhir_response
from wardcare.api.worker_threads import run_in_worker
from wardcare.services import hl7_outbox_queue
from wardcare.storage.hl7_outbox_store import OutboxMessage

# An offset beyond any log (the databases store 64-bit integers: a larger one cannot be bound).
MAX_OFFSET = 1_000_000_000
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # a database row id (64-bit)

router = APIRouter(prefix="/hl7/outbox", tags=["HL7 v2"])


def _entry(message: OutboxMessage, *, with_message: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": message.id,
        "destination": message.destination,
        "messageType": message.message_type,
        "controlId": message.control_id,
        "resource": message.resource,
        "patient": message.patient,
        "status": message.status,
        "attempts": message.attempts,
        "created": hl7_outbox_queue.when(message.created),
        "lastAttempt": hl7_outbox_queue.when(message.last_attempt),
        "nextAttempt": hl7_outbox_queue.when(message.next_attempt)
        if message.status == "pending"
        else None,
        "sent": hl7_outbox_queue.when(message.sent),
        "lastError": message.last_error,
        "lastAck": message.last_ack,
    }
    if with_message:
        entry["message"] = message.message
    return entry


@router.get("", summary="Outbound HL7 messages, newest first, with their delivery state")
async def outbox(
    ctx: ContextDep,
    actor: ActorDep,
    status: Annotated[Literal["pending", "sent", "dead-letter"] | None, Query()] = None,
    destination: Annotated[str | None, Query(max_length=64)] = None,
    patient: Annotated[str | None, Query(max_length=255, description="Patient/id")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=500)] = 50,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    view = await run_in_worker(
        lambda: hl7_outbox_queue.outbox(
            ctx,
            actor=actor,
            status=status,
            destination=destination,
            patient=patient,
            count=count,
            offset=offset,
        )
    )
    counts: dict[str, dict[str, int]] = {}
    for (name, state), number in sorted(view.counts.items()):
        counts.setdefault(name, {})[state] = number
    return fhir_response(
        {
            "destinations": [d.name for d in ctx.settings.hl7_destinations],
            "counts": counts,
            "messages": [_entry(m) for m in view.messages],
        }
    )


@router.get("/{message_id}", summary="One outbound message, with the HL7 text as sent")
async def outbox_message(message_id: MessageId, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await run_in_worker(
        lambda: hl7_outbox_queue.outbox_message(ctx, actor=actor, message_id=message_id)
    )
    return fhir_response(_entry(found, with_message=True))


@router.post("/{message_id}/$retry", summary="Put a dead letter back in its destination's queue")
async def retry(message_id: MessageId, ctx: ContextDep, actor: ActorDep) -> Response:
    requeued = await run_in_worker(
        lambda: hl7_outbox_queue.retry_dead_letter(ctx, actor=actor, message_id=message_id)
    )
    return fhir_response(_entry(requeued))
