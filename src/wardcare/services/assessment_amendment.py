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
from wardcare.fhir.versions import StoredVersion
from wardcare.services import (
    authorisation,
    care_plan_proposals,
    entered_in_error,
    escalation,
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
    resource_id: str,
    resource: Any,
    if_match: str | None = None,
) -> fhir.WriteResult:
    """`PUT /QuestionnaireResponse/{id}`: an assessment amended as above; any other response
    (not a WardCare template's) is updated as any resource is."""
    expected = fhir.check_update(
        ctx,
        actor=actor,
        resource_type="QuestionnaireResponse",
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
    loaded = assessments.template_for(ctx, resource)
    if loaded is None or resource.get("status") == _WITHDRAWN:
        return fhir.update_in(
            tx, ctx, actor=actor, resource=resource, expected_version=expected_version
        )
    resource_id = resource["id"]
    current = tx.resources.current("QuestionnaireResponse", resource_id, for_update=True)
    if current is None or current.deleted or current.content is None:
        if current is None and expected_version is None:
            return assessments.create_in(
                tx, ctx, actor=actor, resource=resource, resource_id=resource_id
            )
        return fhir.update_in(  # If-Match on a new id (412), or a deleted response (410)
            tx, ctx, actor=actor, resource=resource, expected_version=expected_version
        )
    authorisation.check_existing(actor, Interaction.UPDATE, current)
    before: dict[str, Any] = orjson.loads(current.content)
    _check_same_assessment(before, resource, loaded.template.canonical)
    prepared = assessments.prepare(ctx, loaded, resource)
    assessments.check_patient(tx, prepared)
    outcome, scale = assessments.score_answers(tx, ctx, prepared)
    as_stored = {**resource, "questionnaire": loaded.template.canonical}
    if not as_stored.get("authored") and before.get("authored"):
        as_stored["authored"] = before["authored"]
    prepared.response = as_stored
    # The derived records are written here, not by the write and change hooks: those would
    # score NEWS2 again from the amended readings beside the score amended below.
    quiet = dataclasses.replace(ctx, write_hooks=(), change_hooks=())
    stored = fhir.update_in(
        tx, quiet, actor=actor, resource=as_stored, expected_version=expected_version
    ).stored
    source = f"QuestionnaireResponse/{resource_id}"
    versioned = f"{source}/_history/{stored.version_id}"
    change = _Change(
        tx, ctx, quiet, actor, versioned, f"{versioned} was {_changed(before, as_stored)}"
    )
    results = assessments.observations(prepared, outcome, scale, source)
    derived = entered_in_error.derived_from(tx, ctx, source, prepared.patient)
    total = loaded.template.total
    total_key = (total.system, total.code) if total else None
    old_scores = [(v, o) for v, o in derived if _code_key(o) == total_key]
    old_readings = {_code_key(o): (v, o) for v, o in derived if _code_key(o) != total_key}
    reading_refs = [_follow_reading(change, old_readings, r) for r in results.extracted]
    score = None
    if results.score is not None and outcome is not None:
        results.score["derivedFrom"] = [{"reference": r} for r in (source, *reading_refs)]
        score = _follow_score(change, old_scores, results.score, outcome, loaded)
    if as_stored.get("status") in _COMPLETE:
        # Triggers see the answers as they now stand; an open proposal is only extended (H17).
        proposed = care_plan_proposals.propose_from_result(
            tx,
            ctx,
            actor=actor,
            loaded=loaded,
            band=outcome.band_code if outcome else None,
            answers=prepared.answers,
            patient=prepared.patient,
            encounter=as_stored.get("encounter", {}).get("reference"),
            evidence=[source, *([f"Observation/{score.id}"] if score else [])],
            now=stored.last_updated_instant,
        )
        if proposed:
            record_provenance(
                tx.resources,
                proposed,
                actor,
                patient=prepared.patient,
                now=stored.last_updated,
                reason=f"Proposed from {change.why}",
            )
    # What no longer stands: readings of items no longer answered, and a score the answers no
    # longer give. Withdrawn last, so the chain from them does not reach the amended score.
    no_longer = [*old_readings.values(), *old_scores]
    if no_longer:
        entered_in_error.withdraw(
            tx, ctx, quiet, actor, no_longer, why=f"no longer given by {versioned}"
        )
    return fhir.WriteResult(stored, created=False)


@dataclasses.dataclass(frozen=True)
class _Change:
    """One amendment's transaction, who made it and why, for writing what follows from it."""

    tx: Transaction
    ctx: AppContext
    quiet: AppContext  # without the hooks: this module writes the derived records itself
    actor: Actor
    versioned: str  # QuestionnaireResponse/id/_history/n
    why: str  # "QuestionnaireResponse/id/_history/n was amended"


def _follow_reading(
    change: _Change,
    old_readings: dict[Any, tuple[StoredVersion, dict[str, Any]]],
    reading: dict[str, Any],
) -> str:
    """The extracted reading as the answers now give it: kept, amended or new; its reference."""
    old = old_readings.pop(_code_key(reading), None)
    if old is None:
        made = fhir.create_in(change.tx, change.quiet, actor=change.actor, resource=reading)
        return f"Observation/{made.stored.id}"
    if not _same_reading(old[1], reading):
        _write_amended(change, old, reading)
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
    if entered_in_error.same_result(old[1], new):
        return old[0]
    score = _write_amended(change, old, new)
    amended = orjson.loads(score.content or b"{}")
    entered_in_error.after_amendment(
        tx, ctx, change.quiet, actor, score, amended, outcome, loaded=loaded, why=change.why
    )
    return score


def _check_same_assessment(before: dict[str, Any], after: dict[str, Any], canonical: str) -> None:
    def subject(resource: dict[str, Any]) -> Any:
        return (resource.get("subject") or {}).get("reference")

    if subject(before) != subject(after):
        raise errors.unprocessable(
            f"An assessment cannot move to another patient (it is about {subject(before)}): "
            "mark it entered-in-error and record a new one for the right patient",
            "QuestionnaireResponse.subject",
        )
    if str(before.get("questionnaire", "")).split("|")[0] != canonical.split("|", maxsplit=1)[0]:
        raise errors.unprocessable(
            f"An assessment cannot change its template (it answers {before.get('questionnaire')}):"
            " mark it entered-in-error and record a new one",
            "QuestionnaireResponse.questionnaire",
        )
    if before.get("status") in _COMPLETE and after.get("status") not in _COMPLETE:
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
