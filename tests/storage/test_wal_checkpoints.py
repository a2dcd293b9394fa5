"""WAL checkpoints on their own thread: the settings every connection gets, and a checkpoint
that really copies the WAL back, on a SQLite file of its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from wardcare.storage.database import make_engine
from wardcare.storage.wal_checkpoints import (
    AUTOCHECKPOINT_PAGES,
    JOURNAL_SIZE_LIMIT,
    WalCheckpointer,
)


def test_every_connection_leaves_checkpoints_to_the_thread_up_to_the_limit(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == AUTOCHECKPOINT_PAGES
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == JOURNAL_SIZE_LIMIT
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_checkpoint_copies_committed_pages_back_and_keeps_the_data(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (n INTEGER PRIMARY KEY, body TEXT)"))
        for n in range(200):
            conn.execute(text("INSERT INTO note VALUES (:n, :b)"), {"n": n, "b": "x" * 500})
    checkpointer = WalCheckpointer(engine)
    busy, in_wal, copied = checkpointer.checkpoint()
    assert busy == 0
    assert in_wal > 0
    assert copied == in_wal  # nothing was reading or writing: every page went back
    again = checkpointer.checkpoint()
    assert again[2] == again[1]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM note")).scalar() == 200


def test_the_thread_starts_once_and_stops(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    checkpointer = WalCheckpointer(engine)
    checkpointer.start()
    first = checkpointer._thread
    checkpointer.start()
    assert checkpointer._thread is first
    assert first is not None
    assert first.daemon
    checkpointer.stop()
    assert not first.is_alive()
