"""The patient handover: SBAR on one page, the NEWS2 chart of the last 72 hours on the next.

Read in one transaction like the ward sheet (the patient, their current encounter and bed, the
ward's due list for their bed, 72 hours of vital signs and scores, assessments, escalations,
care plans, allergies, the latest SBAR note), rendered outside it and kept as a
DocumentReference (subject = the patient) with the versions it was built from.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from wardcare.domain.actor import Actor
from wardcare.domain.local_time import printed_date, printed_moment, printed_time, shift_for
from wardcare.domain.news2 import Parameter, SpO2Scale
from wardcare.domain.news2_chart import ObservationSet, Value, chart_geometry
from wardcare.domain.smart_scopes import Interaction
from wardcare.fhir import codes
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.vital_signs import effective_range, readings
from wardcare.handover import rendering
from wardcare.handover.model import NONE_RECORDED, AssessmentLine, DocumentHeader, PatientHandover
from wardcare.services import audit, authorisation, fhir_reads
from wardcare.services import handover_presentation as present
from wardcare.services.context import AppContext
from wardcare.services.due_list import BedDue, latest_results, ward_due_in
from wardcare.services.escalation import is_escalation
from wardcare.services.handover_documents import PATIENT_HANDOVER, StoredDocument, store_document
from wardcare.services.handover_records import (
    PatientRecords,
    read_records,
    search_all,
)
from wardcare.services.ward_census import census_in
from wardcare.services.ward_handover import bed_block

CHART_SPAN = timedelta(hours=72)
_WARD = "wa"


@dataclass(frozen=True)
class PatientSnapshot:
    patient: dict[str, Any]
    encounter: dict[str, Any] | None
    ward: str
    bed_label: str
    due: BedDue | None
    records: PatientRecords
    latest: dict[str, dict[str, Any]]  # template id -> latest result
    recent_escalations: list[dict[str, Any]]
    read_at: datetime

    @property
    def sources(self) -> list[str]:
        cited = dict.fromkeys(
            f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}"
            for r in (self.patient, self.encounter, *self.latest.values(), *self.recent_escalations)
            if r and "meta" in r
        )
        cited.update(self.records.sources)
        return list(cited)


@dataclass(frozen=True)
class PrintedHandover:
    pdf: bytes
    stored: StoredDocument
    pages: int
    gather_seconds: float
    render_seconds: float


def gather_patient(ctx: AppContext, *, actor: Actor, patient_id: str) -> PatientSnapshot:
    read_at = ctx.clock.now()
    since = read_at - CHART_SPAN
    with ctx.uow.read() as tx:
        patient = orjson.loads(
            fhir_reads.read_in(tx, resource_type="Patient", resource_id=patient_id).content or b"{}"
        )
        encounters = search_all(
            tx, ctx, "Encounter", [("patient", f"Patient/{patient_id}"), ("status", "in-progress")]
        )
        encounter = encounters[0] if encounters else None
        ward, bed_label, due = "Not on a ward", "No bed", None
        ward_code = _ward_code(tx, encounter)
        if ward_code is not None:
            census = census_in(tx, ctx, ward_code=ward_code)
            ward = f"{census.ward.name} ({census.ward.code})"
            for entry in ward_due_in(tx, ctx, census=census, now=read_at).beds:
                if entry.bed.patient and entry.bed.patient["id"] == patient_id:
                    due, bed_label = entry, entry.bed.name or entry.bed.code
        records = read_records(
            tx, ctx, patient_ids=[patient_id], obs_since=since, vitals_since=since
        )
        latest = {}
        for loaded in ctx.catalog.latest():
            found = latest_results(tx, loaded, [("Patient", patient_id)]).get(
                ("Patient", patient_id)
            )
            if found is not None and found.content:
                latest[loaded.template.id] = orjson.loads(found.content)
        recent = [
            t
            for t in search_all(
                tx,
                ctx,
                "Task",
                [("patient", f"Patient/{patient_id}"), ("authored-on", f"gt{instant(since)}")],
            )
            if is_escalation(t)
        ]
    return PatientSnapshot(
        patient, encounter, ward, bed_label, due, records, latest, recent, read_at
    )


def _ward_code(tx: Any, encounter: dict[str, Any] | None) -> str | None:
    """The code of the ward among the encounter's active locations."""
    if encounter is None:
        return None
    ids = [
        e["location"]["reference"].split("/")[-1]
        for e in encounter.get("location", ())
        if e.get("status", "active") == "active" and "reference" in e.get("location", {})
    ]
    for stored in tx.resources.current_many(("Location", i) for i in ids):
        location = orjson.loads(stored.content or b"{}")
        kinds = {c.get("code") for c in location.get("physicalType", {}).get("coding", ())}
        if _WARD in kinds:
            for identifier in location.get("identifier", ()):
                if identifier.get("system") == "http://wardcare.org/fhir/Id/location-code":
                    return str(identifier["value"])
    return None


