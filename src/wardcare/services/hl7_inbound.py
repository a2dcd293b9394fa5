"""Inbound interface messages as use cases: log first, apply in one transaction, answer once.

Free of HL7 syntax (the `wardcare.hl7v2` edge parses and maps): this module keeps the promises
that do not depend on the wire format (issue 5):
- the raw message is durably logged before it is parsed (`receive`);
- a message's effects, its log row's outcome and the acknowledgement it will be answered with
  commit in ONE transaction (`apply`), so an AA is never sent for work that is not stored, and
  a crash after the commit but before the ACK leaves a row whose stored ACK a resend gets back;
- a resend with the same sender key is not applied again: the log's unique key decides, and
  within this process one key is processed by one thread at a time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor, ActorKind
from wardcare.errors import Category
from wardcare.fhir import resource_ids
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance
from wardcare.storage import hl7_message_log as message_log
from wardcare.storage.hl7_message_log import Claim, LogFilter, LoggedMessage
from wardcare.storage.unit_of_work import Transaction


def interface_actor(sending_application: str, sending_facility: str) -> Actor:
    """The SYSTEM actor for one sending facility's interface (until SMART/security assigns
    actors to MLLP connections, each sender is known by its MSH-3/MSH-4)."""
    return Actor(
        kind=ActorKind.SYSTEM,
        display=f"HL7 v2 interface {sending_application or '?'}@{sending_facility or '?'}",
        scopes=frozenset({"system/*.cruds"}),
    )


class KeyedLocks:
    """One lock per key, created on demand and dropped when no one holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str | None) -> Iterator[None]:
        if key is None:
            yield
            return
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


_MESSAGES_IN_FLIGHT = KeyedLocks()


@dataclass(frozen=True)
class MessageKeys:
    sending_application: str | None
    sending_facility: str | None
    control_id: str | None
    message_type: str | None
    patient_key: str | None = None

    @property
    def lock_key(self) -> str | None:
        if self.control_id is None:
            return None
        return f"{self.sending_application}|{self.sending_facility}|{self.control_id}"


def message_lock(keys: MessageKeys) -> Any:
    """Hold while claiming and applying one sender key (one thread at a time per key)."""
    return _MESSAGES_IN_FLIGHT.hold(keys.lock_key)


def receive(ctx: AppContext, *, raw: str, keys: MessageKeys) -> Claim:
    """Log the raw message (committed before anything is parsed), or find its first arrival."""
    with ctx.uow.write() as tx:
        return message_log.receive(
            tx.connection,
            raw=raw,
            received_at=fhir._now(ctx),
            sending_application=keys.sending_application,
            sending_facility=keys.sending_facility,
            control_id=keys.control_id,
            message_type=keys.message_type,
            patient_key=keys.patient_key,
        )


@dataclass
class Applied:
    """What a message's work wrote, for the one Provenance and the log row."""

    written: list[StoredVersion] = field(default_factory=list)  # created: one Provenance
    updated: list[StoredVersion] = field(default_factory=list)  # each with its own Provenance
    patient: str | None = None


def apply(
    ctx: AppContext,
    *,
    actor: Actor,
    message_id: int,
    work: Callable[[Transaction, Applied], None],
    acks: list[bytes],
    reason: str,
    patient_key: str | None = None,
) -> Applied:
    """Run `work` and record the message as accepted with `acks`, all in one transaction."""
    applied = Applied()
    with ctx.uow.write() as tx:
        work(tx, applied)
        now = fhir._now(ctx)
        if applied.written:
            record_provenance(
                tx.resources,
                applied.written,
                actor,
                patient=applied.patient,
                now=now,
                reason=reason,
            )
        message_log.finish(
            tx.connection,
            message_id,
            status=message_log.ACCEPTED,
            ack_code="AA",
            ack=_acks_text(acks),
            error=None,
            resources=[_versioned(v) for v in applied.written + applied.updated],
            processed_at=now,
            patient_key=patient_key,
        )
    return applied


def refuse(
    ctx: AppContext,
    *,
    message_id: int,
    status: str,
    ack_code: str,
    acks: list[bytes],
    error: str,
    patient_key: str | None = None,
) -> None:
    """Record that a logged message was not applied (AE/AR) and how it was answered."""
    with ctx.uow.write() as tx:
        message_log.finish(
            tx.connection,
            message_id,
            status=status,
            ack_code=ack_code,
            ack=_acks_text(acks),
            error=error,
            resources=[],
            processed_at=fhir._now(ctx),
            patient_key=patient_key,
        )


def stored_acks(message: LoggedMessage) -> list[bytes]:
    return [a.encode() for a in orjson.loads(message.ack)] if message.ack else []


def _acks_text(acks: list[bytes]) -> str:
    return orjson.dumps([a.decode() for a in acks]).decode()


def _versioned(version: StoredVersion) -> str:
    return f"{version.resource_type}/{version.id}/_history/{version.version_id}"


# -- the log, for people ------------------------------------------------------------------


