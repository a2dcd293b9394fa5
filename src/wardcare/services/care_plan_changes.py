"""What the care-plan page shows beyond the care summary (plans still in draft), and the nurse's
changes to a plan as FHIR updates: each is `fhir_interactions.update` with `If-Match`, so a plan
changed by someone else since the page was read is a clear 412, never a lost update, and the
care-planning write hook (`care_plan_lifecycle.py`) applies its rules (only a person activates;
closing needs a reason and closes the plan's goals and interventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.intervention_schedule import InterventionTiming, TimingKind
from wardcare.fhir.care_planning import plan_template_id, with_status_reason
from wardcare.fhir.intervention_timing import (
    TIMING_EXTENSION,
    task_timing,
    timing_from_fhir,
    timing_to_fhir,
)
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation, fhir_reads
from wardcare.services import fhir_interactions as fhir
from wardcare.services.care_plan_proposals import open_plans
from wardcare.services.context import AppContext

CLOSING = {"revoked": "Discontinued", "completed": "Completed"}


@dataclass(frozen=True)
class DraftItem:
    reference: str
    version: int
    text: str
    timing: str
    # For an "every N hours" intervention, N: the one frequency the draft form lets a nurse change.
    every_hours: int | None = None


@dataclass(frozen=True)
class DraftPlan:
    reference: str
    version: int
    template: str | None
    title: str
    goals: list[DraftItem]
    interventions: list[DraftItem]


def draft_plans(ctx: AppContext, *, actor: Actor, patient_id: str) -> list[DraftPlan]:
    """Plans applied from a template but not yet active: the nurse personalises and activates."""
    authorisation.authorise_patient(actor, patient_id, authorisation.CARE_PLAN_READS)
    with ctx.uow.read() as tx:
        fhir_reads.read_in(tx, resource_type="Patient", resource_id=patient_id)
        drafts = [
            (v, p)
            for v, p in open_plans(tx, ctx, f"Patient/{patient_id}")
            if p.get("status") == "draft" and p.get("intent") == "plan"
        ]
        keys = [
            tuple(ref.split("/", 1))
            for _v, plan in drafts
            for ref in [g.get("reference", "") for g in plan.get("goal", ())]
            + [a.get("reference", {}).get("reference", "") for a in plan.get("activity", ())]
            if "/" in ref
        ]
        linked = {
            f"{v.resource_type}/{v.id}": v
            for v in tx.resources.current_many((k[0], k[1]) for k in keys)
            if v.content
        }
    return [_draft(stored, plan, linked) for stored, plan in drafts]


def _draft(
    stored: StoredVersion, plan: dict[str, Any], linked: dict[str, StoredVersion]
) -> DraftPlan:
    def item(ref: str) -> DraftItem | None:
        found = linked.get(ref)
        if found is None or found.content is None:
            return None
        body = orjson.loads(found.content)
        text = body.get("description")
        if isinstance(text, dict):
            text = text.get("text")
        timing, every_hours = "", None
        raw, path = task_timing(body) if body["resourceType"] == "Task" else (None, "")
        if raw is not None:
            try:
                parsed = timing_from_fhir(raw, path)
            except errors.WardCareError:
                parsed = None
            if parsed is not None:
                timing = parsed.describe()
                every_hours = _whole_hours(parsed)
        return DraftItem(ref, found.version_id, str(text or ref), timing, every_hours)

    goals = [item(g.get("reference", "")) for g in plan.get("goal", ())]
    tasks = [item(a.get("reference", {}).get("reference", "")) for a in plan.get("activity", ())]
    return DraftPlan(
        reference=f"CarePlan/{stored.id}",
        version=stored.version_id,
        template=plan_template_id(plan),
        title=str(plan.get("title") or "Care plan"),
        goals=[g for g in goals if g],
        interventions=[t for t in tasks if t],
    )


def _whole_hours(timing: InterventionTiming) -> int | None:
    if timing.kind != TimingKind.EVERY or timing.interval is None:
        return None
    hours, rest = divmod(timing.interval, timedelta(hours=1))
    return int(hours) if not rest and hours >= 1 else None


def _changed(
    ctx: AppContext,
    actor: Actor,
    resource_type: str,
    resource_id: str,
    version: int,
    change: Any,
) -> StoredVersion:
    stored = fhir_reads.read(ctx, actor=actor, resource_type=resource_type, resource_id=resource_id)
    resource = change(orjson.loads(stored.content or b"{}"))
    return fhir.update(
        ctx,
        actor=actor,
        resource_type=resource_type,
        resource_id=resource_id,
        resource=resource,
        if_match=f'W/"{version}"',
    ).stored


def activate_plan(
    ctx: AppContext, *, actor: Actor, care_plan_id: str, version: int
) -> StoredVersion:
    return _changed(
        ctx, actor, "CarePlan", care_plan_id, version, lambda p: {**p, "status": "active"}
    )


def close_plan(
    ctx: AppContext, *, actor: Actor, care_plan_id: str, version: int, status: str, reason: str
) -> StoredVersion:
    if status not in CLOSING:
        raise errors.unprocessable(f"A plan is completed or revoked, not {status!r}", "status")
    if not reason.strip():
        raise errors.unprocessable(
            f"{CLOSING[status]}: say why (the reason stays with the plan)", "reason"
        )
    return _changed(
        ctx,
        actor,
        "CarePlan",
        care_plan_id,
        version,
        lambda p: with_status_reason({**p, "status": status}, reason.strip()),
    )


def reword_goal(
    ctx: AppContext, *, actor: Actor, goal_id: str, version: int, description: str
) -> StoredVersion:
    """The nurse's own words for a goal of a draft plan (personalising it)."""
    if not description.strip():
        raise errors.unprocessable("A goal needs words", "Goal.description.text")
    return _changed(
        ctx,
        actor,
        "Goal",
        goal_id,
        version,
        lambda g: {**g, "description": {**g.get("description", {}), "text": description.strip()}},
    )


# Repositioning as often as hourly and weighing no more than weekly bound what a nurse sets here;
# anything else is a different intervention, planned with its own template.
MOST_OFTEN_HOURS, LEAST_OFTEN_HOURS = 1, 24 * 7


def change_frequency(
    ctx: AppContext, *, actor: Actor, task_id: str, version: int, every_hours: int
) -> StoredVersion:
    """Personalise how often an "every N hours" intervention of a draft plan falls due (e.g.
    reposition every 3 hours rather than 2 for a patient whose skin tolerates it)."""
    path = "Task.extension.valueTiming.repeat.period"
    if not MOST_OFTEN_HOURS <= every_hours <= LEAST_OFTEN_HOURS:
        raise errors.unprocessable(
            f"Every {every_hours} hours: choose between {MOST_OFTEN_HOURS} and "
            f"{LEAST_OFTEN_HOURS} hours",
            path,
        )

    def change(task: dict[str, Any]) -> dict[str, Any]:
        raw, where = task_timing(task)
        if raw is None or _whole_hours(timing_from_fhir(raw, where)) is None:
            raise errors.unprocessable(
                "Only an intervention done every so many hours can have its frequency changed here",
                where,
            )
        timing = timing_to_fhir(InterventionTiming(TimingKind.EVERY, timedelta(hours=every_hours)))
        extensions = [
            {**e, "valueTiming": timing} if e.get("url") == TIMING_EXTENSION else e
            for e in task.get("extension", ())
        ]
        return {**task, "extension": extensions}

    return _changed(ctx, actor, "Task", task_id, version, change)
