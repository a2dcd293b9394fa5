"""The handover's care-plan lines: a WardCare plan's overdue interventions and overdue review
reach the sheet under its problem (hazard H15, missed interventions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wardcare.domain.intervention_schedule import Occurrence
from wardcare.domain.schedule import DueState
from wardcare.services.care_plan_work import GoalWork, InterventionWork, PlanWork
from wardcare.services.handover_care_plans import care_problems

NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def _occurrence(hours_ago: float, state: DueState) -> Occurrence:
    due = NOW - timedelta(hours=hours_ago)
    overdue = NOW - due if state is DueState.OVERDUE else None
    return Occurrence(due_at=due, state=state, overdue_by=overdue, slot=due)


def _intervention(title: str, *occurrences: Occurrence) -> InterventionWork:
    return InterventionWork(
        task={"resourceType": "Task", "id": title},
        title=title,
        timing=None,
        started_at=NOW - timedelta(days=1),
        occurrences=list(occurrences),
        last=None,
    )


PLAN = {"resourceType": "CarePlan", "id": "p1", "title": "Risk of pressure ulcer"}


def test_overdue_interventions_and_review_print_under_the_plans_problem() -> None:
    work = PlanWork(
        plan=PLAN,
        version=2,
        template_id="pressure-ulcer-prevention",
        goals=[GoalWork(goal={}, next_review=NOW.date(), review_state=DueState.OVERDUE)],
        interventions=[
            _intervention(
                "Reposition every 2 hours",
                _occurrence(4, DueState.OVERDUE),
                _occurrence(2, DueState.OVERDUE),
                _occurrence(-0.5, DueState.NOT_DUE),
            ),
            _intervention("Inspect skin", _occurrence(-2, DueState.NOT_DUE)),
        ],
    )

    (problem,) = care_problems([PLAN], [], now=NOW, plan_work=[work])

    assert problem.title == "Risk of pressure ulcer"
    assert len(problem.overdue) == 2
    reposition, review = problem.overdue
    assert reposition.startswith("Reposition every 2 hours: overdue by 4")
    assert reposition.endswith("(2 times missed)")
    assert review == "Plan review: overdue"


def test_a_plan_with_nothing_overdue_prints_its_problem_alone() -> None:
    work = PlanWork(
        plan=PLAN,
        version=1,
        template_id="pressure-ulcer-prevention",
        interventions=[_intervention("Inspect skin", _occurrence(-2, DueState.NOT_DUE))],
    )
    (problem,) = care_problems([PLAN], [], now=NOW, plan_work=[work])
    assert problem.overdue == ()
