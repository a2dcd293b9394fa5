"""The audit trail: an AuditEvent in the IHE Basic Audit Log Patterns (BALP) shape for every
access, allowed or denied.

Why a queue: auditing every read must not double the cost of a read. An access adds a plain dict
to a bounded in-memory queue (microseconds); one writer thread stores the queued events as FHIR
JSON in batches, one transaction per batch, at least every `FLUSH_SECONDS`, and everything queued
is flushed when the application stops (`AuditTrail.close`, called from the app's lifespan). The
events are built by WardCare in a fixed shape, so they are stored without model validation
(which costs ~0.3 ms each) but indexed like any resource, so `AuditEvent?patient=` finds them.
"Every access is audited" holds because the request does not finish until its event is queued, a
full queue blocks callers instead of dropping events, and a failed flush keeps the batch and tries
again. The window a power cut can lose is the flush interval; a write's own Provenance is in the
write's transaction and never lost.

While a request runs, the services note what the audit needs to know (the patients whose data it
touched, a denial by scope or by compartment) on an `AccessNote` in a context variable, so the
HTTP edge can record the outcome without parsing anything again.
"""

from __future__ import annotations

import base64
import logging
import queue
import threading
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

import orjson

from wardcare.domain.actor import Actor
from wardcare.errors import WardCareError
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import from_micros, instant, to_micros
from wardcare.services.context import AppContext
from wardcare.storage.repository import prepare_new

log = logging.getLogger("wardcare.audit")

FLUSH_SECONDS = 0.5
BATCH = 500
QUEUE_LIMIT = 20_000
BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
# FHIR R4 AuditEvent.action: Create, Read, Update, Delete, Execute.
ACTIONS = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "history-type": "R",
    "history-system": "R",
    "search-type": "E",
    "search-system": "E",
    "update": "U",
    "delete": "D",
    "batch": "E",
    "transaction": "E",
    "operation": "E",
}
_PROFILES = {"C": "IHE.BasicAudit.Create", "R": "IHE.BasicAudit.Read", "U": "IHE.BasicAudit.Update"}


@dataclass
class AccessNote:
    """What the services learnt about one request, for its audit record."""

    patients: set[str] = field(default_factory=set)
    denied: bool = False
    by_compartment: bool = False
    exported: list[str] = field(default_factory=list)  # documents printed (handover PDFs)


_NOTE: ContextVar[AccessNote | None] = ContextVar("wardcare_access_note", default=None)


def begin_note() -> tuple[AccessNote, Token[AccessNote | None]]:
    note = AccessNote()
    return note, _NOTE.set(note)


def end_note(token: Token[AccessNote | None]) -> None:
    _NOTE.reset(token)


def wants_patients() -> bool:
    return _NOTE.get() is not None


def note_patients(patient_ids: Iterable[str]) -> None:
    note = _NOTE.get()
    if note is not None:
        note.patients.update(patient_ids)


def note_denied(*, compartment: bool = False) -> None:
    note = _NOTE.get()
    if note is not None:
        note.denied = True
        note.by_compartment = note.by_compartment or compartment


def note_exported(document: str) -> None:
    """A print: the request took data out of the system as a document (`DocumentReference/id`)."""
    note = _NOTE.get()
    if note is not None:
        note.exported.append(document)


# DICOM audit event ID "Export" (DCM 110106): data leaving the system, e.g. printed on paper;
# IHE ITI TF-2 (ATNA) uses it for exports and prints.
EXPORT_TYPE = {
    "system": "http://dicom.nema.org/resources/ontology/DCM",
    "code": "110106",
    "display": "Export",
}


@dataclass(frozen=True)
class Access:
    """One access as the edge saw it."""

    subtype: str  # http://hl7.org/fhir/restful-interaction code, or "operation"
    status: int
    actor: Actor | None  # None when the request carried no acceptable token
    what: str | None = None  # "Observation/123", when one resource was the target
    query: str | None = None  # the request's path and query, for searches and operations
    address: str | None = None  # the caller's network address
    description: str | None = None  # why it failed, for a denial


