"""SQL run on the DB-API cursor of a SQLAlchemy connection, for statements on hot paths.

SQLAlchemy's per-statement machinery (compiling or cache-keying, parameter processing, result
wrapping) costs ~0.1-0.3 ms, more than a simple INSERT or UPDATE itself; statements run on every
write or inbound message are written once with `:name` parameters and turned into the driver's
own parameter style. They run inside the connection's current transaction.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect


def for_dialect(dialect: Dialect, sql: str) -> str:
    """`sql` with `:name` parameters in the driver's style (psycopg: `%(name)s`)."""
    return _converted(dialect.paramstyle, sql)


@lru_cache(maxsize=256)
def _converted(paramstyle: str, sql: str) -> str:
    if paramstyle == "pyformat":
        return re.sub(r":(\w+)", r"%(\1)s", sql)
    return sql  # sqlite3 takes :name


def driver_cursor(connection: Connection) -> Any:
    """A cursor of the connection's DB-API connection, in its current transaction."""
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


# SQLAlchemy renders an expanding parameter as `IN (__[POSTCOMPILE_name])`.
_EXPANDING = re.compile(r"\(__\[POSTCOMPILE_(\w+)\]\)")


class PreparedSelect:
    """A SELECT built once as a SQLAlchemy Core statement, compiled once per dialect into the
    driver's own SQL and run on the DB-API cursor: the same SQL SQLAlchemy would send, without
    its per-execution work (cache key, parameter processing, result wrapping), which cost as
    much as the look-ups asked on every inbound message and assessment.

    Expanding parameters (`bindparam(..., expanding=True)`, lists for `IN`) are rendered with
    one placeholder per item (a row of placeholders per tuple), the text cached per number of
    items. Rows come back as plain tuples in the statement's column order. The statement must
    bind only values the driver takes as they are (str, int, float, None): no SQLAlchemy type
    processing is applied.
    """

    def __init__(self, statement: Any) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, str, tuple[str, ...], dict[str, Any]]] = {}
        self._expanded: dict[tuple[Any, ...], str] = {}

    def rows(self, connection: Connection, parameters: dict[str, Any]) -> list[Any]:
        sql, values = self.sql(connection.dialect, parameters)
        cursor = driver_cursor(connection)
        cursor.execute(sql, values)
        rows: list[Any] = cursor.fetchall()
        return rows

    def sql(self, dialect: Dialect, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The driver's SQL text and parameters for these values."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        text, template, expanding, fixed = compiled
        if not expanding:
            return text, {**fixed, **parameters} if fixed else parameters
        values = {**fixed, **{k: v for k, v in parameters.items() if k not in expanding}}
        shape: list[Any] = [dialect.name]
        for name in expanding:
            items = parameters[name]
            if not items:
                raise ValueError(f"{name}: an empty list matches nothing; ask nothing instead")
            width = len(items[0]) if isinstance(items[0], tuple) else 0
            shape.append((name, len(items), width))
            for i, item in enumerate(items):
                if width:
                    values.update({f"{name}__{i}_{j}": v for j, v in enumerate(item)})
                else:
                    values[f"{name}__{i}"] = item
        key = tuple(shape)
        expanded = self._expanded.get(key)
        if expanded is None:
            expanded = self._expanded[key] = _EXPANDING.sub(
                lambda m: "(" + _placeholders(m.group(1), parameters[m.group(1)], template) + ")",
                text,
            )
        return expanded, values

    def _compile(self, dialect: Dialect) -> tuple[str, str, tuple[str, ...], dict[str, Any]]:
        if dialect.paramstyle not in ("named", "pyformat"):
            # sqlite3 also takes :name, which keeps the values a dict like psycopg's.
            dialect = copy.copy(dialect)
            dialect.paramstyle, dialect.positional = "named", False
        compiled = self._statement.compile(dialect=dialect)
        text = str(compiled)
        template = "%({})s" if dialect.paramstyle == "pyformat" else ":{}"
        # Values the statement carries itself (SQLite's LIMIT needs an OFFSET, bound as 0); a
        # named parameter without a value is the caller's to give.
        fixed = {k: v for k, v in compiled.params.items() if v is not None}
        return text, template, tuple(dict.fromkeys(_EXPANDING.findall(text))), fixed


def _placeholders(name: str, items: list[Any], template: str) -> str:
    if isinstance(items[0], tuple):
        return ", ".join(
            "(" + ", ".join(template.format(f"{name}__{i}_{j}") for j in range(len(item))) + ")"
            for i, item in enumerate(items)
        )
    return ", ".join(template.format(f"{name}__{i}") for i in range(len(items)))
