"""Load care_templates/care_plans/, check each template, and publish it as FHIR.

Each template becomes a PlanDefinition (the problem as the goals' `addresses`, the goals with
their targets, one action per intervention with its timing) and one ActivityDefinition per
intervention (FHIR R4 Clinical Reasoning). A template that does not load stops start-up naming
the file and the field, as assessments do; so does an assessment trigger that names a plan or an
intervention that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wardcare.catalog.care_plan_schema import (
    CARE_PLANNING_SYSTEM,
    CarePlanTemplate,
    Intervention,
    Timing,
)
from wardcare.catalog.care_plan_schema import Goal as GoalTemplate
from wardcare.catalog.field_paths import field_path
from wardcare.catalog.template_schema import AssessmentTemplate, parse_duration
from wardcare.domain.intervention_schedule import InterventionTiming, TimingKind
from wardcare.fhir.care_planning import REVIEW_EXTENSION
from wardcare.fhir.intervention_timing import timing_to_fhir
from wardcare.fhir.validation import structure_issues

PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"


class CarePlanError(ValueError):
    """A care-plan template that cannot be used, with the file and field at fault."""


@dataclass(frozen=True)
class LoadedCarePlan:
    template: CarePlanTemplate
    plan_definition: dict[str, Any]
    activity_definitions: list[dict[str, Any]]
    path: Path

    def timing(self, intervention: Intervention) -> InterventionTiming:
        return domain_timing(intervention.timing)


def domain_timing(timing: Timing) -> InterventionTiming:
    if timing.every is not None:
        return InterventionTiming(TimingKind.EVERY, interval=parse_duration(timing.every))
    if timing.once is not None:
        return InterventionTiming(TimingKind.ONCE, interval=parse_duration(timing.once))
    if timing.at:
        return InterventionTiming(
            TimingKind.AT_TIMES, times=tuple(time.fromisoformat(t) for t in timing.at)
        )
    if timing.per_shift:
        return InterventionTiming(TimingKind.PER_SHIFT)
    return InterventionTiming(TimingKind.AS_NEEDED)


def goal_target(goal: GoalTemplate) -> dict[str, Any]:
    """A goal's target as FHIR (Goal.target; PlanDefinition.goal.target takes the same
    measure, and a stated finding as a CodeableConcept's text)."""
    target: dict[str, Any] = {
        "measure": {"coding": [goal.target.measure.model_dump(exclude_none=True)]}
    }
    if goal.target.value is not None:
        quantity: dict[str, Any] = {
            "value": goal.target.value,
            "unit": goal.target.unit,
            "system": "http://unitsofmeasure.org",
            "code": goal.target.unit,
        }
        if goal.target.comparator:
            quantity["comparator"] = goal.target.comparator
        target["detailQuantity"] = quantity
    return target


def _plan_definition(template: CarePlanTemplate) -> dict[str, Any]:
    problem = {
        "coding": [template.problem.code.model_dump(exclude_none=True)],
        "text": template.problem.text,
    }
    goals = []
    for goal in template.goals:
        target = goal_target(goal)
        if goal.target.detail is not None:
            target["detailCodeableConcept"] = {"text": goal.target.detail}
        goals.append(
            {
                "id": goal.id,
                "description": {"text": goal.description},
                "addresses": [problem],
                "target": [target],
                "documentation": [{"type": "documentation", "display": goal.evaluation}],
                "extension": [
                    {"url": REVIEW_EXTENSION, "valueDuration": review_duration(goal.review_every)}
                ],
            }
        )
    return {
        "resourceType": "PlanDefinition",
        "id": template.id,
        "url": template.url,
        "version": template.version,
        "name": template.id.replace("-", "_").upper(),
        "title": template.title,
        "type": {"coding": [{"system": PLAN_TYPE, "code": "clinical-protocol"}]},
        "status": template.status,
        "subjectCodeableConcept": {"text": "Patient"},
        "publisher": template.publisher,
        "description": template.description,
        "usage": "Evaluation: " + " ".join(template.evaluation_criteria),
        "copyright": template.licence,
        "relatedArtifact": [{"type": "citation", "citation": template.source}],
        "goal": goals,
        "action": [
            {
                "id": intervention.id,
                "title": intervention.title,
                "description": intervention.description,
                "code": [
                    {"coding": [intervention.code(template.id).model_dump(exclude_none=True)]}
                ],
                "goalId": [g.id for g in template.goals],
                "timingTiming": timing_to_fhir(domain_timing(intervention.timing)),
                "definitionCanonical": f"{template.activity_url(intervention)}|{template.version}",
            }
            for intervention in template.interventions
        ],
    }


