"""Every printed handover is kept: a DocumentReference and the PDF as a Binary.

So what was printed can be shown later (a complaint, an incident review, a coroner's request),
the DocumentReference lists every resource version the document was built from in
`context.related` as version-specific references (`Observation/x/_history/3`, FHIR R4 2.3.0
"References": a reference may carry a version), the time the record was read in
`context.period`, and who printed it in `author`. `GET /fhir/DocumentReference?patient=X` finds a
patient's handovers; `?related=Patient/X` finds the ward sheets a patient appeared on. The PDF
is content[0] (`url` Binary/{id}, `size`, SHA-1 `hash` as R4 Attachment defines them).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wardcare.domain.actor import Actor
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import instant
from wardcare.fhir.versions import StoredVersion
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance

DOCUMENT_TYPE = "http://wardcare.org/fhir/CodeSystem/document-type"
DATA_TIME_EXTENSION = "http://wardcare.org/fhir/StructureDefinition/record-read-at"
WARD_SHEET = ("ward-handover-sheet", "Ward handover sheet")
PATIENT_HANDOVER = ("patient-handover", "Patient handover (SBAR)")
# LOINC 34109-9 "Note" with the nursing category: the closest generic document code; the
# WardCare code says which handover it is.
LOINC_NOTE = {"system": "http://loinc.org", "code": "34109-9", "display": "Note"}


@dataclass(frozen=True)
class StoredDocument:
    document: StoredVersion
    binary: StoredVersion


def store_document(
    ctx: AppContext,
    *,
    actor: Actor,
    pdf: bytes,
    kind: tuple[str, str],
    title: str,
    data_time: datetime,
    sources: Sequence[str],
    patient_id: str | None = None,
    encounter: str | None = None,
    ward_location: str | None = None,
) -> StoredDocument:
    """Store the PDF (Binary) and its DocumentReference in one transaction, with Provenance."""
    binary_id, document_id = resource_ids.new_id(), resource_ids.new_id()
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        # Access to the PDF follows access to its DocumentReference (R4 Binary.securityContext).
        "securityContext": {"reference": f"DocumentReference/{document_id}"},
        "data": base64.b64encode(pdf).decode("ascii"),
    }
    related: list[dict[str, Any]] = [{"reference": s} for s in sources]
    if ward_location:
        related.insert(0, {"reference": ward_location})
    author = {"display": actor.display}
    if actor.reference:
        author["reference"] = actor.reference
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "extension": [{"url": DATA_TIME_EXTENSION, "valueInstant": instant(data_time)}],
        "status": "current",
        "docStatus": "final",
        "type": {
            "coding": [{"system": DOCUMENT_TYPE, "code": kind[0], "display": kind[1]}, LOINC_NOTE],
            "text": kind[1],
        },
        "category": [{"text": "Nursing handover"}],
        "date": instant(ctx.clock.now()),
        "author": [author],
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": f"Binary/{binary_id}",
                    "size": len(pdf),
                    "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),
                    "title": title,
                    "creation": instant(ctx.clock.now()),
                }
            }
        ],
        "context": {
            "period": {"start": instant(data_time), "end": instant(data_time)},
            "related": related,
        },
    }
    if patient_id:
        document["subject"] = {"reference": f"Patient/{patient_id}"}
    if encounter:
        document["context"]["encounter"] = [{"reference": encounter}]
    ctx.validator.validate(document, expected_type="DocumentReference")
    with ctx.uow.write() as tx:
        stored_binary = fhir.create_in(
            tx,
            ctx,
            actor=actor,
            resource=binary,
            resource_id=binary_id,
            run_hooks=False,
            provenance=False,
        ).stored
        stored_document = fhir.create_in(
            tx,
            ctx,
            actor=actor,
            resource=document,
            resource_id=document_id,
            run_hooks=False,
            provenance=False,
        ).stored
        record_provenance(
            tx.resources,
            [stored_document, stored_binary],
            actor,
            patient=f"Patient/{patient_id}" if patient_id else None,
            now=stored_document.last_updated,
            reason=f"Printed: {title}",
        )
    return StoredDocument(stored_document, stored_binary)
