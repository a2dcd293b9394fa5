"""Applying an ADT message: the Patient, the Encounter and its bed, allergies, diagnoses.

One function per trigger family; all run inside the message's transaction (see
services/hl7_inbound.apply), so a message is applied whole or not at all.
"""

from __future__ import annotations

from typing import Any

from wardcare.domain.actor import Actor
from wardcare.hl7v2 import adt_to_fhir as adt
from wardcare.hl7v2.inbound_lookups import ensure_places, find_patient, new_patient_id
from wardcare.hl7v2.message_parsing import Header, ParsedMessage, Segment
from wardcare.hl7v2.pid_to_patient import (
    MappingProblem,
    identifier_keys,
    patient_keys,
    patient_resource,
)
from wardcare.services import hl7_inbound
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

ADT_EVENTS = ("A01", "A02", "A03", "A04", "A08", "A11", "A12", "A13", "A28", "A31", "A40")
_PERSON_ONLY = ("A28", "A31")


def required(message: ParsedMessage, name: str) -> Segment:
    segment = message.first(name)
    if segment is None:
        raise MappingProblem("100", f"The {name} segment is missing", name)
    return segment


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
    existing = find_patient(tx, ctx, keys)
    patient = patient_resource(pid, keys, existing)
    patient["id"] = existing["id"] if existing else new_patient_id(keys)
    if event == "A40":
        _merge(tx, ctx, applied, actor=actor, message=message, survivor=patient)
    patient = hl7_inbound.save(tx, ctx, applied, actor=actor, resource=patient)
    patient_ref = f"Patient/{patient['id']}"
    applied.patient = patient_ref
    if event in _PERSON_ONLY or event == "A40":
        return
    evn = message.first("EVN")
    when = adt.event_time(evn.get(2) if evn else "", "EVN^1^2", zone) or adt.event_time(
        header.message_time, "MSH^1^7", zone
    )
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
        updated = adt.admitted(
            current, pv1=pv1, patient_ref=patient_ref, status=status, start=admit, bed_refs=beds
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
        updated = adt.transferred(current, when=when, bed_refs=beds)
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
        updated = adt.transferred(current, when=when, bed_refs=beds)
    else:  # A13
        assert current is not None
        updated = adt.discharge_cancelled(current, when=when, bed_refs=beds)
    updated["id"] = encounter_id
    hl7_inbound.save(tx, ctx, applied, actor=actor, resource=updated)
    return f"Encounter/{encounter_id}"


def _merge(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    message: ParsedMessage,
    survivor: dict[str, Any],
) -> None:
    """A40: the non-surviving record stays, inactive and `replaced-by` the survivor, which
    `replaces` it (FHIR R4 Patient.link), so its data stay reachable from the survivor."""
    mrg = required(message, "MRG")
    prior_keys = identifier_keys(mrg, 1, where="MRG")
    prior = find_patient(tx, ctx, prior_keys) if prior_keys.primary else None
    if prior is None:
        raise MappingProblem("204", "MRG-1 names no patient WardCare knows", "MRG^1^1")
    if prior["id"] == survivor["id"]:
        return
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