def audit_event(access: Access, note: AccessNote, *, recorded: int) -> dict[str, Any]:
    """The AuditEvent (FHIR R4, IHE BALP "RESTful activity") for one access."""
    action = ACTIONS.get(access.subtype, "E")
    outcome = "0" if access.status < 400 else ("4" if access.status < 500 else "8")
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": resource_ids.new_id(),
        "meta": {"profile": [BALP + _PROFILES.get(action, "IHE.BasicAudit.Query")]},
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": access.subtype}],
        "action": action,
        "recorded": instant_of(recorded),
        "outcome": outcome,
        "agent": _agents(access),
        "source": {
            "observer": {"display": "WardCare"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
    }
    if note.exported:
        event["type"] = EXPORT_TYPE
    if outcome != "0":
        reason = "denied by patient compartment (answered 404)" if note.by_compartment else ""
        event["outcomeDesc"] = "; ".join(
            x for x in (f"HTTP {access.status}", reason, access.description or "") if x
        )
    entities = [_patient_entity(p) for p in sorted(note.patients)]
    if access.what:
        entities.append(
            {
                "what": {"reference": access.what},
                "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
                "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "4"),
            }
        )
    for document in note.exported:
        entities.append(
            {
                "what": {"reference": document},
                "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
                "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "3"),
            }
        )
    if access.query:
        entities.append(
            {
                "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
                "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "24"),
                "query": base64.b64encode(access.query.encode()).decode(),
                "description": access.query[:1000],
            }
        )
    if entities:
        event["entity"] = entities
    return _printable(event)


def _printable(event: dict[str, Any]) -> dict[str, Any]:
    """A request may carry NUL characters (e.g. `?name=%00`), which PostgreSQL cannot store in
    text or jsonb: they are recorded as U+FFFD, so the access is still audited."""
    if b"\\u0000" not in orjson.dumps(event):
        return event

    def clean(node: Any) -> Any:
        if isinstance(node, str):
            return node.replace("\x00", "\ufffd")
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items()}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    cleaned: dict[str, Any] = clean(event)
    return cleaned


def _agents(access: Access) -> list[dict[str, Any]]:
    actor = access.actor
    who: dict[str, Any] = {"display": "unauthenticated caller"}
    if actor is not None:
        who = {"display": actor.display}
        if actor.reference:
            who["reference"] = actor.reference
    person: dict[str, Any] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP",
                    "display": "information recipient",
                }
            ]
        },
        "who": who,
        "requestor": True,
    }
    if access.address:
        person["network"] = {"address": access.address, "type": "2"}
    agents = [person]
    if actor is not None and actor.client_id:
        agents.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://dicom.nema.org/resources/ontology/DCM",
                            "code": "110150",
                            "display": "Application",
                        }
                    ]
                },
                "who": {"identifier": {"value": actor.client_id}, "display": actor.client_id},
                "requestor": False,
            }
        )
    return agents


def _patient_entity(patient_id: str) -> dict[str, Any]:
    return {
        "what": {"reference": f"Patient/{patient_id}"},
        "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1"),
        "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "1"),
    }


def _coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def instant_of(micros: int) -> str:
    return instant(from_micros(micros))


class AuditTrail:
    """The queue and its one writer thread."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._queue: queue.Queue[tuple[Access, AccessNote, int]] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # one flush at a time
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        # Started by the first access, so an app that never serves a request has no thread.
        self._thread: threading.Thread | None = None

    def record(self, access: Access, note: AccessNote) -> None:
        """Queue one access; the request's note is complete by now and not touched again.
        The AuditEvent itself is built by the writer thread, off the request's path."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="wardcare-audit", daemon=True
                    )
                    self._thread.start()
        # A full queue blocks the caller rather than losing an audit record.
        self._queue.put((access, note, to_micros(self._ctx.clock.now())))

    def flush(self) -> None:
        """Store everything queued so far (tests call this to read the trail back)."""
        with self._lock:
            while True:
                try:
                    access, note, recorded = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._pending.append(audit_event(access, note, recorded=recorded))
            while self._pending:
                batch = self._pending[:BATCH]
                try:
                    self._store(batch)
                except WardCareError:
                    self._store_one_by_one(batch)
                del self._pending[: len(batch)]

    def _store(self, batch: list[dict[str, Any]]) -> None:
        now = to_micros(self._ctx.clock.now())
        # Serialised and indexed before the transaction: on SQLite a write transaction holds
        # the one write lock, and preparing ~75 events inside it (twice a second under load)
        # made the requests' own writes wait. Then one batch for the store: the index rows of
        # up to BATCH events are written together (one executemany per index table on SQLite,
        # one statement on PostgreSQL).
        prepared = prepare_new(
            self._ctx.search_parameters, [(event, event["id"]) for event in batch], now=now
        )
        with self._ctx.uow.write() as tx:
            tx.resources.create_prepared(prepared)

    def _store_one_by_one(self, batch: list[dict[str, Any]]) -> None:
        """A batch the database refused: store each event alone, so one event it can never
        take does not hold back the others; that one goes to the error log whole."""
        for event in batch:
            try:
                self._store([event])
            except WardCareError:
                log.exception("audit event refused by the database: %s", orjson.dumps(event))

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:  # the batch stays pending and is tried again
                log.exception("audit flush failed; retrying")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
