"""The HL7 outbox: results and documents queued for the EHR in the same transaction as the change.

The transactional outbox pattern: when a NEWS2 score, another assessment's total or a PDF
document is stored, the HL7 message reporting it is inserted into `hl7_outbox` inside the same
database transaction. If the clinical write commits, its message is durably queued; if it rolls
back, there is no message about a result that does not exist. A sender that sent directly after
commit would lose the message in a crash between the two; one that sent before commit would
report results that were never stored.

`OutboxHook` runs for every stored version (AppContext.stored_hooks, derived results included)
and is installed only when a destination is configured, so a WardCare without HL7 destinations
pays nothing. The message is built here, once: every retry sends the same bytes with the same
MSH-10, so a receiver can recognise a resend.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from wardcare.catalog.catalog import Catalog
from wardcare.config import Hl7Destination, Settings
from wardcare.fhir.dates import to_micros
from wardcare.fhir.indexing import split_reference
from wardcare.fhir.versions import StoredVersion
from wardcare.services.context import AppContext
from wardcare.services.ward_census import LOCATION_CODE
from wardcare.storage.hl7_outbox_store import (
    Hl7OutboxStore,
    NewMessage,
)
from wardcare.storage.unit_of_work import Transaction

log = logging.getLogger("wardcare.hl7.outbound")
ORU_R01 = "ORU^R01"
MDM_T02 = "MDM^T02"
# Results worth telling the EHR about; a preliminary or cancelled one is not a result yet.
_RESULT_STATUSES = {"final", "amended", "corrected", "entered-in-error"}


@dataclass(frozen=True)
class MessageBuilders:
    """The HL7 v2 builders (wardcare.hl7v2), handed in by the composition root: this layer
    decides what is sent and when, the transport edge decides how it is written."""

    header: Callable[..., Any]  # (settings, destination, control_id, created) -> Header
    result: Callable[..., str]  # news2_to_oru.oru_r01
    document: Callable[..., str]  # document_to_mdm.mdm_t02


@dataclass(frozen=True)
class _Subject:
    patient_ref: str | None
    patient: dict[str, Any]
    encounter: dict[str, Any] | None
    bed_code: str | None


def result_codes(catalog: Catalog) -> frozenset[tuple[str, str]]:
    """(system, code) of every assessment total: NEWS2 and each template's score."""
    return frozenset(
        (loaded.template.total.system, loaded.template.total.code)
        for loaded in catalog.all()
        if loaded.template.total is not None
    )


