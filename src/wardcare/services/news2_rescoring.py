"""A corrected reading scores its NEWS2 again, as a new version of the same score (EIE2).

When a vital sign that a current NEWS2 was scored from is corrected (a new version with another
value: PUT, an amended form, HL7 OBX-11 `C`), the score is worked out again from its set as it
now stands and, when the result differs, stored as a new version with status `amended`, so one
score stands for the set; the HL7 outbox sends it to the EHR as a correction. If the set is no
longer complete the score is withdrawn. A higher band escalates as any score does; a lower one
flags the open escalation `source-amended`, and never closes it (hazard H06).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain import news2
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import Outcome, from_news2
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.versions import StoredVersion
from wardcare.fhir.vital_signs import effective_range
from wardcare.services import assessment_results, escalation, news2_from_vitals, withdrawn_results
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction


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
        for found in withdrawn_results.derived_from(tx, ctx, f"Observation/{reading.id}", patient)
        if found[0].id not in exclude
    ]
    if derived:
        quiet = dataclasses.replace(ctx, write_hooks=(), change_hooks=())
        versioned = f"Observation/{reading.id}/_history/{reading.version_id}"
        rescore(tx, ctx, quiet, actor, derived, corrected=versioned)


def rescore(
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
        if not withdrawn_results.is_news2(score):
            continue
        patient = score.get("subject", {}).get("reference")
        when = effective_range(score)
        if not isinstance(patient, str) or when is None:
            continue
        found = news2_from_vitals.latest_set(tx, ctx, patient=patient, at=when[0])
        if found.missing:
            withdrawn_results.withdraw(
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
    now_rank = escalation.PRIORITY_RANK.get(outcome.priority or "routine", 0)
    title = "NEWS2" if loaded.template.engine == "news2" else loaded.template.title
    escalation.flag_escalations(
        tx,
        ctx,
        quiet,
        actor,
        f"Observation/{stored.id}",
        patient=patient,
        code=escalation.SOURCE_AMENDED,
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
