"""A patient's current care plans as the patient page shows them: problem, goals and
interventions with their timing and status.

This reads CarePlans as FHIR R4 defines them (goals by reference; interventions as
`activity.detail` or as referenced Tasks/RequestGroups), so it shows any plan in the record.
`care_plans_for` is the one function the UI calls; when the care-planning use cases publish
their patient care summary (interventions with next due time), it is the one place to switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from wardcare.fhir.indexing import split_reference
from wardcare.services.context import AppContext
from wardcare.services.patient_summaries import search_all
from wardcare.storage.unit_of_work import Transaction

CURRENT_STATUSES = ("draft", "active", "on-hold")
_UNITS = {"min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}


@dataclass(frozen=True)
class Intervention:
    description: str
    status: str
    timing: str  # "every 2 hours", "" when not stated


@dataclass(frozen=True)
class CarePlanSummary:
    reference: str
    title: str
    status: str
    started: str | None
    goals: list[str]
    interventions: list[Intervention]


def care_plans_for(tx: Transaction, ctx: AppContext, patient_id: str) -> list[CarePlanSummary]:
    plans = search_all(
        tx,
        ctx,
        "CarePlan",
        [("patient", f"Patient/{patient_id}"), ("status", ",".join(CURRENT_STATUSES))],
    )
    wanted: list[tuple[str, str]] = []
    for plan in plans:
        for ref in [g.get("reference", "") for g in plan.get("goal", ())] + [
            a.get("reference", {}).get("reference", "") for a in plan.get("activity", ())
        ]:
            target = split_reference(ref) if ref else None
            if target:
                wanted.append(target)
    linked = {
        f"{v.resource_type}/{v.id}": orjson.loads(v.content)
        for v in tx.resources.current_many(wanted)
        if v.content
    }
    return [_summary(plan, linked) for plan in plans]


def _summary(plan: dict[str, Any], linked: dict[str, dict[str, Any]]) -> CarePlanSummary:
    goals = []
    for ref in plan.get("goal", ()):
        goal = linked.get(ref.get("reference", ""))
        if goal is not None:
            goals.append(_text(goal.get("description")) or "Goal")
    interventions = []
    for activity in plan.get("activity", ()):
        detail = activity.get("detail")
        if isinstance(detail, dict):
            interventions.append(
                Intervention(
                    detail.get("description") or _text(detail.get("code")) or "Intervention",
                    detail.get("status", ""),
                    timing_text(detail.get("scheduledTiming")),
                )
            )
            continue
        target = linked.get(activity.get("reference", {}).get("reference", ""))
        if target is not None:
            interventions.append(
                Intervention(
                    target.get("description") or _text(target.get("code")) or "Intervention",
                    target.get("status", ""),
                    "",
                )
            )
    title = (
        plan.get("title")
        or _text((plan.get("category") or [None])[0])
        or plan.get("description")
        or "Care plan"
    )
    return CarePlanSummary(
        reference=f"CarePlan/{plan['id']}",
        title=title,
        status=plan.get("status", ""),
        started=plan.get("period", {}).get("start") or plan.get("created"),
        goals=goals,
        interventions=interventions,
    )


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    return str(
        concept.get("text") or next((c.get("display") for c in concept.get("coding", ())), "")
    )


def timing_text(timing: Any) -> str:
    """A FHIR Timing as a nurse says it: "every 2 hours", "3 times a day"."""
    if not isinstance(timing, dict):
        return ""
    repeat = timing.get("repeat", {})
    unit = _UNITS.get(repeat.get("periodUnit", ""), "")
    period, frequency = repeat.get("period"), repeat.get("frequency", 1)
    if not unit or not period:
        return str(timing.get("code", {}).get("text", ""))
    every = f"{unit}" if period == 1 else f"{period:g} {unit}s"
    if frequency and frequency > 1:
        return f"{frequency} times every {every}" if period != 1 else f"{frequency} times a {unit}"
    return f"every {every}"
