"""Migration 0007 drops ix_search_reference_target (no query used it) and keeps the rows; a
reference search is still answered from ix_search_reference_lookup; downgrade restores it."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.storage.test_migration_0006 import _indexes, _migrate, fresh_engine, query_plan

__all__ = ["fresh_engine"]  # the fixture, shared with 0006's tests


def test_upgrade_drops_the_target_index_and_keeps_rows(fresh_engine: Engine) -> None:
    _migrate(fresh_engine, "0006")
    assert "ix_search_reference_target" in _indexes(fresh_engine, "search_reference")
    with fresh_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO search_reference (rid, resource_type, param, target_type, target_id)"
                " VALUES (1, 'Observation', 'subject', 'Patient', 'p1')"
            )
        )
    _migrate(fresh_engine, "0007")
    indexes = _indexes(fresh_engine, "search_reference")
    assert "ix_search_reference_target" not in indexes
    assert "ix_search_reference_lookup" in indexes
    with fresh_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM search_reference")).scalar() == 1
    if fresh_engine.dialect.name == "sqlite":
        plan = query_plan(
            fresh_engine,
            "SELECT rid FROM search_reference WHERE resource_type = 'Observation'"
            " AND param = 'subject' AND target_type = 'Patient' AND target_id = 'p1'",
        )
        assert "ix_search_reference_lookup" in plan


def test_downgrade_restores_the_target_index(fresh_engine: Engine) -> None:
    _migrate(fresh_engine, "0007")
    _migrate(fresh_engine, "0006", down=True)
    assert "ix_search_reference_target" in _indexes(fresh_engine, "search_reference")
