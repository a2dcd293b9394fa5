"""What the ward board and patient page read: risk flags from the latest assessments' care-plan
triggers, the NEWS2 trend, allergies (none recorded is not "no allergies") and escalations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests import factories
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER as ACTOR
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.patient_chart import patient_chart
from wardcare.services.patient_summaries import allergies, latest_news2, risk_flags
from wardcare.services.record_assessment import record_assessment
from wardcare.services.ward_board import Trend, _trend

# Relative to now: the patient chart reads the last 72 hours by the system clock.
WHEN = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)


@pytest.fixture
def patient_id(context: AppContext) -> str:
    return fhir.create(context, actor=ACTOR, resource=factories.patient()).stored.id


def _record(
    ctx: AppContext, patient_id: str, template_id: str, answers: dict[str, Any], at: datetime
) -> None:
    loaded = ctx.catalog.get(template_id)
    assert loaded is not None
    record_assessment(
        ctx,
        actor=ACTOR,
        response={
            "resourceType": "QuestionnaireResponse",
            "questionnaire": loaded.template.canonical,
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "authored": at.isoformat(),
            "item": [_item(loaded, k, v) for k, v in answers.items()],
        },
    )


def _item(loaded: LoadedTemplate, link_id: str, value: object) -> dict[str, Any]:
    item = next(i for i in loaded.template.items if i.link_id == link_id)
    if isinstance(value, bool):
        answer: dict[str, Any] = {"valueBoolean": value}
    elif item.type == "choice":
        option = next(o for o in item.answers if o.code == value)
        answer = {
            "valueCoding": {"system": option.system or loaded.template.code_system, "code": value}
        }
    elif item.type == "integer":
        answer = {"valueInteger": value}
    else:
        answer = {"valueDecimal": value}
    return {"linkId": link_id, "answer": [answer]}


def _example(ctx: AppContext, template_id: str, name_part: str) -> dict[str, Any]:
    loaded = ctx.catalog.get(template_id)
    assert loaded is not None
    return dict(next(e for e in loaded.template.examples if name_part in e.name).answers)


def _flags(ctx: AppContext, patient_id: str) -> dict[str, tuple[str, ...]]:
    with ctx.uow.read() as tx:
        return {f.label: f.reasons for f in risk_flags(tx, ctx, [patient_id])[patient_id]}


def test_risk_flags_follow_the_latest_assessment_of_each_kind(
    context: AppContext, patient_id: str
) -> None:
    assert _flags(context, patient_id) == {}
    pressure = {
        "pressure-ulcer-history": "current",
        "skin-inspection": "intact",
        "mobility": "independent",
        "sensory-impairment": False,
        "cognitive-impairment": False,
        "moisture": "none",
        "nutrition": "low",
        "medical-device": False,
    }
    _record(context, patient_id, "pressure-ulcer-risk", pressure, WHEN)
    falls = _example(context, "falls-multifactorial", "")  # the first example: nothing found
    _record(context, patient_id, "falls-multifactorial", falls, WHEN)
    flags = _flags(context, patient_id)
    assert list(flags) == ["Pressure"]  # high risk (a current ulcer scores 4)
    assert any("high risk" in r.lower() for r in flags["Pressure"])

    _record(
        context,
        patient_id,
        "falls-multifactorial",
        {**falls, "falls-history": True},
        WHEN + timedelta(hours=1),
    )
    _record(
        context,
        patient_id,
        "pressure-ulcer-risk",
        {**pressure, "pressure-ulcer-history": "none"},
        WHEN + timedelta(hours=1),
    )
    flags = _flags(context, patient_id)
    assert list(flags) == ["Falls"]  # the newer screen found no pressure risk
    assert any("Previous fall" in r for r in flags["Falls"])


def test_allergies_distinguish_none_recorded_from_no_known_allergy(
    context: AppContext, patient_id: str
) -> None:
    with context.uow.read() as tx:
        assert allergies(tx, context, [patient_id])[patient_id] == []
    fhir.create(
        context,
        actor=ACTOR,
        resource={
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                        "code": "confirmed",
                    }
                ]
            },
            "code": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "409137002",
                        "display": "No known drug allergy",
                    }
                ]
            },
            "patient": {"reference": f"Patient/{patient_id}"},
        },
    )
    with context.uow.read() as tx:
        (found,) = allergies(tx, context, [patient_id])[patient_id]
    assert found.no_known
    assert not found.high_risk


def test_the_trend_compares_the_two_newest_scores_and_the_chart_holds_72_hours(
    context: AppContext, patient_id: str
) -> None:
    well = _example(context, "news2", "well patient")
    sick = _example(context, "news2", "sample ORU")
    _record(context, patient_id, "news2", well, WHEN - timedelta(hours=80))
    _record(context, patient_id, "news2", well, WHEN)
    _record(context, patient_id, "news2", sick, WHEN + timedelta(hours=4))
    with context.uow.read() as tx:
        newest = latest_news2(tx, [patient_id])[patient_id]
    assert [s.total for s in newest] == [0, 7]
    assert _trend(newest) is Trend.WORSE
    assert _trend(newest[::-1]) is Trend.BETTER
    assert _trend(newest[:1]) is Trend.NONE
    chart = patient_chart(context, actor=ACTOR, patient_id=patient_id)
    assert [s.total for s in chart.news2] == [0, 7]  # the score from 86 hours ago is not charted
    assert [e.priority for e in chart.escalations] == ["stat"]
    assert next(r for r in chart.latest if r.template.template.id == "news2").total == 7


def test_the_patient_chart_shows_current_care_plans_with_goals_and_timed_interventions(
    context: AppContext, patient_id: str
) -> None:
    subject = {"reference": f"Patient/{patient_id}"}
    goal = fhir.create(
        context,
        actor=ACTOR,
        resource={
            "resourceType": "Goal",
            "lifecycleStatus": "active",
            "description": {"text": "Skin stays intact"},
            "subject": subject,
        },
    ).stored
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": "Pressure ulcer prevention",
        "subject": subject,
        "goal": [{"reference": f"Goal/{goal.id}"}],
        "activity": [
            {
                "detail": {
                    "status": "in-progress",
                    "description": "Reposition",
                    "scheduledTiming": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "h"}},
                }
            }
        ],
    }
    fhir.create(context, actor=ACTOR, resource=plan)
    fhir.create(context, actor=ACTOR, resource={**plan, "status": "completed", "title": "Old"})
    (shown,) = patient_chart(context, actor=ACTOR, patient_id=patient_id).care_plans
    assert shown.title == "Pressure ulcer prevention"
    assert shown.goals == ["Skin stays intact"]
    assert [(i.description, i.timing) for i in shown.interventions] == [
        ("Reposition", "every 2 hours")
    ]


def test_the_patient_chart_never_shows_a_result_entered_in_error_as_the_latest(
    context: AppContext, patient_id: str
) -> None:
    # Hazard DUE1: the chart reads the latest result as the due list does.
    loaded = context.catalog.get("must")
    assert loaded is not None
    answers = dict(loaded.template.examples[0].answers)
    _record(context, patient_id, "must", answers, WHEN)
    _record(context, patient_id, "must", answers, WHEN + timedelta(hours=1))
    with context.uow.read() as tx:
        (newest, _older) = tx.resources.newest_for_patient_code(
            "Observation",
            patient_id=patient_id,
            system=loaded.template.total.system,  # type: ignore[union-attr]
            code=loaded.template.total.code,  # type: ignore[union-attr]
            limit=2,
        )
    score = orjson.loads(newest.content or b"{}")
    fhir.update(
        context,
        actor=ACTOR,
        resource_type="Observation",
        resource_id=newest.id,
        resource={**score, "status": "entered-in-error"},
    )
    chart = patient_chart(context, actor=ACTOR, patient_id=patient_id)
    (must,) = [r for r in chart.latest if r.template.template.id == "must"]
    assert must.at == WHEN
