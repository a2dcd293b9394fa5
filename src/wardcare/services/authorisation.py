"""Who may do what: the one place SMART on FHIR scopes and the patient compartment are enforced.

Every service that reads or writes on a caller's behalf asks here first (`authorise`), and every
resource it is about to hand back or change passes `check_visible` / `visible`. Routes never
decide. Scopes are SMART App Launch 2.0 clinical scopes (`domain/smart_scopes.py`).

The patient compartment (FHIR R4 CompartmentDefinition "patient"): a resource is in patient X's
compartment when the reference its `patient` search parameter follows names Patient/X (Observation
.subject, Task.for, AllergyIntolerance.patient, Provenance.target, AuditEvent.agent.who /
entity.what...), or it is Patient/X itself. Practitioner/author links of the full definition are
not followed, which only ever narrows what a patient token sees. Task is not in R4's compartment
but an escalation Task is patient data, so WardCare puts it there by `Task.for`. Shared definitions
(Location, Practitioner, Questionnaire, PlanDefinition, ActivityDefinition) belong to no patient
and are readable with a patient scope for their type.

Outside the compartment a resource answers exactly like a missing one (404), so a patient token
cannot even learn that another patient's record exists (SMART 2.0.0 leaves this to the server;
FHIR R4 3.1.0.2 allows 404 for "not permitted to know").
Derived writes (the NEWS2 score and escalation Task an assessment produces) are WardCare's own
consequence of an authorised write and are not scope-checked again; their Provenance names the user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.smart_scopes import Interaction, Reach, reach
from wardcare.errors import Category
from wardcare.fhir.indexing import split_reference
from wardcare.fhir.versions import StoredVersion
from wardcare.services import audit
from wardcare.storage.resource_search import SearchPage

# Where each compartment type names its patient (the element its `patient` search parameter reads).
_PATIENT_ELEMENTS: dict[str, tuple[str, ...]] = {
    "Encounter": ("subject",),
    "Observation": ("subject",),
    "QuestionnaireResponse": ("subject",),
    "CarePlan": ("subject",),
    "Goal": ("subject",),
    "Condition": ("subject",),
    "RequestGroup": ("subject",),
    "DocumentReference": ("subject",),
    "Task": ("for",),
    "AllergyIntolerance": ("patient",),
    "Provenance": ("target",),
    "Binary": ("securityContext",),
    "Communication": ("subject",),  # R4 compartment: subject (handover notes)
}
# Shared definitions: in no patient's compartment, readable with a scope for their type.
SHARED_TYPES = frozenset(
    {"Location", "Practitioner", "Questionnaire", "PlanDefinition", "ActivityDefinition"}
)


def authorise(actor: Actor, interaction: Interaction, resource_type: str) -> Reach:
    """How far the actor may go for this interaction on this type; 403 when not at all."""
    granted = may(actor, interaction, resource_type)
    if granted is None:
        audit.note_denied()
        raise errors.error(
            Category.FORBIDDEN,
            f"The access token grants no scope for {_NAMES[interaction]} {resource_type} "
            f"(needs e.g. user/{resource_type}.{interaction.value})",
        )
    return granted


def may(actor: Actor, interaction: Interaction, resource_type: str) -> Reach | None:
    """`authorise` without raising: for included resources and history entries."""
    scopes = actor.scopes
    if resource_type == "AuditEvent":
        # The audit trail says who looked at whom: it is for the privacy officer and needs a
        # user/ or system/ scope that names it (user/AuditEvent.rs); no wildcard reaches it.
        scopes = _audit_scopes(scopes)
    return reach(scopes, interaction, resource_type, has_patient=actor.patient is not None)


@lru_cache(maxsize=256)
def _audit_scopes(scopes: frozenset[str]) -> frozenset[str]:
    return frozenset(s for s in scopes if s.startswith(("user/AuditEvent.", "system/AuditEvent.")))


def in_compartment(resource: dict[str, Any], patient_id: str) -> bool:
    resource_type = resource.get("resourceType", "")
    if resource_type in SHARED_TYPES:
        return True
    if resource_type == "Patient":
        return resource.get("id") == patient_id or patient_id in _linked(resource)
    if resource_type == "AuditEvent":
        agents = [a.get("who") for a in resource.get("agent", []) if isinstance(a, dict)]
        entities = [e.get("what") for e in resource.get("entity", []) if isinstance(e, dict)]
        return patient_id in _patients(agents + entities)
    elements = _PATIENT_ELEMENTS.get(resource_type)
    if elements is None:
        return False
    refs: list[Any] = []
    for element in elements:
        value = resource.get(element)
        refs.extend(value if isinstance(value, list) else [value])
    return patient_id in _patients(refs)


def patients_of(resource: dict[str, Any]) -> list[str]:
    """The patients a resource is about, as ids (for the audit record)."""
    if resource.get("resourceType") == "Patient":
        return [resource["id"]] if isinstance(resource.get("id"), str) else []
    refs: list[Any] = []
    for element in _PATIENT_ELEMENTS.get(resource.get("resourceType", ""), ()):
        value = resource.get(element)
        refs.extend(value if isinstance(value, list) else [value])
    return list(_patients(refs))


def _patients(refs: Iterable[Any]) -> set[str]:
    found = set()
    for ref in refs:
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            target = split_reference(ref["reference"])
            if target and target[0] == "Patient":
                found.add(target[1])
    return found


def _patient_ids(value: str) -> list[str]:
    ids = []
    for item in value.split(","):
        target = split_reference(item) if "/" in item else ("Patient", item)
        if target and target[0] == "Patient" and target[1]:
            ids.append(target[1])
    return ids


def _linked(patient: dict[str, Any]) -> set[str]:
    links = patient.get("link", [])
    return _patients(link.get("other") for link in links if isinstance(link, dict))


def _parse(content: bytes | None) -> dict[str, Any]:
    if content is None:
        return {}
    parsed: dict[str, Any] = orjson.loads(content)
    return parsed


def check_visible(actor: Actor, granted: Reach, stored: StoredVersion) -> None:
    """404, exactly as for a missing resource, when the resource is outside the compartment."""
    if granted == Reach.ALL and not audit.wants_patients():
        return
    resource = _parse(stored.content)
    if granted == Reach.COMPARTMENT and stored.content is not None:
        assert actor.patient is not None
        if not in_compartment(resource, actor.patient):
            audit.note_denied(compartment=True)
            raise errors.not_found(f"{stored.resource_type}/{stored.id} is not known")
    audit.note_patients(patients_of(resource))


def visible(actor: Actor, stored: StoredVersion, interaction: Interaction) -> bool:
    """Whether one resource of a result set may be shown (search includes, history entries)."""
    granted = may(actor, interaction, stored.resource_type)
    if granted is None:
        return False
    if granted == Reach.ALL or stored.content is None:
        return True
    assert actor.patient is not None
    return in_compartment(_parse(stored.content), actor.patient)


def check_existing(actor: Actor, interaction: Interaction, stored: StoredVersion | None) -> None:
    """Before changing or reading an existing resource: 404 when outside the compartment."""
    if stored is None or stored.content is None or actor.patient is None:
        return
    granted = may(actor, interaction, stored.resource_type)
    if granted == Reach.COMPARTMENT and not in_compartment(_parse(stored.content), actor.patient):
        audit.note_denied(compartment=True)
        raise errors.not_found(f"{stored.resource_type}/{stored.id} is not known")


def visible_page(actor: Actor, page: SearchPage) -> SearchPage:
    """A search page without what the actor may not see: matches outside the compartment
    (belt and braces: the search was already restricted) and `_include`/`_revinclude`d
    resources of types or patients the token does not reach."""
    if _sees_everything(actor) and _audit_scopes(actor.scopes):
        return page
    return dataclasses.replace(
        page,
        matches=only_visible(actor, page.matches, Interaction.SEARCH),
        included=only_visible(actor, page.included, Interaction.READ),
    )


def only_visible(
    actor: Actor, versions: Sequence[StoredVersion], interaction: Interaction
) -> list[StoredVersion]:
    if _sees_everything(actor):
        if _audit_scopes(actor.scopes):
            return list(versions)
        return [v for v in versions if v.resource_type != "AuditEvent"]
    return [v for v in versions if visible(actor, v, interaction)]


def _sees_everything(actor: Actor) -> bool:
    return actor.patient is None and (
        "system/*.cruds" in actor.scopes or "user/*.cruds" in actor.scopes
    )


def restrict_search(
    actor: Actor, granted: Reach, resource_type: str, params: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """A compartment search becomes a search of that patient's resources only."""
    for name, value in params:
        if name in ("patient", "subject") or (resource_type == "Patient" and name == "_id"):
            audit.note_patients(_patient_ids(value))
    if granted == Reach.ALL or resource_type in SHARED_TYPES:
        return params
    assert actor.patient is not None
    if resource_type == "Patient":
        return [*params, ("_id", actor.patient)]
    if resource_type in _PATIENT_ELEMENTS and resource_type != "Binary":
        return [*params, ("patient", f"Patient/{actor.patient}")]
    return params  # results are still filtered one by one by the caller


