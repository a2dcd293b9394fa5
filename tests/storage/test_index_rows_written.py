"""A version's index rows are exactly what fhir/indexing derives from it, on either database:
PostgreSQL writes them in one statement from arrays (repository._PG_CREATE), SQLite one
statement per table, and a column out of place in either would make searches silently wrong."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, select

from tests import factories
from wardcare.fhir.indexing import index_resource
from wardcare.services.context import AppContext
from wardcare.storage.tables import (
    search_date,
    search_patient_code,
    search_patient_date,
    search_quantity,
    search_reference,
    search_string,
    search_token,
)


def test_every_index_row_of_a_new_version_is_written_as_derived(context: AppContext) -> None:
    patient_id = str(uuid.uuid4())
    observation = factories.heart_rate(patient_id, 72, "2026-11-22T10:15:00Z")
    observation["code"]["coding"].append({"system": "http://snomed.info/sct", "code": "364075005"})
    patient = factories.patient()
    with context.uow.write() as tx:
        stored_patient = tx.resources.create(patient, resource_id=patient_id, now=1)
        stored = tx.resources.create(observation, resource_id=str(uuid.uuid4()), now=2)
    for resource, version in ((patient, stored_patient), (observation, stored)):
        expected = index_resource(
            resource, context.search_parameters.indexed(resource["resourceType"])
        )
        with context.uow.read() as tx:

            def rows(table: Table, *columns: str, rid: int = version.rid) -> list[tuple[Any, ...]]:
                query = select(*(table.c[c] for c in columns)).where(table.c.rid == rid)
                return sorted((tuple(r) for r in tx.connection.execute(query)), key=repr)

            assert rows(search_token, "param", "system", "code") == sorted(
                expected.tokens, key=repr
            )
            assert rows(search_string, "param", "value_norm", "value") == sorted(
                expected.strings, key=repr
            )
            assert rows(search_date, "param", "low", "high") == sorted(expected.dates, key=repr)
            assert rows(search_reference, "param", "target_type", "target_id") == sorted(
                expected.references, key=repr
            )
            assert rows(search_quantity, "param", "value", "system", "code") == sorted(
                ((p, float(v), s, c) for p, v, s, c in expected.quantities), key=repr
            )
            if resource is observation:
                (low, high) = next((lo, hi) for p, lo, hi in expected.dates if p == "date")
                assert rows(search_patient_date, "patient_id", "low") == [(patient_id, low)]
                assert rows(search_patient_code, "patient_id", "system", "code") == sorted(
                    (patient_id, s, c) for p, s, c in expected.tokens if p == "code"
                )
                assert set(rows(search_patient_code, "sort_low", "sort_high")) == {(low, high)}
            else:
                assert rows(search_patient_code, "code") == []
    assert stored.content is not None
