"""The versioned resource repository: every write a new immutable version, deletes logical.

FHIR R4 RESTful API 3.1.0: create, read, vread, update, delete and history. The repository works
inside a transaction it is given (see `unit_of_work`); it never commits. Search index rows are
rewritten with each version, so search always sees the current version only.

One class, in parts: this module reads and writes versions (its SQL in `write_statements`);
`resource_search` answers FHIR searches, includes and history; `index_lookups` answers the
fixed questions of hot paths (their statements in `fixed_lookups`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from wardcare import errors
from wardcare.errors import Category
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.indexing import IndexRows, index_resource
from wardcare.fhir.search_parameters import SearchParameterRegistry
from wardcare.fhir.versions import StoredVersion
from wardcare.storage.fixed_lookups import CURRENT
from wardcare.storage.index_lookups import IndexLookups
from wardcare.storage.index_rows import (
    INDEX_ROW_COLUMNS,
    SQLITE_INSERTS,
    index_row_values,
    sqlite_rows_by_table,
)
from wardcare.storage.resource_search import ResourceSearch
from wardcare.storage.tables import (
    INDEX_TABLES,
    conditional_claims,
    resource_versions,
    resources,
    stored_version,
    versions_select,
)
from wardcare.storage.write_statements import (
    PG_CREATE,
    PG_CREATE_MANY,
    PG_VERSION,
    as_array_literals,
    write_statements_for,
)


class ResourceRepository(IndexLookups, ResourceSearch):
    def __init__(self, connection: Connection, registry: SearchParameterRegistry) -> None:
        self._conn = connection
        self._registry = registry
        self._sql = write_statements_for(connection.dialect)
        self._cursor: Any = None
        self._one_statement = connection.dialect.name == "postgresql"
        self.versions_written = 0
        # The versions this repository wrote in its transaction, by rid: the latest of each is
        # the current one (a repository lives for one transaction, and resources are written
        # only through it; no savepoint is rolled back around a resource write), so a read of
        # a resource just written (NEWS2 reads the readings a message has just stored) need
        # not fetch and decode it again.
        self._written: dict[int, StoredVersion] = {}
        # Append-only records (Provenance) that nothing reads back in the same transaction:
        # the unit of work stores them together just before it commits (`store_appended`).
        self._appended: list[tuple[dict[str, Any], str, int]] = []

    def _driver(self) -> Any:
        """A driver cursor inside this connection's transaction (created on first write)."""
        if self._cursor is None:
            self._cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        return self._cursor

    def _insert_resource(self, row: dict[str, Any]) -> int:
        cursor = self._driver()
        cursor.execute(self._sql["insert_resource"], row)
        rid: int = cursor.fetchone()[0]
        return rid

    # -- reading -----------------------------------------------------------------------------

    def current(
        self, resource_type: str, resource_id: str, *, for_update: bool = False
    ) -> StoredVersion | None:
        """The current version (possibly a deletion), or None if the id was never used.

        `for_update` locks the row until the transaction ends (PostgreSQL), so concurrent
        writers of one resource queue instead of racing; SQLite has one writer anyway.
        """
        if for_update and self._conn.dialect.name != "sqlite":
            # Lock first, then read: a locked row re-read after another writer's commit must
            # join to the version that writer added, which one statement cannot promise.
            self._conn.execute(
                select(resources.c.rid)
                .where(resources.c.resource_type == resource_type, resources.c.id == resource_id)
                .with_for_update()
            )
        rows = CURRENT.rows(self._conn, {"resource_type": resource_type, "id": resource_id})
        return stored_version(rows[0]) if rows else None

    def version(
        self, resource_type: str, resource_id: str, version_id: int
    ) -> StoredVersion | None:
        row = self._conn.execute(
            versions_select().where(
                resources.c.resource_type == resource_type,
                resources.c.id == resource_id,
                resource_versions.c.version_id == version_id,
            )
        ).first()
        return stored_version(row) if row else None

    def current_many(self, keys: Iterable[tuple[str, str]]) -> list[StoredVersion]:
        """Current, not deleted versions of the given (type, id) pairs that exist."""
        by_type: dict[str, list[str]] = {}
        for resource_type, resource_id in dict.fromkeys(keys):
            by_type.setdefault(resource_type, []).append(resource_id)
        found: list[StoredVersion] = []
        # Per type through the statement built once (`current_of_type`): a tuple IN built per
        # call cost more than the query (every inbound message asks this).
        for resource_type, ids in by_type.items():
            for start in range(0, len(ids), 500):
                found.extend(self.current_of_type(resource_type, ids[start : start + 500]))
        return found

    # -- writing -----------------------------------------------------------------------------

    def create(
        self,
        resource: dict[str, Any],
        *,
        resource_id: str,
        now: int,
        method: str = "POST",
        id_may_exist: bool = False,
    ) -> StoredVersion:
        """Store version 1 of a new resource under the given id.

        A server-assigned UUID cannot collide, so only a client-chosen id (update as create)
        pays for the check that turns a duplicate into a clean CONFLICT.
        """
        resource_type = resource["resourceType"]
        row = {
            "resource_type": resource_type,
            "id": resource_id,
            "version_id": 1,
            "last_updated": now,
            "deleted": False,
        }
        if not id_may_exist:
            if self._one_statement:
                return self._write_version(None, resource, resource_id, 1, now, method)
            return self._write_version(
                self._insert_resource(row), resource, resource_id, 1, now, method
            )
        # ON CONFLICT DO NOTHING instead of a savepoint around a failing INSERT: no row back
        # means the id is taken (on PostgreSQL after a concurrent inserter commits), and the
        # transaction stays usable without the two extra statements a savepoint costs.
        cursor = self._driver()
        cursor.execute(self._sql["insert_resource_if_new"], row)
        inserted = cursor.fetchone()
        if inserted is None:
            raise errors.error(Category.CONFLICT, f"{resource_type}/{resource_id} already exists")
        return self._write_version(inserted[0], resource, resource_id, 1, now, method)

    def append_before_commit(self, resource: dict[str, Any], *, resource_id: str, now: int) -> None:
        """Create `resource` as the transaction's last write, in one batch with the others
        appended. For records no one reads back within the transaction (Provenance): an inbound
        ORU's Provenance and its NEWS2 score's went from two statements to one."""
        self._appended.append((resource, resource_id, now))

    def store_appended(self) -> list[StoredVersion]:
        """Write what was appended (the unit of work calls this inside its transaction, before
        the commit). Stored as of the latest time asked for: lastUpdated is when it was stored."""
        if not self._appended:
            return []
        items, self._appended = self._appended, []
        now = max(when for _resource, _id, when in items)
        return self.create_many([(resource, rid) for resource, rid, _when in items], now=now)

    @property
    def has_appended(self) -> bool:
        return bool(self._appended)

    def create_many(
        self, items: Sequence[tuple[dict[str, Any], str]], *, now: int, method: str = "POST"
    ) -> list[StoredVersion]:
        """Version 1 of several new resources under client-chosen ids, as `create(...,
        id_may_exist=True)` of each in turn would store them (same rows, rids in the same
        order), but with the index rows of them all written at once: one `executemany` per
        index table on SQLite, one statement in all on PostgreSQL, instead of ~8 statements per
        resource. CONFLICT if any id is taken (the caller's transaction is then to be dropped:
        the others may be half written)."""
        return self.create_prepared(prepare_new(self._registry, items, now=now), method=method)

    def create_prepared(self, batch: PreparedBatch, *, method: str = "POST") -> list[StoredVersion]:
        """`create_many` of a batch prepared (serialised and indexed) before the transaction,
        so a large batch (the audit trail's) holds SQLite's write lock only to store it."""
        prepared, now = batch.versions, batch.now
        if not prepared:
            return []
        self.versions_written += len(prepared)
        if self._one_statement:
            rids = self._pg_create_many(prepared, now, method)
        else:
            rids = self._sqlite_create_many(prepared, now, method)
        stored = [
            StoredVersion(rid, resource["resourceType"], rid_id, 1, now, False, method, content)
            for rid, (resource, rid_id, content, _rows) in zip(rids, prepared, strict=True)
        ]
        self._written.update((v.rid, v) for v in stored)
        return stored

    def _sqlite_create_many(self, prepared: list[_Prepared], now: int, method: str) -> list[int]:
        cursor = self._driver()
        # A SQLite writer holds the database's write lock (BEGIN IMMEDIATE), so no one else
        # inserts: the rids SQLite would give one insert after another (the largest + 1, ...)
        # are chosen here, and the rows go in one executemany instead of a statement each.
        (largest,) = cursor.execute(self._sql["largest_rid"]).fetchone()
        rids = list(range(largest + 1, largest + 1 + len(prepared)))
        cursor.executemany(
            self._sql["insert_resources_if_new"],
            [
                (rid, resource["resourceType"], resource_id, now)
                for rid, (resource, resource_id, _c, _rows) in zip(rids, prepared, strict=True)
            ],
        )
        if cursor.rowcount != len(prepared):
            taken = next(
                f"{resource['resourceType']}/{resource_id}"
                for rid, (resource, resource_id, _c, _rows) in zip(rids, prepared, strict=True)
                if cursor.execute(self._sql["rid_holds"], (rid, resource_id)).fetchone() is None
            )
            raise errors.error(Category.CONFLICT, f"{taken} already exists")
        cursor.executemany(
            self._sql["insert_versions"],
            [
                (rid, resource["resourceType"], now, method, content.decode())
                for rid, (resource, _id, content, _rows) in zip(rids, prepared, strict=True)
            ],
        )
        by_table = sqlite_rows_by_table(
            [
                (rid, resource["resourceType"], rows)
                for rid, (resource, _id, _content, rows) in zip(rids, prepared, strict=True)
            ]
        )
        for table, values in by_table.items():
            if values:
                cursor.executemany(SQLITE_INSERTS[table], values)
        return rids

    def _pg_create_many(self, prepared: list[_Prepared], now: int, method: str) -> list[int]:
        tables: dict[str, list[tuple[Any, ...]]] = {table: [] for table, _c in INDEX_ROW_COLUMNS}
        for k, (_resource, _id, _content, rows) in enumerate(prepared, start=1):
            for table, values in index_row_values(rows):
                tables[table].extend((k, *v) for v in values)
        parameters: dict[str, Any] = {
            "ids": [resource_id for _r, resource_id, _c, _rows in prepared],
            "types": [resource["resourceType"] for resource, _i, _c, _rows in prepared],
            "contents": [content.decode() for _r, _i, content, _rows in prepared],
            "last_updated": now,
            "method": method,
            "rows": orjson.dumps(tables).decode(),
        }
        cursor = self._driver()
        cursor.execute(PG_CREATE_MANY, as_array_literals(parameters))
        by_position = {int(k): int(rid) for rid, k in cursor.fetchall()}
        for k, (resource, resource_id, _content, _rows) in enumerate(prepared, start=1):
            if k not in by_position:
                raise errors.error(
                    Category.CONFLICT, f"{resource['resourceType']}/{resource_id} already exists"
                )
        return [by_position[k] for k in range(1, len(prepared) + 1)]

    def new_version(
        self,
        current: StoredVersion,
        resource: dict[str, Any] | None,
        *,
        now: int,
        method: str,
    ) -> StoredVersion:
        """Write the version after `current` (a new content, or None for a delete).

        Fails with PRECONDITION_FAILED if another writer got there first: the version check is
        part of the UPDATE, so two concurrent writers can never both succeed from one version.
        """
        next_version = current.version_id + 1
        cursor = self._driver()
        cursor.execute(
            self._sql["advance_version"],
            {
                "rid": current.rid,
                "current_version": current.version_id,
                "version_id": next_version,
                "last_updated": now,
                "deleted": resource is None,
            },
        )
        if cursor.rowcount != 1:
            raise errors.error(
                Category.PRECONDITION_FAILED,
                f"{current.resource_type}/{current.id} changed since version {current.version_id}",
            )
        self._delete_index_rows(current.rid)
        if resource is None:
            cursor.execute(
                self._sql["insert_version"],
                {
                    "rid": current.rid,
                    "version_id": next_version,
                    "resource_type": current.resource_type,
                    "last_updated": now,
                    "method": method,
                    "content": None,
                },
            )
            deletion = StoredVersion(
                current.rid,
                current.resource_type,
                current.id,
                next_version,
                now,
                True,
                method,
                None,
            )
            self._written[current.rid] = deletion
            return deletion
        return self._write_version(current.rid, resource, current.id, next_version, now, method)

    def claim_criteria(self, resource_type: str, criteria: str, rid: int) -> bool:
        """Claim If-None-Exist criteria for a new resource; False if another resource holds them."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(conditional_claims).values(
                        resource_type=resource_type, criteria=criteria, rid=rid
                    )
                )
        except self._conn.dialect.loaded_dbapi.IntegrityError:
            return False
        except IntegrityError:
            return False
        return True

    def claim_holder(self, resource_type: str, criteria: str) -> StoredVersion | None:
        row = self._conn.execute(
            versions_select().where(
                resources.c.rid
                == select(conditional_claims.c.rid)
                .where(
                    conditional_claims.c.resource_type == resource_type,
                    conditional_claims.c.criteria == criteria,
                )
                .scalar_subquery(),
                resource_versions.c.version_id == resources.c.version_id,
            )
        ).first()
        return stored_version(row) if row else None

    def release_claim(self, resource_type: str, criteria: str) -> None:
        """Forget a claim whose resource no longer matches its criteria (an index, not a record)."""
        self._conn.execute(
            delete(conditional_claims).where(
                conditional_claims.c.resource_type == resource_type,
                conditional_claims.c.criteria == criteria,
            )
        )

    def _prepare_version(
        self,
        resource: dict[str, Any],
        resource_id: str,
        version_id: int,
        now: int,
        last_updated: str | None = None,
    ) -> _Prepared:
        """Set the resource's id and meta as stored, serialise it and derive its index rows.
        `last_updated` is `now` as an instant, when the caller has it already."""
        self.versions_written += 1
        stamp = last_updated or instant(from_micros(now))
        return _prepared(self._registry, resource, resource_id, version_id, stamp)

    def _write_version(
        self,
        rid: int | None,
        resource: dict[str, Any],
        resource_id: str,
        version_id: int,
        now: int,
        method: str,
    ) -> StoredVersion:
        """Store a version and its index rows; `rid` None (PostgreSQL only) also inserts the
        `resources` row, in the same statement."""
        resource_type = resource["resourceType"]
        _resource, _id, content, rows = self._prepare_version(
            resource, resource_id, version_id, now
        )
        version = {
            "rid": rid,
            "id": resource_id,
            "version_id": version_id,
            "resource_type": resource_type,
            "last_updated": now,
            "method": method,
            "content": content.decode(),
        }
        cursor = self._driver()
        if self._one_statement:
            cursor.execute(
                PG_CREATE if rid is None else PG_VERSION,
                {**version, "rows": orjson.dumps(dict(index_row_values(rows))).decode()},
            )
            rid = int(cursor.fetchone()[0])
        else:
            assert rid is not None
            cursor.execute(self._sql["insert_version"], version)
            for table, values in sqlite_rows_by_table([(rid, resource_type, rows)]).items():
                if len(values) == 1:
                    cursor.execute(SQLITE_INSERTS[table], values[0])
                elif values:
                    cursor.executemany(SQLITE_INSERTS[table], values)
        stored = StoredVersion(
            rid, resource_type, resource_id, version_id, now, False, method, content
        )
        self._written[rid] = stored
        return stored

    def _delete_index_rows(self, rid: int) -> None:
        cursor = self._driver()
        for table in INDEX_TABLES:
            cursor.execute(self._sql[f"delete_{table.name}"], {"rid": rid})

    # -- search and history ------------------------------------------------------------------


# A version ready to store: the resource as stored, its id, its JSON and its index rows.
_Prepared = tuple[dict[str, Any], str, bytes, IndexRows]


@dataclass(frozen=True)
class PreparedBatch:
    """Version 1 of several new resources, serialised and indexed, stored as of `now`."""

    versions: list[_Prepared]
    now: int


def prepare_new(
    registry: SearchParameterRegistry, items: Sequence[tuple[dict[str, Any], str]], *, now: int
) -> PreparedBatch:
    """Set each resource's id and meta as stored, serialise it and derive its index rows: the
    part of a create that needs no database."""
    # One lastUpdated for the batch, formatted once (it was ~12 % of preparing a version).
    stamp = instant(from_micros(now))
    return PreparedBatch(
        [_prepared(registry, resource, resource_id, 1, stamp) for resource, resource_id in items],
        now,
    )


def _prepared(
    registry: SearchParameterRegistry,
    resource: dict[str, Any],
    resource_id: str,
    version_id: int,
    last_updated: str,
) -> _Prepared:
    resource["id"] = resource_id
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = last_updated
    resource["meta"] = meta
    content = orjson.dumps(resource)
    rows = index_resource(resource, registry.indexed(resource["resourceType"]))
    return resource, resource_id, content, rows
