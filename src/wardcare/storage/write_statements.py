"""The SQL of the write path, written once per dialect.

Every create and update runs these, so they go to the driver directly (`driver_statements`):
SQLAlchemy's per-statement overhead (~0.1 ms) was half of a create's cost. On PostgreSQL a
version and all its index rows are one statement; on SQLite the repository batches inserts.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sqlalchemy import Dialect

from wardcare.storage.index_rows import INDEX_ROW_COLUMNS
from wardcare.storage.tables import INDEX_TABLES

WRITE_SQL = {
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


PG_CREATE = _pg_version_statement(
    "INSERT INTO resources (resource_type, id, version_id, last_updated, deleted)"
    " VALUES (%(resource_type)s, %(id)s, %(version_id)s, %(last_updated)s, false) RETURNING rid"
)
PG_VERSION = _pg_version_statement("SELECT %(rid)s::bigint AS rid")


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


PG_CREATE_MANY = _pg_many_statement()


def write_statements_for(dialect: Dialect) -> dict[str, str]:
    return _statements_for(dialect.paramstyle)


@cache
def _statements_for(paramstyle: str) -> dict[str, str]:
    # Once per paramstyle, not per repository: a repository lives for one transaction, and
    # rewriting every statement each time was ~5 % of a PostgreSQL create's CPU.
    if paramstyle == "pyformat":  # psycopg: %(name)s
        return {k: re.sub(r":(\w+)", r"%(\1)s", v) for k, v in WRITE_SQL.items()}
    return WRITE_SQL  # sqlite3 takes :name


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


def as_array_literals(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: _array_literal(v) if isinstance(v, list) else v for k, v in parameters.items()}
