"""Escalation: a score that crosses a threshold becomes a Task for the nurse in charge.

RCP NEWS2 chart 4: a single parameter scoring 3 or a total of 5-6 needs an urgent response, 7 or
more an emergency one. An open escalation is never closed by a later, lower score: a person
completes or cancels it (brief section 8; hazard H06). The Task records its risk band in
`reasonCode` (the template's band CodeSystem), and a new Task is raised unless one of the same
template at least as high (priority, then band: `domain/escalation.py`) is already open for
the patient, so a rise from a single 3 (low-medium) to 5 (medium), both `urgent`, asks for the
medium response too (hazard H18).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import Outcome
from wardcare.domain.escalation import ESCALATING, EscalationLevel, needs_new_task
from wardcare.fhir import codes, resource_ids
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

OPEN_STATUSES = frozenset({"requested", "received", "accepted", "ready", "in-progress", "on-hold"})
ASSESSMENT_ESCALATION = "assessment-escalation"


def is_escalation(task: dict[str, Any]) -> bool:
    """An escalation Task (coded in WardCare's task types as `news2-escalation`,
    `assessment-escalation` or any later `...-escalation`), as against a care plan's
    intervention Tasks or another system's Tasks for the same patient."""
    return any(
        c.get("system") == codes.TASK_TYPE and str(c.get("code", "")).endswith("-escalation")
        for c in (task.get("code") or {}).get("coding", ())
    )


def task_code(loaded: LoadedTemplate) -> str:
    """The Task.code of a template's escalations."""
    return codes.NEWS2_ESCALATION if loaded.template.engine == "news2" else ASSESSMENT_ESCALATION


def _open_level(loaded: LoadedTemplate, task: dict[str, Any]) -> EscalationLevel | None:
    """The level of an open escalation Task of this template; None if it is closed or another
    template's (assessment escalations of all sum templates share one Task code)."""
    if task.get("status") not in OPEN_STATUSES:
        return None
    reason = task.get("reasonCode")
    codings = reason.get("coding", ()) if isinstance(reason, dict) else ()
    band = next(
        (
            c.get("code")
            for c in codings
            if isinstance(c, dict) and c.get("system") == loaded.band_system
        ),
        None,
    )
    if band is None and any(isinstance(c, dict) and c.get("system") for c in codings):
        return None  # another template's band
    if band is None and loaded.template.engine != "news2":
        # Written before bands were recorded: the title tells whose it was.
        text = task.get("code", {}).get("text", "")
        if text != f"{loaded.template.title} escalation":
            return None
    return EscalationLevel.of(task.get("priority"), loaded.band_rank(band))


def _source_withdrawn(task: dict[str, Any]) -> bool:
    """An open Task whose score was withdrawn (services/entered_in_error.py) stays open for a
    person to close, but does not stand for a new score's escalation: once it is closed as
    raised in error, the new score must still have its own (hazards H13, EIE1)."""
    return any(
        c.get("code") == SOURCE_ENTERED_IN_ERROR
        for c in (task.get("businessStatus") or {}).get("coding") or ()
    )


def escalate_if_needed(
    tx: Transaction,
    ctx: AppContext,
    *,
    actor: Actor,
    loaded: LoadedTemplate,
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
    title = loaded.template.title if loaded.template.engine != "news2" else "NEWS2"
    code = task_code(loaded)
    level = EscalationLevel.of(priority, loaded.band_rank(outcome.band_code))
    recent = tx.resources.newest_with_token(
        "Task",
        subject_param="patient",
        subject=("Patient", patient.split("/", 1)[1]),
        token_param="code",
        system=codes.TASK_TYPE,
        code=code,
        date_param="authored-on",
        limit=20,
    )
    open_levels = [
        found
        for found in (
            _open_level(loaded, content)
            for content in (orjson.loads(t.content or b"{}") for t in recent)
            if not _source_withdrawn(content)
        )
        if found is not None
    ]
    if not needs_new_task(level, open_levels):
        return None
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [{"system": codes.TASK_TYPE, "code": code}],
            "text": f"{title} escalation",
        },
        "description": f"{title} {outcome.total} ({outcome.band_display}). {outcome.response}",
        "focus": {"reference": f"{result.resource_type}/{result.id}"},
        "for": {"reference": patient},
        "authoredOn": authored,
        "reasonCode": {
            "coding": [
                {
                    "system": loaded.band_system,
                    "code": outcome.band_code,
                    "display": outcome.band_display,
                }
            ],
            "text": f"{outcome.band_display}: {outcome.meaning}",
        },
        "owner": {"display": "Nurse in charge"},
    }
    if encounter:
        task["encounter"] = {"reference": encounter}
    return fhir.create_in(
        tx,
        ctx,
        actor=actor,
        resource=task,
        resource_id=resource_ids.new_id(),
        run_hooks=False,
        provenance=provenance,
    ).stored


# -- flagging an open escalation whose source changed ---------------------------------------

BUSINESS_STATUS_SYSTEM: Final = "http://wardcare.org/fhir/CodeSystem/task-business-status"
SOURCE_ENTERED_IN_ERROR: Final = "source-entered-in-error"
SOURCE_AMENDED: Final = "source-amended"
PRIORITY_RANK: Final = {"routine": 0, "urgent": 1, "asap": 2, "stat": 3}
_PAGE: Final = 100


def flag_escalations(
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
        [("focus", focus), ("status", ",".join(sorted(OPEN_STATUSES)))],
        ctx.search_parameters,
        default_count=_PAGE,
        max_count=_PAGE,
    )
    query.total = "none"
    for version in tx.resources.search(query).matches:
        task = orjson.loads(version.content or b"{}")
        if not _raised_by_wardcare(task) or task.get("for", {}).get("reference") != patient:
            continue  # only the escalations WardCare raised for this patient's result
        if PRIORITY_RANK.get(task.get("priority", "routine"), 0) <= above_rank:
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


def _raised_by_wardcare(task: dict[str, Any]) -> bool:
    return any(
        c.get("system") == codes.TASK_TYPE
        and c.get("code") in (codes.NEWS2_ESCALATION, ASSESSMENT_ESCALATION)
        for c in (task.get("code") or {}).get("coding") or ()
    )
