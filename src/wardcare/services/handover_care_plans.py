"""The care-plan part of a handover, from standard FHIR R4 CarePlans.

Until the care-planning work's `care_summary` lands, this reads what any FHIR CarePlan carries:
the problem (`title`, else `description`, else `addresses[].display`), and as overdue the
planned activities whose scheduled period ended before the data time without being completed
(R4 CarePlan.activity.detail.scheduled[x], status not completed/cancelled/stopped/
entered-in-error), plus due-list entries of other kinds than assessments (interventions the
care-planning work adds to the due list) that are overdue. This is the one module to point at
`care_summary` later: the sheet only needs `care_problems`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wardcare.domain.local_time import duration_words
from wardcare.domain.schedule import DueState
from wardcare.fhir.dates import InvalidDate, date_range, from_micros
from wardcare.handover.model import CareProblem
from wardcare.services.due_list import DueItem

_FINISHED = frozenset({"completed", "cancelled", "stopped", "entered-in-error"})


def problem_of(plan: dict[str, Any]) -> str:
    if plan.get("title"):
        return str(plan["title"])
    if plan.get("description"):
        return str(plan["description"])
    addressed = [a.get("display") for a in plan.get("addresses", ()) if a.get("display")]
    return "; ".join(addressed) if addressed else "Care plan (untitled)"


def _overdue_activities(plan: dict[str, Any], now: datetime) -> list[str]:
    overdue = []
    for activity in plan.get("activity", ()):
        detail = activity.get("detail", {})
        if detail.get("status") in _FINISHED:
            continue
        end = detail.get("scheduledPeriod", {}).get("end")
        if not isinstance(end, str):
            continue
        try:
            # A dateTime ends at that instant; a bare date at the end of that day.
            span = date_range(end)
            ends = from_micros(span[0] if "T" in end else span[1])
        except InvalidDate:
            continue
        if ends < now:
            what = detail.get("description") or detail.get("code", {}).get("text") or "Activity"
            overdue.append(f"{what}: overdue by {duration_words(now - ends)}")
    return overdue


def _overdue_interventions(items: Sequence[DueItem]) -> list[str]:
    lines = []
    for item in items:
        kind = getattr(item, "kind", "assessment")
        if kind == "assessment" or item.due.state is not DueState.OVERDUE:
            continue
        overdue = item.due.overdue_by
        title = getattr(item, "title", None) or item.template.template.title
        lines.append(
            f"{title}: overdue by {duration_words(overdue)}" if overdue else f"{title}: overdue"
        )
    return lines


def care_problems(
    plans: Sequence[dict[str, Any]], due_items: Sequence[DueItem], *, now: datetime
) -> tuple[CareProblem, ...]:
    """Active plans with their overdue activities; overdue interventions from the due list that
    no plan claims are listed under their own heading so none is dropped."""
    problems = [
        CareProblem(
            problem_of(plan),
            detail=str(plan.get("description", "")) if plan.get("title") else "",
            overdue=tuple(_overdue_activities(plan, now)),
        )
        for plan in plans
    ]
    loose = _overdue_interventions(due_items)
    if loose:
        problems.append(CareProblem("Interventions overdue", overdue=tuple(loose)))
    return tuple(problems)
