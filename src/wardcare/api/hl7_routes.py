"""The inbound HL7 v2 message log: /hl7/messages (filters) and $reprocess after a fix."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from wardcare import errors
from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.api.fhir_responses import fhir_response
from wardcare.api.worker_threads import run_in_worker
from wardcare.fhir.dates import InvalidDate, date_range, from_micros, instant
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.hl7v2.message_parsing import ParseProblem
from wardcare.services import authorisation, hl7_inbound
from wardcare.storage.hl7_message_log import STATUSES, LogFilter, LoggedMessage

# An offset beyond any log (the databases store 64-bit integers: a larger one cannot be bound).
MAX_OFFSET = 1_000_000_000
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # a database row id (64-bit)

router = APIRouter(prefix="/hl7", tags=["HL7 v2"])


def _handler(request: Request) -> InboundHandler:
    handler: InboundHandler | None = getattr(request.app.state, "hl7_inbound", None)
    if handler is None:
        handler = request.app.state.hl7_inbound = InboundHandler(request.app.state.context)
    return handler


@router.get("/messages", summary="Inbound HL7 v2 messages, newest first, with their ACKs")
async def messages(
    ctx: ContextDep,
    actor: ActorDep,
    status: str | None = Query(None, description="received, accepted, error or rejected"),
    type: str | None = Query(None, description="ADT, ORU^R01, ..."),
    patient: str | None = Query(None, description="nhs:<number> or mrn:<number>"),
    control_id: str | None = Query(None, alias="control-id"),
    sender: str | None = Query(None, description="MSH-3 sending application"),
    since: str | None = Query(None, description="received at or after (FHIR dateTime)"),
    count: int = Query(50, alias="_count", ge=1, le=500),
    offset: int = Query(0, alias="_offset", ge=0, le=MAX_OFFSET),
) -> Response:
    if status is not None and status not in STATUSES:
        raise errors.invalid(f"status must be one of {', '.join(STATUSES)}", "status")
    try:
        received_from = date_range(since)[0] if since else None
    except InvalidDate as exc:
        raise errors.invalid(f"since: {exc}", "since") from exc
    where = LogFilter(
        status=status,
        message_type=type,
        patient_key=patient,
        control_id=control_id,
        sending_application=sender,
        received_from=received_from,
        count=count,
        offset=offset,
    )
    found, total = await run_in_worker(
        lambda: hl7_inbound.list_messages(ctx, actor=actor, where=where)
    )
    return fhir_response({"total": total, "messages": [_view(m) for m in found]})


@router.get("/messages/{message_id}", summary="One inbound message, with its raw text")
async def message(message_id: MessageId, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await run_in_worker(
        lambda: hl7_inbound.get_message(ctx, actor=actor, message_id=message_id)
    )
    if found is None:
        raise errors.not_found(f"There is no inbound HL7 message {message_id}")
    return fhir_response({**_view(found), "raw": found.raw})


@router.post(
    "/messages/{message_id}/$reprocess",
    summary="Apply a logged message again (after the cause of its AE was fixed)",
)
async def reprocess(
    message_id: MessageId, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    # Reprocessing writes what the message carries, for any patient: integration scopes only.
    authorisation.authorise_interface(actor, act=True)
    handler = _handler(request)
    try:
        acks = await run_in_worker(lambda: handler.reprocess(message_id))
    except ParseProblem as exc:
        raise errors.unprocessable(f"The logged message cannot be read: {exc}") from exc
    found = await run_in_worker(
        lambda: hl7_inbound.get_message(ctx, actor=actor, message_id=message_id)
    )
    if found is None:
        raise errors.not_found(f"There is no inbound HL7 message {message_id}")
    return fhir_response({**_view(found), "acks": [a.decode() for a in acks]})


def _view(m: LoggedMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "receivedAt": instant(from_micros(m.received_at)),
        "processedAt": instant(from_micros(m.processed_at)) if m.processed_at else None,
        "sendingApplication": m.sending_application,
        "sendingFacility": m.sending_facility,
        "controlId": m.control_id,
        "messageType": m.message_type,
        "patient": m.patient_key,
        "status": m.status,
        "ackCode": m.ack_code,
        "ack": hl7_inbound.stored_acks(m)[0].decode() if m.ack else None,
        "error": m.error,
        "resources": m.resources,
        "attempts": m.attempts,
    }
