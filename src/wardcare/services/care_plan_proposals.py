"""Assessment results propose care plans (the templates' `carePlanTriggers`).

When an assessment result is stored (a completed form, or NEWS2 scored from vital signs) whose
band or answers match a trigger, a proposal is stored in the same transaction: a CarePlan with
`intent` proposal and `status` draft (FHIR R4 CarePlan: "the plan is a suggestion... no
authorization to act"), naming the template, the result that triggered it and the interventions
it asks for. A proposal never becomes active by itself: a nurse applies it
(`PlanDefinition/$apply`), personalises and activates the plan, or revokes the proposal.

No duplicates: while the patient has an open proposal or plan from the same template, a new
trigger adds only interventions the open proposal does not yet list (a new version, citing the
new result too), and nothing when a plan from the template is already in place (the nurse owns
that plan).

A result a proposal cites (`supportingInfo`) that is later entered in error leaves the
proposal open, as an escalation is left open (hazard H06): a person decides. It stops citing
that result and gets a note saying so, which the care-plan page shows as the proposal's reason,
so nobody adopts it believing the withdrawn result stands (hazard H25).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from wardcare.catalog.care_plans import LoadedCarePlan
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.catalog.template_schema import Trigger
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_scoring import Answer
from wardcare.fhir import resource_ids
from wardcare.fhir.care_planning import (
    OPEN_PLAN_STATUSES,
    coding,
    plan_template_id,
)
from wardcare.fhir.dates import instant, to_micros
from wardcare.fhir.intervention_timing import timing_to_fhir
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

_MAX_PLANS = 200


def open_plans(
    tx: Transaction, ctx: AppContext, patient: str
) -> list[tuple[StoredVersion, dict[str, Any]]]:
    """The patient's open CarePlans (draft, active, on hold), with their content: the search
    `patient={patient}&status=...` (asked for every stored result, so a fixed statement)."""
    if patient.startswith("Patient/") and "/" not in patient[len("Patient/") :]:
        found = tx.resources.for_subject_with_codes(
            "CarePlan",
            subject_param="patient",
            subject=("Patient", patient[len("Patient/") :]),
            token_param="status",
            codes=sorted(OPEN_PLAN_STATUSES),
            limit=_MAX_PLANS,
        )
        return [(v, orjson.loads(v.content)) for v in found if v.content]
    query = parse_search(
        "CarePlan",
        [("patient", patient), ("status", ",".join(sorted(OPEN_PLAN_STATUSES)))],
        ctx.search_parameters,
        default_count=_MAX_PLANS,
        max_count=_MAX_PLANS,
    )
    query.total = "none"
    return [(v, orjson.loads(v.content)) for v in tx.resources.search(query).matches if v.content]


def propose_from_result(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    loaded: LoadedTemplate,
    band: str | None,
    answers: Mapping[str, Answer],
    patient: str,
    encounter: str | None,
    evidence: Sequence[str],
    now: str,
) -> list[StoredVersion]:
    """Store (or extend) a proposal for each plan the result triggers; the versions written."""
    wanted: dict[str, tuple[list[str], list[str]]] = {}
    for trigger in _fired(loaded, band, answers):
        interventions, reasons = wanted.setdefault(trigger.plan, ([], []))
        interventions.extend(i for i in trigger.interventions if i not in interventions)
        if trigger.reason not in reasons:
            reasons.append(trigger.reason)
    if not wanted:
        return []
    existing = open_plans(tx, ctx, patient)
    written = []
    for plan_id, (interventions, reasons) in wanted.items():
        plan = ctx.catalog.care_plans.get(plan_id)
        if plan is None or plan.template.status != "active":
            continue
        mine = [(v, p) for v, p in existing if plan_template_id(p) == plan_id]
        if any(p.get("intent") != "proposal" for _v, p in mine):
            continue  # a plan from this template is in place: the nurse owns it
        source = f"{loaded.template.title}: " + " ".join(reasons)
        if mine:
            stored = _extend(tx, ctx, actor, plan, mine[0], interventions, source, evidence, now)
        else:
            stored = _create(
                tx, ctx, actor, plan, interventions, source, patient, encounter, evidence, now
            )
        if stored is not None:
            written.append(stored)
    return written


def _fired(
    loaded: LoadedTemplate, band: str | None, answers: Mapping[str, Answer]
) -> list[Trigger]:
    """The template's care-plan triggers this result (its band, its answers) sets off."""
    fired = []
    for trigger in loaded.template.care_plan_triggers:
        by_band = band is not None and band in trigger.when_band
        by_answer = bool(trigger.when_answer) and all(
            answers.get(k) == v for k, v in trigger.when_answer.items()
        )
        if by_band or by_answer:
            fired.append(trigger)
    return fired


def triggered_plans(
    loaded: LoadedTemplate, band: str | None, answers: Mapping[str, Answer]
) -> set[str]:
    """The care-plan templates (by id) a result calls for."""
    return {trigger.plan for trigger in _fired(loaded, band, answers)}


def activity_canonical(plan: LoadedCarePlan, intervention_id: str) -> str:
    """The versioned ActivityDefinition a proposed activity instantiates."""
    template = plan.template
    intervention = template.intervention(intervention_id)
    assert intervention is not None, "triggers are checked against their plan at start-up"
    return f"{template.activity_url(intervention)}|{template.version}"


