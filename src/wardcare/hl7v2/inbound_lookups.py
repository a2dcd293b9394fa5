"""Finding and storing what an inbound message names: patients (NHS number, else MRN) and the
ward/bay/bed Locations of a PV1-3, inside the message's transaction."""

from __future__ import annotations

from typing import Any

import orjson

from wardcare.domain import nhs_number
from wardcare.domain.actor import Actor
from wardcare.fhir.search_query import parse_search
from wardcare.hl7v2.adt_to_fhir import Place, location_id, location_resource
from wardcare.hl7v2.hl7_values import stable_id
from wardcare.hl7v2.pid_to_patient import MRN_SYSTEM, PatientKeys
from wardcare.services import hl7_inbound
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

LOCATION_CODE = "http://wardcare.org/fhir/Id/location-code"


def find_patient(
    tx: Transaction, ctx: AppContext, keys: PatientKeys, *, follow: bool = True
) -> dict[str, Any] | None:
    """Matched by NHS number, else by a local hospital number (issue 5): the search
    `Patient?identifier=system|value`, through the store's fixed statement (every message).
    With `follow`, a record retired by a merge gives the patient that replaced it."""
    wanted = [(nhs_number.SYSTEM, keys.nhs_number)] if keys.nhs_number else []
    wanted += [(MRN_SYSTEM, mrn) for mrn in keys.mrns]
    for system, value in wanted:
        found = tx.resources.with_token("Patient", param="identifier", system=system, code=value)
        if found and found[0].content:
            patient: dict[str, Any] = orjson.loads(found[0].content)
            return survivor_of(tx, patient) if follow else patient
    return None


def replaced_by(patient: dict[str, Any]) -> str | None:
    """The id of the patient that replaced a record retired by a merge (FHIR R4 Patient.link
    `replaced-by`), or None for a record in use."""
    if patient.get("active") is not False:
        return None
    for link in patient.get("link", ()):
        reference = link.get("other", {}).get("reference", "")
        if link.get("type") == "replaced-by" and reference.startswith("Patient/"):
            return str(reference[len("Patient/") :])
    return None


def survivor_of(tx: Transaction, patient: dict[str, Any]) -> dict[str, Any]:
    """The end of the `replaced-by` chain (a merge into a patient that was itself merged):
    messages, data and further merges go to the record in use. Only retired records are
    followed (one read per link), so an ordinary message pays nothing; a cycle stops."""
    seen = {patient["id"]}
    while (next_id := replaced_by(patient)) is not None and next_id not in seen:
        following = hl7_inbound.read_current(tx, "Patient", next_id)
        if following is None:
            break
        seen.add(next_id)
        patient = following
    return patient


def _keys_of(patient: dict[str, Any]) -> list[str]:
    keys = []
    for identifier in patient.get("identifier", ()):
        if identifier.get("system") == nhs_number.SYSTEM:
            keys.append(f"nhs:{identifier.get('value')}")
        elif identifier.get("system") == MRN_SYSTEM:
            keys.append(f"mrn:{identifier.get('value')}")
    return keys


def identifier_groups(ctx: AppContext, keys: list[str]) -> list[list[str]]:
    """For the patients on record that these identifier keys (`nhs:..`, `mrn:..`) name: each
    one's identifier keys with those of the survivor of a merge (the message ordering's
    look-up for identifiers it has not seen yet; inbound_ordering)."""
    groups: list[list[str]] = []
    covered: set[str] = set()
    with ctx.uow.read() as tx:
        for key in keys:
            if key in covered:
                continue  # on the record of a patient already found
            kind, _, value = key.partition(":")
            system = nhs_number.SYSTEM if kind == "nhs" else MRN_SYSTEM
            for row in tx.resources.with_token(
                "Patient", param="identifier", system=system, code=value, limit=10
            ):
                if row.content:
                    patient: dict[str, Any] = orjson.loads(row.content)
                    groups.append(_keys_of(patient) + _keys_of(survivor_of(tx, patient)))
                    covered.update(groups[-1])
    return groups


def new_patient_id(keys: PatientKeys) -> str:
    return stable_id("patient", keys.primary or "")


def of_patient(
    tx: Transaction, ctx: AppContext, resource_type: str, param: str, patient_ref: str
) -> list[dict[str, Any]]:
    """Every current resource of one type naming the patient (A40 only: a merge moves the
    retired record's allergies and diagnoses), page by page."""
    found: list[dict[str, Any]] = []
    while True:
        query = parse_search(
            resource_type,
            [(param, patient_ref), ("_count", "500"), ("_offset", str(len(found)))],
            ctx.search_parameters,
            default_count=500,
            max_count=500,
        )
        query.total = "none"
        page = [orjson.loads(m.content) for m in tx.resources.search(query).matches if m.content]
        found += page
        if len(page) < 500:
            return found


def open_encounters(tx: Transaction, ctx: AppContext, patient_ref: str) -> list[dict[str, Any]]:
    """The patient's Encounters in progress or arrived (for the rare events that must know
    the patient's other stays: A13, A40), through the Encounter search's indexes."""
    query = parse_search(
        "Encounter",
        [("subject", patient_ref), ("status", "in-progress,arrived")],
        ctx.search_parameters,
        default_count=50,
        max_count=50,
    )
    query.total = "none"
    return [orjson.loads(m.content) for m in tx.resources.search(query).matches if m.content]


def find_places(
    tx: Transaction, ctx: AppContext, places: list[Place]
) -> list[tuple[str, str]] | None:
    """The Location references of a PL field's places as `ensure_places` gives them, or None
    when one is not on record (so it cannot be where the patient is)."""
    ids: dict[str, str] = {}
    for place in places:
        found = hl7_inbound.find_one(
            tx, ctx, "Location", [("identifier", f"{LOCATION_CODE}|{place.code}")]
        )
        if not found:
            return None
        ids[place.code] = found["id"]
    return _chosen(places, ids)


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
    return _chosen(places, ids)


def _chosen(places: list[Place], ids: dict[str, str]) -> list[tuple[str, str]]:
    """The ward and the bed (the bay when no bed is given): the Encounter's active entries."""
    if not places:
        return []
    chosen = [places[0]] + ([places[-1]] if len(places) > 1 else [])
    return [(f"Location/{ids[p.code]}", p.kind) for p in chosen]
