"""The FHIR resource types WardCare stores and serves, and what each offers."""

from __future__ import annotations

# Clinical and administrative resources of the nursing record (brief section 4).
SERVED_TYPES: tuple[str, ...] = (
    "Patient",
    "Encounter",
    "Location",
    "Practitioner",
    "Observation",
    "Questionnaire",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "Task",
    "Condition",
    "AllergyIntolerance",
    "Provenance",
    "AuditEvent",
    "PlanDefinition",
    "ActivityDefinition",
    "RequestGroup",
    "DocumentReference",
    "Binary",
    # SBAR handover notes (handover issue): sender hands over, recipient acknowledges.
    "Communication",
)

# The record of who did what is itself never edited: Provenance and AuditEvent are append-only
# (FHIR R4 Provenance 6.3.1, IHE BALP), so update and delete are refused for them.
APPEND_ONLY_TYPES = frozenset({"Provenance", "AuditEvent"})

# A write to these produces no Provenance of its own (a Provenance of a Provenance says nothing).
NO_PROVENANCE_TYPES = frozenset({"Provenance", "AuditEvent", "Binary"})


def is_served(resource_type: str) -> bool:
    return resource_type in SERVED_TYPES