def _chart_sets(records: PatientRecords, patient_id: str) -> list[ObservationSet]:
    """Readings grouped by the time they were taken, and each NEWS2 at its own time."""
    by_time: dict[int, dict[Parameter, Value]] = defaultdict(dict)
    for obs in records.vitals.get(patient_id, []):
        taken = effective_range(obs)
        if taken is None:
            continue
        for reading in readings(obs):
            by_time[taken[0]][reading.parameter] = reading.value
    sets = [ObservationSet(from_micros(at), values) for at, values in by_time.items()]
    for score in records.news2.get(patient_id, []):
        taken = effective_range(score)
        if taken is not None and isinstance(score.get("valueInteger"), int):
            band: str | None = next(
                (
                    c.get("code")
                    for i in score.get("interpretation", ())
                    for c in i.get("coding", ())
                ),
                None,
            )
            sets.append(ObservationSet(from_micros(taken[0]), {}, score["valueInteger"], band))
    return sets


def _scale(records: PatientRecords, patient_id: str) -> SpO2Scale:
    scores = sorted(records.news2.get(patient_id, []), key=lambda s: effective_range(s) or (0, 0))
    scale_2 = codes.NEWS2_SUBSCORES["spo2_scale_2"][0]
    if scores and any(
        c.get("code") == scale_2
        for comp in scores[-1].get("component", ())
        for c in comp.get("code", {}).get("coding", ())
    ):
        return SpO2Scale.SCALE_2
    return SpO2Scale.SCALE_1


def patient_handover_model(
    ctx: AppContext, snapshot: PatientSnapshot, *, actor: Actor, shift: str | None
) -> PatientHandover:
    now, pid = snapshot.read_at, snapshot.patient["id"]
    records = snapshot.records
    block = bed_block(
        ctx, snapshot.bed_label, snapshot.due, snapshot.patient, snapshot.encounter, records, now
    )
    due_by_template = {
        i.template.template.id: i for i in (snapshot.due.items if snapshot.due else [])
    }
    assessments = []
    for loaded in ctx.catalog.latest():
        template = loaded.template
        result = snapshot.latest.get(template.id)
        item = due_by_template.get(template.id)
        due_text = next((d.text for d in present.due_lines([item], now=now)), "") if item else ""
        if result is None:
            if template.status == "active":
                assessments.append(
                    AssessmentLine(
                        present.short_title(template.id, template.title),
                        NONE_RECORDED,
                        "",
                        due_text,
                    )
                )
            continue
        at = present.when(result.get("effectiveDateTime") or result.get("authored"))
        band: dict[str, Any] = next(
            (c for i in result.get("interpretation", ()) for c in i.get("coding", ())), {}
        )
        total = result.get("valueInteger")
        text = (
            f"{total} {str(band.get('display') or band.get('code') or '').upper()}".strip()
            if total is not None
            else "completed"
        )
        assessments.append(
            AssessmentLine(
                present.short_title(template.id, template.title),
                text,
                printed_time(at) if at else "",
                due_text,
            )
        )
    scale = _scale(records, pid)
    sets = _chart_sets(records, pid)
    geometry = chart_geometry(
        sets, until=now, scale=scale, span=CHART_SPAN, time_label=printed_time
    )
    header = DocumentHeader(
        title="Patient handover (SBAR)",
        ward=snapshot.ward,
        ward_code=snapshot.ward,
        shift=shift or shift_for(now),
        printed_by=actor.display,
        data_time=printed_moment(now),
        printed_on=printed_date(now),
    )
    return PatientHandover(
        header=header,
        bed=block,
        background=present.other_conditions(snapshot.encounter, records.conditions.get(pid, [])),
        assessments=tuple(assessments),
        chart=geometry,
        chart_sets=sum(1 for s in sets if s.values),
        chart_scale=int(scale),
        recent_escalations=present.escalation_lines(snapshot.recent_escalations),
    )


def print_patient_handover(
    ctx: AppContext, *, actor: Actor, patient_id: str, shift: str | None = None
) -> PrintedHandover:
    # The patient's read, and a write: each print is kept as a DocumentReference (its PDF
    # Binary's access follows the DocumentReference: R4 Binary.securityContext).
    authorisation.authorise_patient(
        actor, patient_id, authorisation.CHART_READS + authorisation.CARE_PLAN_READS
    )
    authorisation.authorise_patient_write(
        actor, [patient_id], [(Interaction.CREATE, "DocumentReference")]
    )
    started = time.perf_counter()
    snapshot = gather_patient(ctx, actor=actor, patient_id=patient_id)
    model = patient_handover_model(ctx, snapshot, actor=actor, shift=shift)
    gathered = time.perf_counter()
    pdf, pages = rendering.to_pdf(rendering.patient_handover_html(model))
    rendered = time.perf_counter()
    identity = model.bed.patient
    stored = store_document(
        ctx,
        actor=actor,
        pdf=pdf,
        kind=PATIENT_HANDOVER,
        title=f"Patient handover {identity.name if identity else patient_id}, {model.header.shift}",
        data_time=snapshot.read_at,
        sources=snapshot.sources,
        patient_id=patient_id,
        encounter=f"Encounter/{snapshot.encounter['id']}" if snapshot.encounter else None,
    )
    audit.note_exported(f"DocumentReference/{stored.document.id}")  # a print is an export
    return PrintedHandover(pdf, stored, pages, gathered - started, rendered - gathered)
