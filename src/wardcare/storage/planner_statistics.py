"""Keep the query planner's statistics fresh while a database fills up.

Both databases plan a search from table statistics. A new PostgreSQL database has none until
autovacuum's first ANALYZE (up to a minute, more under load), and SQLite has none unless told to
gather them; without them a search that takes 0.3 ms on PostgreSQL took 150 ms, and one that
takes 17 ms on a 200,000-observation SQLite file took 68 ms. So after 200, 2,000, 20,000...
versions written, this process runs ANALYZE in a background thread (on SQLite with a sampling
limit, so it takes milliseconds even on a large file).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, text

from wardcare.storage.tables import metadata

log = logging.getLogger("wardcare.storage")


class StatisticsKeeper:
    def __init__(self, engine: Engine, first_after: int = 200, growth: int = 10) -> None:
        self._engine = engine
        self._writes = 0
        self._next = first_after
        self._growth = growth
        self._lock = threading.Lock()
        self._running = False

    def wrote(self, versions: int) -> None:
        """Count versions written; start an ANALYZE when the count passes the next mark."""
        with self._lock:
            self._writes += versions
            if self._writes < self._next or self._running:
                return
            self._next *= self._growth
            self._running = True
        threading.Thread(target=self._analyze, name="wardcare-analyze", daemon=True).start()

    def analyze_now(self) -> None:
        with self._engine.connect() as connection:
            if self._engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
            else:
                # WardCare's own tables only: a bare ANALYZE walks every table of the database
                # (other schemas and applications sharing it too): 64-291 ms measured here.
                names = ", ".join(sorted(metadata.tables))
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.execute(text(f"ANALYZE {names}"))

    def _analyze(self) -> None:
        try:
            self.analyze_now()
        except Exception:  # statistics are an optimisation: a failure must not hurt a write
            log.warning("ANALYZE failed", exc_info=True)
        finally:
            with self._lock:
                self._running = False
