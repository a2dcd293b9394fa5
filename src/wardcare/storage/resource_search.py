"""FHIR search, _include/_revinclude and _history over the index tables (FHIR R4 3.1.0.7-11).

The SQL of a search's criteria is `search_sql`; here the page is read, the total counted and
the included resources found.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from wardcare.fhir.search_parameters import SearchParameterRegistry
from wardcare.fhir.search_query import Include, SearchQuery
from wardcare.fhir.versions import StoredVersion
from wardcare.storage import search_sql
from wardcare.storage.tables import (
    resource_versions,
    resources,
    search_reference,
    stored_version,
    versions_select,
)


@dataclass(frozen=True)
class SearchPage:
    matches: list[StoredVersion]
    included: list[StoredVersion]
    total: int | None


class ResourceSearch(ABC):
    """Part of `ResourceRepository` (storage/repository.py), which provides its connection."""

    _conn: Connection
    _registry: SearchParameterRegistry

    @abstractmethod
    def current_many(self, keys: Iterable[tuple[str, str]]) -> list[StoredVersion]:
        """Current, not deleted versions of the given (type, id) pairs (for `_include`)."""

    def search(self, query: SearchQuery) -> SearchPage:
        by_patient_code = search_sql.by_patient_code(query)
        if by_patient_code is not None:
            return self._search_by_patient_code(query, *by_patient_code)
        rids = search_sql.matching_rids(query).subquery()
        total = None
        if query.total != "none" or query.summary_count or query.count == 0:
            total = self._conn.execute(select(func.count()).select_from(rids)).scalar_one()
        if query.summary_count or query.count == 0:
            return SearchPage([], [], total)
        page = self._conn.execute(
            versions_select()
            .where(
                resources.c.rid.in_(select(rids.c.rid)),
                resource_versions.c.version_id == resources.c.version_id,
            )
            .order_by(*search_sql.order_by(query))
            .limit(query.count)
            .offset(query.offset)
        ).all()
        matches = [stored_version(r) for r in page]
        included = self._includes(matches, query.includes, query.revincludes)
        return SearchPage(matches, included, total)

    def _search_by_patient_code(
        self, query: SearchQuery, matches: Any, order: list[Any]
    ) -> SearchPage:
        """A search driven by search_patient_code (see search_sql.by_patient_code): the page's
        rids come from the index alone, then only that page's versions are read."""
        total = None
        if query.total != "none" or query.summary_count or query.count == 0:
            total = self._conn.execute(
                select(func.count()).select_from(matches.subquery())
            ).scalar_one()
        if query.summary_count or query.count == 0:
            return SearchPage([], [], total)
        rids = list(
            self._conn.execute(
                matches.order_by(*order).limit(query.count).offset(query.offset)
            ).scalars()
        )
        found: dict[int, StoredVersion] = {}
        if rids:
            rows = self._conn.execute(
                versions_select().where(
                    resources.c.rid.in_(rids),
                    resource_versions.c.version_id == resources.c.version_id,
                )
            )
            found = {row.rid: stored_version(row) for row in rows}
        page = [found[rid] for rid in rids if rid in found]
        return SearchPage(page, self._includes(page, query.includes, query.revincludes), total)

    def _row_params(self, include: Include) -> tuple[str, ...]:
        param = self._registry.get(include.source_type, include.param)
        return param.row_params if param is not None else (include.param,)

    def _includes(
        self, matches: Sequence[StoredVersion], includes: list[Include], revincludes: list[Include]
    ) -> list[StoredVersion]:
        if not matches or not (includes or revincludes):
            return []
        rids = [m.rid for m in matches]
        keys: list[tuple[str, str]] = []
        ref = search_reference.c
        for inc in includes:
            condition = [
                ref.rid.in_(rids),
                ref.param.in_(self._row_params(inc)),
                ref.target_type != "",
            ]
            if inc.target_type:
                condition.append(ref.target_type == inc.target_type)
            keys.extend(
                (t, i)
                for t, i in self._conn.execute(
                    select(ref.target_type, ref.target_id).where(*condition)
                )
            )
        revinclude_rids: list[int] = []
        targets = [(m.resource_type, m.id) for m in matches]
        for inc in revincludes:
            revinclude_rids.extend(
                self._conn.execute(
                    select(ref.rid)
                    .where(
                        ref.resource_type == inc.source_type,
                        ref.param.in_(self._row_params(inc)),
                        or_(*(and_(ref.target_type == t, ref.target_id == i) for t, i in targets)),
                    )
                    .limit(1000)
                ).scalars()
            )
        seen = {(m.resource_type, m.id) for m in matches}
        found = self.current_many(k for k in keys if k not in seen)
        if revinclude_rids:
            rows = self._conn.execute(
                versions_select().where(
                    resources.c.rid.in_(set(revinclude_rids)),
                    resource_versions.c.version_id == resources.c.version_id,
                    ~resources.c.deleted,
                )
            )
            found.extend(stored_version(r) for r in rows)
        unique: dict[tuple[str, str], StoredVersion] = {}
        for item in found:
            if (item.resource_type, item.id) not in seen:
                unique[(item.resource_type, item.id)] = item
        return list(unique.values())

    def history(
        self,
        *,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: int | None = None,
        count: int = 20,
        offset: int = 0,
    ) -> tuple[list[StoredVersion], int]:
        """Versions newest first (FHIR R4 3.1.0.11), with the total number of versions."""
        conditions = []
        if resource_type:
            conditions.append(resource_versions.c.resource_type == resource_type)
        if resource_id:
            conditions.append(resources.c.id == resource_id)
        if since is not None:
            conditions.append(resource_versions.c.last_updated >= since)
        total = self._conn.execute(
            select(func.count())
            .select_from(
                resource_versions.join(resources, resources.c.rid == resource_versions.c.rid)
            )
            .where(*conditions)
        ).scalar_one()
        rows = self._conn.execute(
            versions_select()
            .where(*conditions)
            .order_by(
                resource_versions.c.last_updated.desc(),
                resource_versions.c.rid.desc(),
                resource_versions.c.version_id.desc(),
            )
            .limit(count)
            .offset(offset)
        )
        return [stored_version(r) for r in rows], total
