"""Applying an ADT message: the Patient, the Encounter and its bed, allergies, diagnoses.

One function per trigger family; all run inside the message's transaction (see
services/hl7_inbound.apply), so a message is applied whole or not at all.
"""

from __future__ import annotations

import copy
from typing import Any

from wardcare.domain.actor import Actor
from wardcare.fhir.dates import from_micros, instant, start_micros, to_micros
from wardcare.hl7v2 import adt_to_fhir as adt
from wardcare.hl7v2.inbound_lookups import (
    ensure_places,
    find_patient,
    find_places,
    new_patient_id,
    of_patient,
    open_encounters,
    survivor_of,
)
from wardcare.hl7v2.message_parsing import Header, ParsedMessage, Segment
from wardcare.hl7v2.pid_to_patient import (
    MappingProblem,
    PatientKeys,
    identifier_keys,
    patient_keys,
    patient_resource,
)
from wardcare.services import hl7_inbound
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

ADT_EVENTS = ("A01", "A02", "A03", "A04", "A08", "A11", "A12", "A13", "A28", "A31", "A40")
_PERSON_ONLY = ("A28", "A31")
# When the event that gave the Patient its demographics happened (EVN-6, else EVN-2, else MSH-7).
DEMOGRAPHICS_AS_OF = "http://wardcare.org/fhir/StructureDefinition/demographics-as-of"


def required(message: ParsedMessage, name: str) -> Segment:
    segment = message.first(name)
    if segment is None:
        raise MappingProblem("100", f"The {name} segment is missing", name)
    return segment


def event_time(message: ParsedMessage, header: Header, zone: str) -> str | None:
    """When the event happened, which orders a patient's moves: EVN-6 Event Occurred, else
    EVN-2 Recorded Date/Time (HL7 v2.5.1 3.4.1.6, 3.4.1.2), else MSH-7 (2.14.9.7)."""
    evn = message.first("EVN")
    return (
        adt.event_time(evn.get(6) if evn else "", "EVN^1^6", zone)
        or adt.event_time(evn.get(2) if evn else "", "EVN^1^2", zone)
        or adt.event_time(header.message_time, "MSH^1^7", zone)
    )


def apply_adt(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    message: ParsedMessage,
    header: Header,
) -> None:
    event = header.trigger_event
    zone = ctx.settings.local_timezone
    pid = required(message, "PID")
    keys = patient_keys(pid)
    when = event_time(message, header, zone)
    named = find_patient(tx, ctx, keys, follow=False)
    existing = survivor_of(tx, named) if named else None
    if named is not None and existing is not None and existing["id"] != named["id"]:
        # PID names a record retired by a merge: the message applies to the survivor, whose
        # own identifiers and details are not replaced by the retired record's.
        patient = copy.deepcopy(existing)
    else:
        patient = _demographics(ctx, pid, keys, existing, when)
        patient["id"] = existing["id"] if existing else new_patient_id(keys)
    retired = None
    if event == "A40":
        retired = _merge(tx, ctx, applied, actor=actor, message=message, survivor=patient)
    patient = hl7_inbound.save(tx, ctx, applied, actor=actor, resource=patient)
    patient_ref = f"Patient/{patient['id']}"
    applied.patient = patient_ref
    if retired is not None:
        _move_to_survivor(
            tx, ctx, applied, actor=actor, retired=retired, survivor_ref=patient_ref, when=when
        )
    if event in _PERSON_ONLY or event == "A40":
        return
    pv1 = message.first("PV1")
    encounter_ref = None
    if pv1 is not None:
        encounter_ref = _encounter(
            tx,
            ctx,
            applied,
            actor=actor,
            event=event,
            pv1=pv1,
            header=header,
            patient_ref=patient_ref,
            patient_id=patient["id"],
            when=when,
        )
    elif event not in ("A08",):
        raise MappingProblem("100", f"ADT^{event} needs a PV1 segment", "PV1")
    for al1 in message.all("AL1"):
        resource = adt.allergy(al1, patient_ref=patient_ref, patient_id=patient["id"])
        hl7_inbound.save(tx, ctx, applied, actor=actor, resource=resource)
    for dg1 in message.all("DG1"):
        resource = adt.condition(
            dg1, patient_ref=patient_ref, patient_id=patient["id"], encounter_ref=encounter_ref
        )
        hl7_inbound.save(tx, ctx, applied, actor=actor, resource=resource)


