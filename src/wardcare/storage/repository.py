"""The versioned resource repository: every write a new immutable version, deletes logical.

FHIR R4 RESTful API 3.1.0: create, read, vread, update, delete and history. The repository works
inside a transaction it is given (see `unit_of_work`); it never commits. Search index rows are
rewritten with each version, so search always sees the current version only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Dialect,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError

from wardcare import errors
from wardcare.errors import Category
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.indexing import IndexRows, index_resource
from wardcare.fhir.search_parameters import SearchParameterRegistry
from wardcare.fhir.search_query import Include, SearchQuery
from wardcare.fhir.versions import StoredVersion
from wardcare.storage import search_sql
from wardcare.storage.driver_statements import PreparedSelect
from wardcare.storage.fixed_lookups import SUBJECT_WITH_CODES, WITH_TOKEN
from wardcare.storage.index_rows import (
    INDEX_ROW_COLUMNS,
    SQLITE_INSERTS,
    index_row_values,
    sqlite_rows_by_table,
)
from wardcare.storage.recent_by_code import NEWEST_WITH_CODE, RECENT_RIDS
from wardcare.storage.tables import (
    INDEX_TABLES,
    conditional_claims,
    resource_versions,
    resources,
    search_date,
    search_reference,
    search_token,
    versions_select,
)


@dataclass(frozen=True)
class SearchPage:
    matches: list[StoredVersion]
    included: list[StoredVersion]
    total: int | None


# The write path runs on every create, so it talks to the driver directly with SQL written once
# per dialect: SQLAlchemy's per-statement overhead (~0.1 ms) was half of a create's cost.
_WRITE_SQL = {
    "insert_resource": "INSERT INTO resources"
    " (resource_type, id, version_id, last_updated, deleted)"
    " VALUES (:resource_type, :id, :version_id, :last_updated, :deleted) RETURNING rid",
    "insert_resource_if_new": "INSERT INTO resources"
    " (resource_type, id, version_id, last_updated, deleted)"
    " VALUES (:resource_type, :id, :version_id, :last_updated, :deleted)"
    " ON CONFLICT (resource_type, id) DO NOTHING RETURNING rid",
    "insert_version": "INSERT INTO resource_versions"
    " (rid, version_id, resource_type, last_updated, method, content)"
    " VALUES (:rid, :version_id, :resource_type, :last_updated, :method, :content)",
    "advance_version": "UPDATE resources SET version_id = :version_id,"
    " last_updated = :last_updated, deleted = :deleted"
    " WHERE rid = :rid AND version_id = :current_version",
    **{f"delete_{t.name}": f"DELETE FROM {t.name} WHERE rid = :rid" for t in INDEX_TABLES},
    # SQLite's batch create (ResourceRepository._sqlite_create_many), positional.
    "largest_rid": "SELECT coalesce(max(rid), 0) FROM resources",
    "insert_resources_if_new": "INSERT INTO resources"
    " (rid, resource_type, id, version_id, last_updated, deleted) VALUES (?, ?, ?, 1, ?, 0)"
    " ON CONFLICT (resource_type, id) DO NOTHING",
    "rid_holds": "SELECT 1 FROM resources WHERE rid = ? AND id = ?",
    "insert_versions": "INSERT INTO resource_versions"
    " (rid, version_id, resource_type, last_updated, method, content)"
    " VALUES (?, 1, ?, ?, ?, ?)",
    "codes_in_window": "SELECT DISTINCT t.system, t.code FROM search_patient_date pd"
    " JOIN search_token t ON t.rid = pd.rid"
    " WHERE pd.resource_type = :resource_type AND pd.patient_id = :patient_id"
    " AND pd.low > :after AND pd.low <= :until"
    " AND t.param IN (:code_param_1, :code_param_2)",
}


# PostgreSQL: a version and all its index rows in ONE statement (data-modifying CTEs), so a
# create costs one round trip instead of eight. The index rows travel as ONE jsonb parameter,
# {table: [[value, ...], ...]}, unpacked per table with jsonb_array_elements: psycopg's cost is
# per parameter (adapting ~40 array parameters was ~14 % of a create's server CPU), orjson
# writes the document in microseconds, and jsonb is parsed once however many tables read it.
# The text never varies with the number of rows, so psycopg prepares it once.


def _pg_row_values(columns: tuple[tuple[str, str], ...], first: int) -> str:
    """The columns of one index row from its jsonb array `e`, position `first` onwards."""
    return ", ".join(
        f"(e.value->>{first + i})::{sql_type}" for i, (_name, sql_type) in enumerate(columns)
    )


def _pg_version_statement(rid_source: str) -> str:
    parts = [
        f"r AS ({rid_source})",
        "j AS (SELECT %(rows)s::jsonb AS doc)",
        "v AS (INSERT INTO resource_versions"
        " (rid, version_id, resource_type, last_updated, method, content)"
        " SELECT rid, %(version_id)s, %(resource_type)s, %(last_updated)s, %(method)s,"
        " %(content)s FROM r)",
    ]
    for table, columns in INDEX_ROW_COLUMNS:
        names = ", ".join(name for name, _type in columns)
        parts.append(
            f"i_{table} AS (INSERT INTO {table} (rid, resource_type, {names})"
            f" SELECT r.rid, %(resource_type)s, {_pg_row_values(columns, 0)}"
            f" FROM r, j, jsonb_array_elements(j.doc -> '{table}') AS e)"
        )
    return "WITH " + ", ".join(parts) + " SELECT rid FROM r"


_PG_CREATE = _pg_version_statement(
    "INSERT INTO resources (resource_type, id, version_id, last_updated, deleted)"
    " VALUES (%(resource_type)s, %(id)s, %(version_id)s, %(last_updated)s, false) RETURNING rid"
)
_PG_VERSION = _pg_version_statement("SELECT %(rid)s::bigint AS rid")


def _pg_many_statement() -> str:
    """Version 1 of several new resources and all their index rows in ONE statement: the
    resources' ids, types and contents as arrays numbered by position (k), each index row
    carrying the position of its resource first. A taken id inserts nothing for that resource
    (ON CONFLICT DO NOTHING), and the caller, seeing fewer rids back, fails the whole
    transaction."""
    parts = [
        "x AS (SELECT * FROM unnest(%(ids)s::text[], %(types)s::text[], %(contents)s::text[])"
        " WITH ORDINALITY AS x(id, resource_type, content, k))",
        # ORDER BY k: rids follow the resources' order, as one create after another would.
        "r AS (INSERT INTO resources (resource_type, id, version_id, last_updated, deleted)"
        " SELECT resource_type, id, 1, %(last_updated)s, false FROM x ORDER BY k"
        " ON CONFLICT (resource_type, id) DO NOTHING RETURNING rid, resource_type, id)",
        "rk AS (SELECT r.rid, r.resource_type, x.k, x.content FROM r"
        " JOIN x ON x.id = r.id AND x.resource_type = r.resource_type)",
        "j AS (SELECT %(rows)s::jsonb AS doc)",
        "v AS (INSERT INTO resource_versions"
        " (rid, version_id, resource_type, last_updated, method, content)"
        " SELECT rid, 1, resource_type, %(last_updated)s, %(method)s, content FROM rk)",
    ]
    for table, columns in INDEX_ROW_COLUMNS:
        names = ", ".join(name for name, _type in columns)
        parts.append(
            f"i_{table} AS (INSERT INTO {table} (rid, resource_type, {names})"
            f" SELECT rk.rid, rk.resource_type, {_pg_row_values(columns, 1)}"
            f" FROM j, jsonb_array_elements(j.doc -> '{table}') AS e"
            f" JOIN rk ON rk.k = (e.value->>0)::bigint)"
        )
    return "WITH " + ", ".join(parts) + " SELECT rid, k FROM rk"


_PG_CREATE_MANY = _pg_many_statement()


def _for_dialect(dialect: Dialect) -> dict[str, str]:
    return _statements_for(dialect.paramstyle)


@cache
def _statements_for(paramstyle: str) -> dict[str, str]:
    # Once per paramstyle, not per repository: a repository lives for one transaction, and
    # rewriting every statement each time was ~5 % of a PostgreSQL create's CPU.
    if paramstyle == "pyformat":  # psycopg: %(name)s
        return {k: re.sub(r":(\w+)", r"%(\1)s", v) for k, v in _WRITE_SQL.items()}
    return _WRITE_SQL  # sqlite3 takes :name


class ResourceRepository:
    def __init__(self, connection: Connection, registry: SearchParameterRegistry) -> None:
        self._conn = connection
        self._registry = registry
        self._sql = _for_dialect(connection.dialect)
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
        rows = _CURRENT.rows(self._conn, {"resource_type": resource_type, "id": resource_id})
        return _stored(rows[0]) if rows else None

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
        return _stored(row) if row else None

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
        if not items:
            return []
        # One lastUpdated for the batch, formatted once (it was ~12 % of preparing a version).
        stamp = instant(from_micros(now))
        prepared = [self._prepare_version(r, i, 1, now, stamp) for r, i in items]
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
        cursor.execute(_PG_CREATE_MANY, _as_array_literals(parameters))
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
        return _stored(row) if row else None

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
        resource["id"] = resource_id
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = str(version_id)
        meta["lastUpdated"] = last_updated or instant(from_micros(now))
        resource["meta"] = meta
        content = orjson.dumps(resource)
        self.versions_written += 1
        rows = index_resource(resource, self._registry.indexed(resource["resourceType"]))
        return resource, resource_id, content, rows

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
                _PG_CREATE if rid is None else _PG_VERSION,
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

    def patient_codes_in_window(
        self,
        resource_type: str,
        *,
        patient_id: str,
        code_params: tuple[str, str],
        after: int,
        until: int,
    ) -> set[tuple[str | None, str | None]]:
        """The (system, code) tokens of a patient's resources dated in (after, until], from the
        indexes alone: a cheap first look before fetching any resource. It runs after every
        write of a vital sign, so it goes to the driver directly like the writes."""
        cursor = self._driver()
        cursor.execute(
            self._sql["codes_in_window"],
            {
                "resource_type": resource_type,
                "patient_id": patient_id,
                "after": after,
                "until": until,
                "code_param_1": code_params[0],
                "code_param_2": code_params[1],
            },
        )
        return {(system, code) for system, code in cursor.fetchall()}

    def latest_for_each(
        self,
        resource_type: str,
        *,
        subject_param: str,
        subjects: Sequence[tuple[str, str]],
        date_param: str,
        token: tuple[str, str | None, str] | None = None,
        reference: tuple[str, str, Sequence[str]] | None = None,
    ) -> dict[tuple[str, str], StoredVersion]:
        """For each subject (e.g. each patient on a ward), its newest resource of a kind, chosen
        by a token (param, system, code) or a reference (param, target type, target ids), in one
        query: the ward's due list asks this once per assessment, not once per bed."""
        if not subjects:
            return {}
        types = {t for t, _i in subjects}
        # One statement per shape, built once with every value a bound parameter: building the
        # SQL expression per call cost more than the query (the due list asks six times).
        statement = _latest_for_each(
            len(types) == 1,
            token is not None,
            token is not None and token[1] is not None,
            reference is not None,
        )
        values: dict[str, Any] = {
            "resource_type": resource_type,
            "subject_param": subject_param,
            "date_param": date_param,
        }
        if len(types) == 1:
            values["subject_type"] = next(iter(types))
            values["subject_ids"] = [i for _t, i in subjects]
        else:
            values["subjects"] = list(subjects)
        if token is not None:
            values["token_param"], values["token_system"], values["token_code"] = token
        if reference is not None:
            values["ref_param"], values["ref_type"], ids = reference
            values["ref_ids"] = list(ids)
        # After the version columns: the subject's type and id.
        return {(row[7], row[8]): _stored(row) for row in statement.rows(self._conn, values)}

    def newest_with_token(
        self,
        resource_type: str,
        *,
        subject_param: str,
        subject: tuple[str, str],
        token_param: str,
        system: str,
        code: str,
        date_param: str,
        limit: int = 1,
    ) -> list[StoredVersion]:
        """The newest resources about one subject with one token, newest first: a fixed
        statement (compiled once) for questions asked on hot paths, such as a patient's SpO2
        scale or their open escalations."""
        rows = _NEWEST_WITH_TOKEN.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "subject_param": subject_param,
                "target_type": subject[0],
                "target_id": subject[1],
                "token_param": token_param,
                "system": system,
                "code": code,
                "date_param": date_param,
                "limit": limit,
            },
        )
        return [_stored(r) for r in rows]

    def newest_for_patient_code(
        self, resource_type: str, *, patient_id: str, system: str, code: str, limit: int = 1
    ) -> list[StoredVersion]:
        """A patient's newest resources with one code, newest `date` first, through
        search_patient_code (storage/recent_by_code.py): `newest_with_token` for the
        `patient` reference, the `code` token and `date`, for resources with one `date` value
        (Observations), without walking the patient's whole record."""
        rows = _NEWEST_WITH_CODE.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "patient_id": patient_id,
                "system": system,
                "code": code,
                "limit": limit,
            },
        )
        return [_stored(r) for r in rows]

    def with_token(
        self, resource_type: str, *, param: str, system: str, code: str, limit: int = 1
    ) -> list[StoredVersion]:
        """Current resources whose `param` has the token system|code, in rid order: the search
        `{param}={system}|{code}&_count={limit}` (storage/fixed_lookups.py)."""
        rows = _WITH_TOKEN.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "param": param,
                "system": system,
                "code": code,
                "limit": limit,
            },
        )
        return [_stored(r) for r in rows]

    def for_subject_with_codes(
        self,
        resource_type: str,
        *,
        subject_param: str,
        subject: tuple[str, str],
        token_param: str,
        codes: Sequence[str],
        limit: int,
    ) -> list[StoredVersion]:
        """Current resources about one subject whose `token_param` has any of `codes` (any
        system), in rid order: the search `{subject_param}={type}/{id}&{token_param}=a,b`."""
        rows = _SUBJECT_WITH_CODES.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "subject_param": subject_param,
                "target_type": subject[0],
                "target_id": subject[1],
                "token_param": token_param,
                "codes": list(codes),
                "limit": limit,
            },
        )
        return [_stored(r) for r in rows]

    def recent_with_codes(
        self,
        resource_type: str,
        *,
        patient_id: str,
        tokens: Sequence[tuple[str, str]],
        after: int,
        until: int,
        limit: int,
        offset: int = 0,
    ) -> list[StoredVersion]:
        """A page of one patient's current resources with any of the (system, code) tokens and
        a `date` range ending after `after` and starting at or before `until`, newest
        first: the search `patient&code&date=gt&date=le&_sort=-date` as a fixed statement
        (storage/recent_by_code.py), for hot paths such as NEWS2 from vital signs."""
        rids = [
            rid
            for (rid,) in _RECENT_RIDS.rows(
                self._conn,
                {
                    "resource_type": resource_type,
                    "patient_id": patient_id,
                    "tokens": [tuple(t) for t in tokens],
                    "codes": sorted({c for _s, c in tokens}),
                    "systems": sorted({s for s, _c in tokens}),
                    "after": after,
                    "until": until,
                    "limit": limit,
                    "offset": offset,
                },
            )
        ]
        if not rids:
            return []
        found = {rid: self._written[rid] for rid in rids if rid in self._written}
        unread = [rid for rid in rids if rid not in found]
        if unread:
            found.update(
                (r[0], _stored(r)) for r in _CURRENT_BY_RID.rows(self._conn, {"rids": unread})
            )
        return [found[rid] for rid in rids if rid in found]

    def current_of_type(self, resource_type: str, ids: Sequence[str]) -> list[StoredVersion]:
        """Current, not deleted versions of resources of one type by id, in one statement whose
        id list is a single expanding parameter (a ward's care plans name a thousand goals and
        tasks; building one SQL expression per id cost more than the query)."""
        if not ids:
            return []
        rows = _CURRENT_OF_TYPE.rows(
            self._conn, {"resource_type": resource_type, "ids": list(dict.fromkeys(ids))}
        )
        return [_stored(r) for r in rows]

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
        matches = [_stored(r) for r in page]
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
            found = {row.rid: _stored(row) for row in rows}
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
            found.extend(_stored(r) for r in rows)
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
        return [_stored(r) for r in rows], total


