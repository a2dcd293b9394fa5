"""SQL run on the DB-API cursor of a SQLAlchemy connection, for statements on hot paths.

SQLAlchemy's per-statement machinery (compiling or cache-keying, parameter processing, result
wrapping) costs ~0.1-0.3 ms, more than a simple INSERT or UPDATE itself; statements run on every
write or inbound message are written once with `:name` parameters and turned into the driver's
own parameter style. They run inside the connection's current transaction.
"""

from __future__ import annotations

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
