"""`ResourceRepository.create_many` (an inbound message's results, index rows written together:
one executemany per table on SQLite, one statement on PostgreSQL) must store exactly what
`create(..., id_may_exist=True)` of each resource in turn stores: the same versions and the
same index rows in every table, rids in the same order; and a taken id is a CONFLICT."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests import factories
from wardcare.errors import Category, WardCareError
from wardcare.fhir.versions import StoredVersion
from wardcare.services.context import AppContext
from wardcare.storage.tables import INDEX_TABLES, resource_versions, resources

PATIENT = str(uuid.uuid4())


def _resources() -> list[dict[str, Any]]:
    """A set of vital signs (a BP panel with components, quantities, tokens, references, dates),
    a patient (strings, identifiers) and one resource with no index row of some tables."""
    found = [factories.patient(), *factories.vital_signs(PATIENT)]
    found.append({"resourceType": "Basic", "code": {"text": "no coding"}})
    return found


def _rows(context: AppContext, version: StoredVersion) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with context.uow.read() as tx:
        for table in INDEX_TABLES:
            columns = [c for c in table.c if c.name != "rid"]
            query = select(*columns).where(table.c.rid == version.rid)
            rows[table.name] = sorted((tuple(r) for r in tx.connection.execute(query)), key=repr)
        rows["resources"] = [
            tuple(r)
            for r in tx.connection.execute(
                select(
                    resources.c.resource_type, resources.c.version_id, resources.c.deleted
                ).where(resources.c.rid == version.rid)
            )
        ]
        rows["resource_versions"] = [
            tuple(r)
            for r in tx.connection.execute(
                select(
                    resource_versions.c.version_id,
                    resource_versions.c.resource_type,
                    resource_versions.c.method,
                    resource_versions.c.content,
                ).where(resource_versions.c.rid == version.rid)
            )
        ]
    return rows


def _without_id(rows: dict[str, list[tuple[Any, ...]]], resource_id: str) -> str:
    return repr(rows).replace(resource_id, "<id>")


def test_a_batch_stores_what_one_create_after_another_stores(context: AppContext) -> None:
    one_by_one = _resources()
    batched = copy.deepcopy(one_by_one)
    # The same content under other ids (a patient's own id is indexed as _id only).
    ids_one = [str(uuid.uuid4()) for _ in one_by_one]
    ids_many = [str(uuid.uuid4()) for _ in batched]
    with context.uow.write() as tx:
        singles = [
            tx.resources.create(r, resource_id=i, now=1_000, id_may_exist=True)
            for r, i in zip(one_by_one, ids_one, strict=True)
        ]
    with context.uow.write() as tx:
        many = tx.resources.create_many(list(zip(batched, ids_many, strict=True)), now=1_000)
    assert [v.id for v in many] == ids_many
    assert [v.rid for v in many] == sorted(v.rid for v in many)  # rids in the given order
    assert min(v.rid for v in many) > max(v.rid for v in singles)
    for single, batch in zip(singles, many, strict=True):
        assert (batch.resource_type, batch.version_id, batch.last_updated, batch.method) == (
            single.resource_type,
            single.version_id,
            single.last_updated,
            single.method,
        )
        assert batch.content is not None
        assert single.content is not None
        assert batch.content.replace(batch.id.encode(), b"<id>") == single.content.replace(
            single.id.encode(), b"<id>"
        )
        expected, written = _rows(context, single), _rows(context, batch)
        assert single.resource_type == "Basic" or any(expected[t.name] for t in INDEX_TABLES)
        assert _without_id(written, batch.id) == _without_id(expected, single.id)


def test_a_taken_id_is_a_conflict(context: AppContext) -> None:
    taken = str(uuid.uuid4())
    with context.uow.write() as tx:
        tx.resources.create(factories.heart_rate(PATIENT), resource_id=taken, now=1)
    with pytest.raises(WardCareError) as raised, context.uow.write() as tx:
        tx.resources.create_many(
            [
                (factories.heart_rate(PATIENT), str(uuid.uuid4())),
                (factories.heart_rate(PATIENT), taken),
            ],
            now=2,
        )
    assert raised.value.category == Category.CONFLICT
    assert raised.value.message == f"Observation/{taken} already exists"
    with context.uow.read() as tx:
        assert tx.resources.current("Observation", taken) is not None
        count = len(list(tx.connection.execute(select(resources.c.rid))))
    assert count == 1  # the batch's other resource went with the transaction


def test_an_empty_batch_writes_nothing(context: AppContext) -> None:
    with context.uow.write() as tx:
        assert tx.resources.create_many([], now=1) == []
