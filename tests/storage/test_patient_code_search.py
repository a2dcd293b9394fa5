"""A search by patient and code is driven by the search_patient_code index: it must answer
exactly what the generic search answers (same matches, order, paging and total), after updates
that change a code, deletes, readings without a date, ties and extra criteria."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests import factories
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER
from wardcare.services import fhir_interactions as fhir
from wardcare.services import fhir_reads
from wardcare.services.context import AppContext
from wardcare.storage import search_sql

LOINC = "http://loinc.org"
ACTOR = UNAUTHENTICATED_DEVELOPER


def _store(context: AppContext, resource: dict[str, Any]) -> str:
    return fhir.create(context, actor=ACTOR, resource=resource).stored.id


def _answer(context: AppContext, params: list[tuple[str, str]]) -> tuple[list[str], int | None]:
    result = fhir_reads.search(context, actor=ACTOR, resource_type="Observation", params=params)
    return [m.id for m in result.page.matches], result.page.total


@pytest.fixture
def record(context: AppContext) -> dict[str, str]:
    """Two patients' heart rates and respiratory rates, one changed code, one deleted, one
    without a date, two taken at the same instant."""
    me, other = _store(context, factories.patient()), _store(context, factories.patient())
    for hour in range(10, 22):
        when = f"2026-11-22T{hour:02d}:00:00Z"
        _store(context, factories.heart_rate(me, 60 + hour, when))
        _store(context, factories.heart_rate(other, 60 + hour, when))
    _store(context, factories.heart_rate(me, 99, "2026-11-22T15:00:00Z"))  # a tie
    _store(context, factories.heart_rate(me, 70, "2026-11-22"))  # a whole day: a wide range
    undated = factories.heart_rate(me, 71)
    undated.pop("effectiveDateTime")
    undated.pop("category")  # not a vital-signs profile reading, which must carry a time
    _store(context, undated)
    rate = factories.heart_rate(me, 18, "2026-11-22T12:30:00Z")
    rate["code"] = {"coding": [{"system": LOINC, "code": "9279-1"}]}
    rate["valueQuantity"] = {"value": 18, "unit": "/min", "system": factories.UCUM, "code": "/min"}
    changed = _store(context, rate)
    stored = fhir_reads.read(context, actor=ACTOR, resource_type="Observation", resource_id=changed)
    assert stored.content is not None
    now_heart_rate = {**factories.heart_rate(me, 88, "2026-11-22T12:30:00Z"), "id": changed}
    fhir.update(
        context,
        actor=ACTOR,
        resource_type="Observation",
        resource_id=changed,
        resource=now_heart_rate,
    )
    gone = _store(context, factories.heart_rate(me, 77, "2026-11-22T13:30:00Z"))
    fhir.delete(context, actor=ACTOR, resource_type="Observation", resource_id=gone)
    return {"me": me, "other": other}


QUERIES = [
    [("code", f"{LOINC}|8867-4"), ("_sort", "-date")],
    [("code", f"{LOINC}|8867-4"), ("_sort", "date")],
    [("code", "8867-4")],
    [("code", f"{LOINC}|8867-4,{LOINC}|9279-1"), ("_sort", "-date"), ("_count", "5")],
    [("code", f"{LOINC}|8867-4"), ("_sort", "-date"), ("_count", "4"), ("_offset", "4")],
    [("code", f"{LOINC}|8867-4"), ("date", "ge2026-11-22T15:00:00Z"), ("_sort", "-date")],
    [("code", f"{LOINC}|9279-1")],
    [("code", "|8867-4")],
]


@pytest.mark.parametrize("criteria", QUERIES)
def test_the_index_answers_what_the_generic_search_answers(
    context: AppContext,
    record: dict[str, str],
    criteria: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = [("patient", record["me"]), *criteria]
    indexed = _answer(context, params)
    monkeypatch.setattr(search_sql, "by_patient_code", lambda _query: None)
    generic = _answer(context, params)
    assert indexed == generic


def test_the_index_drives_the_search_it_was_made_for(
    context: AppContext, record: dict[str, str]
) -> None:
    ids, total = _answer(
        context,
        [("patient", record["me"]), ("code", f"{LOINC}|8867-4"), ("_sort", "-date")],
    )
    # 12 hourly, the tie, the whole day, the undated one and the one whose code changed to a
    # heart rate; not the deleted one, nor the other patient's.
    assert total == 16
    assert len(ids) == 16


def test_other_shapes_of_search_are_left_to_the_generic_search(context: AppContext) -> None:
    from wardcare.fhir.search_query import parse_search  # noqa: PLC0415

    def shape(params: list[tuple[str, str]]) -> bool:
        query = parse_search(
            "Observation", params, context.search_parameters, default_count=20, max_count=100
        )
        return search_sql.by_patient_code(query) is not None

    patient = str(uuid.uuid4())
    assert shape([("patient", patient), ("code", "8867-4")])
    assert not shape([("patient", patient)])
    assert not shape([("code", "8867-4")])
    assert not shape([("patient", f"{patient},other"), ("code", "8867-4")])
    assert not shape([("patient", patient), ("code:not", "8867-4")])
    assert not shape([("patient", patient), ("code", "8867-4"), ("_sort", "-_lastUpdated")])
