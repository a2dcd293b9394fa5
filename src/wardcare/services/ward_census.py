"""Who is in which bed: a ward's beds in bed order with their current patients.

A ward is a Location (physicalType `wa`) identified by its short code (e.g. WARD7); its bays are
Locations part of it and its beds are Locations part of those. A patient occupies a bed while
their in-progress Encounter has that bed as an active location (see README, "Conventions").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.bed_order import bed_order_key
from wardcare.domain.smart_scopes import Interaction
from wardcare.fhir.indexing import split_reference
from wardcare.fhir.search_query import parse_search
from wardcare.services import authorisation
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

LOCATION_CODE = "http://wardcare.org/fhir/Id/location-code"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
_MAX_LOCATIONS = 1000


@dataclass(frozen=True)
class Ward:
    id: str
    code: str
    name: str


@dataclass
class Bed:
    id: str
    code: str
    name: str
    room: str
    patient: dict[str, Any] | None = None
    encounter: dict[str, Any] | None = None


@dataclass
class WardCensus:
    ward: Ward
    beds: list[Bed] = field(default_factory=list)
    # In-progress encounters on the ward with no bed (e.g. awaiting a bed, in a corridor).
    unbedded: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)


def list_wards(ctx: AppContext, *, actor: Actor) -> list[Ward]:
    authorisation.authorise(actor, Interaction.SEARCH, "Location")
    with ctx.uow.read() as tx:
        return [_ward(r) for r in _search(tx, ctx, "Location", [("physical-type", "wa")])]


def ward_census(ctx: AppContext, *, actor: Actor, ward_code: str) -> WardCensus:
    authorisation.authorise_ward(actor)
    with ctx.uow.read() as tx:
        return census_in(tx, ctx, ward_code=ward_code)


def find_ward(tx: Transaction, ctx: AppContext, ward_code: str) -> Ward:
    found = _search(
        tx,
        ctx,
        "Location",
        [("identifier", f"{LOCATION_CODE}|{ward_code}"), ("physical-type", "wa")],
    )
    if not found:
        raise errors.not_found(f"There is no ward with code {ward_code!r}")
    return _ward(found[0])


def census_in(tx: Transaction, ctx: AppContext, *, ward_code: str) -> WardCensus:
    ward = find_ward(tx, ctx, ward_code)
    rooms = _search(tx, ctx, "Location", [("partof", f"Location/{ward.id}")])
    room_names = {r["id"]: r.get("name", "") for r in rooms}
    beds: list[Bed] = []
    if rooms:
        partof = ",".join(f"Location/{room_id}" for room_id in room_names)
        for location in _search(tx, ctx, "Location", [("partof", partof), ("physical-type", "bd")]):
            room_id = (split_reference(location["partOf"]["reference"]) or ("", ""))[1]
            beds.append(
                Bed(location["id"], _code(location), location.get("name", ""), room_names[room_id])
            )
    beds.sort(key=lambda b: bed_order_key(b.code))
    census = WardCensus(ward, beds)
    encounters = _search(
        tx, ctx, "Encounter", [("location", f"Location/{ward.id}"), ("status", "in-progress")]
    )
    patient_ids = [_patient_id(e) for e in encounters]
    patients = {
        v.id: orjson.loads(v.content)
        for v in tx.resources.current_many(("Patient", pid) for pid in patient_ids if pid)
        if v.content
    }
    by_bed = {b.id: b for b in beds}
    for encounter in encounters:
        patient = patients.get(_patient_id(encounter) or "")
        if patient is None:
            continue
        bed = next((by_bed[i] for i in _active_locations(encounter) if i in by_bed), None)
        if bed is None:
            census.unbedded.append((patient, encounter))
        else:
            bed.patient, bed.encounter = patient, encounter
    return census


def _search(
    tx: Transaction, ctx: AppContext, resource_type: str, params: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    query = parse_search(
        resource_type,
        params,
        ctx.search_parameters,
        default_count=_MAX_LOCATIONS,
        max_count=_MAX_LOCATIONS,
    )
    query.total = "none"
    return [orjson.loads(v.content) for v in tx.resources.search(query).matches if v.content]


def _code(location: dict[str, Any]) -> str:
    for identifier in location.get("identifier", ()):
        if identifier.get("system") == LOCATION_CODE:
            return str(identifier.get("value", ""))
    return str(location.get("name", location["id"]))


def _ward(location: dict[str, Any]) -> Ward:
    return Ward(location["id"], _code(location), location.get("name", _code(location)))


def _patient_id(encounter: dict[str, Any]) -> str | None:
    target = split_reference(encounter.get("subject", {}).get("reference", ""))
    return target[1] if target and target[0] == "Patient" else None


def _active_locations(encounter: dict[str, Any]) -> list[str]:
    ids = []
    for entry in encounter.get("location", ()):
        if entry.get("status", "active") == "active":
            target = split_reference(entry.get("location", {}).get("reference", ""))
            if target and target[0] == "Location":
                ids.append(target[1])
    return ids
