"""Applying an ORU^R01: the patient must be known; each vital sign is stored through the
services' write path, then NEWS2 is scored once for the message (services/news2_from_vitals)."""

from __future__ import annotations

from typing import Any

from wardcare.domain.actor import Actor
from wardcare.errors import WardCareError
from wardcare.fhir.dates import to_micros
from wardcare.fhir.vital_signs import readings
from wardcare.hl7v2 import adt_to_fhir as adt
from wardcare.hl7v2.adt_apply import required
from wardcare.hl7v2.inbound_lookups import find_patient
from wardcare.hl7v2.message_parsing import Header, ParsedMessage
from wardcare.hl7v2.observation_codes import ObservationCodes
from wardcare.hl7v2.oru_to_fhir import observations
from wardcare.hl7v2.pid_to_patient import MappingProblem, MappingProblems, patient_keys
from wardcare.services import hl7_inbound
from wardcare.services.context import AppContext
from wardcare.services.recorded_times import future_times
from wardcare.services.vital_sign_checks import check_vital_signs
from wardcare.storage.unit_of_work import Transaction


def apply_oru(
    tx: Transaction,
    ctx: AppContext,
    applied: hl7_inbound.Applied,
    *,
    actor: Actor,
    message: ParsedMessage,
    header: Header,
    code_map: ObservationCodes,
) -> None:
    problems: list[MappingProblem] = []
    pid = required(message, "PID")
    try:
        keys = patient_keys(pid)
    except MappingProblem as problem:
        problems.append(problem)
        keys = None
    patient = find_patient(tx, ctx, keys) if keys else None
    if keys and patient is None:
        problems.append(
            MappingProblem(
                "204", "No patient with this NHS number or hospital number (PID-3)", "PID^1^3"
            )
        )
    patient_ref = f"Patient/{patient['id']}" if patient else "Patient/unknown"
    encounter_ref = None
    pv1 = message.first("PV1")
    if patient and pv1 is not None and pv1.get(19):
        encounter_id = adt.encounter_id(header.sending_facility, pv1, patient["id"])
        if hl7_inbound.read_current(tx, "Encounter", encounter_id) is not None:
            encounter_ref = f"Encounter/{encounter_id}"
    result = observations(
        message,
        code_map,
        facility=header.sending_facility,
        patient_ref=patient_ref,
        encounter_ref=encounter_ref,
        zone=ctx.settings.local_timezone,
    )
    problems += result.problems
    now = to_micros(ctx.clock.now())
    for observation in result.observations:
        try:
            check_vital_signs(observation)
        except WardCareError as exc:
            problems += [MappingProblem("102", issue.message, "OBX^^5") for issue in exc.issues]
        problems += [
            MappingProblem("102", issue.message, "OBX^^14")
            for issue in future_times(
                observation, now=now, tolerance_minutes=ctx.settings.future_tolerance_minutes
            )
        ]
    if problems:
        raise MappingProblems(problems)
    applied.patient = patient_ref
    latest: dict[str, Any] | None = None
    changes_before = len(applied.written) + len(applied.updated)
    saved = hl7_inbound.save_many(
        tx, ctx, applied, actor=actor, resources=result.observations, run_hooks=False
    )
    for stored in saved:
        if readings(stored) and (
            latest is None or stored["effectiveDateTime"] >= latest["effectiveDateTime"]
        ):
            latest = stored
    if changes_before == len(applied.written) + len(applied.updated):
        return  # the same results again (resent under a new MSH-10): nothing new to score
    if latest is not None:
        # One NEWS2 for the set this message completes, not one per reading.
        hl7_inbound.run_write_hooks(tx, ctx, applied, actor, latest)
