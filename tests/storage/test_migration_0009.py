"""Migration 0009 drops the broader parameter's rows that its Patient twin holds too (same
resource, same patient), and only those; downgrade writes them back from the twin's rows."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.storage.test_migration_0006 import _migrate, fresh_engine

__all__ = ["fresh_engine"]  # the fixture, shared with 0006's tests

# As 0008 indexed them: rid 1 about a patient (both rows), rid 2 about a bed, rid 3 with only a
# subject row (no twin row to stand for it), rid 4 a Provenance naming the patient twice.
ROWS = [
    (1, "Observation", "subject", "Patient", "p1"),
    (1, "Observation", "patient", "Patient", "p1"),
    (2, "Observation", "subject", "Location", "bed-7"),
    (3, "Observation", "subject", "Patient", "p3"),
    (4, "Provenance", "target", "Patient", "p1"),
    (4, "Provenance", "target", "Observation", "o1"),
    (4, "Provenance", "patient", "Patient", "p1"),
    (5, "Observation", "performer", "Patient", "p1"),
]


def _rows(engine: Engine) -> set[tuple[object, ...]]:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT rid, resource_type, param, target_type, target_id FROM search_reference")
        )
        return {tuple(row) for row in found}


def test_upgrade_drops_only_rows_the_twin_holds(fresh_engine: Engine) -> None:
    _migrate(fresh_engine, "0008")
    with fresh_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO search_reference (rid, resource_type, param, target_type, target_id)"
                " VALUES (:rid, :type, :param, :target_type, :target_id)"
            ),
            [
                dict(zip(("rid", "type", "param", "target_type", "target_id"), r, strict=True))
                for r in ROWS
            ],
        )
    _migrate(fresh_engine, "0009")
    dropped = {
        (1, "Observation", "subject", "Patient", "p1"),
        (4, "Provenance", "target", "Patient", "p1"),
    }
    assert _rows(fresh_engine) == set(ROWS) - dropped

    _migrate(fresh_engine, "0008", down=True)
    assert _rows(fresh_engine) == set(ROWS)
