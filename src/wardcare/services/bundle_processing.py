"""Batch and transaction Bundles (FHIR R4 RESTful API 3.1.0.13).

A transaction is all-or-nothing: every entry is validated first, then all are applied in one
unit of work in the order the specification gives (DELETE, POST, PUT, GET), with `urn:uuid:`
references between entries rewritten to the ids the server assigns. A batch applies each entry
on its own and reports each outcome. Each entry is read and checked by `bundle_entries`.
"""

from __future__ import annotations

from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir import resource_ids
from wardcare.fhir.bundles import searchset
from wardcare.fhir.outcomes import operation_outcome, status_for
from wardcare.fhir.versions import StoredVersion
from wardcare.services import assessment_amendment as amendment
from wardcare.services import authorisation, fhir_reads
from wardcare.services import fhir_interactions as fhir
from wardcare.services import record_assessment as assessments
from wardcare.services.bundle_entries import (
    ORDER,
    BundleEntry,
    check_unique_targets,
    parse_entry,
    rewrite_entries,
    validate_entry,
)
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

_REASON = {200: "OK", 201: "Created", 204: "No Content"}


def process_bundle(ctx: AppContext, *, actor: Actor, bundle: Any, base_url: str) -> dict[str, Any]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise errors.invalid("POST to the base URL takes a Bundle", "resourceType")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise errors.invalid(
            f"Bundle.type must be batch or transaction, not {kind!r}", "Bundle.type"
        )
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        raise errors.invalid("Bundle.entry must be a list", "Bundle.entry")
    if kind == "batch":
        return _batch(ctx, actor, raw_entries, base_url)
    return _transaction(ctx, actor, raw_entries, base_url)


# -- batch ---------------------------------------------------------------------------------


def _batch(ctx: AppContext, actor: Actor, raw_entries: list[Any], base_url: str) -> dict[str, Any]:
    responses = []
    for index, raw in enumerate(raw_entries):
        try:
            entry = parse_entry(index, raw, base_url)
            validate_entry(ctx, entry)
            responses.append(_apply_alone(ctx, actor, entry, base_url))
        except WardCareError as exc:
            status = status_for(exc)
            responses.append(
                {"response": {"status": str(status), "outcome": operation_outcome(exc)}}
            )
    return {
        "resourceType": "Bundle",
        "id": resource_ids.new_id(),
        "type": "batch-response",
        "entry": responses,
    }


def _apply_alone(
    ctx: AppContext, actor: Actor, entry: BundleEntry, base_url: str
) -> dict[str, Any]:
    if entry.method == "GET":
        return _get(ctx, actor, entry, base_url, tx=None)
    if entry.method == "POST":
        assert entry.resource is not None
        create = assessments.create if _is_form(entry) else fhir.create
        result = create(
            ctx,
            actor=actor,
            resource=entry.resource,
            resource_type=entry.resource_type,
            if_none_exist=entry.if_none_exist,
        )
        return _written(result.stored, 201 if result.created else 200)
    if entry.method == "PUT":
        assert entry.resource is not None
        assert entry.resource_id is not None
        update = amendment.update if _is_form(entry) else fhir.update
        result = update(
            ctx,
            actor=actor,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            resource=entry.resource,
            if_match=entry.if_match,
        )
        return _written(result.stored, 201 if result.created else 200)
    assert entry.resource_id is not None
    fhir.delete(
        ctx,
        actor=actor,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        if_match=entry.if_match,
    )
    return {"response": {"status": "204 No Content"}}


# -- transaction ---------------------------------------------------------------------------


def _transaction(
    ctx: AppContext, actor: Actor, raw_entries: list[Any], base_url: str
) -> dict[str, Any]:
    entries = [parse_entry(i, raw, base_url) for i, raw in enumerate(raw_entries)]
    for entry in entries:
        fhir.check_type(entry.resource_type)
    # Give every new resource its id first, so references between entries are real references
    # (Patient/<id>) when the entries are validated against their profiles.
    provisional: dict[str, str] = {}
    for entry in entries:
        if entry.method == "POST":
            entry.assigned_id = resource_ids.new_id()
            if entry.full_url:
                provisional[entry.full_url] = f"{entry.resource_type}/{entry.assigned_id}"
    rewrite_entries(entries, provisional)
    for entry in entries:
        validate_entry(ctx, entry)
        try:
            _authorise(actor, entry)
        except WardCareError as exc:
            exc.entry_index = entry.index  # type: ignore[attr-defined]
            raise _at_entry(exc, entries) from None
    check_unique_targets(entries)
    for _attempt in range(5):
        try:
            with ctx.uow.write() as tx:
                _apply_transaction(tx, ctx, actor, entries, base_url)
            break
        except WardCareError as exc:
            if exc.category == Category.CONFLICT and "concurrent" in exc.message:
                continue
            raise _at_entry(exc, entries) from None
    else:
        raise errors.error(Category.CONFLICT, "Too many concurrent changes; try again")
    return {
        "resourceType": "Bundle",
        "id": resource_ids.new_id(),
        "type": "transaction-response",
        "entry": [e.response for e in entries],
    }


_WRITES = {"POST": Interaction.CREATE, "PUT": Interaction.UPDATE, "DELETE": Interaction.DELETE}


