"""A version's index rows are exactly what fhir/indexing derives from it, on either database:
PostgreSQL writes them in one statement from arrays (repository._PG_CREATE), SQLite one
statement per table, and a column out of place in either would make searches silently wrong."""

from __future__ import annotations

import json
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


def test_characters_that_array_literals_escape_survive_both_write_paths(
    context: AppContext,
) -> None:
    """PostgreSQL receives the index values and contents as array literals: quotes,
    backslashes, braces, commas, the word NULL and non-ASCII text must come back as sent."""
    awkward = 'O"Brien \\ {Ward, 7} NULL Zoë'
    patient = factories.patient()
    patient["name"] = [{"family": awkward, "given": ["NULL", '"', "\\"]}]
    patient_id = str(uuid.uuid4())
    heart_rate = factories.heart_rate(patient_id, 72, "2026-11-22T10:15:00Z")
    temperature = factories.heart_rate(patient_id, 72, "2026-11-22T10:16:00Z")
    temperature["valueQuantity"]["value"] = 0.00001
    temperature["note"] = [{"text": awkward}]
    with context.uow.write() as tx:
        one = tx.resources.create(patient, resource_id=patient_id, now=1)
        many = tx.resources.create_many(
            [(heart_rate, str(uuid.uuid4())), (temperature, str(uuid.uuid4()))], now=2
        )
    with context.uow.read() as tx:
        names = sorted(
            r.value
            for r in tx.connection.execute(
                select(search_string.c.value).where(search_string.c.rid == one.rid)
            )
        )
        values = sorted(
            r.value
            for r in tx.connection.execute(
                select(search_quantity.c.value).where(
                    search_quantity.c.rid.in_([v.rid for v in many])
                )
            )
        )
        stored = [tx.resources.version("Observation", v.id, v.version_id) for v in many]
    assert {awkward, "NULL", '"', "\\"} <= set(names)
    assert values == [0.00001, 72.0]
    content = stored[1].content if stored[1] else None
    assert content is not None
    assert json.loads(content)["note"][0]["text"] == awkward