def _demographics(
    ctx: AppContext,
    pid: Segment,
    keys: PatientKeys,
    existing: dict[str, Any] | None,
    when: str | None,
) -> dict[str, Any]:
    """The Patient as PID gives it, unless the record holds demographics from a newer event:
    an interface engine can deliver an older A08/A28/A31 after a newer one (hazard HL7-I15),
    and a name or address must not go back to what it was. Such a message still adds any
    identifier it brings. The event time the demographics came from is kept on the Patient,
    never later than now: one message from a sender whose clock is ahead must not make every
    later update look older than it."""
    fresh = patient_resource(pid, keys, existing)
    now = to_micros(ctx.clock.now())
    at = start_micros(when)
    if at is not None and at > now + ctx.settings.future_tolerance_minutes * 60_000_000:
        when = instant(from_micros(now))
    if existing is not None and adt.is_before(when, _demographics_as_of(existing)):
        kept = copy.deepcopy(existing)
        kept["identifier"] = fresh["identifier"]
        return kept
    if when:
        fresh["extension"] = [{"url": DEMOGRAPHICS_AS_OF, "valueDateTime": when}]
    return fresh


def _demographics_as_of(patient: dict[str, Any]) -> str | None:
    for extension in patient.get("extension") or ():
        if extension.get("url") == DEMOGRAPHICS_AS_OF:
            value = extension.get("valueDateTime")
            return value if isinstance(value, str) else None
    return None


def _encounter(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    event: str,
    pv1: Segment,
    header: Header,
    patient_ref: str,
    patient_id: str,
    when: str | None,
) -> str | None:
    zone = ctx.settings.local_timezone
    encounter_id = adt.encounter_id(header.sending_facility, pv1, patient_id)
    current = hl7_inbound.read_current(tx, "Encounter", encounter_id)
    beds = (
        []
        if event in ("A08", "A11")
        else ensure_places(tx, ctx, applied, actor=actor, places=adt.places(pv1, 3))
    )
    admit = adt.event_time(pv1.get(44), "PV1^1^44", zone) or when
    updated: dict[str, Any] | None
    if event in ("A01", "A04"):
        status = "in-progress" if event == "A01" else "arrived"
        if current and current.get("status") not in ("planned", "arrived", "in-progress"):
            status = current["status"]  # a late A01 after the discharge does not reopen it
        if current and adt.is_older(admit, current):
            # A late admission (its bed older than a transfer already applied): its bed is
            # history, the patient stays where the newer move put them.
            updated = adt.as_history(
                adt.admitted(
                    current,
                    pv1=pv1,
                    patient_ref=patient_ref,
                    status=status,
                    start=None,
                    bed_refs=[],
                ),
                when=admit,
                bed_refs=beds,
            )
        else:
            updated = adt.admitted(
                current,
                pv1=pv1,
                patient_ref=patient_ref,
                status=status,
                start=admit,
                bed_refs=beds,
            )
    elif event == "A08":
        if current is None:
            return None  # an update of a visit WardCare never saw admitted: the Patient only
        # A08 updates details; moves come as A02 (HL7 v2.5.1 3.3.8): a stale PV1-3 on an
        # A08 that arrives after a transfer must not move the patient back.
        updated = adt.admitted(
            current,
            pv1=pv1,
            patient_ref=patient_ref,
            status=current["status"],
            start=None,
            bed_refs=[],
        )
    elif current is None and event in ("A11", "A12", "A13"):
        raise MappingProblem(
            "204", f"ADT^{event} cancels a visit WardCare has no record of", "PV1^1^19"
        )
    elif event == "A02":
        if current is None:  # a transfer before its admission (out of order): admit there
            current = adt.admitted(
                None,
                pv1=pv1,
                patient_ref=patient_ref,
                status="in-progress",
                start=admit,
                bed_refs=[],
            )
        updated = adt.moved(current, when=when, bed_refs=beds)
    elif event == "A03":
        if current is None:
            current = adt.admitted(
                None,
                pv1=pv1,
                patient_ref=patient_ref,
                status="in-progress",
                start=admit,
                bed_refs=beds,
            )
        end = adt.event_time(pv1.get(45), "PV1^1^45", zone) or when
        updated = adt.discharged(current, when=end)
    elif event == "A11":
        assert current is not None
        updated = adt.admission_cancelled(current, when=when)
    elif event == "A12":
        assert current is not None
        updated = _transfer_cancelled(tx, ctx, current, pv1=pv1, when=when, bed_refs=beds)
    else:  # A13
        assert current is not None
        updated = _discharge_cancelled(
            tx, ctx, current, patient_ref=patient_ref, when=when, bed_refs=beds
        )
    updated["id"] = encounter_id
    hl7_inbound.save(tx, ctx, applied, actor=actor, resource=updated)
    return f"Encounter/{encounter_id}"


