"""Care-plan templates: the shipped ones load and publish as valid FHIR; a broken one, or an
assessment trigger naming a plan or intervention that does not exist, stops loading with the
file and field named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from wardcare import paths
from wardcare.catalog.catalog import TemplateError, load_catalog
from wardcare.fhir.care_planning import CARE_PLANNING, EVALUATION_RESULTS
from wardcare.fhir.validation import structure_issues

SHIPPED = {
    "pressure-ulcer-prevention",
    "nutrition-support",
    "falls-prevention",
    "deteriorating-patient",
    "pain-management",
    "fluid-balance-monitoring",
}


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    shutil.copytree(paths.CARE_TEMPLATES, tmp_path, dirs_exist_ok=True)
    return tmp_path


def edit(path: Path, change: Any) -> None:
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def test_the_shipped_plans_load_with_goals_targets_and_timed_interventions() -> None:
    plans = load_catalog(paths.CARE_TEMPLATES).care_plans
    assert {p.template.id for p in plans.latest()} == SHIPPED
    for loaded in plans.all():
        template = loaded.template
        assert template.source.strip()
        assert template.licence.strip()
        assert all(g.review_every for g in template.goals)
        assert len(loaded.activity_definitions) == len(template.interventions)
        for resource in (loaded.plan_definition, *loaded.activity_definitions):
            assert structure_issues(resource) == []
        # No guessed SNOMED CT: problems use WardCare's code system.
        assert template.problem.code.system == "http://wardcare.org/fhir/CodeSystem/care-planning"


def test_the_falls_plan_has_an_intervention_for_every_ng249_factor_trigger() -> None:
    catalog = load_catalog(paths.CARE_TEMPLATES)
    falls = catalog.get("falls-multifactorial")
    assert falls is not None
    plan = catalog.care_plans.get("falls-prevention")
    assert plan is not None
    factors = {i for t in falls.template.care_plan_triggers for i in t.interventions}
    assert factors <= {i.id for i in plan.template.interventions}
    assert {i.id for i in plan.template.interventions if i.include == "when-triggered"} == factors


def test_an_unknown_field_names_the_file_and_field(templates: Path) -> None:
    edit(
        templates / "care_plans" / "pain-management.yaml",
        lambda raw: raw["interventions"][0].update({"frequency": "often"}),
    )
    with pytest.raises(TemplateError) as raised:
        load_catalog(templates)
    assert "pain-management.yaml" in str(raised.value)
    assert "interventions[0] (reassess-pain).frequency" in str(raised.value)


def test_a_timing_with_two_kinds_is_refused(templates: Path) -> None:
    edit(
        templates / "care_plans" / "pain-management.yaml",
        lambda raw: raw["interventions"][0]["timing"].update({"perShift": True}),
    )
    with pytest.raises(TemplateError, match=r"interventions\[0\] \(reassess-pain\)\.timing"):
        load_catalog(templates)


def test_a_review_interval_in_hours_is_refused(templates: Path) -> None:
    edit(
        templates / "care_plans" / "pain-management.yaml",
        lambda raw: raw["goals"][0].update({"reviewEvery": "PT12H"}),
    )
    with pytest.raises(TemplateError, match="whole days"):
        load_catalog(templates)


def test_a_trigger_naming_a_plan_that_does_not_exist_is_refused(templates: Path) -> None:
    (templates / "care_plans" / "pain-management.yaml").unlink()
    with pytest.raises(TemplateError) as raised:
        load_catalog(templates)
    message = str(raised.value)
    assert "pain-score.yaml: carePlanTriggers[0].plan" in message
    assert "'pain-management'" in message


def test_a_trigger_naming_an_intervention_the_plan_lacks_is_refused(templates: Path) -> None:
    def drop_rounding(raw: dict[str, Any]) -> None:
        raw["interventions"] = [i for i in raw["interventions"] if i["id"] != "hourly-rounding"]

    edit(templates / "care_plans" / "falls-prevention.yaml", drop_rounding)
    with pytest.raises(TemplateError) as raised:
        load_catalog(templates)
    assert "falls-multifactorial.yaml: carePlanTriggers[0].interventions" in str(raised.value)
    assert "'hourly-rounding'" in str(raised.value)


def test_the_plans_are_published_as_plan_and_activity_definitions(client: TestClient) -> None:
    plans = client.get("/fhir/PlanDefinition", params={"_count": 50}).json()
    assert {e["resource"]["id"] for e in plans["entry"]} == SHIPPED
    reposition = client.get("/fhir/ActivityDefinition/pressure-ulcer-prevention.reposition").json()
    assert reposition["timingTiming"]["repeat"] == {"frequency": 1, "period": 4, "periodUnit": "h"}
    assert reposition["kind"] == "Task"


def test_every_care_planning_code_is_in_the_published_code_system(project_root: Path) -> None:
    published = json.loads(
        (project_root / "fhir_profiles/CodeSystem-care-planning.json").read_text()
    )
    assert structure_issues(published) == []
    known = {c["code"] for c in published["concept"]}
    assert published["count"] == len(known)
    plans = load_catalog(paths.CARE_TEMPLATES).care_plans
    used = set()
    for loaded in plans.all():
        template = loaded.template
        codings = [template.problem.code, *(g.target.measure for g in template.goals)]
        codings += [i.code(template.id) for i in template.interventions]
        used |= {c.code for c in codings if c.system == CARE_PLANNING}
    used |= set(EVALUATION_RESULTS) | {"done", "not-done", "declined", "goal-evaluation"}
    assert used <= known, sorted(used - known)
