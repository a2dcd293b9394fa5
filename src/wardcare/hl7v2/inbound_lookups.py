"""Finding and storing what an inbound message names: patients (NHS number, else MRN) and the
ward/bay/bed Locations of a PV1-3, inside the message's transaction."""

from __future__ import annotations

from typing import Any

from wardcare.domain import nhs_number
from wardcare.domain.actor import Actor
from wardcare.hl7v2.adt_to_fhir import Place, location_id, location_resource
from wardcare.hl7v2.hl7_values import stable_id
from wardcare.hl7v2.pid_to_patient import MRN_SYSTEM, PatientKeys
from wardcare.services import hl7_inbound
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

LOCATION_CODE = "http://wardcare.org/fhir/Id/location-code"


def find_patient(tx: Transaction, ctx: AppContext, keys: PatientKeys) -> dict[str, Any] | None:
    """Matched by NHS number, else by a local hospital number (issue 5)."""
    if keys.nhs_number:
        found = hl7_inbound.find_one(
            tx, ctx, "Patient", [("identifier", f"{nhs_number.SYSTEM}|{keys.nhs_number}")]
        )
        if found:
            return found
    for mrn in keys.mrns:
        found = hl7_inbound.find_one(tx, ctx, "Patient", [("identifier", f"{MRN_SYSTEM}|{mrn}")])
        if found:
            return found
    return None


def new_patient_id(keys: PatientKeys) -> str:
    return stable_id("patient", keys.primary or "")


def ensure_places(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    places: list[Place],
) -> list[tuple[str, str]]:
    """The Locations of a PV1-3 (created when the ward, bay or bed is new), as the Encounter's
    active entries: the ward and the bed (the bay when no bed is given)."""
    ids: dict[str, str] = {}
    for place in places:
        found = hl7_inbound.find_one(
            tx, ctx, "Location", [("identifier", f"{LOCATION_CODE}|{place.code}")]
        )
        if found:
            ids[place.code] = found["id"]
            continue
        resource = location_resource(place, ids.get(place.parent) if place.parent else None)
        resource["id"] = location_id(place.code)
        stored = hl7_inbound.save(tx, ctx, applied, actor=actor, resource=resource)
        ids[place.code] = stored["id"]
    if not places:
        return []
    chosen = [places[0]] + ([places[-1]] if len(places) > 1 else [])
    return [(f"Location/{ids[p.code]}", p.kind) for p in chosen]