def _transfer_cancelled(
    tx: Transaction,
    ctx: AppContext,
    current: dict[str, Any],
    *,
    pv1: Segment,
    when: str | None,
    bed_refs: list[tuple[str, str]],
) -> dict[str, Any]:
    """A12 (HL7 v2.5.1 3.3.12): PV1-3 is where the patient was before the cancelled transfer,
    PV1-6 where that transfer took them. Only the latest transfer can be undone by moving the
    patient back: when PV1-6 is not where the patient is now, or the cancel happened before
    the latest move, the patient stays where they are."""
    if current.get("status") in ("finished", "cancelled"):
        return adt.transferred(current, when=when, bed_refs=bed_refs)
    cancelled = adt.places(pv1, 6)
    if cancelled:
        refs = find_places(tx, ctx, cancelled)
        if refs is None or not {ref for ref, _ in refs} <= set(adt.active_places(current)):
            return copy.deepcopy(current)
    if adt.is_older(when, current):
        return copy.deepcopy(current)
    return adt.moved(current, when=when, bed_refs=bed_refs)


def _discharge_cancelled(
    tx: Transaction,
    ctx: AppContext,
    current: dict[str, Any],
    *,
    patient_ref: str,
    when: str | None,
    bed_refs: list[tuple[str, str]],
) -> dict[str, Any]:
    """A13 (HL7 v2.5.1 3.3.13): the stay is in progress again, in PV1-3. Not when the patient
    has since been admitted to a bed on another visit (the cancel arrived after a newer
    admission): one patient never takes two beds, so the stay stays finished and the place is
    kept as history up to that admission. A stay already in progress is left as it is."""
    if current.get("status") != "finished":
        return copy.deepcopy(current)
    for other in open_encounters(tx, ctx, patient_ref):
        if other["id"] == current.get("id") or not adt.active_places(other):
            continue
        active = [e for e in other["location"] if e["status"] == "active"]
        since = active[0].get("period", {}).get("start")
        return adt.as_history(current, when=when, bed_refs=bed_refs, until=since)
    return adt.discharge_cancelled(current, when=when, bed_refs=bed_refs)


def _merge(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    message: ParsedMessage,
    survivor: dict[str, Any],
) -> dict[str, Any] | None:
    """A40 (HL7 v2.5.1 3.3.40; PID is the survivor, MRG-1 the non-surviving patient): the
    non-surviving record stays, inactive and `replaced-by` the survivor, which `replaces` it
    (FHIR R4 Patient.link), so its data stay reachable from the survivor. The survivor is the
    end of PID's `replaced-by` chain (find_patient follows it): merging into a patient that
    was itself merged links to the record in use. Returns the retired record (None when
    MRG-1 names the survivor itself)."""
    mrg = required(message, "MRG")
    prior_keys = identifier_keys(mrg, 1, where="MRG")
    prior = find_patient(tx, ctx, prior_keys, follow=False) if prior_keys.primary else None
    if prior is None:
        raise MappingProblem("204", "MRG-1 names no patient WardCare knows", "MRG^1^1")
    if prior["id"] == survivor["id"]:
        return None
    links = [
        lk
        for lk in survivor.get("link", ())
        if lk["other"]["reference"] != f"Patient/{prior['id']}"
    ]
    survivor["link"] = [
        *links,
        {"other": {"reference": f"Patient/{prior['id']}"}, "type": "replaces"},
    ]
    retired = {**prior, "active": False}
    retired["link"] = [lk for lk in prior.get("link", ()) if lk.get("type") != "replaced-by"] + [
        {"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}
    ]
    hl7_inbound.save(tx, ctx, applied, actor=actor, resource=retired)
    return retired


def _move_to_survivor(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    retired: dict[str, Any],
    survivor_ref: str,
    when: str | None,
) -> None:
    """What a nurse must see about the person follows them to the survivor, as new versions
    (the retired record's versions stay in history):
    - allergies and diagnoses (a nurse reading the survivor must see the allergies: hazard
      HL7-I11);
    - the retired record's stay in a bed: moved to the survivor when the survivor has none,
      else finished at the merge, so one person never holds two beds (hazard HL7-I12)."""
    retired_ref = f"Patient/{retired['id']}"
    for resource_type, param, field in (
        ("AllergyIntolerance", "patient", "patient"),
        ("Condition", "subject", "subject"),
    ):
        for resource in of_patient(tx, ctx, resource_type, param, retired_ref):
            resource[field] = {"reference": survivor_ref}
            hl7_inbound.save(tx, ctx, applied, actor=actor, resource=resource)
    in_bed = any(adt.active_places(e) for e in open_encounters(tx, ctx, survivor_ref))
    for encounter in open_encounters(tx, ctx, retired_ref):
        if in_bed:
            updated = adt.discharged(encounter, when=when)
        else:
            updated = {**encounter, "subject": {"reference": survivor_ref}}
            in_bed = bool(adt.active_places(encounter))
        hl7_inbound.save(tx, ctx, applied, actor=actor, resource=updated)
