"""Engine set-up: one code path for the embedded SQLite file and for PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from wardcare.storage.wal_checkpoints import AUTOCHECKPOINT_PAGES, JOURNAL_SIZE_LIMIT

WRITE = "wardcare_write"


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, sqlite_synchronous, pool_size)
    return _postgres_engine(url, pool_size)


# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _postgres_engine(url: str, pool_size: int) -> Engine:
    engine = create_engine(url, pool_size=pool_size, max_overflow=20)

    # Pessimistic disconnect handling for connections that sat idle: a PostgreSQL restart,
    # an idle timeout or a firewall kills connections that nobody is using, and the first
    # request after a quiet spell must not fail on one. SQLAlchemy's pool_pre_ping pinged on
    # every checkout instead: a round trip per transaction (of ~4 for a REST create) under
    # load, when a connection was in use milliseconds ago and a failure there is detected by
    # the statement itself (the pool then drops every connection it holds).
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (SQLAlchemy "Disconnect
            # Handling - Pessimistic", custom checkout events).
            raise DisconnectionError(f"idle connection is gone: {exc}") from exc

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str, database: str | None, synchronous: str, pool_size: int) -> Engine:
    if not database or database == ":memory:":
        raise ValueError("WardCare keeps its record in a SQLite file, not in memory")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own implicit
        # transactions cannot take the write lock up front).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run on a thread of their own (storage/wal_checkpoints.py); a commit only
        # checkpoints by itself if that thread has fallen far behind.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock when it begins (BEGIN IMMEDIATE): a deferred transaction
        # that later upgrades from read to write can fail with SQLITE_BUSY regardless of the busy
        # timeout, which under concurrent writers would surface as spurious errors.
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's statement
        # machinery cost more than the BEGIN itself.
        driver = connection.connection.driver_connection
        if connection.get_execution_options().get(WRITE):
            driver.execute("BEGIN IMMEDIATE")
        else:
            driver.execute("BEGIN")

    return engine
