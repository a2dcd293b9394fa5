"""The care-plan part of a handover: each active plan's problem and what is overdue on it.

WardCare's own plans come with their timed work from the due list (`care_plan_work.PlanWork`,
read in the sheet's one snapshot): each intervention with an overdue occurrence, and a review
that is overdue, is printed under its plan's problem, so a missed "reposition every 2 hours"
reaches the next shift (hazard H15). A CarePlan written by another system is read for what any
FHIR R4 CarePlan carries: the problem (`title`, else `description`, else
`addresses[].display`) and, as overdue, planned activities whose scheduled period ended before
the data time without being completed (CarePlan.activity.detail.scheduled[x]).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wardcare.domain.local_time import duration_words
from wardcare.domain.schedule import DueState
from wardcare.fhir.dates import InvalidDate, date_range, from_micros
from wardcare.handover.model import CareProblem
from wardcare.services.care_plan_work import PlanWork
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


def _overdue_work(work: PlanWork) -> list[str]:
    lines = []
    for intervention in work.interventions:
        overdue = [o for o in intervention.occurrences if o.state is DueState.OVERDUE]
        if not overdue:
            continue
        oldest = overdue[0].overdue_by
        line = (
            f"{intervention.title}: overdue by {duration_words(oldest)}"
            if oldest
            else (f"{intervention.title}: overdue")
        )
        if len(overdue) > 1:
            line += f" ({len(overdue)} times missed)"
        lines.append(line)
    if work.review_state is DueState.OVERDUE:
        lines.append("Plan review: overdue")
    return lines


def care_problems(
    plans: Sequence[dict[str, Any]],
    due_items: Sequence[DueItem],
    *,
    now: datetime,
    plan_work: Sequence[PlanWork] = (),
) -> tuple[CareProblem, ...]:
    """Active plans with their overdue work; overdue due-list entries that no plan claims are
    listed under their own heading so none is dropped."""
    work_by_id = {str(w.plan.get("id")): w for w in plan_work}
    problems = []
    for plan in plans:
        work = work_by_id.get(str(plan.get("id")))
        problems.append(
            CareProblem(
                problem_of(plan),
                detail=str(plan.get("description", "")) if plan.get("title") else "",
                overdue=tuple(
                    _overdue_work(work) if work is not None else _overdue_activities(plan, now)
                ),
            )
        )
    loose = _overdue_interventions(due_items)
    if loose:
        problems.append(CareProblem("Interventions overdue", overdue=tuple(loose)))
    return tuple(problems)
