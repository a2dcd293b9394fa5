"""The demo's care record: assessments, adopted care plans, documented and overdue interventions
and answered escalations, all stored through the services (Provenance and audit included).

One small hospital (two wards of 8 beds) is loaded once for the module through `load_demo`, the
loader `wardcare demo` uses; the tests read what it stored with the same services the ward board
and the due list use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tests.conftest import empty_database
from wardcare.demo.care_record import plan_care_record
from wardcare.demo.loader import DemoLoad, load_demo
from wardcare.demo.synthetic_hospital import HospitalSpec, WardSpec, build_hospital, ward_code_of
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER
from wardcare.domain.schedule import DueState
from wardcare.fhir.care_planning import is_intervention, is_occurrence, plan_template_id
from wardcare.services.context import AppContext
from wardcare.services.due_list import ward_due
from wardcare.services.patient_summaries import (
    answers_by_link_id,
    is_escalation,
    latest_news2,
    open_escalations,
)
from wardcare.storage.tables import resources

SPEC = HospitalSpec(
    wards=(
        WardSpec("WARD7", "Ward 7 (Acute Medicine)", bays=1, beds_per_bay=6, side_rooms=2),
        WardSpec("WARD9", "Ward 9 (Care of the Elderly)", bays=1, beds_per_bay=6, side_rooms=2),
    ),
    days_of_obs=2,
    seed=7,
)
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def loaded(session_context: AppContext) -> Iterator[tuple[AppContext, DemoLoad]]:
    empty_database(session_context.uow.engine)
    demo = load_demo(session_context, SPEC, now=NOW)
    assert demo is not None
    yield session_context, demo
    empty_database(session_context.uow.engine)


def _all(ctx: AppContext, resource_type: str) -> list[dict[str, Any]]:
    with ctx.uow.read() as tx:
        ids = [
            row.id
            for row in tx.connection.execute(
                resources.select().where(resources.c.resource_type == resource_type)
            )
        ]
        return [
            orjson.loads(v.content)
            for v in tx.resources.current_of_type(resource_type, ids)
            if v.content
        ]


def _patient(resource: dict[str, Any], element: str) -> str:
    return str(resource[element]["reference"])


def _template(response: dict[str, Any]) -> str:
    return str(response["questionnaire"]).split("/")[-1].split("|")[0]


def test_every_care_record_resource_is_valid_fhir_that_wardcare_accepts(
    loaded: tuple[AppContext, DemoLoad],
) -> None:
    ctx, _demo = loaded
    kinds = ("QuestionnaireResponse", "Observation", "CarePlan", "Goal", "Task", "Condition")
    for kind in (*kinds, "Provenance"):
        found = _all(ctx, kind)
        assert found, kind
        for resource in found:
            body = {k: v for k, v in resource.items() if k != "meta"}
            ctx.validator.validate(body, expected_type=kind)


def test_each_patient_has_admission_assessments_with_scores_that_vary(
    loaded: tuple[AppContext, DemoLoad],
) -> None:
    ctx, demo = loaded
    responses = _all(ctx, "QuestionnaireResponse")
    by_patient: dict[str, set[str]] = defaultdict(set)
    for response in responses:
        assert response["status"] == "completed"
        by_patient[_patient(response, "subject")].add(_template(response))
    for admission in demo.hospital.admitted:
        done = by_patient[f"Patient/{admission.patient['id']}"]
        assert {"pressure-ulcer-risk", "pain-score", "must"} <= done
    assert any("falls-multifactorial" in done for done in by_patient.values())
    bands: dict[str, Counter[str]] = defaultdict(Counter)
    for score in _all(ctx, "Observation"):
        for coding in (c for i in score.get("interpretation", ()) for c in i.get("coding", ())):
            if coding["system"].endswith("-band"):
                bands[coding["system"].split("/")[-1]][coding["code"]] += 1
    pressure = bands["pressure-ulcer-risk-band"]
    assert pressure["low"], pressure
    assert pressure["at-risk"], pressure
    assert pressure["high"], pressure
    must = bands["must-band"]
    assert must["low"], must
    assert must["medium"] + must["high"], must
    pain_scores = {
        answers_by_link_id(r)["pain-score"] for r in responses if _template(r) == "pain-score"
    }
    assert min(pain_scores) == 0
    assert max(pain_scores) >= 4


def test_some_patients_have_active_care_plans_adopted_by_a_nurse_and_some_proposals_wait(
    loaded: tuple[AppContext, DemoLoad],
) -> None:
    ctx, demo = loaded
    plans = _all(ctx, "CarePlan")
    active = [p for p in plans if p["status"] == "active" and p["intent"] == "plan"]
    patients = {_patient(p, "subject") for p in active}
    assert 0 < len(patients) < len(demo.hospital.admitted)
    assert {plan_template_id(p) for p in active} >= {
        "pressure-ulcer-prevention",
        "falls-prevention",
    }
    assert any(p["intent"] == "proposal" and p["status"] == "draft" for p in plans)
    for plan in active:
        assert plan["author"]["reference"].startswith("Practitioner/")
    # Activation was a person's: the Provenance of each active version names a nurse as author.
    provenance = _all(ctx, "Provenance")
    for plan in active:
        target = f"CarePlan/{plan['id']}/_history/{plan['meta']['versionId']}"
        agents = [
            p["agent"][0] for p in provenance if any(t["reference"] == target for t in p["target"])
        ]
        assert agents
        assert agents[0]["type"]["coding"][0]["code"] == "author"
        assert agents[0]["who"]["reference"].startswith("Practitioner/")


def test_interventions_are_documented_done_and_not_done_and_some_are_overdue(
    loaded: tuple[AppContext, DemoLoad],
) -> None:
    ctx, demo = loaded
    tasks = _all(ctx, "Task")
    occurrences = [t for t in tasks if is_occurrence(t)]
    outcomes = Counter(t["businessStatus"]["coding"][0]["code"] for t in occurrences)
    assert outcomes["done"] > 10 * outcomes["not-done"] > 0, outcomes
    for task in occurrences:
        if task["businessStatus"]["coding"][0]["code"] == "not-done":
            assert task["statusReason"]["text"]
        assert task["owner"]["reference"].startswith("Practitioner/")
    assert any(is_intervention(t) and t["status"] == "in-progress" for t in tasks)
    overdue = 0
    for ward in ("WARD7", "WARD9"):
        due = ward_due(ctx, actor=UNAUTHENTICATED_DEVELOPER, ward_code=ward)
        for bed in due.beds:
            states = [
                o.state for p in bed.care_plans for w in p.interventions for o in w.occurrences
            ]
            overdue += DueState.OVERDUE in states
    assert overdue > 0
    assert demo.care_record is not None
    assert demo.care_record.documented == len(occurrences)


def test_escalations_are_answered_except_one_or_two_per_ward_where_news2_is_high(
    loaded: tuple[AppContext, DemoLoad],
) -> None:
    ctx, demo = loaded
    escalations = [t for t in _all(ctx, "Task") if is_escalation(t)]
    assert escalations
    ids = [a.patient["id"] for a in demo.hospital.admitted]
    with ctx.uow.read() as tx:
        shown = open_escalations(tx, ctx, ids)
        news2 = latest_news2(tx, ids, count=1)
    deteriorating_plans = {
        _patient(p, "subject")
        for p in _all(ctx, "CarePlan")
        if p["status"] == "active" and plan_template_id(p) == "deteriorating-patient"
    }
    per_ward: Counter[str] = Counter()
    for admission in demo.hospital.admitted:
        pid = admission.patient["id"]
        if shown[pid]:
            per_ward[ward_code_of(demo.hospital, admission)] += len(shown[pid])
            assert news2[pid][-1].total >= 5
            assert f"Patient/{pid}" in deteriorating_plans  # the nurse adopted NEWS2's proposal
    assert set(per_ward) == {"WARD7", "WARD9"}
    assert all(1 <= n <= 2 for n in per_ward.values()), per_ward
    completed = [t for t in escalations if t["status"] == "completed"]
    assert len(completed) == len(escalations) - sum(per_ward.values())
    for task in completed:
        assert task["owner"]["reference"].startswith("Practitioner/")
        assert task["executionPeriod"]["end"] >= task["executionPeriod"]["start"]
        assert task["note"][-1]["text"]


def test_the_care_record_is_audited(loaded: tuple[AppContext, DemoLoad]) -> None:
    ctx, demo = loaded
    assert demo.care_record is not None
    events = _all(ctx, "AuditEvent")
    nurse_events = [
        e
        for e in events
        if any(
            a.get("who", {}).get("reference", "").startswith("Practitioner/") for a in e["agent"]
        )
    ]
    assert len(nurse_events) >= demo.care_record.assessments + demo.care_record.documented


def test_loading_again_adds_nothing(loaded: tuple[AppContext, DemoLoad]) -> None:
    ctx, _demo = loaded
    before = {kind: len(_all(ctx, kind)) for kind in ("Patient", "QuestionnaireResponse", "Task")}
    assert load_demo(ctx, SPEC, now=NOW) is None
    assert {kind: len(_all(ctx, kind)) for kind in before} == before


def test_the_care_record_plan_is_deterministic() -> None:
    hospital = build_hospital(SPEC, now=NOW)
    first = plan_care_record(hospital, now=NOW, seed=3)
    again = plan_care_record(build_hospital(SPEC, now=NOW), now=NOW, seed=3)
    assert [(c.assessments, c.adopt_after_hours, c.seed) for c in first] == [
        (c.assessments, c.adopt_after_hours, c.seed) for c in again
    ]
    other = plan_care_record(hospital, now=NOW, seed=4)
    assert [c.assessments for c in other] != [c.assessments for c in first]
    for care in first:
        assert all(a.at < NOW for a in care.assessments)
        assert care.rounds_from < care.rounds_until < NOW