# A version ready to store: the resource as stored, its id, its JSON and its index rows.
_Prepared = tuple[dict[str, Any], str, bytes, IndexRows]


def _array_literal(values: list[Any]) -> str:
    """A PostgreSQL array literal (PostgreSQL manual 8.15.6, "Array Input and Output Syntax"):
    every element double-quoted with backslash and quote escaped, None as NULL. The statement
    casts it (`::text[]`, `::bigint[]`, `::float8[]`). psycopg adapts a list element by element
    in Python, and picks the array's type from its first element, so one statement prepared
    several times over (an integer or a decimal quantity first); one string is cheaper and
    keeps one prepared statement."""
    return (
        "{"
        + ",".join(
            "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        + "}"
    )


def _as_array_literals(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: _array_literal(v) if isinstance(v, list) else v for k, v in parameters.items()}


def _newest_with_token() -> Any:
    subject, token, date = search_reference.c, search_token.c, search_date.c
    newest = (
        select(subject.rid, func.max(date.low).label("at"))
        .select_from(
            search_reference.join(search_token, search_token.c.rid == subject.rid).join(
                search_date, search_date.c.rid == subject.rid
            )
        )
        .where(
            subject.resource_type == bindparam("resource_type"),
            subject.param == bindparam("subject_param"),
            subject.target_type == bindparam("target_type"),
            subject.target_id == bindparam("target_id"),
            token.param == bindparam("token_param"),
            token.system == bindparam("system"),
            token.code == bindparam("code"),
            date.param == bindparam("date_param"),
        )
        .group_by(subject.rid)
        .subquery()
    )
    return (
        versions_select()
        .join(newest, newest.c.rid == resources.c.rid)
        .where(resource_versions.c.version_id == resources.c.version_id, ~resources.c.deleted)
        .order_by(newest.c.at.desc(), resources.c.rid.desc())
        .limit(bindparam("limit"))
    )


