"""The work active care plans ask for: each intervention's due and overdue occurrences, and each
goal's next review, for one patient or a whole ward.

The whole ward costs a fixed number of queries, however many beds and plans: the active plans
(one search), their goals and intervention Tasks (one read of current versions), the newest
documented occurrence of each intervention (one window-function query,
`ResourceRepository.latest_for_each`) and the occurrences of the last day (one search). The
schedule itself is `domain/intervention_schedule.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from wardcare.domain.intervention_schedule import (
    LOOKBACK,
    Documented,
    InterventionTiming,
    Occurrence,
    Outcome,
    due_occurrences,
)
from wardcare.domain.schedule import LONDON, DueState
from wardcare.errors import WardCareError
from wardcare.fhir.care_planning import (
    CARE_PLANNING,
    REVIEW_EXTENSION,
    is_intervention,
    plan_template_id,
    reference_id,
)
from wardcare.fhir.dates import date_range, from_micros, to_micros
from wardcare.fhir.intervention_timing import task_timing, timing_from_fhir
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services.context import AppContext
from wardcare.storage.occurrence_index import occurrences_for_each
from wardcare.storage.unit_of_work import Transaction

_MAX_ROWS = 10_000


@dataclass(frozen=True)
class InterventionWork:
    task: dict[str, Any]
    title: str
    timing: InterventionTiming | None  # None: a timing WardCare cannot read (shown, not hidden)
    started_at: datetime
    occurrences: list[Occurrence]
    last: Documented | None

    @property
    def next_due(self) -> Occurrence | None:
        return self.occurrences[0] if self.occurrences else None


@dataclass(frozen=True)
class GoalWork:
    goal: dict[str, Any]
    next_review: date | None
    review_state: DueState | None


@dataclass
class PlanWork:
    plan: dict[str, Any]
    version: int
    template_id: str
    goals: list[GoalWork] = field(default_factory=list)
    interventions: list[InterventionWork] = field(default_factory=list)

    @property
    def next_review(self) -> date | None:
        return min((g.next_review for g in self.goals if g.next_review), default=None)

    @property
    def review_state(self) -> DueState:
        states = {g.review_state for g in self.goals}
        for state in (DueState.OVERDUE, DueState.DUE):
            if state in states:
                return state
        return DueState.NOT_DUE


def active_plans(
    tx: Transaction, ctx: AppContext, patients: Sequence[str], now: datetime
) -> dict[str, list[PlanWork]]:
    """Each patient's ("Patient/id") active WardCare care plans with their due work."""
    if not patients:
        return {}
    plans = _search(tx, ctx, "CarePlan", [("patient", ",".join(patients)), ("status", "active")])
    works: dict[str, list[PlanWork]] = {}
    wanted: list[tuple[str, str]] = []
    for stored in plans:
        plan = orjson.loads(stored.content or b"{}")
        template_id = plan_template_id(plan)
        if template_id is None:
            continue
        patient = plan.get("subject", {}).get("reference", "")
        works.setdefault(patient, []).append(PlanWork(plan, stored.version_id, template_id))
        wanted += [("Goal", i) for i in _ids(plan.get("goal"), "Goal")]
        wanted += [
            ("Task", i)
            for i in _ids([a.get("reference") for a in plan.get("activity", ())], "Task")
        ]
    linked = {
        (v.resource_type, v.id): orjson.loads(v.content)
        for kind in ("Goal", "Task")
        for v in tx.resources.current_of_type(kind, [i for k, i in wanted if k == kind])
        if v.content
    }
    tasks = [r for (kind, _i), r in linked.items() if kind == "Task" and is_intervention(r)]
    documented = _documented(tx, [t["id"] for t in tasks], now)
    today = now.astimezone(LONDON).date()
    for plan_works in works.values():
        for work in plan_works:
            for goal_id in _ids(work.plan.get("goal"), "Goal"):
                goal = linked.get(("Goal", goal_id))
                if goal is not None:
                    work.goals.append(_goal_work(goal, today))
            refs = [a.get("reference") for a in work.plan.get("activity", ())]
            for task_id in _ids(refs, "Task"):
                task = linked.get(("Task", task_id))
                if task is not None and task.get("status") == "in-progress":
                    work.interventions.append(
                        _intervention_work(task, documented.get(task_id, []), now)
                    )
    return works


def _ids(references: Any, resource_type: str) -> list[str]:
    return [i for i in (reference_id(r, resource_type) for r in references or ()) if i]


def _search(
    tx: Transaction, ctx: AppContext, resource_type: str, params: list[tuple[str, str]]
) -> list[StoredVersion]:
    query = parse_search(
        resource_type, params, ctx.search_parameters, default_count=_MAX_ROWS, max_count=_MAX_ROWS
    )
    query.total = "none"
    return tx.resources.search(query).matches


def _documented(tx: Transaction, task_ids: list[str], now: datetime) -> dict[str, list[Documented]]:
    """Per intervention Task id: the newest documented occurrence ever, and every one in the
    lookback window (and a night shift before it), from the indexes alone; one marked
    entered-in-error counts as never documented."""
    found: dict[str, list[Documented]] = {}
    outcomes = {o.value for o in Outcome}
    for row in occurrences_for_each(
        tx.connection,
        parent_ids=task_ids,
        since=to_micros(now - LOOKBACK - timedelta(hours=13)),
        outcome_system=CARE_PLANNING,
    ):
        if row.status == "entered-in-error" or row.outcome not in outcomes:
            continue
        # Due times are whole minutes; an end written to the second covers its whole second.
        minute = 60_000_000
        slot = from_micros(row.answers - row.answers % minute) if row.answers is not None else None
        found.setdefault(row.parent_id, []).append(
            Documented(from_micros(row.performed), Outcome(row.outcome), slot)
        )
    return found


def moment(text: str) -> datetime:
    """A FHIR dateTime as an instant: WardCare writes full instants, which the standard
    library parses fast; anything shorter is read as its first instant."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return from_micros(date_range(text)[0])
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _intervention_work(
    task: dict[str, Any], documented: list[Documented], now: datetime
) -> InterventionWork:
    start_text = (task.get("executionPeriod") or {}).get("start") or task.get("authoredOn")
    started = moment(start_text) if isinstance(start_text, str) else now
    title = (task.get("code") or {}).get("text") or task.get("description") or "Intervention"
    timing_json, path = task_timing(task)
    try:
        timing: InterventionTiming | None = timing_from_fhir(timing_json, path)
    except WardCareError:
        timing = None
    occurrences = (
        due_occurrences(timing, started_at=started, documented=documented, now=now)
        if timing is not None
        else []
    )
    last = max(documented, key=lambda d: d.at, default=None)
    return InterventionWork(task, title, timing, started, occurrences, last)


def _goal_work(goal: dict[str, Any], today: date) -> GoalWork:
    if goal.get("lifecycleStatus") != "active":
        return GoalWork(goal, None, None)
    days = next(
        (
            e.get("valueDuration", {}).get("value")
            for e in goal.get("extension") or ()
            if e.get("url") == REVIEW_EXTENSION
        ),
        None,
    )
    since = goal.get("statusDate") or goal.get("startDate")
    if not isinstance(days, int) or not isinstance(since, str):
        return GoalWork(goal, None, None)
    next_review = date.fromisoformat(since[:10]) + timedelta(days=days)
    if today > next_review:
        state = DueState.OVERDUE
    elif today == next_review:
        state = DueState.DUE
    else:
        state = DueState.NOT_DUE
    return GoalWork(goal, next_review, state)
