"""Document one occurrence of a care-plan intervention: done, not done (with the reason) or
declined by the patient.

Each occurrence is its own Task (`partOf` the intervention, `basedOn` the plan) with the outcome
as `businessStatus`, who documented it as `owner`, when it was done as `executionPeriod` and the
due time it answers as `restriction.period.end` (FHIR R4 Task: "over what time-period is
fulfillment sought"), stored with a Provenance. Not done needs a reason; the occurrence answered
is the earliest outstanding one unless the nurse names it. A mistaken entry is corrected by
marking it `entered-in-error` (PUT): the due list then treats it as never documented.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.intervention_schedule import Outcome
from wardcare.domain.smart_scopes import Interaction
from wardcare.fhir import resource_ids
from wardcare.fhir.care_planning import (
    actor_reference,
    coding,
    is_intervention,
    reference_id,
)
from wardcare.fhir.dates import instant
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation, fhir_reads
from wardcare.services import fhir_interactions as fhir
from wardcare.services.care_plan_work import active_plans
from wardcare.services.context import AppContext

_OUTCOMES = {
    Outcome.DONE: ("completed", "Done"),
    Outcome.NOT_DONE: ("cancelled", "Not done"),
    Outcome.DECLINED: ("cancelled", "Declined by the patient"),
}
_FUTURE_TOLERANCE = timedelta(minutes=5)


def record_occurrence(
    ctx: AppContext,
    *,
    actor: Actor,
    task_id: str,
    outcome: str,
    reason: str | None = None,
    performed: datetime | None = None,
    occurrence: datetime | None = None,
    note: str | None = None,
) -> StoredVersion:
    if outcome not in {o.value for o in Outcome}:
        raise errors.unprocessable(
            f"outcome must be done, not-done or declined, not {outcome!r}", "outcome"
        )
    result = Outcome(outcome)
    if result == Outcome.NOT_DONE and not (reason and reason.strip()):
        raise errors.unprocessable("An intervention not done needs the reason", "reason")
    now = ctx.clock.now()
    when = performed or now
    if when > now + _FUTURE_TOLERANCE:
        raise errors.unprocessable(
            "An intervention cannot be documented in the future", "performed"
        )
    with ctx.uow.write() as tx:
        stored = fhir_reads.read_in(tx, resource_type="Task", resource_id=task_id)
        task = orjson.loads(stored.content or b"{}")
        # Documenting updates the intervention and adds a Task for the occurrence.
        authorisation.authorise_patient_write(
            actor,
            authorisation.patients_of(task),
            [(Interaction.UPDATE, "Task"), (Interaction.CREATE, "Task")],
            target=f"Task/{task_id}",
        )
        if not is_intervention(task):
            raise errors.unprocessable(
                f"Task/{task_id} is not a care-plan intervention", "Task.code"
            )
        if task.get("status") != "in-progress":
            raise errors.unprocessable(
                f"This intervention is {task.get('status')}: only an intervention of an active "
                "plan is documented",
                "Task.status",
            )
        patient = task.get("for", {}).get("reference", "")
        plans = active_plans(tx, ctx, [patient], now).get(patient, [])
        work = next(
            (i for p in plans for i in p.interventions if i.task.get("id") == task_id), None
        )
        if work is None:
            raise errors.unprocessable("This intervention's plan is not active", "Task.basedOn")
        slot = occurrence
        if slot is None and work.occurrences:
            slot = work.occurrences[0].slot
        status, display = _OUTCOMES[result]
        documented: dict[str, Any] = {
            "resourceType": "Task",
            "status": status,
            "businessStatus": {"coding": [coding(result.value, display)], "text": display},
            "intent": "order",
            "code": task["code"],
            "description": task.get("description"),
            "partOf": [{"reference": f"Task/{task_id}"}],
            "basedOn": task.get("basedOn", []),
            "for": task["for"],
            "authoredOn": instant(now),
            "lastModified": instant(now),
            "executionPeriod": {"start": instant(when), "end": instant(when)},
            "owner": actor_reference(actor.display, actor.reference),
        }
        if task.get("encounter"):
            documented["encounter"] = task["encounter"]
        if slot is not None:
            documented["restriction"] = {"period": {"end": instant(slot)}}
        if result != Outcome.DONE:
            documented["statusReason"] = {"text": reason or display}
        if note:
            documented["note"] = [{"text": note, "time": instant(now)}]
        if reference_id(task.get("for"), "Patient") is None:
            raise errors.unprocessable("The intervention names no patient", "Task.for")
        ctx.validator.validate(documented, expected_type="Task")
        return fhir.create_in(
            tx, ctx, actor=actor, resource=documented, resource_id=resource_ids.new_id()
        ).stored
