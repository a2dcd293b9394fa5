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

This module is the hook that decides; the work is in `withdrawn_results` (withdrawing),
`news2_rescoring` (scoring again) and `escalation.flag_escalations`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import orjson

from wardcare.domain.actor import Actor
from wardcare.fhir.versions import StoredVersion
from wardcare.fhir.vital_signs import readings
from wardcare.services import escalation, news2_rescoring, withdrawn_results
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

_WITHDRAWN: Final = "entered-in-error"
_TRACKED: Final = frozenset({"Observation", "QuestionnaireResponse"})


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
        escalation.flag_escalations(
            tx,
            ctx,
            quiet,
            actor,
            source,
            patient=patient,
            code=escalation.SOURCE_ENTERED_IN_ERROR,
            text=(
                f"The result that raised this escalation ({versioned}) was {what}: review "
                "whether the escalation still stands"
            ),
        )
    derived = withdrawn_results.derived_from(tx, ctx, source, patient)
    if withdrawn:
        withdrawn_results.withdraw(
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
        news2_rescoring.rescore(tx, ctx, quiet, actor, derived, corrected=versioned)


def _patient(tx: Transaction, stored: StoredVersion, resource: dict[str, Any] | None) -> str | None:
    """The record's patient; for a delete, as its last version named it."""
    if resource is None and stored.version_id > 1:
        before = tx.resources.version(stored.resource_type, stored.id, stored.version_id - 1)
        resource = orjson.loads(before.content) if before and before.content else None
    return withdrawn_results.subject_of(resource) if resource is not None else None