def list_messages(
    ctx: AppContext, *, actor: Actor, where: LogFilter
) -> tuple[list[LoggedMessage], int]:
    authorisation.authorise_interface(actor)
    with ctx.uow.read() as tx:
        return message_log.search(tx.connection, where)


def reprocessable(message: LoggedMessage) -> None:
    """A message already applied (AA) is not applied again: `$reprocess` is for messages that
    were not (AE, AR, or left "received" by a storage failure). A 409 changes nothing."""
    if message.status == message_log.ACCEPTED:
        raise errors.error(
            Category.CONFLICT,
            f"Inbound HL7 message {message.id} was already applied (AA); it is not applied again",
        )


def get_message(ctx: AppContext, *, actor: Actor, message_id: int) -> LoggedMessage | None:
    authorisation.authorise_interface(actor)
    with ctx.uow.read() as tx:
        return message_log.get(tx.connection, message_id)


# -- writing FHIR resources from a message (inside `apply`'s transaction) -----------------


def find_one(
    tx: Transaction, ctx: AppContext, resource_type: str, params: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """The current resource matching the search, or None."""
    query = parse_search(resource_type, params, ctx.search_parameters, default_count=1, max_count=1)
    query.total = "none"
    matches = tx.resources.search(query).matches
    return orjson.loads(matches[0].content) if matches and matches[0].content else None


def read_current(tx: Transaction, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    stored = tx.resources.current(resource_type, resource_id)
    if stored is None or stored.content is None:
        return None
    resource: dict[str, Any] = orjson.loads(stored.content)
    return resource


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return {k: v for k, v in old.items() if k != "meta"} == {
        k: v for k, v in new.items() if k != "meta"
    }


def save(
    tx: Transaction,
    ctx: AppContext,
    applied: Applied,
    *,
    actor: Actor,
    resource: dict[str, Any],
    run_hooks: bool = True,
) -> dict[str, Any]:
    """Create or update `resource` (its id chosen by the caller); unchanged content writes no
    new version. The services' write path stores it: indexes, and write hooks when asked."""
    resource_id = resource.setdefault("id", resource_ids.new_id())
    current = tx.resources.current(resource["resourceType"], resource_id, for_update=True)
    if current is not None and current.content is not None:
        if _same(orjson.loads(current.content), resource):
            return resource
        # update_in writes its own Provenance; `apply` writes one for the message's creates.
        # Without hooks when the caller runs them once for the whole message.
        writer = ctx if run_hooks else dataclasses.replace(ctx, write_hooks=())
        result = fhir.update_in(tx, writer, actor=actor, resource=resource)
        applied.updated.append(result.stored)
    else:
        result = fhir.create_in(
            tx,
            ctx,
            actor=actor,
            resource=resource,
            resource_id=resource_id,
            client_id=True,  # a concurrent create of the same id becomes a clean CONFLICT
            run_hooks=run_hooks,
            provenance=False,
        )
        applied.written.append(result.stored)
    stored: dict[str, Any] = orjson.loads(result.stored.content or b"{}")
    return stored


def save_many(
    tx: Transaction,
    ctx: AppContext,
    applied: Applied,
    *,
    actor: Actor,
    resources: list[dict[str, Any]],
    run_hooks: bool = True,
) -> list[dict[str, Any]]:
    """`save` for several resources with ids, asking the store once which already exist (a
    message's results are usually all new; a correction finds its earlier version). New ones
    are created in batches (their index rows written together), in order between the updates,
    so versions and Provenance targets come out as one `save` after another would write them."""
    keys = [(r["resourceType"], r["id"]) for r in resources]
    existing = {(v.resource_type, v.id) for v in tx.resources.current_many(keys)}
    stored: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []

    def create_new() -> None:
        if not new:
            return
        if run_hooks:  # each reading's hooks see the record as it was when it was stored
            created = [
                fhir.create_in(
                    tx,
                    ctx,
                    actor=actor,
                    resource=resource,
                    resource_id=resource["id"],
                    client_id=True,  # a concurrent writer of the same id: a clean CONFLICT
                    provenance=False,
                ).stored
                for resource in new
            ]
        else:
            created = fhir.create_many_in(tx, ctx, resources=new)
        applied.written.extend(created)
        stored.extend(orjson.loads(version.content or b"{}") for version in created)
        new.clear()

    for resource, key in zip(resources, keys, strict=True):
        if key in existing:
            create_new()
            stored.append(
                save(tx, ctx, applied, actor=actor, resource=resource, run_hooks=run_hooks)
            )
        else:
            new.append(resource)
    create_new()
    return stored


def run_write_hooks(
    tx: Transaction, ctx: AppContext, applied: Applied, actor: Actor, resource: dict[str, Any]
) -> None:
    """The hooks a single stored resource triggers (NEWS2 from vital signs), run once for a
    message that stored several readings at once; what they store (with its own Provenance)
    is listed with the message's resources."""
    for hook in ctx.write_hooks:
        result = hook(tx, ctx, actor, resource)
        if isinstance(result, StoredVersion):
            applied.updated.append(result)
