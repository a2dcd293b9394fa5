"""The fixed statement for "a patient's recent readings with these codes, newest first"
(storage/recent_by_code.py, used by NEWS2 from vital signs) must answer exactly the page the
search `patient&code&date=gt&date=le&_sort=-date` answers: same resources, same order, same
paging, after a code change, a delete, ties, a whole-day reading and an undated one."""

from __future__ import annotations

import orjson
import pytest

from tests.storage.test_patient_code_search import ACTOR, LOINC, record  # noqa: F401
from wardcare.fhir.dates import date_range
from wardcare.services import fhir_interactions as fhir
from wardcare.services import fhir_reads
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

WINDOWS = [
    ("2026-11-22T09:00:00Z", "2026-11-22T23:00:00Z"),
    ("2026-11-22T12:30:00Z", "2026-11-22T15:00:00Z"),
    ("2026-11-22T15:00:00Z", "2026-11-22T15:00:00Z"),
    ("2026-11-21T00:00:00Z", "2026-11-21T23:59:59Z"),
]
CODES = [[("8867-4",)], [("8867-4",), ("9279-1",)], [("9279-1",)]]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("codes", CODES)
@pytest.mark.parametrize(("limit", "offset"), [(16, 0), (4, 0), (4, 4), (3, 9)])
def test_the_fixed_statement_answers_the_page_the_search_answers(
    context: AppContext,
    record: dict[str, str],  # noqa: F811
    window: tuple[str, str],
    codes: list[tuple[str]],
    limit: int,
    offset: int,
) -> None:
    since, until = window
    params = [
        ("patient", record["me"]),
        ("code", ",".join(f"{LOINC}|{c}" for (c,) in codes)),
        ("date", f"gt{since}"),
        ("date", f"le{until}"),
        ("_sort", "-date"),
        ("_count", str(limit)),
        ("_offset", str(offset)),
    ]
    searched = fhir_reads.search(context, actor=ACTOR, resource_type="Observation", params=params)
    with context.uow.read() as tx:
        fixed = tx.resources.recent_with_codes(
            "Observation",
            patient_id=record["me"],
            tokens=[(LOINC, c) for (c,) in codes],
            after=date_range(since)[1],
            until=date_range(until)[1],
            limit=limit,
            offset=offset,
        )
    assert [(m.id, m.version_id, m.content) for m in fixed] == [
        (m.id, m.version_id, m.content) for m in searched.page.matches
    ]


def test_the_window_finds_the_readings_in_it(
    context: AppContext,
    record: dict[str, str],  # noqa: F811
) -> None:
    with context.uow.read() as tx:
        found = tx.resources.recent_with_codes(
            "Observation",
            patient_id=record["me"],
            tokens=[(LOINC, "8867-4")],
            after=date_range("2026-11-22T19:00:00Z")[1],
            until=date_range("2026-11-22T21:00:00Z")[1],
            limit=16,
        )
    # 20:00 and 21:00 (19:00 ends at the bound, not after it), and the whole-day reading,
    # which ends after 19:00; newest end first.
    assert len(found) == 3


def test_readings_written_in_the_transaction_are_answered_as_stored(
    context: AppContext,
    record: dict[str, str],  # noqa: F811
) -> None:
    """The store answers the versions it has just written from memory: what it answers inside
    the writing transaction (after creates, an update and a delete there) must be what a
    later transaction reads from the database."""
    from tests import factories  # noqa: PLC0415

    def page(tx: Transaction) -> list[tuple[str, int, bytes | None]]:
        found = tx.resources.recent_with_codes(
            "Observation",
            patient_id=record["me"],
            tokens=[(LOINC, "8867-4")],
            after=date_range("2026-11-22T09:00:00Z")[1],
            until=date_range("2026-11-22T23:00:00Z")[1],
            limit=16,
        )
        return [(m.id, m.version_id, m.content) for m in found]

    with context.uow.write() as tx:
        created = [
            fhir.create_in(
                tx,
                context,
                actor=ACTOR,
                resource=factories.heart_rate(record["me"], 90 + n, f"2026-11-22T22:0{n}:00Z"),
                run_hooks=False,
            ).stored
            for n in range(4)
        ]
        changed = orjson.loads(created[0].content or b"{}")
        changed["valueQuantity"]["value"] = 140
        fhir.update_in(tx, context, actor=ACTOR, resource=changed)
        fhir.delete_in(
            tx, context, actor=ACTOR, resource_type="Observation", resource_id=created[1].id
        )
        inside = page(tx)
    with context.uow.read() as tx:
        assert page(tx) == inside
    assert {created[0].id, created[2].id, created[3].id} <= {i for i, _v, _c in inside}
