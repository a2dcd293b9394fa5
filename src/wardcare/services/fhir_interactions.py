"""The FHIR RESTful interactions as use cases (FHIR R4 3.1.0), free of HTTP.

Each public function runs in its own unit of work; the `*_in` forms run inside a transaction they
are given, so a transaction Bundle can apply many of them all-or-nothing. Validation happens
before the write transaction opens: CPU work never holds the database's write lock.

This module writes (create, update, delete); `fhir_reads` reads, searches and lists history.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category, WardCareError
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import to_micros
from wardcare.fhir.indexing import split_reference
from wardcare.fhir.resource_types import APPEND_ONLY_TYPES, NO_PROVENANCE_TYPES, is_served
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation
from wardcare.services.context import AppContext
from wardcare.services.provenance import provenance_for, record_provenance
from wardcare.services.recorded_times import check_recorded_times
from wardcare.services.vital_sign_checks import check_vital_signs
from wardcare.storage.unit_of_work import Transaction

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
_RETRIES = 5
T = TypeVar("T")


@dataclass(frozen=True)
class WriteResult:
    stored: StoredVersion
    created: bool  # 201 Created rather than 200 OK


class RaceLost(Exception):
    """A concurrent writer won a race this attempt lost; run the whole use case again."""


def check_type(resource_type: str) -> None:
    if not is_served(resource_type):
        raise errors.error(Category.NOT_FOUND, f"WardCare does not serve {resource_type} resources")


def is_valid_id(resource_id: str) -> bool:
    """A FHIR id: 1-64 of A-Z, a-z, 0-9, '-' and '.' (FHIR R4 2.24.0.2, id)."""
    return _ID.match(resource_id) is not None


def check_id(resource_id: str) -> None:
    if not is_valid_id(resource_id):
        raise errors.invalid(f"{resource_id!r} is not a valid FHIR id", "id")


def parse_etag(value: str) -> int:
    match = _ETAG.match(value.strip()[:20])
    if not match:
        raise errors.invalid(f'If-Match must be a version ETag like W/"3", not {value!r}')
    return int(match.group(1))


# -- create --------------------------------------------------------------------------------


def create(
    ctx: AppContext,
    *,
    actor: Actor,
    resource: Any,
    resource_type: str | None = None,
    if_none_exist: str | None = None,
) -> WriteResult:
    """Create (3.1.0.8) and conditional create with If-None-Exist (3.1.0.8.1)."""
    granted = authorisation.authorise(
        actor, Interaction.CREATE, resource_type or _type_of(resource)
    )
    ctx.validator.validate(resource, expected_type=resource_type)
    authorisation.check_write(actor, granted, resource)
    check_vital_signs(resource)
    check_recorded_times(ctx, resource)
    return retrying(
        ctx,
        lambda tx: create_in(tx, ctx, actor=actor, resource=resource, if_none_exist=if_none_exist),
    )


def retrying(ctx: AppContext, work: Callable[[Transaction], T]) -> T:
    """Run a write in a fresh transaction, again when a concurrent writer won a race."""
    for _attempt in range(_RETRIES):
        try:
            with ctx.uow.write() as tx:
                return work(tx)
        except RaceLost:
            continue
    raise errors.error(Category.CONFLICT, "Too many concurrent changes to this record; try again")


def create_in(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    resource: dict[str, Any],
    if_none_exist: str | None = None,
    resource_id: str | None = None,
    client_id: bool = False,
    run_hooks: bool = True,
    provenance: bool = True,
) -> WriteResult:
    """Create inside `tx`; `client_id` says the id was chosen by the client (update as create).

    `run_hooks=False` is for resources a hook itself derives (a NEWS2 score from vital signs);
    `provenance=False` for a use case that writes one Provenance for everything it stored.
    """
    resource_type = resource["resourceType"]
    criteria = None
    if if_none_exist:
        criteria = normalise_criteria(if_none_exist)
        existing = conditional_existing(tx, ctx, resource_type, criteria)
        if existing is not None:
            return WriteResult(existing, created=False)
    now = _now(ctx)
    as_stored = dict(resource)  # the repository sets its id and meta
    new_id = resource_id or resource_ids.new_id()
    if provenance and resource_type not in NO_PROVENANCE_TYPES:
        stored = _create_with_provenance(tx, actor, as_stored, new_id, now)
    else:
        stored = tx.resources.create(as_stored, resource_id=new_id, now=now, id_may_exist=client_id)
    if criteria is not None:
        claim(tx, resource_type, criteria, stored)
    if run_hooks:
        _after_write(tx, ctx, actor, stored, as_stored)
    for stored_hook in ctx.stored_hooks:
        stored_hook(tx, ctx, stored)
    return WriteResult(stored, created=True)


def _create_with_provenance(
    tx: Transaction, actor: Actor, resource: dict[str, Any], resource_id: str, now: int
) -> StoredVersion:
    """Version 1 and its Provenance in one batch (their index rows written together; one
    statement on PostgreSQL): what the Provenance names is known before either is stored. A
    taken id is a CONFLICT, as `create(..., id_may_exist=True)` answers it."""
    record = provenance_for(
        [StoredVersion(0, resource["resourceType"], resource_id, 1, now, False, "POST", None)],
        actor,
        patient=patient_of({**resource, "id": resource_id}),
    )
    stored, _record = tx.resources.create_many(
        [(resource, resource_id), (record, resource_ids.new_id())], now=now
    )
    return stored


def create_many_in(
    tx: Transaction, ctx: AppContext, *, resources: list[dict[str, Any]], now: int | None = None
) -> list[StoredVersion]:
    """`create_in(..., client_id=True, run_hooks=False, provenance=False)` of each resource (ids
    chosen by the caller) in one batch: the store writes their index rows together (an inbound
    message's results, an assessment's response and Observations). A taken id is a CONFLICT,
    and the transaction must then be dropped. `now` (from `now_micros`) when the caller needs
    the time of the write before making the resources."""
    now = _now(ctx) if now is None else now
    stored = tx.resources.create_many([(dict(r), r["id"]) for r in resources], now=now)
    for version in stored:
        for stored_hook in ctx.stored_hooks:
            stored_hook(tx, ctx, version)
    return stored


def conditional_existing(
    tx: Transaction, ctx: AppContext, resource_type: str, criteria: str
) -> StoredVersion | None:
    """The resource conditional-create `criteria` (normalised) find, if any: the first half of
    a conditional create, before storing; `claim` is the second, after."""
    existing = _conditional_match(tx, ctx, resource_type, criteria)
    if existing is not None:
        return existing
    if tx.resources.claim_holder(resource_type, criteria) is not None:
        # Someone claimed these criteria. Search again (PostgreSQL's READ COMMITTED sees a
        # claim committed since the first search): if its resource matches, that is the
        # answer; if not, it was changed or deleted since, and the stale claim is released.
        existing = _conditional_match(tx, ctx, resource_type, criteria)
        if existing is not None:
            return existing
        tx.resources.release_claim(resource_type, criteria)
    return None


def claim(tx: Transaction, resource_type: str, criteria: str, stored: StoredVersion) -> None:
    """Claim the criteria for the resource just stored; RaceLost when another request claimed
    them first and committed (start again: the search will find its resource)."""
    if not tx.resources.claim_criteria(resource_type, criteria, stored.rid):
        raise RaceLost


def normalise_criteria(if_none_exist: str) -> str:
    pairs = parse_qsl(if_none_exist.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise errors.invalid("If-None-Exist has no search criteria", "If-None-Exist")
    if len(if_none_exist) > 400:
        raise errors.invalid(
            "If-None-Exist criteria are limited to 400 characters", "If-None-Exist"
        )
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def conditional_match(
    tx: Transaction, ctx: AppContext, resource_type: str, if_none_exist: str
) -> StoredVersion | None:
    """The one resource matching If-None-Exist criteria, None for none; 412 for several."""
    return _conditional_match(tx, ctx, resource_type, normalise_criteria(if_none_exist))


def _conditional_match(
    tx: Transaction, ctx: AppContext, resource_type: str, criteria: str
) -> StoredVersion | None:
    query = parse_search(
        resource_type,
        parse_qsl(criteria, keep_blank_values=True),
        ctx.search_parameters,
        default_count=2,
        max_count=2,
    )
    query.count, query.offset, query.total = 2, 0, "none"
    matches = tx.resources.search(query).matches
    if len(matches) > 1:
        raise errors.error(
            Category.PRECONDITION_FAILED,
            f"If-None-Exist {criteria!r} matches more than one {resource_type}",
        )
    return matches[0] if matches else None


# -- update and delete ---------------------------------------------------------------------


def update(
    ctx: AppContext,
    *,
    actor: Actor,
    resource_type: str,
    resource_id: str,
    resource: Any,
    if_match: str | None = None,
) -> WriteResult:
    """Update (3.1.0.4), as a create when the id is new; If-Match guards lost updates (3.1.0.5)."""
    expected = check_update(
        ctx,
        actor=actor,
        resource_type=resource_type,
        resource_id=resource_id,
        resource=resource,
        if_match=if_match,
    )
    return retrying(
        ctx,
        lambda tx: update_in(tx, ctx, actor=actor, resource=resource, expected_version=expected),
    )


def check_update(
    ctx: AppContext,
    *,
    actor: Actor,
    resource_type: str,
    resource_id: str,
    resource: Any,
    if_match: str | None,
) -> int | None:
    """What an update is checked for before its transaction (type, scope, profile, the body's
    id against the URL's); the version If-Match expects, if given."""
    check_type(resource_type)
    granted = authorisation.authorise(actor, Interaction.UPDATE, resource_type)
    check_id(resource_id)
    ctx.validator.validate(resource, expected_type=resource_type)
    authorisation.check_write(actor, granted, resource)
    check_vital_signs(resource)
    check_recorded_times(ctx, resource)
    body_id = resource.get("id")
    if body_id is None:
        raise errors.invalid(
            "An update must carry the resource id in its body", f"{resource_type}.id"
        )
    if body_id != resource_id:
        raise errors.invalid(
            f"The body's id {body_id!r} does not match the URL's {resource_id!r}",
            f"{resource_type}.id",
        )
    return parse_etag(if_match) if if_match else None


def update_in(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    resource: dict[str, Any],
    expected_version: int | None = None,
) -> WriteResult:
    resource_type, resource_id = resource["resourceType"], resource["id"]
    if resource_type in APPEND_ONLY_TYPES:
        raise errors.error(
            Category.NOT_ALLOWED, f"{resource_type} is append-only: it is never edited"
        )
    current = tx.resources.current(resource_type, resource_id, for_update=True)
    authorisation.check_existing(actor, Interaction.UPDATE, current)
    if current is None:
        if expected_version is not None:
            raise errors.error(
                Category.PRECONDITION_FAILED,
                f"{resource_type}/{resource_id} does not exist (If-Match given)",
            )
        try:
            return create_in(
                tx, ctx, actor=actor, resource=resource, resource_id=resource_id, client_id=True
            )
        except WardCareError as exc:
            if exc.category == Category.CONFLICT:  # created concurrently: update it instead
                raise RaceLost from exc
            raise
    _check_version(current, expected_version)
    now = _now(ctx)
    as_stored = dict(resource)  # the repository sets its id and meta
    try:
        stored = tx.resources.new_version(current, as_stored, now=now, method="PUT")
    except WardCareError as exc:
        if exc.category == Category.PRECONDITION_FAILED and expected_version is None:
            raise RaceLost from exc
        raise
    _provenance(tx, stored, actor, resource, now)
    _after_write(tx, ctx, actor, stored, as_stored)
    for change_hook in ctx.change_hooks:
        change_hook(tx, ctx, actor, stored, as_stored)
    for stored_hook in ctx.stored_hooks:
        stored_hook(tx, ctx, stored)
    return WriteResult(stored, created=False)


def delete(
    ctx: AppContext,
    *,
    actor: Actor,
    resource_type: str,
    resource_id: str,
    if_match: str | None = None,
) -> StoredVersion:
    """Logical delete (3.1.0.7): a new version marks it deleted; history keeps every version."""
    check_type(resource_type)
    authorisation.authorise(actor, Interaction.DELETE, resource_type)
    expected = parse_etag(if_match) if if_match else None
    return retrying(
        ctx,
        lambda tx: delete_in(
            tx,
            ctx,
            actor=actor,
            resource_type=resource_type,
            resource_id=resource_id,
            expected_version=expected,
        ),
    )


def delete_in(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    resource_type: str,
    resource_id: str,
    expected_version: int | None = None,
) -> StoredVersion:
    if resource_type in APPEND_ONLY_TYPES:
        raise errors.error(
            Category.NOT_ALLOWED, f"{resource_type} is append-only: it is never deleted"
        )
    if not is_valid_id(resource_id):
        raise errors.not_found(f"{resource_type}/{resource_id!r} is not known")
    current = tx.resources.current(resource_type, resource_id, for_update=True)
    authorisation.check_existing(actor, Interaction.DELETE, current)
    if current is None:
        raise errors.not_found(f"{resource_type}/{resource_id} is not known")
    _check_version(current, expected_version)
    if current.deleted:
        return current  # deleting twice changes nothing (3.1.0.7: idempotent)
    previous = orjson.loads(current.content) if current.content else {}
    now = _now(ctx)
    try:
        stored = tx.resources.new_version(current, None, now=now, method="DELETE")
    except WardCareError as exc:
        if exc.category == Category.PRECONDITION_FAILED and expected_version is None:
            raise RaceLost from exc
        raise
    _provenance(tx, stored, actor, previous, now)
    for change_hook in ctx.change_hooks:  # e.g. a deleted reading's NEWS2 is withdrawn
        change_hook(tx, ctx, actor, stored, None)
    return stored


def _check_version(current: StoredVersion, expected: int | None) -> None:
    if expected is not None and expected != current.version_id:
        raise errors.error(
            Category.PRECONDITION_FAILED,
            f"{current.resource_type}/{current.id} is at version {current.version_id}, "
            f"not {expected}: read it again and reapply the change",
        )


# -- shared --------------------------------------------------------------------------------


def _type_of(resource: Any) -> str:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return kind if isinstance(kind, str) else ""


def _now(ctx: AppContext) -> int:
    return to_micros(ctx.clock.now())


def now_micros(ctx: AppContext) -> int:
    """The time a write made now is stored under (`meta.lastUpdated`), in microseconds."""
    return _now(ctx)


def patient_of(resource: dict[str, Any]) -> str | None:
    """The patient a resource is about, as "Patient/id", for Provenance and audit."""
    if resource.get("resourceType") == "Patient" and resource.get("id"):
        return f"Patient/{resource['id']}"
    for element in ("subject", "patient", "for", "beneficiary"):
        ref = resource.get(element)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            target = split_reference(ref["reference"])
            if target and target[0] == "Patient":
                return f"Patient/{target[1]}"
    return None


def _after_write(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    stored: StoredVersion,
    resource: dict[str, Any],
) -> None:
    """Run the write hooks on the resource as stored (with its id and meta): the dict the
    repository serialised, not a parse of the stored JSON (hooks only read it)."""
    if ctx.write_hooks and stored.content is not None:
        for hook in ctx.write_hooks:
            hook(tx, ctx, actor, resource)


def _provenance(
    tx: Transaction, stored: StoredVersion, actor: Actor, resource: dict[str, Any], now: int
) -> None:
    if stored.resource_type in NO_PROVENANCE_TYPES:
        return
    patient = patient_of({**resource, "id": stored.id})
    record_provenance(tx.resources, [stored], actor, patient=patient, now=now)
