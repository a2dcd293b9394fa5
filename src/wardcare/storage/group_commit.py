"""Group commit for the embedded SQLite database.

SQLite allows one writer at a time and a durable commit costs an fsync. When several requests
write at once, each unit of work runs inside a SAVEPOINT of one shared transaction, and the last
writer in the queue commits them all with a single fsync. No caller returns before the commit
that holds its work has succeeded, so an acknowledgement still means "durably stored"; a unit
that fails rolls back to its savepoint without touching the others; if the commit itself fails,
every unit in it is told so and none is acknowledged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

# A cap on one shared transaction, so a steady stream of writers still commits regularly.
MAX_UNITS_PER_COMMIT = 64


class _Batch:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.transaction = connection.begin()
        self.driver: Any = connection.connection.driver_connection
        self.units = 0
        self.committed = threading.Event()
        self.error: BaseException | None = None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A later unit's work, undone alone if it fails. Straight to the driver: only one
        unit runs at a time (the writer lock), so one savepoint name serves them all, and
        SQLAlchemy's nested-transaction objects cost more CPU than the statements (py-spy:
        ~8 % of a create's CPU)."""
        self.driver.execute("SAVEPOINT wardcare_unit")
        try:
            yield
        except BaseException:
            self.driver.execute("ROLLBACK TO SAVEPOINT wardcare_unit")
            self.driver.execute("RELEASE SAVEPOINT wardcare_unit")
            raise
        self.driver.execute("RELEASE SAVEPOINT wardcare_unit")

    def finish(self) -> None:
        try:
            self.transaction.commit()
        except BaseException as exc:  # any failure means nothing in the batch is stored
            self.error = exc
            with contextlib.suppress(Exception):  # the commit error is the one to report
                self.transaction.rollback()
        finally:
            self.committed.set()

    def abandon(self) -> None:
        """Roll back a batch that holds only the failed unit's work."""
        try:
            self.transaction.rollback()
        finally:
            self.committed.set()


class GroupCommitWriter:
    def __init__(self, writer_engine: Engine) -> None:
        self._engine = writer_engine
        self._writer_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._waiting = 0
        self._batch: _Batch | None = None
        # SQLite has one writer, so the writer keeps one connection rather than checking one
        # out of the pool for every batch (checkout, reset on return and close were ~8 % of a
        # single client's create). A batch that failed gives it up: the next opens a new one.
        self._connection: Connection | None = None

    def _new_batch(self) -> _Batch:
        if self._connection is None or self._connection.invalidated:
            self._connection = self._engine.connect()
        return _Batch(self._connection)

    def _discard_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    @contextmanager
    def unit(self) -> Iterator[Connection]:
        with self._state_lock:
            self._waiting += 1
        self._writer_lock.acquire()
        with self._state_lock:
            self._waiting -= 1
        stored = False
        batch = self._batch
        if batch is None:
            try:
                batch = self._batch = self._new_batch()
            except BaseException:  # e.g. BEGIN IMMEDIATE timed out behind another process
                self._discard_connection()
                self._writer_lock.release()
                raise
        try:
            batch.units += 1
            if batch.units == 1:
                # Alone in the batch so far: no savepoint needed, a failure discards the batch.
                try:
                    yield batch.connection
                except BaseException:
                    self._batch = None
                    try:
                        batch.abandon()
                    except BaseException:
                        self._discard_connection()
                        raise
                    raise
            else:
                with batch.savepoint():
                    yield batch.connection
            stored = True
        finally:
            with self._state_lock:
                last = self._waiting == 0 or batch.units >= MAX_UNITS_PER_COMMIT
            if last and self._batch is batch:
                self._batch = None
                batch.finish()
                if batch.error is not None:
                    self._discard_connection()
            self._writer_lock.release()
        batch.committed.wait()
        if stored and batch.error is not None:
            raise batch.error
