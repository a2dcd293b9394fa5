"""What was derived from a record, and withdrawing it with the record (hazard EIE1).

A NEWS2 or other assessment score, and the Observations an assessment extracted, list what they
came from in `derivedFrom`. When that record is entered in error, `withdraw` marks what was
derived from it, and what was in turn derived from those, `entered-in-error` as new versions
with a note saying why; flags the escalations and care-plan proposals they raised; and scores
NEWS2 again from the readings that remain in the window, if they still make a complete set.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from wardcare.domain.actor import Actor
from wardcare.fhir import codes
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.fhir.vital_signs import effective_range
from wardcare.services import care_plan_proposals, escalation, news2_from_vitals
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

_WITHDRAWN: Final = "entered-in-error"
_PAGE: Final = 100


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
        escalation.flag_escalations(
            tx,
            ctx,
            quiet,
            actor,
            f"Observation/{version.id}",
            patient=subject_of(observation),
            code=escalation.SOURCE_ENTERED_IN_ERROR,
            text=(
                f"The result that raised this escalation (Observation/{version.id}) was "
                f"entered in error ({why}): review whether the escalation still stands"
            ),
        )
        if is_news2(observation):
            withdrawn_scores.append(observation)
    by_patient: dict[str, list[str]] = {}
    if source is not None:
        by_patient[source[1]] = [source[0]]
    for version, observation in chain:
        subject = subject_of(observation)
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
        queue += derived_from(tx, ctx, f"Observation/{version.id}", subject_of(observation))
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
        if observation.get("status") != _WITHDRAWN and subject_of(observation) == patient:
            found.append((version, observation))
    return found


def subject_of(resource: dict[str, Any]) -> str | None:
    reference = (resource.get("subject") or {}).get("reference")
    return reference if isinstance(reference, str) and reference.startswith("Patient/") else None


def is_news2(observation: dict[str, Any]) -> bool:
    return any(
        c.get("system") == codes.SNOMED and c.get("code") == codes.NEWS2_TOTAL
        for c in observation.get("code", {}).get("coding") or ()
    )
