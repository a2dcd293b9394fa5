"""DEV ONLY: the demo users who can log in to the demo authorisation server.

Each is a Practitioner with a fixed id, created in the record the first time it is used, so
`fhirUser` in a token and `Provenance.agent.who` point at a real resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wardcare.domain.actor import WARDCARE_SYSTEM
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext

STAFF_NUMBER_SYSTEM = "http://wardcare.org/fhir/Id/staff-number"


@dataclass(frozen=True)
class DemoUser:
    login: str
    practitioner_id: str
    given: str
    family: str
    role: str

    @property
    def reference(self) -> str:
        return f"Practitioner/{self.practitioner_id}"

    @property
    def display(self) -> str:
        return f"{self.given} {self.family} ({self.role})"

    def practitioner(self) -> dict[str, Any]:
        return {
            "resourceType": "Practitioner",
            "id": self.practitioner_id,
            "identifier": [{"system": STAFF_NUMBER_SYSTEM, "value": self.practitioner_id}],
            "active": True,
            "name": [{"use": "official", "family": self.family, "given": [self.given]}],
            "qualification": [{"code": {"text": self.role}}],
        }


USERS: dict[str, DemoUser] = {
    u.login: u
    for u in (
        DemoUser("nurse", "dev-nurse", "Alex", "Morgan", "Staff nurse"),
        DemoUser("nic", "dev-nic", "Sam", "Okafor", "Nurse in charge"),
        DemoUser("ward-manager", "dev-ward-manager", "Jo", "Price", "Ward manager"),
        DemoUser("privacy-officer", "dev-privacy-officer", "Chris", "Lee", "Privacy officer"),
    )
}


def user(login: str) -> DemoUser:
    try:
        return USERS[login]
    except KeyError:
        raise KeyError(f"no demo user {login!r}; choose one of {', '.join(USERS)}") from None


def ensure_practitioner(ctx: AppContext, demo_user: DemoUser) -> None:
    """Create the user's Practitioner if the record does not have it yet (update as create)."""
    with ctx.uow.read() as tx:
        if tx.resources.current("Practitioner", demo_user.practitioner_id) is not None:
            return
    fhir.update(
        ctx,
        actor=WARDCARE_SYSTEM,
        resource_type="Practitioner",
        resource_id=demo_user.practitioner_id,
        resource=demo_user.practitioner(),
    )
