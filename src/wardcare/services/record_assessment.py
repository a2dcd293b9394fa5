"""Record a completed assessment: answers checked against its template, scored, stored.

`POST /fhir/QuestionnaireResponse` for a WardCare template validates every answer (required
items, types, ranges, allowed codes: a bad answer is a 422 naming its linkId), then stores in one
transaction the QuestionnaireResponse, the Observations its items extract, the score Observation
derived from them, a Provenance for each, and an escalation Task when the score needs one.
`QuestionnaireResponse/$extract` (SDC) returns the same Observations without storing anything.
The form is read against its template by `assessment_forms`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.smart_scopes import Interaction
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.versions import StoredVersion
from wardcare.services import (
    authorisation,
    care_plan_proposals,
    escalation,
)
from wardcare.services import fhir_interactions as fhir
from wardcare.services.assessment_forms import (
    SCORED_STATUSES,
    Prepared,
    check_patient,
    observations,
    prepare,
    score_answers,
    template_for,
)
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance
from wardcare.services.recorded_times import check_recorded_times
from wardcare.storage.unit_of_work import Transaction


@dataclass(frozen=True)
class RecordedAssessment:
    response: StoredVersion
    score: StoredVersion | None
    extracted: list[StoredVersion]
    escalation: StoredVersion | None
    created: bool = True  # False: a conditional create found the form already recorded


def record_assessment(
    ctx: AppContext, *, actor: Actor, response: Any, if_none_exist: str | None = None
) -> RecordedAssessment:
    """`POST /fhir/QuestionnaireResponse`, with `If-None-Exist` as for any create (3.1.0.8.1):
    an assessment the criteria already find is answered, not recorded again."""
    granted = authorisation.authorise(actor, Interaction.CREATE, "QuestionnaireResponse")
    ctx.validator.validate(response, expected_type="QuestionnaireResponse")
    check_recorded_times(ctx, response)
    authorisation.check_write(actor, granted, response)
    loaded = template_for(ctx, response)
    if loaded is None:
        result = fhir.create(ctx, actor=actor, resource=response, if_none_exist=if_none_exist)
        return RecordedAssessment(result.stored, None, [], None, created=result.created)
    prepared = prepare(ctx, loaded, response)
    return fhir.retrying(
        ctx, lambda tx: _record_in(tx, ctx, actor, prepared, if_none_exist=if_none_exist)
    )


def create(
    ctx: AppContext,
    *,
    actor: Actor,
    resource: Any,
    resource_type: str | None = "QuestionnaireResponse",
    if_none_exist: str | None = None,
) -> fhir.WriteResult:
    """`record_assessment` with the arguments of `fhir_interactions.create` (a batch Bundle's
    POST picks one or the other by type)."""
    if resource_type not in (None, "QuestionnaireResponse"):
        raise errors.invalid(
            f"Assessments are QuestionnaireResponses, not {resource_type}", "resourceType"
        )
    recorded = record_assessment(ctx, actor=actor, response=resource, if_none_exist=if_none_exist)
    return fhir.WriteResult(recorded.response, created=recorded.created)


def create_in(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    resource: dict[str, Any],
    resource_id: str | None = None,
    if_none_exist: str | None = None,
) -> fhir.WriteResult:
    """A QuestionnaireResponse created inside `tx` (a transaction Bundle's POST, a PUT that
    creates): recorded as `record_assessment` records it when it answers a WardCare template,
    so an assessment is scored however it arrives; any other response is stored as it is. The
    caller has validated and authorised it, as for `fhir_interactions.create_in` (whose
    arguments it takes)."""
    loaded = template_for(ctx, resource)
    if loaded is None:
        return fhir.create_in(
            tx,
            ctx,
            actor=actor,
            resource=resource,
            resource_id=resource_id,
            if_none_exist=if_none_exist,
        )
    recorded = _record_in(
        tx,
        ctx,
        actor,
        prepare(ctx, loaded, resource),
        resource_id=resource_id,
        if_none_exist=if_none_exist,
    )
    return fhir.WriteResult(recorded.response, created=recorded.created)


def _record_in(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    prepared: Prepared,
    *,
    resource_id: str | None = None,
    if_none_exist: str | None = None,
) -> RecordedAssessment:
    """Store the form and what it yields, unless conditional-create criteria find one already;
    the criteria are claimed, so two identical requests at once record one assessment."""
    criteria = fhir.normalise_criteria(if_none_exist) if if_none_exist else None
    if criteria is not None:
        existing = fhir.conditional_existing(tx, ctx, "QuestionnaireResponse", criteria)
        if existing is not None:
            return RecordedAssessment(existing, None, [], None, created=False)
    recorded = _store(tx, ctx, actor, prepared, resource_id=resource_id)
    if criteria is not None:
        fhir.claim(tx, "QuestionnaireResponse", criteria, recorded.response)
    return recorded


def extract(ctx: AppContext, *, actor: Actor, response: Any) -> dict[str, Any]:
    """SDC $extract: the Observations a response would produce, as a transaction Bundle."""
    # A dry run of recording: it needs what recording needs, for the same patient.
    granted = authorisation.authorise(actor, Interaction.CREATE, "QuestionnaireResponse")
    ctx.validator.validate(response, expected_type="QuestionnaireResponse")
    check_recorded_times(ctx, response)
    authorisation.check_write(actor, granted, response)
    loaded = template_for(ctx, response)
    if loaded is None:
        raise errors.unprocessable(
            "$extract works on responses to WardCare templates",
            "QuestionnaireResponse.questionnaire",
        )
    prepared = prepare(ctx, loaded, response)
    with ctx.uow.read() as tx:
        check_patient(tx, prepared)
        outcome, scale = score_answers(tx, ctx, prepared)
    response_ref = f"QuestionnaireResponse/{response.get('id') or 'unsaved'}"
    resources = observations(prepared, outcome, scale, response_ref)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": r,
                "request": {"method": "POST", "url": "Observation"},
            }
            for r in [*resources.extracted, *([resources.score] if resources.score else [])]
        ],
    }


def _store(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    prepared: Prepared,
    *,
    resource_id: str | None = None,
) -> RecordedAssessment:
    """One transaction, one Provenance: the response and everything derived from it were
    written together by one person, so one Provenance names them all."""
    check_patient(tx, prepared)
    outcome, scale = score_answers(tx, ctx, prepared)
    response = dict(prepared.response)
    response["questionnaire"] = prepared.loaded.template.canonical

    # The response, what it extracts and its score are written in one batch (their index rows
    # together, ~9 resources): their ids are chosen first, so the references between them are
    # made before anything is stored.
    now = fhir.now_micros(ctx)
    response["id"] = resource_id or resource_ids.new_id()
    response_ref = f"QuestionnaireResponse/{response['id']}"
    if not response.get("authored"):
        # When it was recorded stands for when it was answered, on the response too: its
        # readings and score take their time from it, and so does a later amendment.
        response["authored"] = instant(from_micros(now))
    prepared.response = response
    results = observations(prepared, outcome, scale, response_ref)
    for observation in results.extracted:
        observation["id"] = resource_ids.new_id()
    batch = [response, *results.extracted]
    if results.score is not None:
        results.score["id"] = resource_ids.new_id()
        results.score["derivedFrom"] = [
            {"reference": response_ref},
            *({"reference": f"Observation/{e['id']}"} for e in results.extracted),
        ]
        batch.append(results.score)
    stored = fhir.create_many_in(tx, ctx, resources=batch, now=now)
    stored_response = stored[0]
    extracted = stored[1 : 1 + len(results.extracted)]
    score_stored = None
    task = None
    if results.score is not None and outcome is not None:
        score_stored = stored[-1]
        task = escalation.escalate_if_needed(
            tx,
            ctx,
            actor=actor,
            loaded=prepared.loaded,
            outcome=outcome,
            result=score_stored,
            patient=prepared.patient,
            encounter=response.get("encounter", {}).get("reference"),
            authored=prepared.response.get("authored", stored_response.last_updated_instant),
            provenance=False,
        )
    proposals: list[StoredVersion] = []
    if response.get("status") in SCORED_STATUSES:
        proposals = care_plan_proposals.propose_from_result(
            tx,
            ctx,
            actor=actor,
            loaded=prepared.loaded,
            band=outcome.band_code if outcome else None,
            answers=prepared.answers,
            patient=prepared.patient,
            encounter=response.get("encounter", {}).get("reference"),
            evidence=[response_ref, *([f"Observation/{score_stored.id}"] if score_stored else [])],
            now=stored_response.last_updated_instant,
        )
    written = [stored_response, *extracted, *(v for v in (score_stored, task) if v), *proposals]
    record_provenance(
        tx.resources,
        written,
        actor,
        patient=prepared.patient,
        now=stored_response.last_updated,
        reason=f"Recorded {prepared.loaded.template.title}",
    )
    return RecordedAssessment(stored_response, score_stored, extracted, task)