_NEWEST_WITH_TOKEN = PreparedSelect(_newest_with_token())


def _current_of_type() -> Any:
    return versions_select().where(
        resources.c.resource_type == bindparam("resource_type"),
        resources.c.id.in_(bindparam("ids", expanding=True)),
        resource_versions.c.version_id == resources.c.version_id,
        ~resources.c.deleted,
    )


_CURRENT_OF_TYPE = PreparedSelect(_current_of_type())
# Read on nearly every write (the resource being updated, the patient of an assessment): built
# once, so a read does not pay for building and cache-keying the statement again.
_CURRENT = PreparedSelect(
    versions_select().where(
        resources.c.resource_type == bindparam("resource_type"),
        resources.c.id == bindparam("id"),
        resource_versions.c.version_id == resources.c.version_id,
    )
)
_CURRENT_BY_RID = PreparedSelect(
    versions_select().where(
        resources.c.rid.in_(bindparam("rids", expanding=True)),
        resource_versions.c.version_id == resources.c.version_id,
    )
)
_WITH_TOKEN = PreparedSelect(WITH_TOKEN)
_SUBJECT_WITH_CODES = PreparedSelect(SUBJECT_WITH_CODES)
_NEWEST_WITH_CODE = PreparedSelect(NEWEST_WITH_CODE)
_RECENT_RIDS = PreparedSelect(RECENT_RIDS)


