"""Provenance for every write: who changed which version, when, and how (FHIR R4 Provenance).

WardCare builds these itself, so they are not re-validated on the hot path; a test proves the
shape against the FHIR models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wardcare.domain.actor import Actor, ActorKind
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.versions import StoredVersion
from wardcare.storage.repository import ResourceRepository

DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_ACTIVITY = {"POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}


def provenance_for(
    versions: Sequence[StoredVersion],
    actor: Actor,
    *,
    patient: str | None,
    reason: str | None = None,
) -> dict[str, Any]:
    """One Provenance for one activity: every version it wrote is a target (all written the same
    way, by the same actor, at the same time), and the patient it concerns is a target too."""
    first = versions[0]
    targets = [f"{v.resource_type}/{v.id}/_history/{v.version_id}" for v in versions]
    who: dict[str, Any] = {"display": actor.display}
    if actor.reference:
        who["reference"] = actor.reference
    agent_type = "author" if actor.kind == ActorKind.USER else "assembler"
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": instant(from_micros(first.last_updated)),
        "activity": {"coding": [{"system": DATA_OPERATION, "code": _ACTIVITY[first.method]}]},
        "agent": [
            {"type": {"coding": [{"system": PARTICIPATION, "code": agent_type}]}, "who": who}
        ],
    }
    if patient and not any(t.startswith(f"{patient}/_history/") for t in targets):
        # The patient the change concerns, so Provenance?patient= finds it.
        provenance["target"].append({"reference": patient})
    if reason:
        provenance["reason"] = [{"text": reason}]
    return provenance


def record_provenance(
    repo: ResourceRepository,
    versions: Sequence[StoredVersion],
    actor: Actor,
    *,
    patient: str | None,
    now: int,
    reason: str | None = None,
) -> None:
    """Provenance for the versions one activity wrote: one per kind of change (create, update,
    delete), since a Provenance has a single activity. Stored with the transaction's last
    write (`append_before_commit`): a Provenance is append-only and nothing reads it back
    before the commit."""
    for method in dict.fromkeys(v.method for v in versions):
        group = [v for v in versions if v.method == method]
        repo.append_before_commit(
            provenance_for(group, actor, patient=patient, reason=reason),
            resource_id=resource_ids.new_id(),
            now=now,
        )
