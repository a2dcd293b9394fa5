"""What WardCare derived from a record follows every change to that record, in its transaction.

Installed as a change hook (`bootstrap.py`, `AppContext.change_hooks`), so it applies however
the change arrives: `PUT`, a transaction Bundle, a logical `DELETE`, or an inbound HL7 ORU
(OBX-11 `W`/`D` withdraw a result, `C` corrects it). Nothing is deleted: every change below is a
new version written through `fhir_interactions.update_in`, with a Provenance naming the person
(or interface) whose change caused it.

- **Withdrawn** (FHIR R4 Observation.status / QuestionnaireResponse.status `entered-in-error`,
  or a logical delete): every current Observation that lists the record in `derivedFrom` (a
  NEWS2 or other assessment score, the Observations an assessment extracted), and what was in
  turn derived from those, is marked `entered-in-error` too, with a note saying why. A score
  that rests on a mistaken reading is never left standing (hazard EIE1). NEWS2 is then scored
  again from the readings that remain in the window, if they still make a complete set (RCP
  NEWS2 chart 1 needs all seven parameters; `news2_from_vitals`), so the chart shows what the
  valid readings say and no score where they no longer make a set.
- **Corrected** (a new version of a vital sign that is still a reading: `final`, `amended`,
  `corrected`): each current NEWS2 derived from it is scored again from the set as it now
  stands and, when the result differs, replaced by a new version of the same score with status
  `amended` (FHIR R4: "modified subsequent to being Final"), so exactly one current score
  stands for the set (hazard EIE2); the HL7 outbox sends it to the EHR as a correction. If the
  set is no longer complete, the score is withdrawn as above.
- **Escalations**: an open escalation Task whose score was withdrawn, or amended to a band that
  would not have raised it, is never closed here: a person completes or cancels it (hazard H06).
  It gets a `businessStatus` saying that its source was entered in error (or amended), and a
  note, so the nurse in charge sees it on the open-escalations list and decides.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import orjson

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain import news2
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import Outcome, from_news2
from wardcare.fhir import codes
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.fhir.vital_signs import effective_range, readings
from wardcare.services import (
    assessment_results,
    care_plan_proposals,
    escalation,
    news2_from_vitals,
)
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

BUSINESS_STATUS_SYSTEM: Final = "http://wardcare.org/fhir/CodeSystem/task-business-status"
SOURCE_ENTERED_IN_ERROR: Final = "source-entered-in-error"
SOURCE_AMENDED: Final = "source-amended"
_WITHDRAWN: Final = "entered-in-error"
_TRACKED: Final = frozenset({"Observation", "QuestionnaireResponse"})
_PRIORITY_RANK: Final = {"routine": 0, "urgent": 1, "asap": 2, "stat": 3}
_PAGE: Final = 100


def on_new_version(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    stored: StoredVersion,
    resource: dict[str, Any] | None,
) -> None:
    """The change hook: `resource` is the new version as stored, None for a logical delete."""
    if stored.resource_type not in _TRACKED:
        return
    patient = _patient(tx, stored, resource)
    if patient is None:
        return  # WardCare derives scores only from a patient's own records
    source = f"{stored.resource_type}/{stored.id}"
    withdrawn = resource is None or resource.get("status") == _WITHDRAWN
    # The derived resources are written without the hooks: this module follows the whole
    # chain itself (a response -> its extracted readings -> the score), so nothing is scored
    # again from a reading that is about to be withdrawn in the same change.
    quiet = dataclasses.replace(ctx, write_hooks=(), change_hooks=())
    versioned = f"{source}/_history/{stored.version_id}"
    what = "deleted" if resource is None else "marked entered-in-error"
    if withdrawn and stored.resource_type == "Observation":
        # The record may itself be a score a person withdrew: its escalation is flagged too.
        _flag_escalations(
            tx,
            ctx,
            quiet,
            actor,
            source,
            patient=patient,
            code=SOURCE_ENTERED_IN_ERROR,
            text=(
                f"The result that raised this escalation ({versioned}) was {what}: review "
                "whether the escalation still stands"
            ),
        )
    derived = derived_from(tx, ctx, source, patient)
    if withdrawn:
        withdraw(
            tx,
            ctx,
            quiet,
            actor,
            derived,
            why=f"{versioned} was {what}",
            source=(source, patient),
        )
        return
    if not derived:
        return  # most updates: nothing was derived from this record
    if resource is not None and stored.resource_type == "Observation" and readings(resource):
        _rescore(tx, ctx, quiet, actor, derived, corrected=versioned)


# -- withdrawing ---------------------------------------------------------------------------


def withdraw(
    tx: Transaction,
    ctx: AppContext,
    quiet: AppContext,
    actor: Actor,
    derived: list[tuple[StoredVersion, dict[str, Any]]],
    *,
    why: str,
    source: tuple[str, str] | None = None,
) -> None:
    """Mark `derived` and what was derived from it entered-in-error, flag the escalations and
    care-plan proposals they raised, and score NEWS2 again from what remains. `source` is the
    record itself, when a person withdrew it (reference, patient): its proposals are flagged
    in the same note as the rest."""
    chain = _chain(tx, ctx, derived)
    withdrawn_scores: list[dict[str, Any]] = []
    for version, observation in chain:
        marked = {
            **observation,
            "status": _WITHDRAWN,
            "note": [*(observation.get("note") or ()), {"text": f"Entered in error: {why}"}],
        }
        fhir.update_in(tx, quiet, actor=actor, resource=marked, expected_version=version.version_id)
        _flag_escalations(
            tx,
            ctx,
            quiet,
            actor,
            f"Observation/{version.id}",
            patient=_subject(observation),
            code=SOURCE_ENTERED_IN_ERROR,
            text=(
                f"The result that raised this escalation (Observation/{version.id}) was "
                f"entered in error ({why}): review whether the escalation still stands"
            ),
        )
        if _is_news2(observation):
            withdrawn_scores.append(observation)
    by_patient: dict[str, list[str]] = {}
    if source is not None:
        by_patient[source[1]] = [source[0]]
    for version, observation in chain:
        subject = _subject(observation)
        if subject is not None:
            by_patient.setdefault(subject, []).append(f"Observation/{version.id}")
    for patient, references in by_patient.items():
        care_plan_proposals.flag_withdrawn_evidence(
            tx, ctx, actor=actor, patient=patient, withdrawn=references, why=why
        )
    for score in withdrawn_scores:
        _score_remaining(tx, ctx, actor, score)


def _chain(
    tx: Transaction, ctx: AppContext, derived: list[tuple[StoredVersion, dict[str, Any]]]
) -> list[tuple[StoredVersion, dict[str, Any]]]:
    """The derived Observations and, breadth first, everything derived from them."""
    found: dict[str, tuple[StoredVersion, dict[str, Any]]] = {}
    queue = list(derived)
    while queue:
        version, observation = queue.pop(0)
        if version.id in found:
            continue
        found[version.id] = (version, observation)
        queue += derived_from(tx, ctx, f"Observation/{version.id}", _subject(observation))
    return list(found.values())


def _score_remaining(
    tx: Transaction, ctx: AppContext, actor: Actor, withdrawn: dict[str, Any]
) -> None:
    """NEWS2 again from the readings left in the withdrawn score's window, if they still make a
    complete set: through `news2_from_vitals`, so escalation, proposals and Provenance are as
    for any score, and no second score is made for a set that already has one."""
    patient = withdrawn.get("subject", {}).get("reference")
    when = effective_range(withdrawn)
    if not isinstance(patient, str) or when is None:
        return
    found = news2_from_vitals.latest_set(tx, ctx, patient=patient, at=when[0])
    if found.missing:
        return  # the rest is no longer a set: the due list shows it incomplete, never scored
    # The set's newest reading stands in for "the reading just stored": the window that ends
    # at it holds the same latest reading of every parameter.
    newest = None
    for version in tx.resources.current_many(("Observation", s[12:]) for s in found.sources):
        reading = orjson.loads(version.content or b"{}")
        at = effective_range(reading)
        if at is not None and at[0] == found.effective:
            newest = reading
    if newest is not None:
        news2_from_vitals.on_observation_stored(tx, ctx, actor, newest)


# -- correcting ----------------------------------------------------------------------------


def rescore_derived(
    tx: Transaction,
    ctx: AppContext,
    actor: Actor,
    reading: StoredVersion,
    patient: str,
    *,
    exclude: set[str],
) -> None:
    """The current NEWS2 scores derived from a reading just amended, other than those in
    `exclude` (ids), scored again from their sets as they now stand, as for any corrected
    reading (EIE2): for a writer that amends readings with the hooks off."""
    derived = [
        found
        for found in derived_from(tx, ctx, f"Observation/{reading.id}", patient)
        if found[0].id not in exclude
    ]
    if derived:
        quiet = dataclasses.replace(ctx, write_hooks=(), change_hooks=())
        versioned = f"Observation/{reading.id}/_history/{reading.version_id}"
        _rescore(tx, ctx, quiet, actor, derived, corrected=versioned)


def _rescore(
    tx: Transaction,
    ctx: AppContext,
    quiet: AppContext,
    actor: Actor,
    derived: list[tuple[StoredVersion, dict[str, Any]]],
    *,
    corrected: str,
) -> None:
    """Each current NEWS2 derived from a corrected reading, scored again from its set as it now
    stands: amended when the result differs, withdrawn when the set is no longer complete.
    Other assessments' scores are not re-scored from readings (their answers are in the
    QuestionnaireResponse, which a correction of one extracted reading does not change)."""
    loaded = ctx.catalog.get("news2")
    assert loaded is not None, "the NEWS2 template ships with WardCare"
    for version, score in derived:
        if not _is_news2(score):
            continue
        patient = score.get("subject", {}).get("reference")
        when = effective_range(score)
        if not isinstance(patient, str) or when is None:
            continue
        found = news2_from_vitals.latest_set(tx, ctx, patient=patient, at=when[0])
        if found.missing:
            withdraw(
                tx,
                ctx,
                quiet,
                actor,
                [(version, score)],
                why=f"after {corrected} was corrected the set is no longer complete",
            )
            continue
        scale = news2_from_vitals.spo2_scale(tx, ctx, patient)
        outcome = from_news2(news2.news2(found.vitals, news2.SpO2Scale(scale)))
        kept = [  # the QuestionnaireResponse a form's score came from stays its source
            r["reference"]
            for r in score.get("derivedFrom") or ()
            if not str(r.get("reference", "")).startswith("Observation/")
        ]
        performer = (score.get("performer") or [None])[0]
        context = assessment_results.Context(
            patient=patient,
            encounter=score.get("encounter", {}).get("reference") or found.encounter,
            effective=instant(from_micros(found.effective)),
            performer=performer,
            derived_from=[*kept, *found.sources],
        )
        new = assessment_results.score_observation(loaded, outcome, context, spo2_scale=scale)
        if same_result(score, new):
            continue  # e.g. a corrected performer or note: the score still stands as it is
        amended = {
            **new,
            "id": version.id,
            "status": "amended",
            "note": [
                *(new.get("note") or ()),
                {"text": f"Amended: scored again after {corrected} was corrected"},
            ],
        }
        stored = fhir.update_in(
            tx, quiet, actor=actor, resource=amended, expected_version=version.version_id
        ).stored
        after_amendment(
            tx,
            ctx,
            quiet,
            actor,
            stored,
            amended,
            outcome,
            loaded=loaded,
            why=f"after {corrected} was corrected",
        )


def after_amendment(
    tx: Transaction,
    ctx: AppContext,
    quiet: AppContext,
    actor: Actor,
    stored: StoredVersion,
    amended: dict[str, Any],
    outcome: Outcome,
    *,
    loaded: LoadedTemplate,
    why: str,
) -> None:
    """A higher band raises its escalation (H13); a lower one flags, never closes, the open one.
    `why` completes "amended to 5 (medium) ...", e.g. "after Observation/x was corrected"."""
    patient = amended["subject"]["reference"]
    escalation.escalate_if_needed(
        tx,
        ctx,
        actor=actor,
        loaded=loaded,
        outcome=outcome,
        result=stored,
        patient=patient,
        encounter=amended.get("encounter", {}).get("reference"),
        authored=amended["effectiveDateTime"],
    )
    now_rank = _PRIORITY_RANK.get(outcome.priority or "routine", 0)
    title = "NEWS2" if loaded.template.engine == "news2" else loaded.template.title
    _flag_escalations(
        tx,
        ctx,
        quiet,
        actor,
        f"Observation/{stored.id}",
        patient=patient,
        code=SOURCE_AMENDED,
        text=(
            f"The {title} that raised this escalation was amended to {outcome.total} "
            f"({outcome.band_display}) {why}: review whether the escalation still stands"
        ),
        above_rank=now_rank,
    )


def same_result(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def key(observation: dict[str, Any]) -> tuple[Any, ...]:
        return (
            observation.get("valueInteger"),
            orjson.dumps(observation.get("interpretation")),
            orjson.dumps(observation.get("component")),
            observation.get("effectiveDateTime"),
            sorted(r.get("reference", "") for r in observation.get("derivedFrom") or ()),
        )

    return key(old) == key(new)


# -- shared --------------------------------------------------------------------------------


def _flag_escalations(
    tx: Transaction,
    ctx: AppContext,
    quiet: AppContext,
    actor: Actor,
    focus: str,
    *,
    patient: str | None,
    code: str,
    text: str,
    above_rank: int = -1,
) -> None:
    """Open escalation Tasks raised by `focus` get a businessStatus; their status is left to a
    person (FHIR R4 Task.businessStatus: "the current status from the business perspective")."""
    query = parse_search(
        "Task",
        [("focus", focus), ("status", ",".join(sorted(escalation.OPEN_STATUSES)))],
        ctx.search_parameters,
        default_count=_PAGE,
        max_count=_PAGE,
    )
    query.total = "none"
    for version in tx.resources.search(query).matches:
        task = orjson.loads(version.content or b"{}")
        if not _is_escalation(task) or task.get("for", {}).get("reference") != patient:
            continue  # only the escalations WardCare raised for this patient's result
        if _PRIORITY_RANK.get(task.get("priority", "routine"), 0) <= above_rank:
            continue  # the amended score still calls for this escalation
        flagged = {
            **task,
            "businessStatus": {
                "coding": [
                    {
                        "system": BUSINESS_STATUS_SYSTEM,
                        "code": code,
                        "display": _DISPLAY[code],
                    }
                ],
                "text": text,
            },
            "note": [*(task.get("note") or ()), {"text": text}],
        }
        fhir.update_in(
            tx, quiet, actor=actor, resource=flagged, expected_version=version.version_id
        )


_DISPLAY: Final = {
    SOURCE_ENTERED_IN_ERROR: "Source entered in error",
    SOURCE_AMENDED: "Source amended",
}


def derived_from(
    tx: Transaction, ctx: AppContext, source: str, patient: str | None
) -> list[tuple[StoredVersion, dict[str, Any]]]:
    """The patient's current Observations listing `source` in derivedFrom that are not entered
    in error. Another patient's Observation citing it is not WardCare's derivation (scores
    are made from one patient's records) and is left alone."""
    query = parse_search(
        "Observation",
        [("derived-from", source)],
        ctx.search_parameters,
        default_count=_PAGE,
        max_count=_PAGE,
    )
    query.total = "none"
    found = []
    for version in tx.resources.search(query).matches:
        observation: dict[str, Any] = orjson.loads(version.content or b"{}")
        if observation.get("status") != _WITHDRAWN and _subject(observation) == patient:
            found.append((version, observation))
    return found


def _patient(tx: Transaction, stored: StoredVersion, resource: dict[str, Any] | None) -> str | None:
    """The record's patient; for a delete, as its last version named it."""
    if resource is None and stored.version_id > 1:
        before = tx.resources.version(stored.resource_type, stored.id, stored.version_id - 1)
        resource = orjson.loads(before.content) if before and before.content else None
    return _subject(resource) if resource is not None else None


def _subject(resource: dict[str, Any]) -> str | None:
    reference = (resource.get("subject") or {}).get("reference")
    return reference if isinstance(reference, str) and reference.startswith("Patient/") else None


def _is_escalation(task: dict[str, Any]) -> bool:
    return any(
        c.get("system") == codes.TASK_TYPE
        and c.get("code") in (codes.NEWS2_ESCALATION, escalation.ASSESSMENT_ESCALATION)
        for c in (task.get("code") or {}).get("coding") or ()
    )


def _is_news2(observation: dict[str, Any]) -> bool:
    return any(
        c.get("system") == codes.SNOMED and c.get("code") == codes.NEWS2_TOTAL
        for c in observation.get("code", {}).get("coding") or ()
    )
