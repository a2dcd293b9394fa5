"""Migration 0006 drops the index tables' foreign keys and keeps their rows and indexes, on
SQLite (where batch mode rebuilds each table) and on PostgreSQL; downgrade puts them back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, func, inspect, select, text

from tests import factories
from wardcare import paths
from wardcare.fhir.search_parameters import load_search_parameters
from wardcare.storage.database import make_engine
from wardcare.storage.migrate import alembic_config
from wardcare.storage.tables import search_token
from wardcare.storage.unit_of_work import UnitOfWork

INDEX_TABLES = (
    "search_token",
    "search_string",
    "search_date",
    "search_reference",
    "search_quantity",
    "search_patient_date",
    "search_patient_code",
)


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[Engine]:
    url = os.environ.get("WARDCARE_TEST_DATABASE_URL", "")
    schema = None
    if url.startswith("postgresql"):
        schema = f"wardcare_migration_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path / 'migration.db'}"
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if schema:
        admin = make_engine(os.environ["WARDCARE_TEST_DATABASE_URL"])
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _foreign_keys(engine: Engine, table: str) -> list[str]:
    return [fk["referred_table"] for fk in inspect(engine).get_foreign_keys(table)]


def _indexes(engine: Engine, table: str) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes(table)}


def store_patient_with_reading(engine: Engine, patient_id: str) -> UnitOfWork:
    """A Patient and a heart rate about them, through the repository as it stands."""
    uow = UnitOfWork(engine, load_search_parameters(paths.FHIR_PROFILES / "search-parameters.json"))
    with uow.write() as tx:
        tx.resources.create(factories.patient(), resource_id=patient_id, now=1)
        tx.resources.create(
            factories.heart_rate(patient_id, 72, "2026-11-22T10:15:00Z"),
            resource_id=str(uuid.uuid4()),
            now=2,
        )
    return uow


def query_plan(engine: Engine, sql: str, values: dict[str, str] | None = None) -> str:
    """SQLite's EXPLAIN QUERY PLAN of a statement, as one line of text."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"), values or {})
        return " ".join(str(row[-1]) for row in rows)


def test_upgrade_drops_the_foreign_keys_and_keeps_rows_and_indexes(fresh_engine: Engine) -> None:
    _migrate(fresh_engine, "0005")
    before = {t: _indexes(fresh_engine, t) for t in INDEX_TABLES}
    assert all(_foreign_keys(fresh_engine, t) == ["resources"] for t in INDEX_TABLES)
    uow = store_patient_with_reading(fresh_engine, str(uuid.uuid4()))
    with fresh_engine.connect() as connection:
        tokens = connection.execute(select(func.count()).select_from(search_token)).scalar_one()
    assert tokens > 0

    _migrate(fresh_engine, "0006")

    for table in INDEX_TABLES:
        assert _foreign_keys(fresh_engine, table) == [], table
        assert _indexes(fresh_engine, table) == before[table], table
    with fresh_engine.connect() as connection:
        after = connection.execute(select(func.count()).select_from(search_token)).scalar_one()
    assert after == tokens
    assert _foreign_keys(fresh_engine, "resource_versions") == ["resources"]

    _migrate(fresh_engine, "0005", down=True)
    assert all(_foreign_keys(fresh_engine, t) == ["resources"] for t in INDEX_TABLES)
    uow.engine.dispose()