class OutboxHook:
    """Queues an ORU^R01 for each stored assessment result and an MDM^T02 for each new PDF
    document, for every destination configured for that message type."""

    def __init__(self, settings: Settings, catalog: Catalog, builders: MessageBuilders) -> None:
        self._settings = settings
        self._builders = builders
        self._codes = result_codes(catalog)
        self._code_bytes = tuple({f'"{code}"'.encode() for _system, code in self._codes})
        self._results = [d for d in settings.hl7_destinations if ORU_R01 in d.message_types]
        self._documents = [d for d in settings.hl7_destinations if MDM_T02 in d.message_types]

    def __call__(self, tx: Transaction, ctx: AppContext, stored: StoredVersion) -> None:
        if stored.content is None:
            return
        if stored.resource_type == "Observation" and self._results:
            # Most Observations are vital signs: a byte search rules them out without parsing.
            if not any(code in stored.content for code in self._code_bytes):
                return
            observation = orjson.loads(stored.content)
            if observation.get("status") in _RESULT_STATUSES and self._is_result(observation):
                self._enqueue_result(tx, ctx, stored, observation)
        elif stored.resource_type == "DocumentReference" and self._documents:
            document = orjson.loads(stored.content)
            # A new document; a later version of it is not a new document to file.
            if stored.version_id == 1 and document.get("status", "current") == "current":
                self._enqueue_document(tx, ctx, stored, document)

    def _is_result(self, observation: Mapping[str, Any]) -> bool:
        """An assessment total: coded as a template's total, valued as points (valueInteger;
        an answer extracted with the same code, e.g. a pain rating, is a valueQuantity)."""
        return "valueInteger" in observation and any(
            (c.get("system"), c.get("code")) in self._codes
            for c in (observation.get("code") or {}).get("coding", ())
        )

    def _enqueue_result(
        self, tx: Transaction, ctx: AppContext, stored: StoredVersion, observation: dict[str, Any]
    ) -> None:
        subject = _subject(tx, observation.get("subject"), observation.get("encounter"))
        self._add(
            tx,
            ctx,
            stored,
            subject,
            self._results,
            ORU_R01,
            lambda header: self._builders.result(
                observation,
                patient=subject.patient,
                encounter=subject.encounter,
                bed_code=subject.bed_code,
                header=header,
            ),
        )

    def _enqueue_document(
        self, tx: Transaction, ctx: AppContext, stored: StoredVersion, document: dict[str, Any]
    ) -> None:
        found = _pdf(tx, document)
        if found is None:
            return
        pdf, file_name = found
        context = (document.get("context") or {}).get("encounter") or [None]
        subject = _subject(tx, document.get("subject"), context[0])
        self._add(
            tx,
            ctx,
            stored,
            subject,
            self._documents,
            MDM_T02,
            lambda header: self._builders.document(
                document,
                pdf=pdf,
                file_name=file_name,
                patient=subject.patient,
                encounter=subject.encounter,
                bed_code=subject.bed_code,
                header=header,
            ),
        )

    def _add(
        self,
        tx: Transaction,
        ctx: AppContext,
        stored: StoredVersion,
        subject: _Subject,
        destinations: Iterable[Hl7Destination],
        message_type: str,
        build: Callable[[Any], str],
    ) -> None:
        now = ctx.clock.now()
        resource = f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
        messages = []
        for destination in destinations:
            # MSH-10: 20 characters (the limit before v2.5), unique per message and destination.
            control_id = "WC" + uuid.uuid4().hex[:18].upper()
            header = self._builders.header(self._settings, destination, control_id, now)
            messages.append(
                NewMessage(
                    destination=destination.name,
                    message_type=message_type,
                    control_id=control_id,
                    resource=resource,
                    patient=subject.patient_ref,
                    message=build(header),
                )
            )
        Hl7OutboxStore(tx.connection).add(messages, now=to_micros(now))


def _read(tx: Transaction, reference: Any, resource_type: str) -> dict[str, Any] | None:
    if not isinstance(reference, Mapping):
        return None
    target = split_reference(str(reference.get("reference") or ""))
    if not target or target[0] != resource_type:
        return None
    stored = tx.resources.current(resource_type, target[1])
    if stored is None or stored.content is None:
        return None
    resource: dict[str, Any] = orjson.loads(stored.content)
    return resource


def _subject(tx: Transaction, patient_ref: Any, encounter_ref: Any) -> _Subject:
    """The patient (PID) and, from the encounter's active bed, where they are (PV1-3)."""
    patient = _read(tx, patient_ref, "Patient") or {}
    encounter = _read(tx, encounter_ref, "Encounter")
    bed_code = None
    for entry in (encounter or {}).get("location", ()):
        if entry.get("status", "active") != "active":
            continue
        location = _read(tx, entry.get("location"), "Location")
        types = {c.get("code") for c in (location or {}).get("physicalType", {}).get("coding", ())}
        if location and "bd" in types:
            bed_code = next(
                (
                    i.get("value")
                    for i in location.get("identifier", ())
                    if i.get("system") == LOCATION_CODE
                ),
                None,
            )
            break
    return _Subject(
        f"Patient/{patient['id']}" if patient.get("id") else None, patient, encounter, bed_code
    )


def _pdf(tx: Transaction, document: Mapping[str, Any]) -> tuple[bytes, str | None] | None:
    """The PDF of a DocumentReference: inline `attachment.data`, or the Binary its `url` names."""
    for content in document.get("content") or ():
        attachment = content.get("attachment") or {}
        if str(attachment.get("contentType", "")).split(";")[0].strip() != "application/pdf":
            continue
        data = attachment.get("data")
        if not data and attachment.get("url"):
            binary = _read(tx, {"reference": attachment["url"]}, "Binary") or {}
            data = binary.get("data")
        try:
            if data:
                return base64.b64decode(data, validate=True), attachment.get("title")
        except binascii.Error:
            pass
        # Not silently: the EHR expects this document. (A Binary must be stored before, or in
        # the same Bundle ahead of, the DocumentReference that names it.)
        log.warning(
            "DocumentReference/%s: its PDF %r could not be read; no MDM^T02 queued",
            document.get("id"),
            attachment.get("url") or "(inline data)",
        )
    return None