def check_write(actor: Actor, granted: Reach, resource: dict[str, Any]) -> None:
    """A patient token writes only inside its patient's compartment (403: the data is the
    caller's own, so there is nothing to hide)."""
    if granted == Reach.COMPARTMENT:
        assert actor.patient is not None
        if not in_compartment(resource, actor.patient) or (
            resource.get("resourceType") in SHARED_TYPES
        ):
            audit.note_denied()
            raise errors.error(
                Category.FORBIDDEN,
                f"A patient-context token may only write {actor.patient}'s own record",
            )
    audit.note_patients(patients_of(resource))


def authorise_ward(actor: Actor) -> None:
    """A ward view lists many patients: it needs a user or system grant, never a patient one."""
    for resource_type in ("Patient", "Encounter", "Observation"):
        if may(actor, Interaction.SEARCH, resource_type) != Reach.ALL:
            audit.note_denied()
            raise errors.error(
                Category.FORBIDDEN,
                "A ward view needs user/ scopes to search Patient, Encounter and Observation",
            )


def authorise_patient(actor: Actor, patient_id: str, resource_types: Iterable[str]) -> None:
    """A view of one patient's chart: a scope for each type it shows, and the compartment."""
    for resource_type in resource_types:
        granted = authorise(actor, Interaction.SEARCH, resource_type)
        if granted == Reach.COMPARTMENT and actor.patient != patient_id:
            audit.note_denied(compartment=True)
            raise errors.not_found(f"Patient/{patient_id} is not known")
    audit.note_patients([patient_id])