@lru_cache(maxsize=16)
def _latest_for_each(
    one_type: bool, token: bool, token_system: bool, reference: bool
) -> PreparedSelect:
    """`ResourceRepository.latest_for_each`'s statement for one shape of question."""
    subject, date = search_reference.alias("subject"), search_date.alias("d")
    # One type (a ward's patients): the ids as one expanding parameter, because building an
    # SQL expression per (type, id) pair cost more than the query itself.
    in_subjects = (
        and_(
            subject.c.target_type == bindparam("subject_type"),
            subject.c.target_id.in_(bindparam("subject_ids", expanding=True)),
        )
        if one_type
        else tuple_(subject.c.target_type, subject.c.target_id).in_(
            bindparam("subjects", expanding=True)
        )
    )
    conditions = [
        subject.c.resource_type == bindparam("resource_type"),
        subject.c.param == bindparam("subject_param"),
        in_subjects,
        date.c.param == bindparam("date_param"),
        ~resources.c.deleted,
    ]
    joined = subject.join(date, date.c.rid == subject.c.rid).join(
        resources, resources.c.rid == subject.c.rid
    )
    if token:
        joined = joined.join(search_token, search_token.c.rid == subject.c.rid)
        conditions += [
            search_token.c.param == bindparam("token_param"),
            search_token.c.code == bindparam("token_code"),
        ]
        if token_system:
            conditions.append(search_token.c.system == bindparam("token_system"))
    if reference:
        target = search_reference.alias("target")
        joined = joined.join(target, target.c.rid == subject.c.rid)
        conditions += [
            target.c.param == bindparam("ref_param"),
            target.c.target_type == bindparam("ref_type"),
            target.c.target_id.in_(bindparam("ref_ids", expanding=True)),
        ]
    ranked = (
        select(
            subject.c.rid,
            subject.c.target_type,
            subject.c.target_id,
            func.row_number()
            .over(
                partition_by=(subject.c.target_type, subject.c.target_id),
                order_by=(date.c.low.desc(), subject.c.rid.desc()),
            )
            .label("rank"),
        )
        .select_from(joined)
        .where(*conditions)
        .subquery()
    )
    return PreparedSelect(
        versions_select()
        .add_columns(ranked.c.target_type.label("s_type"), ranked.c.target_id.label("s_id"))
        .join(ranked, ranked.c.rid == resources.c.rid)
        .where(ranked.c.rank == 1, resource_versions.c.version_id == resources.c.version_id)
    )


def _stored(row: Sequence[Any]) -> StoredVersion:
    """A version from a row whose first columns are VERSION_COLUMNS (a SQLAlchemy Row or the
    driver's tuple)."""
    rid, resource_type, resource_id, version_id, last_updated, method, content = row[:7]
    return StoredVersion(
        rid=rid,
        resource_type=resource_type,
        id=resource_id,
        version_id=version_id,
        last_updated=last_updated,
        deleted=content is None,
        method=method,
        content=content.encode() if content is not None else None,
    )
