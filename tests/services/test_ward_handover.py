"""The sheet is read in one snapshot, with a number of queries that does not grow per bed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from tests import factories
from tests.api.test_handover import (  # noqa: F401 - the fixtures are used by name
    NOW,
    _admit,
    _location,
    clock_fixture,
    ward_client_fixture,
    ward_fixture,
)
from wardcare.domain.actor import WARDCARE_SYSTEM
from wardcare.domain.clock import FixedClock
from wardcare.services.context import AppContext
from wardcare.services.ward_handover import gather_ward, print_ward_sheet
from wardcare.storage.unit_of_work import Transaction, UnitOfWork


class CountingUnitOfWork:
    """The real unit of work, counting the transactions a use case opens."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner, self.reads, self.writes = inner, 0, 0
        self.engine = inner.engine

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        self.reads += 1
        with self.inner.read() as tx:
            yield tx

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        self.writes += 1
        with self.inner.write() as tx:
            yield tx


def _statements(ctx: AppContext) -> int:
    count = 0

    def counted(*_args: Any) -> None:
        nonlocal count
        count += 1

    engine = ctx.uow.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        gather_ward(ctx, actor=WARDCARE_SYSTEM, ward_code="WARD5")
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def test_one_read_transaction_then_one_write_to_keep_it(
    context: AppContext, clock: FixedClock, ward: dict[str, Any]
) -> None:
    counting = CountingUnitOfWork(context.uow)
    ctx = dataclasses.replace(context, clock=clock, uow=counting)  # type: ignore[arg-type]
    printed = print_ward_sheet(ctx, actor=WARDCARE_SYSTEM, ward_code="WARD5")
    assert (counting.reads, counting.writes) == (1, 1)
    assert printed.pages >= 1


def test_queries_do_not_grow_with_the_number_of_beds(
    context: AppContext, clock: FixedClock, ward_client: TestClient, ward: dict[str, Any]
) -> None:
    ctx = dataclasses.replace(context, clock=clock)
    with_two = _statements(ctx)
    assert with_two > 5  # the listener sees the reads
    ward_id = ward_client.get("/wards/WARD5").json()["ward"]["location"]
    bay = _location(ward_client, "WARD5/BAY2", "Bay 2", "ro", ward_id)
    for number in range(1, 5):
        bed = _location(ward_client, f"WARD5/BAY2/BED{number}", f"Bay 2 Bed {number}", "bd", bay)
        patient = _admit(ward_client, ward_id, bed)
        for resource in factories.vital_signs(
            patient["id"], when=NOW - timedelta(hours=2), rr=16, spo2=97, o2_flow=0, sbp=120,
            dbp=70, pulse=70, acvpu="A", temp=37.0,
        ):  # fmt: skip
            assert ward_client.post("/fhir/Observation", json=resource).status_code == 201
    assert ward_client.get("/wards/WARD5").json()["occupied"] == 6
    assert _statements(ctx) == with_two