_NAMES = {
    Interaction.CREATE: "create",
    Interaction.READ: "read",
    Interaction.UPDATE: "update",
    Interaction.DELETE: "delete",
    Interaction.SEARCH: "search",
}


# -- Operations beyond plain REST: care planning, handover, the HL7 interface -------------------
# They read or write several types at once, so each asks for every scope its work needs, with the
# same compartment rule as a read: another patient's data answers 404.

# What a patient's care-planning views read (care summary, due list, drafts, chart).
CARE_PLAN_READS = ("CarePlan", "Goal", "Task", "Condition", "Observation")
CHART_READS = ("Patient", "Encounter", "Observation", "QuestionnaireResponse", "AllergyIntolerance")


def authorise_patient_write(
    actor: Actor,
    patient_ids: Iterable[str],
    needs: Iterable[tuple[Interaction, str]],
    *,
    target: str | None = None,
) -> None:
    """An operation that writes one patient's record (`PlanDefinition/$apply`,
    `Task/$record-occurrence`, `Goal/$evaluate`, a handover note or print): a scope for every
    interaction it performs, and a patient-context token only inside its own compartment
    (404 naming the `target` resource, e.g. `Task/1`, exactly as for a missing one: the answer
    never names the other patient)."""
    patients = list(patient_ids)
    for interaction, resource_type in needs:
        granted = authorise(actor, interaction, resource_type)
        if granted == Reach.COMPARTMENT and actor.patient not in patients:
            audit.note_denied(compartment=True)
            missing = target or (f"Patient/{patients[0]}" if patients else "The resource")
            raise errors.not_found(f"{missing} is not known")
    audit.note_patients(patients)


def authorise_ward_print(actor: Actor) -> None:
    """A ward handover sheet shows every bed and is kept as a DocumentReference with its PDF
    (R4 Binary.securityContext: access to the Binary follows its DocumentReference, so only the
    DocumentReference needs a create scope)."""
    authorise_ward(actor)
    authorise(actor, Interaction.CREATE, "DocumentReference")


# The HL7 v2 message logs (inbound `/hl7/messages`, outbound `/hl7/outbox`) hold every patient's
# data of every message, so they are for the integration analyst: a user/ or system/ scope on all
# types (`*`). Reading needs `rs`; `$reprocess` and `$retry` create and update records of any type
# the message carries, so they need `cu` as well. No patient/ scope reaches them.
_INTERFACE_READ = (Interaction.READ, Interaction.SEARCH)
_INTERFACE_ACT = (Interaction.CREATE, Interaction.UPDATE)


def authorise_interface(actor: Actor, *, act: bool = False) -> None:
    """The HL7 interface logs: 403 unless user/*.rs or system/*.rs (and .cu to act on them)."""
    for interaction in _INTERFACE_READ + (_INTERFACE_ACT if act else ()):
        # `*` as the type matches only wildcard scopes; a patient/ wildcard reaches one
        # compartment, which is not enough for a log of all patients.
        if may(actor, interaction, "*") != Reach.ALL:
            audit.note_denied()
            raise errors.error(
                Category.FORBIDDEN,
                "The HL7 message logs need an integration scope: user/*.rs or system/*.rs to "
                "read, user/*.cruds or system/*.cruds to reprocess or retry",
            )
