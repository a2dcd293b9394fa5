"""Group commit: concurrent units share commits, yet each stands or falls alone."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from tests import factories
from wardcare.services.context import AppContext


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
