"""Group commit: concurrent units share commits, yet each stands or falls alone."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from tests import factories
from wardcare.services.context import AppContext
from wardcare.storage.database import WRITE, make_engine
from wardcare.storage.group_commit import GroupCommitWriter


class Boom(Exception):
    pass


def _create(context: AppContext, fail: bool) -> str:
    resource_id = str(uuid.uuid4())
    with context.uow.write() as tx:
        tx.resources.create(factories.patient(), resource_id=resource_id, now=1)
        if fail:
            raise Boom
    return resource_id


def test_every_unit_that_succeeded_is_stored_and_every_failed_one_is_not(
    context: AppContext,
) -> None:
    barrier = threading.Barrier(8)

    def work(n: int) -> tuple[bool, str | None]:
        barrier.wait()
        try:
            return True, _create(context, fail=n % 3 == 0)
        except Boom:
            return False, None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(24)))

    stored_ids = {rid for ok, rid in results if ok}
    assert len(stored_ids) == 16
    with context.uow.read() as tx:
        for resource_id in stored_ids:
            assert tx.resources.current("Patient", resource_id) is not None
        assert tx.resources.history(resource_type="Patient")[1] == 16


def test_a_unit_returns_only_after_its_work_is_committed(context: AppContext) -> None:
    resource_id = _create(context, fail=False)
    # A fresh connection (another reader) sees it at once: it was committed, not just written.
    with context.uow.engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM resources WHERE id = :id"), {"id": resource_id}
        ).scalar_one()
    assert count == 1


# -- the writer itself, on a SQLite file ------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A SQLite file of its own, whatever database the suite runs on: group commit is SQLite's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (n INTEGER PRIMARY KEY)"))
    return engine.execution_options(**{WRITE: True})


def _notes(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT n FROM note ORDER BY n"))]


def _commits(engine: Engine) -> list[int]:
    counted = [0]

    @event.listens_for(engine, "commit")
    def _count(_conn: object) -> None:
        counted[0] += 1

    return counted


def test_units_waiting_behind_a_writer_share_one_commit(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    commits = _commits(engine)
    first_inside = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with writer.unit() as conn:
            conn.execute(text("INSERT INTO note VALUES (1)"))
            first_inside.set()
            release_first.wait(10)

    def later(n: int) -> None:
        try:
            with writer.unit() as conn:
                conn.execute(text(f"INSERT INTO note VALUES ({n})"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_inside.wait(10)
    threads += [threading.Thread(target=later, args=(n,)) for n in (2, 3, 4)]
    for thread in threads[1:]:
        thread.start()
    while writer._waiting < 3:  # all three queued behind the first unit
        threading.Event().wait(0.01)
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert _notes(engine) == [1, 2, 3, 4]
    assert commits[0] == 1  # one fsync for all four


def test_a_failing_unit_in_a_shared_batch_loses_only_its_own_work(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    first_inside = threading.Event()
    release_first = threading.Event()
    outcome: dict[int, str] = {}

    def first() -> None:
        with writer.unit() as conn:
            conn.execute(text("INSERT INTO note VALUES (1)"))
            first_inside.set()
            release_first.wait(10)
        outcome[1] = "stored"

    def failing() -> None:
        try:
            with writer.unit() as conn:
                conn.execute(text("INSERT INTO note VALUES (2)"))
                raise RuntimeError("the use case failed after writing")
        except RuntimeError:
            outcome[2] = "refused"

    def after() -> None:
        with writer.unit() as conn:
            conn.execute(text("INSERT INTO note VALUES (3)"))
        outcome[3] = "stored"

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_inside.wait(10)
    for target in (failing, after):
        thread = threading.Thread(target=target)
        threads.append(thread)
        thread.start()
    while writer._waiting < 2:
        threading.Event().wait(0.01)
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert outcome == {1: "stored", 2: "refused", 3: "stored"}
    assert _notes(engine) == [1, 3]


def _insert_then_fail(writer: GroupCommitWriter, n: int) -> None:
    with writer.unit() as conn:
        conn.execute(text(f"INSERT INTO note VALUES ({n})"))
        raise RuntimeError("the use case failed after writing")


def test_a_unit_failing_alone_rolls_back_and_the_writer_carries_on(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    with pytest.raises(RuntimeError):
        _insert_then_fail(writer, 1)
    with writer.unit() as conn:
        conn.execute(text("INSERT INTO note VALUES (2)"))
    with writer.unit() as conn:
        conn.execute(text("INSERT INTO note VALUES (3)"))
    assert _notes(engine) == [2, 3]


def test_a_failed_commit_is_reported_and_the_next_batch_gets_a_new_connection(
    engine: Engine,
) -> None:
    writer = GroupCommitWriter(engine)
    with writer.unit() as conn:
        conn.execute(text("INSERT INTO note VALUES (1)"))
    kept = writer._connection
    assert kept is not None
    # A deferred foreign-key violation fails at COMMIT, not at the INSERT.
    with writer.unit() as conn:
        conn.execute(
            text("CREATE TABLE child (p INTEGER REFERENCES note(n) DEFERRABLE INITIALLY DEFERRED)")
        )
    with pytest.raises(Exception, match="FOREIGN KEY"), writer.unit() as conn:
        conn.execute(text("INSERT INTO child VALUES (99)"))
    assert writer._connection is None
    with writer.unit() as conn:
        conn.execute(text("INSERT INTO note VALUES (2)"))
    assert writer._connection is not kept
    assert _notes(engine) == [1, 2]


def test_a_transaction_that_cannot_begin_leaves_the_writer_usable(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. BEGIN IMMEDIATE timing out behind another process's writer: the next unit must not
    # wait for ever on a writer lock nobody holds.
    writer = GroupCommitWriter(engine)
    real = writer._new_batch

    def refuse_once() -> object:
        monkeypatch.setattr(writer, "_new_batch", real)
        raise TimeoutError("database is locked")

    monkeypatch.setattr(writer, "_new_batch", refuse_once)
    with pytest.raises(TimeoutError), writer.unit():
        pass
    done = threading.Event()

    def later() -> None:
        with writer.unit() as conn:
            conn.execute(text("INSERT INTO note VALUES (7)"))
        done.set()

    threading.Thread(target=later, daemon=True).start()
    assert done.wait(10)
    assert _notes(engine) == [7]
