"""Record a completed assessment: answers checked against its template, scored, stored.

`POST /fhir/QuestionnaireResponse` for a WardCare template validates every answer (required
items, types, ranges, allowed codes: a bad answer is a 422 naming its linkId), then stores in one
transaction the QuestionnaireResponse, the Observations its items extract, the score Observation
derived from them, a Provenance for each, and an escalation Task when the score needs one.
`QuestionnaireResponse/$extract` (SDC) returns the same Observations without storing anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from wardcare import errors
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.catalog.template_schema import Item
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import Outcome
from wardcare.domain.assessment_scoring import Answer, AnswerError, score
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.versions import StoredVersion
from wardcare.services import (
    assessment_results,
    authorisation,
    care_plan_proposals,
    escalation,
    news2_from_vitals,
)
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance
from wardcare.services.recorded_times import check_recorded_times
from wardcare.storage.unit_of_work import Transaction

TEMPLATE_BASE = "http://wardcare.org/fhir/Questionnaire/"
_SCORED_STATUSES = {"completed", "amended"}


@dataclass(frozen=True)
class RecordedAssessment:
    response: StoredVersion
    score: StoredVersion | None
    extracted: list[StoredVersion]
    escalation: StoredVersion | None


@dataclass
class Prepared:
    """A response read against its template: its answers checked for type and code."""

    loaded: LoadedTemplate
    response: dict[str, Any]
    answers: dict[str, Answer]
    paths: dict[str, str]  # linkId -> FHIRPath of its answer, for error messages
    patient: str


def template_for(ctx: AppContext, response: dict[str, Any]) -> LoadedTemplate | None:
    """The WardCare template a response answers; None if it answers some other Questionnaire."""
    canonical = response.get("questionnaire")
    if not isinstance(canonical, str) or not (
        canonical.startswith(TEMPLATE_BASE) or canonical.startswith("Questionnaire/")
    ):
        return None
    loaded = ctx.catalog.by_canonical(canonical)
    if loaded is None:
        raise errors.unprocessable(
            f"{canonical!r} is not a WardCare assessment template or version "
            f"(known: {', '.join(t.template.canonical for t in ctx.catalog.all())})",
            "QuestionnaireResponse.questionnaire",
        )
    return loaded


def record_assessment(ctx: AppContext, *, actor: Actor, response: Any) -> RecordedAssessment:
    granted = authorisation.authorise(actor, Interaction.CREATE, "QuestionnaireResponse")
    ctx.validator.validate(response, expected_type="QuestionnaireResponse")
    check_recorded_times(ctx, response)
    authorisation.check_write(actor, granted, response)
    loaded = template_for(ctx, response)
    if loaded is None:
        result = fhir.create(ctx, actor=actor, resource=response)
        return RecordedAssessment(result.stored, None, [], None)
    prepared = prepare(ctx, loaded, response)
    with ctx.uow.write() as tx:
        return _store(tx, ctx, actor, prepared)


def create(
    ctx: AppContext,
    *,
    actor: Actor,
    resource: Any,
    resource_type: str | None = "QuestionnaireResponse",
    if_none_exist: str | None = None,
) -> fhir.WriteResult:
    """A QuestionnaireResponse created on its own (a batch Bundle's POST): authorised and
    checked as `fhir_interactions.create` (whose arguments it takes) does, then recorded by
    `create_in`."""
    granted = authorisation.authorise(actor, Interaction.CREATE, "QuestionnaireResponse")
    ctx.validator.validate(resource, expected_type=resource_type)
    authorisation.check_write(actor, granted, resource)
    check_recorded_times(ctx, resource)
    return fhir.retrying(
        ctx,
        lambda tx: create_in(tx, ctx, actor=actor, resource=resource, if_none_exist=if_none_exist),
    )


def create_in(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    resource: dict[str, Any],
    resource_id: str | None = None,
    if_none_exist: str | None = None,
    client_id: bool = False,
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
            client_id=client_id,
        )
    criteria = fhir.normalise_criteria(if_none_exist) if if_none_exist else None
    if criteria is not None:
        existing = fhir.conditional_existing(tx, ctx, "QuestionnaireResponse", criteria)
        if existing is not None:
            return fhir.WriteResult(existing, created=False)
    prepared = prepare(ctx, loaded, resource)
    recorded = _store(tx, ctx, actor, prepared, resource_id=resource_id)
    if criteria is not None:  # two identical requests at once record one assessment
        fhir.claim(tx, "QuestionnaireResponse", criteria, recorded.response)
    return fhir.WriteResult(recorded.response, created=True)


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


def prepare(ctx: AppContext, loaded: LoadedTemplate, response: dict[str, Any]) -> Prepared:
    answers, paths = _answers(loaded, response)
    subject = response.get("subject", {}).get("reference")
    if not isinstance(subject, str) or not subject.startswith("Patient/"):
        raise errors.unprocessable(
            "An assessment is about a patient: subject must be Patient/id",
            "QuestionnaireResponse.subject",
        )
    return Prepared(loaded, response, answers, paths, subject)


def check_patient(tx: Transaction, prepared: Prepared) -> None:
    """The patient must exist: checked first inside the transaction that stores (or extracts)
    the response, rather than in a read transaction of its own before it."""
    patient = tx.resources.current("Patient", prepared.patient.split("/", 1)[1])
    if patient is None or patient.deleted:
        raise errors.unprocessable(
            f"{prepared.patient} does not exist", "QuestionnaireResponse.subject"
        )


def _text(loaded: LoadedTemplate, link_id: str) -> str:
    return next((i.text for i in loaded.template.items if i.link_id == link_id), link_id)


def _answers(
    loaded: LoadedTemplate, response: dict[str, Any]
) -> tuple[dict[str, Answer], dict[str, str]]:
    items = {i.link_id: i for i in loaded.template.items}
    answers: dict[str, Answer] = {}
    paths: dict[str, str] = {}

    def walk(nodes: list[Any], prefix: str) -> None:
        for index, node in enumerate(nodes):
            path = f"{prefix}.item[{index}]"
            link_id = node.get("linkId")
            if link_id not in items:
                if node.get("item"):
                    walk(node["item"], path)
                    continue
                if node.get("answer"):
                    raise errors.unprocessable(
                        f"linkId {link_id!r} is not a question of {loaded.template.title}",
                        f"{path}.linkId",
                    )
                continue
            given = node.get("answer") or []
            if not given:
                continue
            if len(given) > 1:
                raise errors.unprocessable(
                    f"{items[link_id].text} ({link_id}) takes one answer", f"{path}.answer"
                )
            if link_id in answers:
                raise errors.unprocessable(f"{link_id} is answered twice", f"{path}.linkId")
            answers[link_id] = _value(loaded, items[link_id], given[0], f"{path}.answer[0]")
            paths[link_id] = f"{path}.answer[0]"

    walk(response.get("item", []), "QuestionnaireResponse")
    return answers, paths


def _value(loaded: LoadedTemplate, item: Item, answer: dict[str, Any], path: str) -> Answer:
    kind = item.type
    label = f"{item.text} ({item.link_id})"
    if kind == "boolean" and "valueBoolean" in answer:
        return bool(answer["valueBoolean"])
    if kind in ("integer", "decimal"):
        for key in ("valueInteger", "valueDecimal"):
            if isinstance(answer.get(key), int | float):
                number: int | float = answer[key]
                return number
        if isinstance(answer.get("valueQuantity"), dict) and "value" in answer["valueQuantity"]:
            quantity = answer["valueQuantity"]
            if item.unit and quantity.get("code") not in (None, item.unit.code):
                raise errors.unprocessable(
                    f"{label} is recorded in {item.unit.code}, not {quantity.get('code')}",
                    f"{path}.valueQuantity.code",
                )
            value: int | float = quantity["value"]
            return value
    if kind == "choice" and isinstance(answer.get("valueCoding"), dict):
        coding = answer["valueCoding"]
        option = next((o for o in item.answers if o.code == coding.get("code")), None)
        system = option.system or loaded.template.code_system if option else None
        if option is None or coding.get("system") not in (None, system):
            allowed = ", ".join(f"{o.code} ({o.display})" for o in item.answers)
            raise errors.unprocessable(
                f"{label}: {coding.get('code')!r} is not one of {allowed}", f"{path}.valueCoding"
            )
        return option.code
    if kind == "string" and "valueString" in answer:
        return str(answer["valueString"])
    raise errors.unprocessable(f"{label} needs a {kind} answer", path)


def score_answers(
    tx: Transaction, ctx: AppContext, prepared: Prepared
) -> tuple[Outcome | None, int]:
    """Check every answer (types, ranges, codes) and score. A completed response must answer
    every required item (after the server derives what it can, e.g. BMI from weight and height);
    no outcome for a response still in progress or a template that scores nothing."""
    loaded = prepared.loaded
    scale = 1
    if loaded.template.engine == "news2":
        scale = news2_from_vitals.spo2_scale(tx, ctx, prepared.patient)
    outcome: Outcome | None = None
    try:
        if loaded.template.engine == "none":
            missing = score(loaded.rules, prepared.answers).missing
        else:
            outcome = loaded.score(prepared.answers, spo2_scale=scale)
            missing = outcome.missing
    except AnswerError as exc:
        raise _answer_error(prepared, exc) from exc
    if prepared.response.get("status") not in _SCORED_STATUSES:
        return None, scale
    if missing:
        raise WardCareError(
            Category.UNPROCESSABLE,
            [
                Issue(
                    f"{_text(loaded, m)} ({m}) must be answered in a completed assessment",
                    (f"QuestionnaireResponse.item.where(linkId='{m}')",),
                    "required",
                )
                for m in missing
            ],
        )
    return outcome, scale


def _answer_error(prepared: Prepared, exc: AnswerError) -> WardCareError:
    path = prepared.paths.get(
        exc.link_id, f"QuestionnaireResponse.item.where(linkId='{exc.link_id}')"
    )
    return errors.unprocessable(f"{exc} ({exc.link_id})", path)


@dataclass
class Observations:
    """What a response yields: its extracted Observations and its score (None for none)."""

    extracted: list[dict[str, Any]]
    score: dict[str, Any] | None


def observations(
    prepared: Prepared, outcome: Outcome | None, scale: int, response_ref: str
) -> Observations:
    loaded, response = prepared.loaded, prepared.response
    effective = response.get("authored") or ""
    encounter = response.get("encounter", {}).get("reference")
    performer = response.get("author")
    base = assessment_results.Context(
        patient=prepared.patient,
        encounter=encounter,
        effective=effective,
        performer=performer,
        derived_from=[response_ref],
    )
    extracted = []
    for item in loaded.template.items:
        if item.extract and item.link_id in prepared.answers:
            extracted.append(
                assessment_results.extracted_observation(
                    loaded, item, prepared.answers[item.link_id], base
                )
            )
    score = None
    if outcome is not None and outcome.total is not None and loaded.template.total is not None:
        score = assessment_results.score_observation(loaded, outcome, base, spo2_scale=scale)
    return Observations(extracted, score)


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
    if response.get("status") in _SCORED_STATUSES:
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