def proposed_activity(plan: LoadedCarePlan, intervention_id: str) -> dict[str, Any]:
    template = plan.template
    intervention = template.intervention(intervention_id)
    assert intervention is not None, "triggers are checked against their plan at start-up"
    return {
        "detail": {
            "kind": "Task",
            "instantiatesCanonical": [activity_canonical(plan, intervention_id)],
            "code": {"coding": [intervention.code(template.id).model_dump(exclude_none=True)]},
            "status": "not-started",
            "description": intervention.description,
            "scheduledTiming": timing_to_fhir(plan.timing(intervention)),
        }
    }


def _selected(plan: LoadedCarePlan, triggered: Sequence[str]) -> list[str]:
    always = [i.id for i in plan.template.interventions if i.include == "always"]
    return always + [i for i in triggered if i not in always]


def _create(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    plan: LoadedCarePlan,
    interventions: Sequence[str],
    reason: str,
    patient: str,
    encounter: str | None,
    evidence: Sequence[str],
    now: str,
) -> StoredVersion:
    template = plan.template
    proposal: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "instantiatesCanonical": [template.canonical],
        "category": [{"coding": [coding("nursing-care-plan", "Nursing care plan")]}],
        "title": template.title,
        "description": f"Proposed: {template.problem.text}. {reason}",
        "subject": {"reference": patient},
        "created": now,
        "supportingInfo": [{"reference": e} for e in evidence],
        "note": [{"text": reason, "time": now}],
        "activity": [proposed_activity(plan, i) for i in _selected(plan, interventions)],
    }
    if encounter:
        proposal["encounter"] = {"reference": encounter}
    return fhir.create_in(
        tx,
        ctx,
        actor=actor,
        resource=proposal,
        resource_id=resource_ids.new_id(),
        run_hooks=False,
        provenance=False,
    ).stored


def _extend(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    plan: LoadedCarePlan,
    found: tuple[StoredVersion, dict[str, Any]],
    interventions: Sequence[str],
    reason: str,
    evidence: Sequence[str],
    now: str,
) -> StoredVersion | None:
    """Add the interventions an open proposal lacks, and the result that asks for them (a new
    version); None when it has them."""
    current, proposal = found
    listed = {
        canonical
        for activity in proposal.get("activity", ())
        for canonical in activity.get("detail", {}).get("instantiatesCanonical", ())
    }
    # Most results find the proposal already complete: compare canonicals before building any
    # activity (its timing and coding) that would only be thrown away.
    new = [
        proposed_activity(plan, i)
        for i in _selected(plan, interventions)
        if activity_canonical(plan, i) not in listed
    ]
    if not new:
        return None
    updated = {**proposal, "activity": [*proposal.get("activity", ()), *new]}
    updated["note"] = [*proposal.get("note", ()), {"text": reason, "time": now}]
    cited = [r.get("reference") for r in proposal.get("supportingInfo", ())]
    updated["supportingInfo"] = [
        *proposal.get("supportingInfo", ()),
        *({"reference": e} for e in evidence if e not in cited),
    ]
    updated.pop("meta", None)
    return tx.resources.new_version(current, updated, now=to_micros(ctx.clock.now()), method="PUT")


def flag_withdrawn_evidence(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    patient: str,
    withdrawn: Sequence[str],
    why: str,
) -> list[StoredVersion]:
    """Each open proposal of the patient citing a withdrawn result: a new version that no
    longer cites it, with a note for whoever reviews the proposal; the versions written."""
    gone = set(withdrawn)
    written = []
    for version, proposal in open_plans(tx, ctx, patient):
        if proposal.get("intent") != "proposal":
            continue
        cited = proposal.get("supportingInfo") or []
        hit = [r["reference"] for r in cited if r.get("reference") in gone]
        if not hit:
            continue
        standing = [r for r in cited if r.get("reference") not in gone]
        remains = (
            "it still rests on the results it cites"
            if standing
            else "no result it cites still stands"
        )
        note = (
            f"Entered in error: {', '.join(hit)}, which proposed this plan ({why}); {remains}. "
            "Review whether the plan is still needed before adopting it."
        )
        flagged = {
            **proposal,
            "supportingInfo": standing,
            "note": [*proposal.get("note", ()), {"text": note, "time": _now(ctx)}],
        }
        if not standing:
            del flagged["supportingInfo"]
        flagged.pop("meta", None)
        result = fhir.update_in(
            tx, ctx, actor=actor, resource=flagged, expected_version=version.version_id
        )
        written.append(result.stored)
    return written


def _now(ctx: AppContext) -> str:
    return instant(ctx.clock.now())


def flag_no_longer_called_for(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    patient: str,
    cited: Sequence[str],
    still_called_for: set[str],
    why: str,
) -> list[StoredVersion]:
    """Each open proposal citing one of `cited` (an amended form and its score) whose plan the
    amended result no longer calls for: a note for whoever reviews it, as an escalation is
    marked `source-amended` (H06); the proposal stays for a person to adopt or revoke. The
    versions written (the caller records their Provenance)."""
    sources = set(cited)
    written = []
    for version, proposal in open_plans(tx, ctx, patient):
        if proposal.get("intent") != "proposal" or plan_template_id(proposal) in still_called_for:
            continue
        cites = {r.get("reference") for r in proposal.get("supportingInfo") or ()}
        if not cites & sources:
            continue
        note = (
            f"Amended: {why}, and the result no longer calls for this plan. Review whether it "
            "is still needed before adopting it."
        )
        noted = {**proposal, "note": [*proposal.get("note", ()), {"text": note, "time": _now(ctx)}]}
        noted.pop("meta", None)
        written.append(
            tx.resources.new_version(version, noted, now=to_micros(ctx.clock.now()), method="PUT")
        )
    return written
