"""The FHIR RESTful reads as use cases (FHIR R4 3.1.0): read, vread, search and history.

Each runs in a read unit of work; `read_in` reads inside a transaction it is given (a
transaction Bundle's GET). Authorisation is checked on the way in (scopes) and on the way out
(the compartment: only resources the actor may see are returned).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category, WardCareError
from wardcare.fhir.dates import InvalidDate, date_range
from wardcare.fhir.search_query import SearchQuery, parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services import audit, authorisation
from wardcare.services.context import AppContext
from wardcare.services.fhir_interactions import check_type, is_valid_id
from wardcare.storage.resource_search import SearchPage
from wardcare.storage.unit_of_work import Transaction


@dataclass(frozen=True)
class SearchResult:
    query: SearchQuery
    page: SearchPage


@dataclass(frozen=True)
class HistoryResult:
    versions: list[StoredVersion]
    total: int
    count: int
    offset: int


# -- read ----------------------------------------------------------------------------------


def read(ctx: AppContext, *, actor: Actor, resource_type: str, resource_id: str) -> StoredVersion:
    """Read the current version (3.1.0.2); a deleted resource is 410 Gone."""
    check_type(resource_type)
    granted = authorisation.authorise(actor, Interaction.READ, resource_type)
    with ctx.uow.read() as tx:
        stored = read_in(tx, resource_type=resource_type, resource_id=resource_id)
    authorisation.check_visible(actor, granted, stored)
    return stored


def read_in(tx: Transaction, *, resource_type: str, resource_id: str) -> StoredVersion:
    if not is_valid_id(resource_id):
        raise errors.not_found(f"{resource_type}/{resource_id!r} is not known")
    stored = tx.resources.current(resource_type, resource_id)
    if stored is None:
        raise errors.not_found(f"{resource_type}/{resource_id} is not known")
    if stored.deleted:
        raise WardCareError(
            Category.GONE,
            [
                errors.Issue(
                    f"{resource_type}/{resource_id} was deleted (version {stored.version_id}); "
                    "its history remains"
                )
            ],
        )
    return stored


def vread(
    ctx: AppContext, *, actor: Actor, resource_type: str, resource_id: str, version_id: str
) -> StoredVersion:
    """Read one version (3.1.0.3); a deletion version is 410 Gone."""
    check_type(resource_type)
    granted = authorisation.authorise(actor, Interaction.READ, resource_type)
    if (
        not is_valid_id(resource_id)
        or not (version_id.isascii() and version_id.isdigit())
        or len(version_id) > 9
    ):
        raise errors.not_found(f"{resource_type}/{resource_id} has no version {version_id!r}")
    with ctx.uow.read() as tx:
        stored = tx.resources.version(resource_type, resource_id, int(version_id))
    if stored is None:
        raise errors.not_found(f"{resource_type}/{resource_id} has no version {version_id}")
    if stored.deleted:
        raise errors.error(
            Category.GONE,
            f"Version {version_id} of {resource_type}/{resource_id} records its deletion",
        )
    authorisation.check_visible(actor, granted, stored)
    return stored


# -- search and history --------------------------------------------------------------------


def search(
    ctx: AppContext, *, actor: Actor, resource_type: str, params: list[tuple[str, str]]
) -> SearchResult:
    """Search (3.1.1) by GET or POST _search."""
    check_type(resource_type)
    granted = authorisation.authorise(actor, Interaction.SEARCH, resource_type)
    params = authorisation.restrict_search(actor, granted, resource_type, params)
    query = parse_search(
        resource_type,
        params,
        ctx.search_parameters,
        default_count=ctx.settings.default_page_size,
        max_count=ctx.settings.max_page_size,
    )
    for criterion in query.criteria:
        for target_type, _inner in criterion.chain:
            # A chain searches the resources it passes through: the actor must be allowed to.
            authorisation.authorise(actor, Interaction.SEARCH, target_type)
    with ctx.uow.read() as tx:
        page = tx.resources.search(query)
    visible = authorisation.visible_page(actor, page)
    if any(criterion.chain for criterion in query.criteria):
        # A chain names the patient by something other than their id (an NHS number), so
        # the audit record names the patients whose records the search returned.
        audit.note_patients(
            patient
            for version in visible.matches
            if version.content
            for patient in authorisation.patients_of(orjson.loads(version.content))
        )
    return SearchResult(query, visible)


def history(
    ctx: AppContext,
    *,
    actor: Actor,
    resource_type: str | None = None,
    resource_id: str | None = None,
    params: list[tuple[str, str]],
) -> HistoryResult:
    """Instance, type and system history (3.1.0.11), newest first."""
    if resource_type:
        check_type(resource_type)
    # Instance history is a read of one resource; type and system history are searches.
    interaction = Interaction.READ if resource_id else Interaction.SEARCH
    if resource_type:
        authorisation.authorise(actor, interaction, resource_type)
    count, offset, since = ctx.settings.default_page_size, 0, None
    for name, value in params:
        if name in ("_count", "_offset"):
            if not (value.isascii() and value.isdigit()) or len(value) > 9:
                raise errors.invalid(f"{name} must be a whole number below 10^9", name)
            if name == "_count":
                count = min(int(value), ctx.settings.max_page_size)
            else:
                offset = int(value)
        elif name == "_since":
            try:
                since = date_range(value)[0]
            except InvalidDate as exc:
                raise errors.invalid(f"_since: {exc}", "_since") from exc
        elif name not in ("_format", "_pretty"):
            raise errors.invalid(f"Unknown history parameter {name!r}", name, code="not-supported")
    if resource_id is not None and not is_valid_id(resource_id):
        raise errors.not_found(f"{resource_type}/{resource_id!r} is not known")
    with ctx.uow.read() as tx:
        if resource_type and resource_id:
            read_in_any = tx.resources.current(resource_type, resource_id)
            authorisation.check_existing(actor, interaction, read_in_any)
            if read_in_any is None:
                raise errors.not_found(f"{resource_type}/{resource_id} is not known")
        versions, total = tx.resources.history(
            resource_type=resource_type,
            resource_id=resource_id,
            since=since,
            count=count,
            offset=offset,
        )
    versions = authorisation.only_visible(actor, versions, interaction)
    return HistoryResult(versions, total, count, offset)