def _activity_definition(template: CarePlanTemplate, intervention: Intervention) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "resourceType": "ActivityDefinition",
        "id": f"{template.id}.{intervention.id}",
        "url": template.activity_url(intervention),
        "version": template.version,
        "name": f"{template.id}_{intervention.id}".replace("-", "_").upper(),
        "title": intervention.title,
        "status": template.status,
        "publisher": template.publisher,
        "description": intervention.description,
        "copyright": template.licence,
        "kind": "Task",
        "code": {"coding": [intervention.code(template.id).model_dump(exclude_none=True)]},
        "timingTiming": timing_to_fhir(domain_timing(intervention.timing)),
    }
    if intervention.rationale:
        definition["purpose"] = intervention.rationale
    return definition


def review_duration(text: str) -> dict[str, Any]:
    days = parse_duration(text).days
    return {"value": days, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}


def load_care_plan(path: Path) -> LoadedCarePlan:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CarePlanError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        template = CarePlanTemplate.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{field_path(raw, e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise CarePlanError(f"{path.name}: {problems}") from None
    plan = _plan_definition(template)
    activities = [_activity_definition(template, i) for i in template.interventions]
    for resource in (plan, *activities):
        issues = structure_issues(resource)
        if issues:
            raise CarePlanError(
                f"{path.name}: its {resource['resourceType']} is not valid FHIR R4: "
                + "; ".join(i.message for i in issues)
            )
    return LoadedCarePlan(template, plan, activities, path)


class CarePlanCatalog:
    def __init__(self, plans: list[LoadedCarePlan]) -> None:
        self._by_key = {(p.template.id, p.template.version): p for p in plans}
        self._latest: dict[str, LoadedCarePlan] = {}
        for loaded in plans:
            current = self._latest.get(loaded.template.id)
            if current is None or _version(loaded.template.version) > _version(
                current.template.version
            ):
                self._latest[loaded.template.id] = loaded

    def all(self) -> list[LoadedCarePlan]:
        return list(self._by_key.values())

    def latest(self) -> list[LoadedCarePlan]:
        return sorted(self._latest.values(), key=lambda p: p.template.id)

    def get(self, plan_id: str, version: str | None = None) -> LoadedCarePlan | None:
        if version is None:
            return self._latest.get(plan_id)
        return self._by_key.get((plan_id, version))

    def by_canonical(self, canonical: str) -> LoadedCarePlan | None:
        url, _, version = canonical.partition("|")
        plan_id = url.rstrip("/").rsplit("/", 1)[-1]
        found = self.get(plan_id, version or None)
        if found is None or url not in (found.template.url, f"PlanDefinition/{plan_id}"):
            return None
        return found


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def load_care_plans(folder: Path) -> CarePlanCatalog:
    paths = (
        sorted((folder / "care_plans").glob("*.yaml")) if (folder / "care_plans").is_dir() else []
    )
    plans = [load_care_plan(p) for p in paths]
    seen: dict[tuple[str, str], Path] = {}
    for loaded in plans:
        key = (loaded.template.id, loaded.template.version)
        if key in seen:
            raise CarePlanError(
                f"{loaded.path.name}: {key[0]} version {key[1]} is also defined in {seen[key].name}"
            )
        seen[key] = loaded.path
    return CarePlanCatalog(plans)


def check_triggers(
    assessments: list[tuple[AssessmentTemplate, Path]], plans: CarePlanCatalog
) -> None:
    """Every assessment trigger names a plan that exists, and interventions of that plan."""
    for template, path in assessments:
        for index, trigger in enumerate(template.care_plan_triggers):
            where = f"{path.name}: carePlanTriggers[{index}]"
            plan = plans.get(trigger.plan)
            if plan is None:
                known = ", ".join(p.template.id for p in plans.latest()) or "none"
                raise CarePlanError(
                    f"{where}.plan: there is no care plan {trigger.plan!r} (known: {known})"
                )
            for name in trigger.interventions:
                if plan.template.intervention(name) is None:
                    raise CarePlanError(
                        f"{where}.interventions: {trigger.plan} has no intervention {name!r}"
                    )


__all__ = ["CARE_PLANNING_SYSTEM", "CarePlanCatalog", "CarePlanError", "LoadedCarePlan"]
