"""A recorded assessment changed: a draft completed, or answers amended. Its results follow.

A new version of a QuestionnaireResponse that answers a WardCare template (`PUT`, or a PUT in a
Bundle) is checked against its template as a new one is (a bad answer is a 422 naming its
linkId, and nothing changes), and then, in the same transaction, what was derived from it is
brought into line with the answers as they now stand, so a score never disagrees with the
assessment it came from (hazard EIE3):

- each extracted Observation whose answer changed becomes a new version of itself with status
  `amended` (FHIR R4 Observation.status: "modified subsequent to being Final"); a newly
  answered item extracts a new one; one no longer answered is marked `entered-in-error`;
- the score is amended the same way, or made for the first time when a draft (`in-progress`) is
  completed; a higher band escalates as any new score does, a lower one flags, and never
  closes, the open escalation it raised (hazard H06); care-plan triggers see the new result.

What cannot be an amendment is refused, because it would rewrite a record in place: moving the
response to another patient or another template (mark it `entered-in-error` and record a new
one), and taking a completed one back to `in-progress`. `entered-in-error` itself is stored as
for any record, and `entered_in_error` withdraws what was derived from it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import orjson

from wardcare import errors
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import Outcome
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category, WardCareError
from wardcare.fhir.versions import StoredVersion
from wardcare.services import (
    assessment_forms,
    authorisation,
    care_plan_proposals,
    escalation,
    news2_rescoring,
    withdrawn_results,
)
from wardcare.services import fhir_interactions as fhir
from wardcare.services import record_assessment as assessments
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance
from wardcare.storage.unit_of_work import Transaction

_WITHDRAWN: Final = "entered-in-error"
_COMPLETE: Final = frozenset({"completed", "amended"})
# What makes two extracted readings the same reading, for deciding whether an answer changed.
_READING_KEYS: Final = (
    "valueQuantity",
    "valueBoolean",
    "valueCodeableConcept",
    "valueString",
    "effectiveDateTime",
    "performer",
    "encounter",
)


def update(
    ctx: AppContext,
    *,
    actor: Actor,
    resource_type: str = "QuestionnaireResponse",
    resource_id: str,
    resource: Any,
    if_match: str | None = None,
) -> fhir.WriteResult:
    """`PUT /QuestionnaireResponse/{id}`: an assessment amended as above; any other response
    (not a WardCare template's) is updated as any resource is. The arguments are those of
    `fhir_interactions.update`."""
    expected = fhir.check_update(
        ctx,
        actor=actor,
        resource_type=resource_type,
        resource_id=resource_id,
        resource=resource,
        if_match=if_match,
    )
    return fhir.retrying(
        ctx,
        lambda tx: update_in(tx, ctx, actor=actor, resource=resource, expected_version=expected),
    )


def update_in(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    resource: dict[str, Any],
    expected_version: int | None = None,
) -> fhir.WriteResult:
    """The update inside `tx`; the caller has validated and authorised the resource."""
    resource_id = resource["id"]
    current = tx.resources.current("QuestionnaireResponse", resource_id, for_update=True)
    before = orjson.loads(current.content) if current is not None and current.content else None
    # What the stored version answers decides as much as the new body: a form cannot leave
    # its template's rules by being re-pointed at another questionnaire.
    was = _template_of(ctx, before)
    loaded = assessment_forms.template_for(ctx, resource)
    if was is None and loaded is None:
        return fhir.update_in(
            tx, ctx, actor=actor, resource=resource, expected_version=expected_version
        )
    if current is None:
        if expected_version is None:
            try:
                return assessments.create_in(
                    tx, ctx, actor=actor, resource=resource, resource_id=resource_id
                )
            except WardCareError as exc:
                if exc.category == Category.CONFLICT:  # created meanwhile: update it instead
                    raise fhir.RaceLost from exc
                raise
        return fhir.update_in(  # If-Match on an id never used: 412
            tx, ctx, actor=actor, resource=resource, expected_version=expected_version
        )
    authorisation.check_existing(actor, Interaction.UPDATE, current)
    if before is None:
        raise errors.error(
            Category.GONE,
            f"QuestionnaireResponse/{resource_id} was deleted (version {current.version_id}): "
            "record the assessment again as a new response",
        )
    # A form keeps its patient and template: one that answered none cannot become one either.
    _check_same_assessment(before, resource, same_template=_id_of(was) == _id_of(loaded))
    if resource.get("status") == _WITHDRAWN:
        # Stored as any record is; the change hook (`entered_in_error`) withdraws what was
        # derived from it.
        return fhir.update_in(
            tx, ctx, actor=actor, resource=resource, expected_version=expected_version
        )
    assert loaded is not None  # the same template as before (checked above), or a new one
    return _amend(tx, ctx, actor, loaded, current, before, resource, expected_version)


def _amend(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    loaded: LoadedTemplate,
    current: StoredVersion,
    before: dict[str, Any],
    resource: dict[str, Any],
    expected_version: int | None,
) -> fhir.WriteResult:
    prepared = assessment_forms.prepare(ctx, loaded, resource)
    assessment_forms.check_patient(tx, prepared)
    outcome, scale = assessment_forms.score_answers(tx, ctx, prepared)
    as_stored = {**resource, "questionnaire": loaded.template.canonical}
    if not as_stored.get("authored"):
        # Kept from the version amended (or, for one stored without it, when it was first
        # recorded): the readings and score take their time from it.
        first = tx.resources.version("QuestionnaireResponse", current.id, 1)
        as_stored["authored"] = before.get("authored") or (
            first.last_updated_instant if first else current.last_updated_instant
        )
    prepared.response = as_stored
    # The derived records are written here, not by the write and change hooks: those would
    # score NEWS2 again from the amended readings beside the score amended below.
    quiet = dataclasses.replace(ctx, write_hooks=(), change_hooks=())
    stored = fhir.update_in(
        tx, quiet, actor=actor, resource=as_stored, expected_version=expected_version
    ).stored
    source = f"QuestionnaireResponse/{current.id}"
    versioned = f"{source}/_history/{stored.version_id}"
    change = _Change(
        tx, ctx, quiet, actor, versioned, f"{versioned} was {_changed(before, as_stored)}"
    )
    results = assessment_forms.observations(prepared, outcome, scale, source)
    derived = withdrawn_results.derived_from(tx, ctx, source, prepared.patient)
    total = loaded.template.total
    total_key = (total.system, total.code) if total else None
    old_scores = [(v, o) for v, o in derived if _code_key(o) == total_key]
    old_readings = {_code_key(o): (v, o) for v, o in derived if _code_key(o) != total_key}
    reading_refs = [_follow_reading(change, old_readings, r) for r in results.extracted]
    score = None
    if results.score is not None and outcome is not None:
        results.score["derivedFrom"] = [{"reference": r} for r in (source, *reading_refs)]
        score = _follow_score(change, old_scores, results.score, outcome, loaded)
    # A NEWS2 scored from separate readings may have used one of this form's readings (a set
    # completed by a later SpO2): it is scored again from its set as it now stands (EIE2).
    for reading in change.amended_readings:
        news2_rescoring.rescore_derived(
            tx, ctx, actor, reading, prepared.patient, exclude={score.id} if score else set()
        )
    # What no longer stands: readings of items no longer answered, and a score the answers no
    # longer give. Withdrawn last, so the chain from them does not reach the amended score.
    no_longer = [*old_readings.values(), *old_scores]
    if no_longer:
        change.written.append("withdrawn")
        withdrawn_results.withdraw(
            tx, ctx, quiet, actor, no_longer, why=f"no longer given by {versioned}"
        )
    if as_stored.get("status") in _COMPLETE and (
        change.written or _answers_changed(ctx, loaded, before, prepared.answers)
    ):
        _follow_proposals(change, loaded, prepared, outcome, score, stored)
    return fhir.WriteResult(stored, created=False)


def _template_of(ctx: AppContext, response: dict[str, Any] | None) -> LoadedTemplate | None:
    """The WardCare template a stored response answers, if any (no error for any other)."""
    canonical = (response or {}).get("questionnaire")
    return ctx.catalog.by_canonical(canonical) if isinstance(canonical, str) else None


def _answers_changed(
    ctx: AppContext, loaded: LoadedTemplate, before: dict[str, Any], answers: dict[str, Any]
) -> bool:
    try:
        return assessment_forms.prepare(ctx, loaded, before).answers != answers
    except WardCareError:
        return True  # the version amended no longer reads as the template asks


def _follow_proposals(
    change: _Change,
    loaded: LoadedTemplate,
    prepared: assessment_forms.Prepared,
    outcome: Outcome | None,
    score: StoredVersion | None,
    response: StoredVersion,
) -> None:
    """Care-plan triggers see the answers as they now stand: a proposal they call for is made
    or extended (never duplicated, H17); an open one this form proposed that they no longer
    call for is noted for the nurse, never withdrawn (H25)."""
    tx, ctx, actor = change.tx, change.ctx, change.actor
    band = outcome.band_code if outcome else None
    source = f"QuestionnaireResponse/{response.id}"
    cited = [source, *([f"Observation/{score.id}"] if score else [])]
    written = care_plan_proposals.propose_from_result(
        tx,
        ctx,
        actor=actor,
        loaded=loaded,
        band=band,
        answers=prepared.answers,
        patient=prepared.patient,
        encounter=prepared.response.get("encounter", {}).get("reference"),
        evidence=cited,
        now=response.last_updated_instant,
    )
    written += care_plan_proposals.flag_no_longer_called_for(
        tx,
        ctx,
        actor=actor,
        patient=prepared.patient,
        cited=cited,
        still_called_for=care_plan_proposals.triggered_plans(loaded, band, prepared.answers),
        why=change.why,
    )
    if written:
        record_provenance(
            tx.resources,
            written,
            actor,
            patient=prepared.patient,
            now=response.last_updated,
            reason=f"Care plan proposals after {change.why}",
        )


@dataclasses.dataclass
class _Change:
    """One amendment's transaction, who made it and why, for writing what follows from it."""

    tx: Transaction
    ctx: AppContext
    quiet: AppContext  # without the hooks: this module writes the derived records itself
    actor: Actor
    versioned: str  # QuestionnaireResponse/id/_history/n
    why: str  # "QuestionnaireResponse/id/_history/n was amended"
    written: list[str] = dataclasses.field(default_factory=list)  # what changed, by reference
    amended_readings: list[StoredVersion] = dataclasses.field(default_factory=list)


def _follow_reading(
    change: _Change,
    old_readings: dict[Any, tuple[StoredVersion, dict[str, Any]]],
    reading: dict[str, Any],
) -> str:
    """The extracted reading as the answers now give it: kept, amended or new; its reference."""
    old = old_readings.pop(_code_key(reading), None)
    if old is None:
        made = fhir.create_in(change.tx, change.quiet, actor=change.actor, resource=reading)
        change.written.append(f"Observation/{made.stored.id}")
        return f"Observation/{made.stored.id}"
    if not _same_reading(old[1], reading):
        change.amended_readings.append(_write_amended(change, old, reading))
        change.written.append(f"Observation/{old[0].id}")
    return f"Observation/{old[0].id}"


def _follow_score(
    change: _Change,
    old_scores: list[tuple[StoredVersion, dict[str, Any]]],
    new: dict[str, Any],
    outcome: Outcome,
    loaded: LoadedTemplate,
) -> StoredVersion:
    """The score as the answers now give it, escalated as any new or amended score is."""
    tx, ctx, actor = change.tx, change.ctx, change.actor
    if not old_scores:  # a draft completed: its first score
        score = fhir.create_in(tx, change.quiet, actor=actor, resource=new).stored
        change.written.append(f"Observation/{score.id}")
        escalation.escalate_if_needed(
            tx,
            ctx,
            actor=actor,
            loaded=loaded,
            outcome=outcome,
            result=score,
            patient=new["subject"]["reference"],
            encounter=new.get("encounter", {}).get("reference"),
            authored=new["effectiveDateTime"],
        )
        return score
    old = old_scores.pop(0)
    if news2_rescoring.same_result(old[1], new):
        return old[0]
    score = _write_amended(change, old, new)
    change.written.append(f"Observation/{score.id}")
    amended = orjson.loads(score.content or b"{}")
    news2_rescoring.after_amendment(
        tx, ctx, change.quiet, actor, score, amended, outcome, loaded=loaded, why=change.why
    )
    return score


def _id_of(loaded: LoadedTemplate | None) -> str | None:
    return loaded.template.id if loaded is not None else None


def _check_same_assessment(
    before: dict[str, Any], after: dict[str, Any], *, same_template: bool
) -> None:
    """Refuse what would rewrite a form in place: another patient, another questionnaire
    (whatever version of the same template is fine), back to in progress, or back from
    entered-in-error."""

    def subject(resource: dict[str, Any]) -> Any:
        return (resource.get("subject") or {}).get("reference")

    if subject(before) != subject(after):
        raise errors.unprocessable(
            f"An assessment cannot move to another patient (it is about {subject(before)}): "
            "mark it entered-in-error and record a new one for the right patient",
            "QuestionnaireResponse.subject",
        )
    if not same_template:
        raise errors.unprocessable(
            f"An assessment cannot change its template (it answers {before.get('questionnaire')}):"
            " mark it entered-in-error and record a new one",
            "QuestionnaireResponse.questionnaire",
        )
    if before.get("status") == _WITHDRAWN and after.get("status") != _WITHDRAWN:
        raise errors.unprocessable(
            "A response marked entered-in-error stays withdrawn, with what was derived from "
            "it: record the assessment again as a new response",
            "QuestionnaireResponse.status",
        )
    if before.get("status") in _COMPLETE and after.get("status") not in (*_COMPLETE, _WITHDRAWN):
        raise errors.unprocessable(
            f"A completed assessment cannot go back to {after.get('status')!r}: amend it "
            "(status amended) or mark it entered-in-error",
            "QuestionnaireResponse.status",
        )


def _changed(before: dict[str, Any], after: dict[str, Any]) -> str:
    if before.get("status") not in _COMPLETE and after.get("status") in _COMPLETE:
        return "completed"
    return "amended"


def _code_key(observation: dict[str, Any]) -> tuple[Any, Any] | None:
    codings = (observation.get("code") or {}).get("coding") or ()
    return (codings[0].get("system"), codings[0].get("code")) if codings else None


def _same_reading(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def key(observation: dict[str, Any]) -> bytes:
        return orjson.dumps(
            [observation.get(k) for k in _READING_KEYS], option=orjson.OPT_SORT_KEYS
        )

    return key(old) == key(new)


def _write_amended(
    change: _Change, old: tuple[StoredVersion, dict[str, Any]], new: dict[str, Any]
) -> StoredVersion:
    """A new version of `old` with the content of `new`, status `amended` and a note why."""
    amended = {
        **new,
        "id": old[0].id,
        "status": "amended",
        "note": [*(new.get("note") or ()), {"text": f"Amended: {change.why}"}],
    }
    return fhir.update_in(
        change.tx,
        change.quiet,
        actor=change.actor,
        resource=amended,
        expected_version=old[0].version_id,
    ).stored
