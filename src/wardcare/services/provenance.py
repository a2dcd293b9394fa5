"""Provenance for every write: who changed which version, when, and how (FHIR R4 Provenance).

WardCare builds these itself, so they are not re-validated on the hot path; a test proves the
shape against the FHIR models.
"""

from __future__ import annotations

import uuid
from typing import Any

from wardcare.domain.actor import Actor, ActorKind
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.versions import StoredVersion
from wardcare.storage.repository import ResourceRepository

DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_ACTIVITY = {"POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}


def provenance_for(
    version: StoredVersion, actor: Actor, *, patient: str | None, reason: str | None = None
) -> dict[str, Any]:
    target = f"{version.resource_type}/{version.id}/_history/{version.version_id}"
    who: dict[str, Any] = {"display": actor.display}
    if actor.reference:
        who["reference"] = actor.reference
    agent_type = "author" if actor.kind == ActorKind.USER else "assembler"
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": target}],
        "recorded": instant(from_micros(version.last_updated)),
        "activity": {"coding": [{"system": DATA_OPERATION, "code": _ACTIVITY[version.method]}]},
        "agent": [
            {"type": {"coding": [{"system": PARTICIPATION, "code": agent_type}]}, "who": who}
        ],
    }
    if patient and patient != f"{version.resource_type}/{version.id}":
        # The patient the change concerns, so Provenance?patient= finds it (a second target).
        provenance["target"].append({"reference": patient})
    elif patient:
        provenance["target"] = [{"reference": target}]
    if reason:
        provenance["reason"] = [{"text": reason}]
    return provenance


def record_provenance(
    repo: ResourceRepository,
    version: StoredVersion,
    actor: Actor,
    *,
    patient: str | None,
    now: int,
    reason: str | None = None,
) -> StoredVersion:
    return repo.create(
        provenance_for(version, actor, patient=patient, reason=reason),
        resource_id=str(uuid.uuid4()),
        now=now,
    )
