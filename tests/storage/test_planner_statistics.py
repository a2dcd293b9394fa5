"""storage/planner_statistics: ANALYZE gathers the statistics the planner needs for WardCare's
own tables, on SQLite and PostgreSQL, and on PostgreSQL touches no other schema's tables (a
database may be shared)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from wardcare.services.context import AppContext
from wardcare.storage.planner_statistics import StatisticsKeeper
from wardcare.storage.tables import resources


def _store_some(context: AppContext) -> None:
    with context.uow.engine.begin() as conn:
        conn.execute(
            resources.insert(),
            [
                {
                    "resource_type": "Patient",
                    "id": f"p{n}",
                    "version_id": 1,
                    "last_updated": n,
                    "deleted": False,
                }
                for n in range(50)
            ],
        )


def test_analyze_gathers_statistics_for_wardcare_tables(context: AppContext) -> None:
    _store_some(context)
    engine = context.uow.engine
    StatisticsKeeper(engine).analyze_now()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            analysed = conn.execute(
                text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'resources'")
            ).scalar_one()
        else:
            analysed = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'resources'"
                    " AND schemaname = current_schema() AND last_analyze IS NOT NULL"
                )
            ).scalar_one()
    assert analysed >= 1


def test_analyze_leaves_other_schemas_alone(context: AppContext) -> None:
    engine = context.uow.engine
    if engine.dialect.name != "postgresql":
        return  # a SQLite file holds one application's tables only
    other = f"other_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {other}"))
        conn.execute(text(f"CREATE TABLE {other}.notes (n integer)"))
        conn.execute(text(f"INSERT INTO {other}.notes SELECT generate_series(1, 100)"))
    try:
        StatisticsKeeper(engine).analyze_now()
        with engine.connect() as conn:
            last = conn.execute(
                text(
                    "SELECT last_analyze FROM pg_stat_user_tables"
                    " WHERE schemaname = :s AND relname = 'notes'"
                ),
                {"s": other},
            ).scalar_one()
        assert last is None
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {other} CASCADE"))
