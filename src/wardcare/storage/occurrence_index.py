"""Documented occurrences of care-plan interventions, read from the search indexes alone.

A ward's due list needs, for every intervention Task of every active plan, the newest occurrence
ever documented and every one documented since a moment (a day and a night shift back): when
each was done (`period`, Task.executionPeriod), the due time it answered (`restriction-period`),
its outcome (`business-status`) and whether it was marked entered-in-error (`status`). All of
that is in the index tables, so one query answers for the whole ward without reading or parsing
any resource (a thousand occurrences cost ~10 ms instead of ~60 ms through the JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, or_, select

from wardcare.storage.tables import resources, search_date, search_reference, search_token


@dataclass(frozen=True)
class OccurrenceRow:
    parent_id: str  # the intervention Task
    performed: int  # microseconds, UTC
    answers: int | None  # the due time it answered (restriction.period.end), microseconds
    outcome: str | None  # business-status code in `outcome_system`
    status: str | None  # Task.status


def occurrences_for_each(
    connection: Connection,
    *,
    parent_ids: Sequence[str],
    since: int,
    outcome_system: str,
) -> list[OccurrenceRow]:
    if not parent_ids:
        return []
    rows = connection.execute(
        _QUERY,
        {"ids": list(dict.fromkeys(parent_ids)), "since": since, "outcome_system": outcome_system},
    )
    return [OccurrenceRow(r.parent_id, r.performed, r.answers, r.outcome, r.status) for r in rows]


def _query() -> Select[Any]:
    part_of, performed = search_reference.alias("part_of"), search_date.alias("performed")
    ranked = (
        select(
            part_of.c.rid,
            part_of.c.target_id.label("parent_id"),
            performed.c.low.label("performed"),
            func.row_number()
            .over(
                partition_by=part_of.c.target_id,
                order_by=(performed.c.low.desc(), part_of.c.rid.desc()),
            )
            .label("rank"),
        )
        .select_from(part_of.join(performed, performed.c.rid == part_of.c.rid))
        .where(
            part_of.c.resource_type == "Task",
            part_of.c.param == "part-of",
            part_of.c.target_type == "Task",
            part_of.c.target_id.in_(bindparam("ids", expanding=True)),
            performed.c.param == "period",
        )
        .subquery()
    )
    answers, outcome, status = (
        search_date.alias("answers"),
        search_token.alias("outcome"),
        search_token.alias("status"),
    )
    return (
        select(
            ranked.c.parent_id,
            ranked.c.performed,
            answers.c.high.label("answers"),
            outcome.c.code.label("outcome"),
            status.c.code.label("status"),
        )
        .select_from(
            ranked.join(resources, resources.c.rid == ranked.c.rid)
            .outerjoin(
                answers,
                and_(answers.c.rid == ranked.c.rid, answers.c.param == "restriction-period"),
            )
            .outerjoin(
                outcome,
                and_(
                    outcome.c.rid == ranked.c.rid,
                    outcome.c.param == "business-status",
                    outcome.c.system == bindparam("outcome_system"),
                ),
            )
            .outerjoin(status, and_(status.c.rid == ranked.c.rid, status.c.param == "status"))
        )
        .where(
            or_(ranked.c.rank == 1, ranked.c.performed >= bindparam("since")), ~resources.c.deleted
        )
    )


_QUERY = _query()