def _authorise(actor: Actor, entry: BundleEntry) -> None:
    """Each entry of a transaction is authorised as if it came alone (reads do it themselves)."""
    interaction = _WRITES.get(entry.method)
    if interaction is None:
        return
    granted = authorisation.authorise(actor, interaction, entry.resource_type)
    if entry.resource is not None:
        authorisation.check_write(actor, granted, entry.resource)


def _at_entry(exc: WardCareError, entries: list[BundleEntry]) -> WardCareError:
    failing = getattr(exc, "entry_index", None)
    if failing is None:
        return exc
    exc.issues = [
        Issue(
            f"Bundle.entry[{failing}]: {i.message}",
            i.expression or (f"Bundle.entry[{failing}]",),
            i.code,
        )
        for i in exc.issues
    ]
    return exc


def _apply_transaction(
    tx: Transaction, ctx: AppContext, actor: Actor, entries: list[BundleEntry], base_url: str
) -> None:
    ordered = sorted(entries, key=lambda e: (ORDER[e.method], e.index))
    # A conditional create that matches an existing resource creates nothing: references to it
    # from other entries must point at the existing resource instead (3.1.0.13.2).
    matched: dict[str, str] = {}
    for entry in ordered:
        if entry.method == "POST" and entry.if_none_exist:
            try:
                existing = fhir.conditional_match(tx, ctx, entry.resource_type, entry.if_none_exist)
            except WardCareError as exc:
                exc.entry_index = entry.index  # type: ignore[attr-defined]
                raise
            if existing is not None:
                entry.matched = existing
                matched[f"{entry.resource_type}/{entry.assigned_id}"] = (
                    f"{existing.resource_type}/{existing.id}"
                )
    rewrite_entries(entries, matched)
    for entry in ordered:
        try:
            entry.response = _apply_in(tx, ctx, actor, entry, base_url)
        except WardCareError as exc:
            exc.entry_index = entry.index  # type: ignore[attr-defined]
            raise
        except fhir.RaceLost as exc:
            raise errors.error(Category.CONFLICT, "a concurrent change won a race") from exc


def _apply_in(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    entry: BundleEntry,
    base_url: str,
) -> dict[str, Any]:
    if entry.method == "GET":
        return _get(ctx, actor, entry, base_url, tx=tx)
    if entry.method == "POST" and entry.matched is not None:
        return _written(entry.matched, 200)
    if entry.method == "POST":
        assert entry.resource is not None
        create_in = assessments.create_in if _is_form(entry) else fhir.create_in
        result = create_in(
            tx,
            ctx,
            actor=actor,
            resource=entry.resource,
            if_none_exist=entry.if_none_exist,
            resource_id=entry.assigned_id,
        )
        return _written(result.stored, 201 if result.created else 200)
    if entry.method == "PUT":
        assert entry.resource is not None
        expected = fhir.parse_etag(entry.if_match) if entry.if_match else None
        update_in = amendment.update_in if _is_form(entry) else fhir.update_in
        result = update_in(tx, ctx, actor=actor, resource=entry.resource, expected_version=expected)
        return _written(result.stored, 201 if result.created else 200)
    assert entry.resource_id is not None
    expected = fhir.parse_etag(entry.if_match) if entry.if_match else None
    fhir.delete_in(
        tx,
        ctx,
        actor=actor,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        expected_version=expected,
    )
    return {"response": {"status": "204 No Content"}}


def _is_form(entry: BundleEntry) -> bool:
    """A QuestionnaireResponse is written through the assessment services, which record, score
    and amend a WardCare template's forms (and store any other response as it is)."""
    return entry.resource_type == "QuestionnaireResponse"


# -- shared --------------------------------------------------------------------------------


def _get(
    ctx: AppContext, actor: Actor, entry: BundleEntry, base_url: str, tx: Transaction | None
) -> dict[str, Any]:
    if entry.query is not None or entry.resource_id is None:
        result = fhir_reads.search(
            ctx, actor=actor, resource_type=entry.resource_type, params=entry.query or []
        )
        body = searchset(
            base_url=base_url,
            resource_type=entry.resource_type,
            params=entry.query or [],
            matches=result.page.matches,
            included=result.page.included,
            total=result.page.total,
            count=result.query.count,
            offset=result.query.offset,
        )
        return {"resource": orjson.Fragment(body), "response": {"status": "200 OK"}}
    if entry.version:
        stored = fhir_reads.vread(
            ctx,
            actor=actor,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            version_id=entry.version,
        )
    elif tx is not None:
        granted = authorisation.authorise(actor, Interaction.READ, entry.resource_type)
        stored = fhir_reads.read_in(
            tx, resource_type=entry.resource_type, resource_id=entry.resource_id
        )
        authorisation.check_visible(actor, granted, stored)
    else:
        stored = fhir_reads.read(
            ctx, actor=actor, resource_type=entry.resource_type, resource_id=entry.resource_id
        )
    return _written(stored, 200)


def _written(stored: StoredVersion, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "status": f"{status} {_REASON[status]}",
        "etag": stored.etag,
        "lastModified": stored.last_updated_instant,
    }
    if status == 201:
        response["location"] = f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
    entry: dict[str, Any] = {
        "fullUrl": f"{stored.resource_type}/{stored.id}",
        "response": response,
    }
    if stored.content is not None:
        entry = {
            "fullUrl": entry["fullUrl"],
            "resource": orjson.Fragment(stored.content),
            "response": response,
        }
    return entry
