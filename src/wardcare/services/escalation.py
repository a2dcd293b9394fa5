"""Escalation: a score that crosses a threshold becomes a Task for the nurse in charge.

RCP NEWS2 chart 4: a single parameter scoring 3 or a total of 5-6 needs an urgent response, 7 or
more an emergency one. An open escalation is never closed by a later, lower score: a person
completes or cancels it (brief section 8; hazard log). A new Task is raised only when none of
at least the same priority is already open for the patient.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import Outcome
from wardcare.fhir import codes
from wardcare.fhir.versions import StoredVersion
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

OPEN_STATUSES = frozenset({"requested", "received", "accepted", "ready", "in-progress", "on-hold"})
_RANK = {"routine": 0, "urgent": 1, "asap": 2, "stat": 3}
ESCALATING = frozenset({"urgent", "asap", "stat"})


def _source_withdrawn(task: dict[str, Any]) -> bool:
    """An open Task whose score was withdrawn (services/entered_in_error.py) stays open for a
    person to close, but does not stand for a new score's escalation: once it is closed as
    raised in error, the new score must still have its own (hazards H13, EIE1)."""
    return any(
        c.get("code") == "source-entered-in-error"
        for c in (task.get("businessStatus") or {}).get("coding") or ()
    )


def escalate_if_needed(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    task_code: str,
    title: str,
    outcome: Outcome,
    result: StoredVersion,
    patient: str,
    encounter: str | None,
    authored: str,
    provenance: bool = True,
) -> StoredVersion | None:
    priority = outcome.priority
    if priority not in ESCALATING:
        return None
    recent = tx.resources.newest_with_token(
        "Task",
        subject_param="patient",
        subject=("Patient", patient.split("/", 1)[1]),
        token_param="code",
        system=codes.TASK_TYPE,
        code=task_code,
        date_param="authored-on",
        limit=20,
    )
    for open_task in recent:
        content = orjson.loads(open_task.content or b"{}")
        if (
            content.get("status") in OPEN_STATUSES
            and _RANK.get(content.get("priority", "routine"), 0) >= _RANK[priority]
            and not _source_withdrawn(content)
        ):
            return None
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [{"system": codes.TASK_TYPE, "code": task_code}],
            "text": f"{title} escalation",
        },
        "description": f"{title} {outcome.total} ({outcome.band_display}). {outcome.response}",
        "focus": {"reference": f"{result.resource_type}/{result.id}"},
        "for": {"reference": patient},
        "authoredOn": authored,
        "reasonCode": {"text": f"{outcome.band_display}: {outcome.meaning}"},
        "owner": {"display": "Nurse in charge"},
    }
    if encounter:
        task["encounter"] = {"reference": encounter}
    return fhir.create_in(
        tx,
        ctx,
        actor=actor,
        resource=task,
        resource_id=str(uuid.uuid4()),
        run_hooks=False,
        provenance=provenance,
    ).stored
