"""Migration 0008 re-keys `resources` as (id, resource_type): rows, versions and their foreign
key survive the rebuild on SQLite and the swap on PostgreSQL; a second create of the same
(type, id) still conflicts; lookups by (type, id) use the new key; downgrade restores the old."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from tests import factories
from tests.storage.test_migration_0006 import (
    _foreign_keys,
    _migrate,
    fresh_engine,
    query_plan,
    store_patient_with_reading,
)
from wardcare.errors import Category, WardCareError
from wardcare.storage.tables import resource_versions, resources

__all__ = ["fresh_engine"]  # the fixture, shared with 0006's tests


def _unique_keys(engine: Engine) -> list[list[str]]:
    return [c["column_names"] for c in inspect(engine).get_unique_constraints("resources")]


def test_upgrade_rekeys_resources_and_keeps_rows(fresh_engine: Engine) -> None:
    _migrate(fresh_engine, "0007")
    assert _unique_keys(fresh_engine) == [["resource_type", "id"]]
    patient_id = str(uuid.uuid4())
    uow = store_patient_with_reading(fresh_engine, patient_id)
    with fresh_engine.connect() as connection:
        before = connection.execute(select(resources).order_by(resources.c.rid)).all()
        versions = connection.execute(select(func.count()).select_from(resource_versions))
        version_count = versions.scalar_one()

    _migrate(fresh_engine, "0008")

    assert _unique_keys(fresh_engine) == [["id", "resource_type"]]
    assert _foreign_keys(fresh_engine, "resource_versions") == ["resources"]
    with fresh_engine.connect() as connection:
        assert connection.execute(select(resources).order_by(resources.c.rid)).all() == before
        count = connection.execute(select(func.count()).select_from(resource_versions))
        assert count.scalar_one() == version_count
        if fresh_engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    if fresh_engine.dialect.name == "sqlite":
        plan = query_plan(
            fresh_engine,
            "SELECT rid FROM resources WHERE resource_type = 'Patient' AND id = :id",
            {"id": patient_id},
        )
        assert "sqlite_autoindex_resources_1" in plan
    # The repository reads and writes through the new key: the patient is found, and storing
    # the same (type, id) again is refused as before.
    with uow.read() as tx:
        current = tx.resources.current("Patient", patient_id)
        assert current is not None
        assert current.resource_type == "Patient"
        assert not current.deleted
    with pytest.raises(WardCareError, match="already exists") as raised, uow.write() as tx:
        tx.resources.create(factories.patient(), resource_id=patient_id, now=3, id_may_exist=True)
    assert raised.value.category == Category.CONFLICT
    uow.engine.dispose()


def test_downgrade_restores_the_type_first_key(fresh_engine: Engine) -> None:
    _migrate(fresh_engine, "0008")
    store_patient_with_reading(fresh_engine, str(uuid.uuid4())).engine.dispose()
    _migrate(fresh_engine, "0007", down=True)
    assert _unique_keys(fresh_engine) == [["resource_type", "id"]]
    assert _foreign_keys(fresh_engine, "resource_versions") == ["resources"]
    with fresh_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(resources)).scalar_one() == 2
