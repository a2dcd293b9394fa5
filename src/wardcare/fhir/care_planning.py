"""How WardCare writes care plans in FHIR R4: code systems, extensions and the statuses it reads.

- A plan made from a template is a CarePlan (`intent` plan) whose `instantiatesCanonical` is the
  template's PlanDefinition; a plan an assessment proposes is a CarePlan with `intent` proposal,
  `status` draft, listing the proposed interventions as `activity.detail`.
- Each intervention of a plan is a Task (`intent` plan, `basedOn` the CarePlan) with its timing
  in the `TIMING_EXTENSION`; each documented occurrence is a Task `partOf` it, with the outcome
  (done / not done / declined) as its `businessStatus`, when it was done as `executionPeriod`
  and the due time it answers as `restriction.period.end`.
- A goal evaluation is an Observation coded `goal-evaluation` whose `focus` is the Goal.
- Why a plan was completed, discontinued or marked entered in error is the core extension
  `request-statusReason` (R4 CarePlan has no statusReason element).
"""

from __future__ import annotations

from typing import Any, Final

from wardcare.fhir.indexing import split_reference

CARE_PLANNING: Final = "http://wardcare.org/fhir/CodeSystem/care-planning"
PLAN_DEFINITION_BASE: Final = "http://wardcare.org/fhir/PlanDefinition/"
STATUS_REASON: Final = "http://hl7.org/fhir/StructureDefinition/request-statusReason"
REVIEW_EXTENSION: Final = "http://wardcare.org/fhir/StructureDefinition/goal-review-interval"
GOAL_EVALUATION: Final = "goal-evaluation"
GOAL_ACHIEVEMENT: Final = "http://terminology.hl7.org/CodeSystem/goal-achievement"

OPEN_PLAN_STATUSES: Final = frozenset({"draft", "active", "on-hold"})
CLOSED_PLAN_STATUSES: Final = frozenset({"completed", "revoked", "entered-in-error"})
OPEN_TASK_STATUSES: Final = frozenset(
    {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"}
)

# Evaluation result -> (display, Goal.achievementStatus).
EVALUATION_RESULTS: Final = {
    "met": ("Met", "achieved"),
    "partly-met": ("Partly met", "improving"),
    "not-met": ("Not met", "not-achieved"),
}


def coding(code: str, display: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"system": CARE_PLANNING, "code": code}
    if display:
        found["display"] = display
    return found


def plan_template_id(care_plan: dict[str, Any]) -> str | None:
    """The template id of a WardCare CarePlan (from its PlanDefinition canonical)."""
    for canonical in care_plan.get("instantiatesCanonical") or ():
        if isinstance(canonical, str) and canonical.startswith(PLAN_DEFINITION_BASE):
            return canonical[len(PLAN_DEFINITION_BASE) :].split("|", 1)[0]
    return None


def is_intervention(task: dict[str, Any]) -> bool:
    """A plan's standing intervention (not one documented occurrence of it)."""
    return _has_care_planning_code(task) and not task.get("partOf")


def is_occurrence(task: dict[str, Any]) -> bool:
    return _has_care_planning_code(task) and bool(task.get("partOf"))


def _has_care_planning_code(task: dict[str, Any]) -> bool:
    return any(c.get("system") == CARE_PLANNING for c in (task.get("code") or {}).get("coding", ()))


def reference_id(reference: Any, resource_type: str) -> str | None:
    """The id in a {"reference": "Type/id"} of the given type, else None."""
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    target = split_reference(reference["reference"])
    return target[1] if target and target[0] == resource_type else None


def status_reason(resource: dict[str, Any]) -> str | None:
    for extension in resource.get("extension") or ():
        if extension.get("url") == STATUS_REASON:
            concept = extension.get("valueCodeableConcept") or {}
            text = concept.get("text") or next(
                (c.get("display") or c.get("code") for c in concept.get("coding", ())), None
            )
            return str(text) if text else None
    return None


def with_status_reason(resource: dict[str, Any], reason: str) -> dict[str, Any]:
    kept = [e for e in resource.get("extension") or () if e.get("url") != STATUS_REASON]
    return {
        **resource,
        "extension": [*kept, {"url": STATUS_REASON, "valueCodeableConcept": {"text": reason}}],
    }


def actor_reference(display: str, reference: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"display": display}
    if reference:
        found["reference"] = reference
    return found
