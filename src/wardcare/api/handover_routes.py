"""Handover documents and notes over HTTP.

- `GET /wards/{ward}/handover.pdf` the ward sheet; `GET /fhir/Patient/{id}/$handover` the patient
  handover. Each print is kept as a DocumentReference (its URL in `Content-Location`), so these
  GETs write: printing is an act the record remembers, like a read audit.
- `POST /patients/{id}/handover-notes` records an SBAR note, `PUT .../{note}` revises it (with
  If-Match), `POST .../{note}/acknowledge` is the receiving nurse taking the handover.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from wardcare.api.dependencies import ActorDep, BaseUrlDep, ContextDep
from wardcare.api.fhir_responses import written_response
from wardcare.api.worker_threads import run_in_worker
from wardcare.fhir.validation import parse_json
from wardcare.services import handover_notes
from wardcare.services.handover_documents import StoredDocument
from wardcare.services.patient_handover import print_patient_handover
from wardcare.services.ward_handover import print_ward_sheet

router = APIRouter(tags=["Handover"])

ShiftQuery = Annotated[
    str | None,
    Query(
        max_length=60, pattern=r"^[\w .,:()/+-]+$", description="Shift name printed in the header"
    ),
]
_SAFE = re.compile(r"[^A-Za-z0-9-]+")


def _pdf(pdf: bytes, stored: StoredDocument, base_url: str, name: str) -> Response:
    document = stored.document
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{_SAFE.sub("-", name)}.pdf"',
            "Content-Location": f"{base_url}/DocumentReference/{document.id}",
            "X-Handover-Binary": f"{base_url}/Binary/{stored.binary.id}",
        },
    )


@router.get("/wards/{ward}/handover.pdf", summary="The ward handover sheet (PDF, kept)")
async def ward_sheet(
    ward: str, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep, shift: ShiftQuery = None
) -> Response:
    printed = await run_in_worker(
        lambda: print_ward_sheet(ctx, actor=actor, ward_code=ward, shift=shift)
    )
    return _pdf(printed.pdf, printed.stored, base_url, f"handover-{ward}")


@router.get("/fhir/Patient/{patient_id}/$handover", summary="Patient handover, SBAR (PDF, kept)")
async def patient_handover(
    patient_id: str,
    ctx: ContextDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    shift: ShiftQuery = None,
) -> Response:
    printed = await run_in_worker(
        lambda: print_patient_handover(ctx, actor=actor, patient_id=patient_id, shift=shift)
    )
    return _pdf(printed.pdf, printed.stored, base_url, f"handover-{patient_id}")


async def _json(request: Request) -> Any:
    return parse_json(await request.body())


@router.post("/patients/{patient_id}/handover-notes", summary="Record an SBAR handover note")
async def record_note(
    patient_id: str, request: Request, ctx: ContextDep, actor: ActorDep, base_url: BaseUrlDep
) -> Response:
    body = await _json(request)
    stored = await run_in_worker(
        lambda: handover_notes.record_note(ctx, actor=actor, patient_id=patient_id, body=body)
    )
    return written_response(request, stored, 201, base_url)


@router.put(
    "/patients/{patient_id}/handover-notes/{note_id}", summary="Revise a note (new version)"
)
async def revise_note(
    patient_id: str,
    note_id: str,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    body = await _json(request)
    stored = await run_in_worker(
        lambda: handover_notes.revise_note(
            ctx, actor=actor, patient_id=patient_id, note_id=note_id, body=body, if_match=if_match
        )
    )
    return written_response(request, stored, 200, base_url)


@router.post(
    "/patients/{patient_id}/handover-notes/{note_id}/acknowledge",
    summary="The receiving nurse acknowledges the handover (who and when)",
)
async def acknowledge_note(
    patient_id: str,
    note_id: str,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    stored = await run_in_worker(
        lambda: handover_notes.acknowledge_note(
            ctx, actor=actor, patient_id=patient_id, note_id=note_id, if_match=if_match
        )
    )
    return written_response(request, stored, 200, base_url)
