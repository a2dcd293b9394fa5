"""Who is acting: reaches every service call, so every write can say who made it.

Until SMART on FHIR security lands, the HTTP edge acts as `UNAUTHENTICATED_DEVELOPER`; the type
already carries the scopes and patient compartment that authorisation will fill in.
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


UNAUTHENTICATED_DEVELOPER = Actor(
    kind=ActorKind.USER,
    display="Unauthenticated developer (no security configured)",
    scopes=frozenset({"system/*.cruds"}),
)

WARDCARE_SYSTEM = Actor(
    kind=ActorKind.SYSTEM, display="WardCare", scopes=frozenset({"system/*.cruds"})
)
