"""Who is acting: reaches every service call, so every write can say who made it.

At the HTTP edge the actor is made from a verified SMART on FHIR access token
(`api/security_middleware.py`): `reference`/`display` from `fhirUser`/`sub`, the scopes, the
patient and encounter of a launch context and the client application. The HL7 adapter acts as a
SYSTEM actor. `services/authorisation.py` decides what an actor may do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ActorKind(StrEnum):
    USER = "user"  # a person: nurse, nurse in charge, ward manager
    SYSTEM = "system"  # an integration engine or a WardCare job
    DEVICE = "device"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    display: str
    # FHIR reference of the person or device (e.g. "Practitioner/123"), when one exists.
    reference: str | None = None
    # SMART v2 scopes granted to this actor; empty means none.
    scopes: frozenset[str] = field(default_factory=frozenset)
    # With a patient-context launch, the one patient whose compartment is reachable.
    patient: str | None = None
    # The encounter of the launch context, when the EHR gave one.
    encounter: str | None = None
    # The OAuth client (the SMART app) acting for the person, for audit (IHE BALP agent).
    client_id: str | None = None


UNAUTHENTICATED_DEVELOPER = Actor(
    kind=ActorKind.USER,
    display="Unauthenticated developer (no security configured)",
    scopes=frozenset({"system/*.cruds"}),
)

WARDCARE_SYSTEM = Actor(
    kind=ActorKind.SYSTEM, display="WardCare", scopes=frozenset({"system/*.cruds"})
)
