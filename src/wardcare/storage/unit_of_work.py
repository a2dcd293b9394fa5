"""The unit of work: one database transaction, committed only when the whole use case succeeds.

`write()` takes the write lock up front on SQLite (see storage/database.py); `read()` is a plain
transaction that sees one consistent snapshot of the record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from wardcare import errors
from wardcare.errors import Category
from wardcare.fhir.search_parameters import SearchParameterRegistry
from wardcare.storage.database import WRITE, is_sqlite
from wardcare.storage.group_commit import GroupCommitWriter
from wardcare.storage.planner_statistics import StatisticsKeeper
from wardcare.storage.repository import ResourceRepository
from wardcare.storage.wal_checkpoints import WalCheckpointer


class Transaction:
    def __init__(self, connection: Connection, registry: SearchParameterRegistry) -> None:
        self.connection = connection
        self.resources = ResourceRepository(connection, registry)


class UnitOfWork:
    def __init__(self, engine: Engine, registry: SearchParameterRegistry) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE: True})
        self._snapshot_reader = engine.execution_options(isolation_level="REPEATABLE READ")
        # SQLite has one writer at a time: writers in this process share transactions through
        # group commit instead of queueing on SQLite's busy handler (which sleeps in steps of up
        # to 100 ms) and paying one fsync each.
        self._group = GroupCommitWriter(self._writer) if is_sqlite(engine) else None
        self.checkpoints = WalCheckpointer(engine) if is_sqlite(engine) else None
        self.statistics = StatisticsKeeper(engine)
        self._registry = registry

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """A transaction that commits if the block finishes and rolls back if it raises."""
        try:
            if self._group is not None:
                if self.checkpoints is not None:
                    self.checkpoints.start()
                with self._group.unit() as connection:
                    transaction = Transaction(connection, self._registry)
                    yield transaction
                    transaction.resources.store_appended()
            else:
                with self._writer.begin() as connection:
                    transaction = Transaction(connection, self._registry)
                    yield transaction
                    transaction.resources.store_appended()
            self.statistics.wrote(transaction.resources.versions_written)
        except DataError as exc:
            # A value the database cannot hold that validation did not catch: the caller's input.
            raise errors.invalid(f"The database refused a value: {exc.orig}") from exc
        except OperationalError as exc:
            raise errors.error(
                Category.STORAGE, f"The record could not be saved: {exc.orig}"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A read-only transaction over one snapshot (SQLite WAL readers always get one;
        PostgreSQL needs REPEATABLE READ for it)."""
        engine = self.engine if is_sqlite(self.engine) else self._snapshot_reader
        try:
            with engine.connect() as connection, connection.begin():
                transaction = Transaction(connection, self._registry)
                yield transaction
                if transaction.resources.has_appended:
                    # A read never writes; what was appended here would be lost.
                    raise RuntimeError("a Provenance was recorded inside a read transaction")
        except DataError as exc:
            raise errors.invalid(f"The database refused a value: {exc.orig}") from exc
